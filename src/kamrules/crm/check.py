"""``kamrules profile check``: what a profile makes of an export, before anything is decided.

A new profile is wrong in ways a decision run hides: a column misspelt (its fact is then
simply missing and scores zero), a picklist value nobody mapped (every such account fails),
a date format that reads no row. The report says which columns map to which facts and how
many rows each fills, which facts no row fills, which export columns nothing reads, and every
value that has no mapping or does not convert, with its count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kamrules.crm.convert import ConversionFailed
from kamrules.crm.profile import BoundProfile, Level
from kamrules.facts.records import RecordValidator
from kamrules.facts.types import ListType, RecordType
from kamrules.portfolio.sources import RawRecord


@dataclass
class ColumnReport:
    column: str
    fact: str
    filled: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    """Values that have no mapping or do not convert, with how many rows give each."""
    reasons: dict[str, str] = field(default_factory=dict)
    nested: bool = False
    """A field of nested records (contacts, ...): counted per item, not per row."""


@dataclass
class ProfileReport:
    """What a profile fills, misses and cannot read in one export."""

    profile: str
    content_hash: str
    records: int = 0
    unreadable: int = 0
    columns: list[ColumnReport] = field(default_factory=list)
    unmapped_columns: Counter[str] = field(default_factory=Counter)
    never_filled: list[str] = field(default_factory=list)

    @property
    def failures(self) -> int:
        return sum(sum(c.failed.values()) for c in self.columns)

    def as_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "content_hash": self.content_hash,
            "records": self.records,
            "unreadable": self.unreadable,
            "columns": [
                {
                    "column": c.column,
                    "fact": c.fact,
                    "filled": c.filled,
                    "failed": [{"value": v, "count": n, "reason": c.reasons[v]} for v, n in c.failed.most_common()],
                }
                for c in self.columns
            ],
            "unmapped_columns": dict(self.unmapped_columns),
            "never_filled": self.never_filled,
        }

    def to_text(self) -> str:
        lines = [f"profile {self.profile} ({self.content_hash[:19]}...) on {self.records:,} records"]
        if self.unreadable:
            lines.append(f"  {self.unreadable:,} records could not be read at all")
        lines.append("")
        lines.append("columns the profile maps:")
        width = max((len(c.column) for c in self.columns), default=0)
        for c in self.columns:
            bad = sum(c.failed.values())
            note = f", {bad:,} cannot be read" if bad else ""
            filled = f"{c.filled:,} items" if c.nested else f"{c.filled:,} of {self.records:,} rows"
            lines.append(f"  {c.column.ljust(width)}  -> {c.fact}: {filled}{note}")
        failing = [c for c in self.columns if c.failed]
        if failing:
            lines.append("")
            lines.append("values with no mapping, or that do not convert:")
            for c in failing:
                for value, count in c.failed.most_common():
                    lines.append(f"  {c.column} -> {c.fact}: {value} ({count:,} rows): {c.reasons[value]}")
        if self.unmapped_columns:
            lines.append("")
            lines.append("export columns no fact reads:")
            for column, count in self.unmapped_columns.most_common():
                lines.append(f"  {column} ({count:,} rows)")
        if self.never_filled:
            lines.append("")
            lines.append("facts no record fills:")
            lines.append("  " + ", ".join(self.never_filled))
        return "\n".join(lines) + "\n"


def check_profile(
    profile: BoundProfile, records: Iterable[RawRecord], validator: RecordValidator | None = None
) -> ProfileReport:
    """The report of ``profile`` over ``records``. Columns the profile does not map are passed
    on to the rulebook's own ``validator``, which reads fact names and its ``facts.columns``."""
    validator = validator or RecordValidator(profile.schema)
    known_keys = validator.known_keys
    report = ProfileReport(profile.profile.name, profile.profile.content_hash)
    columns: dict[tuple[str, ...], ColumnReport] = {}
    filled: set[str] = set()
    for raw in records:
        report.records += 1
        if raw.data is None:
            report.unreadable += 1
            continue
        _walk(profile, profile.account, raw.data, (), columns, report, known_keys, top=True)
        converted, _ = profile.convert_partial(raw.data)
        _filled({validator.renames.get(k, k): v for k, v in converted.items()}, "", filled)
    report.columns = list(columns.values())
    # a nested fact is listed only when its record is filled somewhere: "plan" says it all
    report.never_filled = [
        p
        for p in _paths(profile.schema.account, "")
        if p not in filled and ("." not in p or p.rsplit(".", 1)[0] in filled)
    ]
    return report


def _walk(
    profile: BoundProfile,
    level: Level,
    data: Mapping[str, Any],
    where: tuple[str, ...],
    columns: dict[tuple[str, ...], ColumnReport],
    report: ProfileReport,
    known: frozenset[str],
    top: bool,
) -> None:
    for key, column in level.columns.items():
        entry = columns.get((*where, key))
        if entry is None:
            name = ".".join((*where, key))
            fact = ".".join((*(w for w in where), column.label)) if where else column.label
            entry = columns[(*where, key)] = ColumnReport(name, fact, nested=bool(where))
        value = data.get(key)
        if profile.is_missing(value):
            continue
        try:
            column.convert(value)
        except ConversionFailed as exc:
            text = repr(value)
            entry.failed[text] += 1
            entry.reasons.setdefault(text, str(exc).removeprefix(f"{text} "))
            continue
        entry.filled += 1
    for key in data:
        if key in level.columns:
            continue
        nested = level.nested.get(key)
        if nested is not None:
            fact_name, inner, is_list = nested
            value = data[key]
            if isinstance(value, str):
                import json

                try:
                    value = json.loads(value)
                except json.JSONDecodeError:
                    continue
            items = value if is_list and isinstance(value, list) else [value] if isinstance(value, Mapping) else []
            for item in items:
                if isinstance(item, Mapping):
                    _walk(profile, inner, item, (*where, fact_name), columns, report, known, top=False)
        elif top and key not in known and key not in level.record.fields:
            report.unmapped_columns[key] += 1


def _filled(data: Any, prefix: str, out: set[str]) -> None:
    if not isinstance(data, Mapping):
        return
    for key, value in data.items():
        if value is None or value == "":
            continue
        path = f"{prefix}{key}"
        out.add(path)
        if isinstance(value, Mapping):
            _filled(value, f"{path}.", out)
        elif isinstance(value, list):
            for item in value:
                _filled(item, f"{path}.", out)


def _paths(record: RecordType, prefix: str) -> list[str]:
    """Every fact a record can be given, nested ones as ``plan.mentor`` and ``contacts.level``."""
    paths: list[str] = []
    for name, fact in record.fields.items():
        if fact.derived:
            continue
        path = f"{prefix}{name}"
        paths.append(path)
        if isinstance(fact.type, RecordType):
            paths.extend(_paths(fact.type, f"{path}."))
        elif isinstance(fact.type, ListType):
            paths.extend(_paths(fact.type.item, f"{path}."))
    return paths
