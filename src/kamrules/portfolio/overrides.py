"""Tier overrides from a file: a policy owner's list of pinned accounts, next to the export.

An override can come from the CRM (the ``override_*`` account facts, mapped like any other
column) or from a file kept by the policy owner (CSV, JSON Lines or JSON with the columns
``account``, ``tier``, ``reason``, ``approver``, ``expires``). The file wins where both give
one, because it is the explicit, reviewed decision. Every row must name its account and give
all four facts; the engine then checks the tier and the expiry date per account, as for
overrides from the CRM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from kamrules.errors import KamrulesError
from kamrules.portfolio.sources import RawRecord, SourceError, account_id_of, read_records

COLUMNS = ("account", "tier", "reason", "approver", "expires")


class OverridesError(KamrulesError):
    """The overrides file cannot be used: it names its line and what is wrong."""


def read_overrides(path: Path) -> dict[str, dict[str, Any]]:
    """account id -> the override facts (``override_tier``, ...) it pins."""
    if not path.is_file():
        raise OverridesError(f"no overrides file at '{path}'")
    try:
        rows = list(read_records(path))
    except SourceError as exc:
        raise OverridesError(str(exc)) from None
    found: dict[str, dict[str, Any]] = {}
    lines: dict[str, int] = {}
    for row in rows:
        where = f"{path}:{row.line}"
        if row.data is None:
            raise OverridesError(f"{where}: {row.problem}")
        missing = [c for c in COLUMNS if row.data.get(c) in (None, "")]
        if missing:
            raise OverridesError(f"{where}: an override needs {', '.join(COLUMNS)}; missing {', '.join(missing)}")
        unknown = [c for c in row.data if c not in COLUMNS]
        if unknown:
            raise OverridesError(
                f"{where}: unknown column(s) {', '.join(unknown)}; the columns are {', '.join(COLUMNS)}"
            )
        account = str(row.data["account"])
        if account in found:
            raise OverridesError(f"{where}: account '{account}' is overridden twice (also at line {lines[account]})")
        lines[account] = row.line
        found[account] = {f"override_{c}": row.data[c] for c in COLUMNS[1:]}
    return found


def apply_overrides(
    records: Sequence[RawRecord], overrides: Mapping[str, Mapping[str, Any]], renames: Mapping[str, str]
) -> tuple[list[RawRecord], list[str]]:
    """The records with their overrides merged in, and the overridden ids no record has."""
    seen: set[str] = set()
    merged = list(merge_overrides(records, overrides, renames, seen))
    return merged, sorted(set(overrides) - seen)


def merge_overrides(
    records: Iterable[RawRecord],
    overrides: Mapping[str, Mapping[str, Any]],
    renames: Mapping[str, str],
    seen: set[str],
) -> Iterator[RawRecord]:
    """The records with their overrides merged in, one by one, so that a streamed batch
    stays streamed; the ids overridden are added to ``seen`` as their records pass (the ids
    no record has are known once the stream is consumed)."""
    for record in records:
        data = record.data
        if data is not None:
            account = account_id_of(data, renames)
            if account is not None and account in overrides:
                seen.add(account)
                data = {k: v for k, v in data.items() if renames.get(k, k) not in overrides[account]}
                data.update(overrides[account])
                record = RawRecord(record.line, data, record.problem)
        yield record
