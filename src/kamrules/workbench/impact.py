"""``kamrules impact``: what a rule change does to the portfolio, before it ships.

Both rulebooks decide the same portfolio on the same as-of date; the report shows what
changed in the rules, the tier movement matrix, segment and plan-compliance changes, and
for every account that moved, the criteria, gates and placement steps that moved it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from kamrules.evaluation.engine import Engine
from kamrules.evaluation.exact import round_ratio
from kamrules.explanation import markdown
from kamrules.portfolio.batch import Summary, flat_row, run
from kamrules.portfolio.sources import RawRecord
from kamrules.rulebook.semantics import Rulebook


@dataclass(frozen=True, slots=True)
class RuleChange:
    kind: str  # added, removed, changed
    what: str  # criterion, gate, tier, segment, plan check, setting
    name: str
    details: tuple[str, ...] = ()

    def __str__(self) -> str:
        text = f"{self.kind} {self.what} '{self.name}'"
        return text + (": " + "; ".join(self.details) if self.details else "")


@dataclass(frozen=True, slots=True)
class Movement:
    account_id: str
    account_name: str | None
    old_tier: str
    new_tier: str
    old_score: str
    new_score: str
    reasons: tuple[str, ...]


@dataclass
class Impact:
    old: Rulebook
    new: Rulebook
    as_of: dt.date
    rule_changes: list[RuleChange]
    accounts: int = 0
    tiers: Counter[tuple[str, str]] = field(default_factory=Counter)
    segments: Counter[tuple[str, str]] = field(default_factory=Counter)
    compliance: Counter[tuple[str, str]] = field(default_factory=Counter)
    moved: list[Movement] = field(default_factory=list)
    segment_changes: list[tuple[str, str, str]] = field(default_factory=list)
    compliance_changes: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "old": {"id": self.old.id, "version": self.old.version, "content_hash": self.old.content_hash},
            "new": {"id": self.new.id, "version": self.new.version, "content_hash": self.new.content_hash},
            "as_of": self.as_of.isoformat(),
            "accounts": self.accounts,
            "rule_changes": [
                {"kind": c.kind, "what": c.what, "name": c.name, "details": list(c.details)} for c in self.rule_changes
            ],
            "tier_matrix": [{"from": a, "to": b, "accounts": n} for (a, b), n in sorted(self.tiers.items())],
            "segment_matrix": [{"from": a, "to": b, "accounts": n} for (a, b), n in sorted(self.segments.items())],
            "compliance_matrix": [{"from": a, "to": b, "accounts": n} for (a, b), n in sorted(self.compliance.items())],
            "moved": [
                {
                    "account_id": m.account_id,
                    "account_name": m.account_name,
                    "from": m.old_tier,
                    "to": m.new_tier,
                    "old_score": m.old_score,
                    "new_score": m.new_score,
                    "reasons": list(m.reasons),
                }
                for m in self.moved
            ],
            "segment_changes": [{"account_id": a, "from": b, "to": c} for a, b, c in self.segment_changes],
            "compliance_changes": [{"account_id": a, "from": b, "to": c} for a, b, c in self.compliance_changes],
            "errors": [{"account_id": a, "message": m} for a, m in self.errors],
        }


# -- what changed in the rules ----------------------------------------------------------------


def _items(rulebook: Rulebook) -> dict[tuple[str, str], dict[str, Any]]:
    spec = rulebook.spec
    items: dict[tuple[str, str], dict[str, Any]] = {}
    for card in rulebook.scorecards:
        for c in card.criteria:
            items[("criterion", c.id)] = {"scorecard": card.id, **c.model_dump(mode="json", exclude_none=True)}
    for g in spec.gates:
        items[("gate", g.id)] = g.model_dump(mode="json", exclude_none=True)
    for i, t in enumerate(spec.tiers):
        items[("tier", t.name)] = {"position": i + 1, **t.model_dump(mode="json", exclude_none=True)}
    for s in spec.segments:
        items[("segment", s.name)] = s.model_dump(mode="json", exclude_none=True)
    for p in spec.plan_checks:
        items[("plan check", p.id)] = p.model_dump(mode="json", exclude_none=True)
    settings = spec.model_dump(
        mode="json", include={"defaults", "primary_scorecard", "stability", "tie_breakers", "relationship_map", "facts"}
    )
    for name, value in settings.items():
        items[("setting", name)] = {"value": value}
    return items


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def rule_changes(old: Rulebook, new: Rulebook) -> list[RuleChange]:
    """What changed between two rulebooks, rule by rule, field by field."""
    before, after = _items(old), _items(new)
    changes: list[RuleChange] = []
    for key in [*before, *(k for k in after if k not in before)]:
        what, name = key
        if key not in after:
            changes.append(RuleChange("removed", what, name))
        elif key not in before:
            changes.append(RuleChange("added", what, name))
        elif before[key] != after[key]:
            a, b = before[key], after[key]
            details = tuple(
                f"{f}: {_short(a.get(f, '(none)'))} -> {_short(b.get(f, '(none)'))}"
                for f in [*a, *(k for k in b if k not in a)]
                if a.get(f) != b.get(f) and f not in ("description", "title")
            ) or ("description or title",)
            changes.append(RuleChange("changed", what, name, details))
    return changes


# -- what changed in the portfolio ------------------------------------------------------------
#
# Both sides are compared through the flat form (``portfolio.batch.flat_columns``), which the
# per-account and the columnar evaluators write alike: a large portfolio is decided in
# columns, a small one (or one with nested plan data) account by account, and the report is
# the same either way.

COLUMNAR_FROM = 20_000
"""Portfolios at least this large are decided by the columnar evaluator when it is installed."""


def _flat_rows(engine: Engine, records: Sequence[RawRecord], as_of: dt.date) -> list[dict[str, Any]]:
    return [flat_row(engine, item, n) for n, item in enumerate(run(engine, records, as_of, Summary()), start=1)]


def _columnar_pairs(
    old: Engine, new: Engine, records: Sequence[RawRecord], as_of: dt.date, result: Impact
) -> Iterable[tuple[dict[str, Any], dict[str, Any]]] | None:
    """The portfolio decided in columns under both rulebooks, the unchanged accounts counted
    in columns; yields only the pairs of rows that differ or failed. None when the
    dataframes extra is not installed or the portfolio is small."""
    if len(records) < COLUMNAR_FROM or any(r.data is None for r in records):
        return None
    try:
        import polars as pl

        from kamrules.portfolio.api import columnar_engine, evaluate_frame
        from kamrules.portfolio.frames import from_records
    except ImportError:  # the dataframes extra is not installed
        return None
    table = from_records([r.data for r in records if r.data is not None], columnar_engine(old).nested)
    keys = ["status", "tier", "segment", "compliance"]
    a = evaluate_frame(old, table, as_of)
    b = evaluate_frame(new, table, as_of)
    both = a.select(["record", *keys]).join(b.select(["record", *keys]), on="record", suffix="_new")
    decided = both.filter((pl.col("status") == "decided") & (pl.col("status_new") == "decided"))
    result.accounts += decided.height
    for key, counter in (("tier", result.tiers), ("segment", result.segments), ("compliance", result.compliance)):
        counts = decided.group_by([key, f"{key}_new"]).len()
        for before, after, n in counts.iter_rows():
            counter[(str(before or ""), str(after or ""))] += n
    differ = both.filter(
        (pl.col("status") != "decided")
        | (pl.col("status_new") != "decided")
        | pl.any_horizontal(
            [pl.col(k).cast(pl.String).ne_missing(pl.col(f"{k}_new").cast(pl.String)) for k in keys[1:]]
        )
    )["record"]
    rows_a = a.filter(pl.col("record").is_in(differ.implode())).to_dicts()
    rows_b = b.filter(pl.col("record").is_in(differ.implode())).to_dicts()
    return [
        ({k: ("" if v is None else v) for k, v in x.items()}, {k: ("" if v is None else v) for k, v in y.items()})
        for x, y in zip(rows_a, rows_b, strict=True)
    ]


def _contributions(engine: Engine, row: Mapping[str, Any]) -> dict[str, Decimal]:
    """criterion id -> points it adds to its scorecard's score, from a flat row."""
    result = {}
    for card in engine.cards:
        total = int(row[f"total_weight.{card.id}"])
        for c in card.criteria:
            points = row[f"points.{c.spec.id}"]
            if points in ("", None) or not total:
                result[c.spec.id] = Decimal(0)
                continue
            # points (two decimals) x weight (hundredths) / total weight (hundredths)
            result[c.spec.id] = round_ratio(int(Decimal(str(points)) * 100) * c.weight, total * 100)
    return result


def _reasons(old: Engine, new: Engine, a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[str, ...]:
    reasons: list[tuple[int, str]] = []
    ca, cb = _contributions(old, a), _contributions(new, b)
    for criterion in [*ca, *(k for k in cb if k not in ca)]:
        before, after = ca.get(criterion), cb.get(criterion)
        if before != after:
            delta = (after or 0) - (before or 0)
            label = "added " if before is None else "removed " if after is None else ""
            sign = "+" if delta > 0 else ""
            reasons.append((-abs(int(delta * 100)), f"criterion '{criterion}' {label}{sign}{delta} points of score"))
    gates = sorted({k for k in (*a, *b) if k.startswith("gate.")})
    for gate in gates:
        if (a.get(gate) == "applies") != (b.get(gate) == "applies"):
            now = "now applies" if b.get(gate) == "applies" else "no longer applies"
            reasons.append((-(10**9), f"gate '{gate[5:]}' {now}"))
    if b.get("placement") and a.get("placement") != b.get("placement"):
        reasons.append((-(10**8), str(b["placement"])))
    thresholds_a = {t.name: dict(t.thresholds) for t in old.tiers}
    moved_down = new.tier_index.get(str(a["tier"]), -1) < new.tier_index.get(str(b["tier"]), -1)
    relevant = a["tier"] if moved_down else b["tier"]  # the tier it left, or the tier it reached
    for tier in new.tiers:
        if tier.name == relevant and tier.name in thresholds_a:
            for card, minimum in tier.thresholds:
                was = thresholds_a[tier.name].get(card)
                if was != minimum:
                    was_text = f" (was {was / 100:g})" if was is not None else " (new)"
                    reasons.append((-(10**7), f"tier '{tier.name}' now needs {card} {minimum / 100:g}{was_text}"))
    if not reasons:
        reasons.append((0, "the tier requirements changed"))
    reasons.sort(key=lambda r: r[0])
    return tuple(text for _, text in reasons[:5])


def impact(old: Rulebook, new: Rulebook, records: Iterable[RawRecord], as_of: dt.date) -> Impact:
    """Decide ``records`` under both rulebooks and compare, account by account."""
    old_engine, new_engine = Engine(old), Engine(new)
    raws = list(records)
    result = Impact(old, new, as_of, rule_changes(old, new))
    pairs = _columnar_pairs(old_engine, new_engine, raws, as_of, result)
    counted = pairs is not None  # the columnar path counted the matrices already
    if pairs is None:
        pairs = zip(_flat_rows(old_engine, raws, as_of), _flat_rows(new_engine, raws, as_of), strict=True)
    return compare(result, old_engine, new_engine, pairs, counted)


def compare(
    result: Impact,
    old_engine: Engine,
    new_engine: Engine,
    pairs: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
    counted: bool,
) -> Impact:
    """Add each pair of flat rows (the same account under the old and the new rulebook) to
    ``result``: errors, moves with their reasons, segment and compliance changes, and (unless
    ``counted``, when the matrices were counted in columns) the matrices."""
    primary_old, primary_new = f"score.{old_engine.primary}", f"score.{new_engine.primary}"
    for a, b in pairs:
        if a["status"] == "error" or b["status"] == "error":
            error = a if a["status"] == "error" else b
            result.errors.append((str(error["account_id"] or f"record {error['record']}"), str(error["error"])))
            continue
        tier_a, tier_b = str(a["tier"]), str(b["tier"])
        segment_a, segment_b = str(a["segment"] or ""), str(b["segment"] or "")
        status_a, status_b = str(a["compliance"] or ""), str(b["compliance"] or "")
        if not counted:
            result.accounts += 1
            result.tiers[(tier_a, tier_b)] += 1
            result.segments[(segment_a, segment_b)] += 1
            result.compliance[(status_a, status_b)] += 1
        account = str(a["account_id"])
        if tier_a != tier_b:
            result.moved.append(
                Movement(
                    account,
                    str(a["account_name"]) or None,
                    tier_a,
                    tier_b,
                    str(a[primary_old]),
                    str(b[primary_new]),
                    _reasons(old_engine, new_engine, a, b),
                )
            )
        if segment_a != segment_b:
            result.segment_changes.append((account, segment_a, segment_b))
        if status_a != status_b:
            result.compliance_changes.append((account, status_a, status_b))
    return result


# -- renderings -------------------------------------------------------------------------------


def _matrix(counts: Mapping[tuple[str, str], int], rows: Sequence[str], cols: Sequence[str]) -> list[list[str]]:
    table = [["from \\ to", *cols, "total"]]
    for r in rows:
        line = [counts.get((r, c), 0) for c in cols]
        table.append([r, *(str(n) if n else "·" for n in line), str(sum(line))])
    return table


def _order(rulebooks: Sequence[Rulebook], names: Iterable[str]) -> list[str]:
    ordered: list[str] = []
    for rb in rulebooks:
        ordered += [t for t in rb.tier_names if t not in ordered]
    return ordered + sorted(n for n in set(names) if n not in ordered)


def to_markdown(result: Impact) -> str:
    """The change report a director approves."""
    old, new = result.old, result.new
    out = [
        f"# Impact of {new.id} {new.version} against {old.id} {old.version}",
        "",
        f"{result.accounts} accounts decided as of {result.as_of.isoformat()}; "
        f"{len(result.moved)} change tier, {len(result.segment_changes)} change segment, "
        f"{len(result.compliance_changes)} change plan compliance."
        + (f" {len(result.errors)} could not be decided." if result.errors else ""),
        "",
    ]
    out += ["## What changed in the rules", ""]
    out += [f"- {c}" for c in result.rule_changes] or ["- nothing: the two rulebooks have the same rules"]
    tiers = _order([old, new], [n for pair in result.tiers for n in pair])
    out += ["", "## Tier movement", ""]
    table = _matrix(result.tiers, tiers, tiers)
    out.append("| " + " | ".join(markdown.cell(c) for c in table[0]) + " |")
    out.append("|" + "---|" * len(table[0]))
    out += ["| " + " | ".join(markdown.cell(c) for c in row) + " |" for row in table[1:]]
    if result.moved:
        out += [
            "",
            "## Accounts that change tier",
            "",
            "| Account | From | To | Score before | Score after | Why |",
            "|---|---|---|---:|---:|---|",
        ]
        for m in result.moved:
            name = f"{m.account_id}" + (f" ({m.account_name})" if m.account_name else "")
            cells = [name, m.old_tier, m.new_tier, str(m.old_score), str(m.new_score), "; ".join(m.reasons)]
            out.append("| " + " | ".join(markdown.cell(c) for c in cells) + " |")
    if result.segment_changes:
        out += ["", "## Segment changes", ""]
        counts = Counter((a, b) for _, a, b in result.segment_changes)
        out += [f"- {a or '(none)'} -> {b or '(none)'}: {n}" for (a, b), n in sorted(counts.items())]
    if result.compliance_changes:
        out += ["", "## Plan compliance changes", ""]
        counts = Counter((a, b) for _, a, b in result.compliance_changes)
        out += [f"- {a or '(none)'} -> {b or '(none)'}: {n}" for (a, b), n in sorted(counts.items())]
    if result.errors:
        out += ["", "## Accounts that could not be decided", ""]
        out += [f"- {who}: {message}" for who, message in result.errors[:50]]
    out += ["", f"*Old: `{old.content_hash}`. New: `{new.content_hash}`.*", ""]
    return "\n".join(out)


def to_text(result: Impact) -> str:
    """The same report for a terminal."""
    old, new = result.old, result.new
    lines = [
        f"Impact of {new.id} {new.version} against {old.id} {old.version}, as of {result.as_of.isoformat()}",
        f"  {result.accounts} accounts; {len(result.moved)} change tier, {len(result.segment_changes)} change "
        f"segment, {len(result.compliance_changes)} change plan compliance",
        "",
        "Rule changes",
    ]
    lines += [f"  {c}" for c in result.rule_changes] or ["  none"]
    tiers = _order([old, new], [n for pair in result.tiers for n in pair])
    table = _matrix(result.tiers, tiers, tiers)
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    lines += ["", "Tier movement"]
    lines += ["  " + "  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)) for row in table]
    if result.moved:
        lines += ["", "Accounts that change tier"]
        for m in result.moved:
            lines.append(
                f"  {m.account_id:<12} {m.old_tier} -> {m.new_tier} ({m.old_score} -> {m.new_score}): "
                + "; ".join(m.reasons)
            )
    return "\n".join(lines) + "\n"
