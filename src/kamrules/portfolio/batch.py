"""Batch runs: a stream of raw records in, decisions and error records out, with a summary.

The batch never stops at a bad record and never loses one: every record read becomes
either an outcome or an :class:`AccountError`, and the summary checks that count.
"""

from __future__ import annotations

import datetime as dt
import pickle
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, BinaryIO

from kamrules.evaluation.compliance import APPLIES, CheckRow
from kamrules.evaluation.engine import Engine, Outcome, account_error
from kamrules.evaluation.exact import score2
from kamrules.explanation.decision import AccountError, FieldError
from kamrules.facts.records import InvalidRecord, summarise_problems
from kamrules.portfolio.capacity import has_capacity, portfolio_note
from kamrules.portfolio.placement import Contender, Placement, capacity_tiers, contender, notes_of, place
from kamrules.portfolio.sources import RawRecord


@dataclass
class Summary:
    """Counts over a batch, for the end-of-run report and for scripts."""

    read: int = 0
    decided: int = 0
    errors: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    segments: Counter[str] = field(default_factory=Counter)
    key_accounts: int = 0
    compliance: Counter[str] = field(default_factory=Counter)
    unknown_columns: list[str] = field(default_factory=list)
    placement: Placement | None = None
    """With tier capacities: the portfolio's placement, which a run can save for later
    single-account decisions (``evaluate --save-placement``)."""

    def name_every_grade(self, engine: Engine) -> None:
        """Every tier, the excluded grade and every segment counted from 0, so that the
        report names a tier no account reached instead of leaving it out."""
        for name in (t.name for t in engine.tiers):
            self.tiers[name] += 0
        if engine.excluded_name is not None:
            self.tiers[engine.excluded_name] += 0
        for name, _ in engine.segments:
            self.segments[name] += 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "decided": self.decided,
            "errors": self.errors,
            "key_accounts": self.key_accounts,
            "tiers": dict(self.tiers),
            "segments": dict(self.segments),
            "compliance": dict(self.compliance),
            "unknown_columns": self.unknown_columns,
        }


def run(
    engine: Engine, records: Iterable[RawRecord], as_of: dt.date, summary: Summary
) -> Iterator[Outcome | AccountError]:
    """Decide each record in order, keeping ``summary`` up to date as results stream out.

    Records stream through in bounded memory: a batch never holds the portfolio. Without
    tier capacities each result is yielded as its record is decided. With them every account
    must be decided before any tier is final: see :func:`_placed`.
    """
    summary.name_every_grade(engine)
    unknown: dict[str, None] = {}
    if has_capacity(engine):
        decided = _placed(engine, records, as_of, summary, unknown)
    else:
        decided = _decide(engine, records, as_of, summary, unknown)
    for item in decided:
        if isinstance(item, Outcome):
            _count(engine, item, summary)
        yield item
    summary.unknown_columns = list(unknown)


def _placed(
    engine: Engine, records: Iterable[RawRecord], as_of: dt.date, summary: Summary, unknown: dict[str, None]
) -> Iterator[Outcome | AccountError]:
    """Decide a portfolio whose tiers have capacities in two passes, holding only a compact
    ranking key per account, never the records or outcomes (about 38 KB per nested account
    as Python objects, 40 GB for a million).

    The first pass decides every record, keeps a :class:`~kamrules.portfolio.placement.Contender`
    for each account in a tier with a capacity (the others cannot move), and spills the raw
    record to a temporary file, because the input may be a stream that cannot be read twice.
    Capacity is then placed from the keys. The second pass reads the spilled records back in
    input order, decides them again (the same facts give the same outcome) and moves each
    contender to its placed tier with its ranking notes. Deciding twice costs less than
    holding: the per-account work is small next to building an explanation, and garbage
    collection over millions of live objects is what made the held batch slow."""
    tiers = {t.index for t in capacity_tiers(engine, 0)}
    contenders: list[Contender] = []
    decided = 0
    with tempfile.TemporaryFile(prefix="kamrules-batch-") as spill:
        for item in _decide(engine, _spilling(records, spill), as_of, summary, unknown):
            if isinstance(item, Outcome):
                if item.tier_index in tiers:
                    key = contender(engine, item, decided)
                    if key.tier in tiers:  # not the rulebook's excluded outcome
                        contenders.append(key)
                decided += 1
        placed = place(engine, contenders, decided)
        placed.placement.as_of = as_of
        summary.placement = placed.placement
        managers = {c.row: c.manager for c in contenders}
        del contenders
        note = portfolio_note(decided)
        spill.seek(0)
        row = 0
        for item in _decide(engine, _unspilled(spill), as_of, Summary(), {}):
            if isinstance(item, Outcome):
                if row in managers:
                    notes = notes_of(engine, placed, row, managers[row])
                    if notes:
                        item = item.placed(placed.final[row], notes)
                item = item.with_capacity(True, None, note)
                row += 1
            yield item


def _spilling(records: Iterable[RawRecord], spill: BinaryIO) -> Iterator[RawRecord]:
    """The records, each written to ``spill`` as it passes (one pickle per record, so that
    nothing accumulates in a pickler's memo)."""
    for raw in records:
        pickle.dump(raw, spill, protocol=pickle.HIGHEST_PROTOCOL)
        yield raw


def _unspilled(spill: BinaryIO) -> Iterator[RawRecord]:
    while True:
        try:
            raw = pickle.load(spill)
        except EOFError:
            return
        yield raw


def _decide(
    engine: Engine, records: Iterable[RawRecord], as_of: dt.date, summary: Summary, unknown: dict[str, None]
) -> Iterator[Outcome | AccountError]:
    seen: dict[str, tuple[int, int]] = {}
    for raw in records:
        summary.read += 1
        number = summary.read
        if raw.data is None:
            summary.errors += 1
            yield AccountError(
                record=number,
                line=raw.line,
                account_id=None,
                errors=[FieldError(field="(record)", message=raw.problem or "unreadable")],
                message=raw.problem or "unreadable record",
            )
            continue
        if summary.read <= 1000:  # columns are the same on every row of an export
            for key in engine.validator.unknown_keys(raw.data):
                unknown.setdefault(key)
        try:
            outcome = engine.evaluate(engine.validate(raw.data), as_of)
        except InvalidRecord as exc:
            summary.errors += 1
            yield account_error(number, exc, raw.line)
            continue
        first_number, first_line = seen.setdefault(outcome.account_id, (number, raw.line))
        if first_number != number:
            # one account twice in one portfolio: never decided (and ranked for capacity) twice
            summary.errors += 1
            yield repeated_account(number, raw.line, outcome.account_id, first_line)
            continue
        yield outcome


def repeated_account(number: int, line: int | None, account_id: str, first_line: int | None) -> AccountError:
    """The error record of an account id given again in one input (the first record decided
    keeps it), worded the same by every executor."""
    problem = f"account '{account_id}' appears more than once; it was first given at line {first_line}"
    return AccountError(
        record=number,
        line=line,
        account_id=account_id,
        errors=[FieldError(field="id", message=problem, value=account_id)],
        message=problem,
    )


def _count(engine: Engine, outcome: Outcome, summary: Summary) -> None:
    summary.decided += 1
    summary.tiers[outcome.tier] += 1
    if outcome.segment is not None:
        summary.segments[outcome.segment] += 1
    if outcome.key_account:
        summary.key_accounts += 1
    status = outcome.compliance_status
    if status is not None:
        summary.compliance[status] += 1


def flat_columns(engine: Engine) -> list[str]:
    """Column names of the flat form: one row per record, decided or not.

    The same columns, in the same order, as the columnar evaluator writes, so a CRM feed
    does not change shape with the engine that produced it. ``weighted.<card>`` and
    ``total_weight.<card>`` are the exact integers the score is made of. With plan checks,
    ``check.<id>`` gives each check's result (:data:`CHECK_STATUSES`) and ``failed_checks``
    the ids of those that failed or lacked evidence, so a feed can filter on one check without
    parsing explanations.
    """
    columns = ["record", "account_id", "account_name", "status", "tier", "key_account", "segment"]
    columns += [f"score.{card.id}" for card in engine.cards]
    columns += [f"weighted.{card.id}" for card in engine.cards]
    columns += [f"total_weight.{card.id}" for card in engine.cards]
    for card in engine.cards:
        columns += [f"points.{c.spec.id}" for c in card.criteria]
    columns += [f"gate.{g.spec.id}" for g in engine.gates]
    columns += ["compliance"]
    if engine.checks:
        columns += [f"check.{c.spec.id}" for c in engine.checks] + ["failed_checks"]
    columns += ["tier_by_rules", "placement", "error"]
    return columns


CHECK_STATUSES = ("passed", "failed", "not_applicable", "evidence_missing")
"""What ``check.<id>`` says of one plan check at the account's final tier and stage."""


def check_statuses(rows: Sequence[CheckRow]) -> list[str]:
    """Each plan check's result in the flat form: a check that does not apply at the tier or
    stage is ``not_applicable``; one whose condition is unknown is ``evidence_missing``."""
    return [_status(kind, passed) for kind, passed, *_ in rows]


def _status(kind: int, passed: bool | None) -> str:
    if kind != APPLIES:
        return "not_applicable"
    return "passed" if passed is True else "evidence_missing" if passed is None else "failed"


def failed_checks(engine: Engine, statuses: Sequence[str]) -> list[str]:
    """The ids of the checks that apply and did not pass (failed, or evidence missing)."""
    return [c.spec.id for c, s in zip(engine.checks, statuses, strict=True) if s in ("failed", "evidence_missing")]


def flat_values(engine: Engine, item: Outcome | AccountError, number: int) -> dict[str, Any]:
    """A decision or error as one row of the flat form, with typed values: ``Decimal`` scores
    and points (two places, rounded down as explanations show them), the exact integers they
    are made of, ``bool`` key account, None for what is not there. Built from the outcome
    without a full explanation; the columnar evaluator's frames and the CSV output both
    start here, so the engines cannot drift apart."""
    if isinstance(item, AccountError):
        return {
            "record": number,
            "account_id": item.account_id,
            "status": "error",
            "error": "; ".join(summarise_problems([(e.field, e.message) for e in item.errors])),
        }
    row: dict[str, Any] = {
        "record": number,
        "account_id": item.account_id,
        "account_name": getattr(item.record, "name", None),
        "status": "decided",
        "tier": item.tier,
        "key_account": item.key_account,
        "segment": item.segment,
    }
    for card, (weighted, total, _) in zip(engine.cards, item._cards, strict=True):
        row[f"score.{card.id}"] = score2(item.scores[card.id])
        row[f"weighted.{card.id}"] = weighted
        row[f"total_weight.{card.id}"] = total
    for card, (_, _, rows) in zip(engine.cards, item._cards, strict=True):
        for c, crow in zip(card.criteria, rows, strict=True):
            row[f"points.{c.spec.id}"] = None if crow[3] == 2 else (Decimal(crow[1]) / 100).quantize(_CENTS)
    for gate, (applied, unknown, _) in zip(engine.gates, item._gates, strict=True):
        row[f"gate.{gate.spec.id}"] = "applies" if applied else "unknown" if unknown else "no"
    row["compliance"] = item.compliance_status
    if engine.checks:
        statuses = check_statuses(item._check_rows)
        for check, status in zip(engine.checks, statuses, strict=True):
            row[f"check.{check.spec.id}"] = status
        row["failed_checks"] = failed_checks(engine, statuses)
    row["tier_by_rules"] = engine.tiers[item.rules_index].name
    row["placement"] = "; ".join(note for _, note in item.placement) or None
    return row


_CENTS = Decimal("0.01")

FAILED_SEPARATOR = ";"
"""How ``failed_checks`` (a list in frames and Parquet) is written as text in CSV and JSON Lines."""


def flat_row(engine: Engine, item: Outcome | AccountError, number: int) -> dict[str, Any]:
    """The flat form as CSV writes it: :func:`flat_values` with nothing as an empty cell and
    yes/no as ``true``/``false`` (what polars writes for the columnar evaluator's frame)."""
    return {k: _cell(v) for k, v in flat_values(engine, item, number).items()}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):  # failed_checks
        return FAILED_SEPARATOR.join(value)
    return value
