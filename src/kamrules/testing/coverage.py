"""Rule coverage: which parts of a rulebook no scenario exercised (like ``opa test --coverage``).

A rulebook is covered case by case:

================  =================================================================
criterion          bands: each band, and "below every band"; map: each category
                   value; boolean: true and false; scale and expression: scored
                   from a recorded value at least once
gate               applied at least once
tier               assigned at least once (after stability, overrides and capacity)
segment            assigned at least once
plan check         seen holding, and seen failing, where it applies: two cases
alert              raised at least once by the monitor steps (``alerts:`` section)
================  =================================================================

Coverage is gathered from the outcomes the step library decides, per rulebook content
hash, so a rulebook loaded by many scenarios is counted once. A case is exercised when
some decision went through it; whether a Then step checked it is the scenario's business.
This module needs neither pytest nor pytest-bdd.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from kamrules.evaluation.compliance import APPLIES
from kamrules.evaluation.engine import Engine, Outcome

KINDS = ("criterion", "gate", "tier", "segment", "plan check", "alert")


@dataclass(frozen=True, slots=True)
class Case:
    """One thing a rulebook can do that a scenario should see it do."""

    kind: str
    """criterion, gate, tier, segment or plan check."""
    rule: str
    """The criterion's, gate's or check's id; the tier's or segment's name."""
    case: str
    """What must be seen: "at least 5,000,000 (5M to 10M)", "below every band", "applied", "holds", ..."""


def _number(value: float) -> str:
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{Decimal(str(value)):,}"


def _criterion_cases(engine: Engine) -> list[tuple[Case, ...]]:
    """Per criterion (in scorecard order), its cases; a case's position is what the hot path reports."""
    cases: list[tuple[Case, ...]] = []
    for card in engine.cards:
        for c in card.criteria:
            spec = c.spec
            rule = spec.id
            if spec.bands is not None:
                bands = [
                    Case("criterion", rule, f"at least {_number(b.at_least)}" + (f" ({b.label})" if b.label else ""))
                    for b in spec.bands
                ]
                cases.append((*bands, Case("criterion", rule, "below every band")))
            elif spec.map is not None:
                cases.append(tuple(Case("criterion", rule, f"'{value}'") for value in spec.map))
            elif spec.boolean is not None:
                cases.append((Case("criterion", rule, "true"), Case("criterion", rule, "false")))
            else:
                how = "scale" if spec.scale is not None else "expression"
                cases.append((Case("criterion", rule, f"scored on its {how}"),))
    return cases


@dataclass
class RulebookCoverage:
    """The cases of one rulebook and how many decisions exercised each."""

    engine: Engine
    source: str
    """Where the rulebook was read from, as the feature named it."""
    criteria: list[tuple[Case, ...]] = field(init=False)
    gates: list[Case] = field(init=False)
    tiers: list[Case] = field(init=False)
    segments: list[Case] = field(init=False)
    checks: list[tuple[Case, Case]] = field(init=False)
    alerts: list[Case] = field(init=False)
    hits: Counter[Case] = field(default_factory=Counter)
    decisions: int = 0

    def __post_init__(self) -> None:
        engine = self.engine
        self.criteria = _criterion_cases(engine)
        self.gates = [Case("gate", g.spec.id, "applied") for g in engine.gates]
        self.tiers = [Case("tier", t.name, "assigned") for t in engine.tiers]
        self.segments = [Case("segment", name, "assigned") for name, _ in engine.segments]
        self.checks = [
            (Case("plan check", c.spec.id, "holds"), Case("plan check", c.spec.id, "fails")) for c in engine.checks
        ]
        self.alerts = [Case("alert", rule.kind, "raised") for rule in engine.rulebook.spec.alerts]

    @property
    def cases(self) -> list[Case]:
        every = [case for cases in self.criteria for case in cases]
        every += self.gates + self.tiers + self.segments
        every += [case for pair in self.checks for case in pair]
        return every + self.alerts

    def record(self, outcomes: Iterable[Outcome]) -> None:
        """Count the cases each outcome went through."""
        engine = self.engine
        hits = self.hits
        for outcome in outcomes:
            self.decisions += 1
            position = 0
            for card, (_, _, rows) in zip(engine.cards, outcome._cards, strict=True):
                for c, (value, _, match, status, _) in zip(card.criteria, rows, strict=True):
                    cases = self.criteria[position]
                    position += 1
                    if status != 0 or value is None:
                        continue  # a missing fact exercises no band
                    spec = c.spec
                    if spec.bands is not None:
                        hits[cases[match if match >= 0 else -1]] += 1
                    elif spec.map is not None:
                        keys = list(spec.map)
                        if str(value) in keys:
                            hits[cases[keys.index(str(value))]] += 1
                    elif spec.boolean is not None:
                        hits[cases[0 if value else 1]] += 1
                    else:
                        hits[cases[0]] += 1
            for case, (applied, *_) in zip(self.gates, outcome._gates, strict=True):
                if applied:
                    hits[case] += 1
            hits[self.tiers[outcome.tier_index]] += 1
            if outcome.segment_index >= 0:
                hits[self.segments[outcome.segment_index]] += 1
            for (holds, fails), (kind, passed, *_) in zip(self.checks, outcome._check_rows, strict=True):
                if kind == APPLIES:
                    hits[holds if passed is True else fails] += 1

    def record_alerts(self, kinds: Iterable[str]) -> None:
        """Count the alert kinds the monitor raised."""
        for kind in kinds:
            self.hits[Case("alert", kind, "raised")] += 1

    def missed(self) -> list[Case]:
        return [case for case in self.cases if not self.hits[case]]

    @property
    def percent(self) -> Decimal:
        """The share of cases exercised, rounded down to one decimal (so 99.96% is not shown as 100%)."""
        cases = self.cases
        if not cases:
            return Decimal(100)
        covered = sum(1 for case in cases if self.hits[case])
        return (Decimal(covered * 1000) // len(cases)) / 10

    def by_kind(self) -> list[tuple[str, int, int]]:
        """(kind, cases, exercised) for each kind of rule the rulebook has."""
        rows = []
        for kind in KINDS:
            cases = [case for case in self.cases if case.kind == kind]
            if cases:
                rows.append((kind, len(cases), sum(1 for case in cases if self.hits[case])))
        return rows


class CoverageCollector:
    """Every rulebook a test session loaded from files, by content hash."""

    def __init__(self) -> None:
        self.rulebooks: dict[str, RulebookCoverage] = {}
        self.inline: set[str] = set()

    def record(self, engine: Engine, source: str | None, outcomes: Sequence[Outcome]) -> None:
        """Record decisions; ``source`` is None for a rulebook written inside a feature (not counted)."""
        key = engine.rulebook.content_hash
        if source is None:
            self.inline.add(key)
            return
        coverage = self.rulebooks.get(key)
        if coverage is None:
            coverage = self.rulebooks[key] = RulebookCoverage(engine, source)
        coverage.record(outcomes)

    def record_alerts(self, engine: Engine, source: str | None, kinds: Sequence[str]) -> None:
        """Record the alert kinds the monitor raised with a rulebook read from files."""
        if source is None:
            self.inline.add(engine.rulebook.content_hash)
            return
        self.loaded(engine, source)
        self.rulebooks[engine.rulebook.content_hash].record_alerts(kinds)

    def loaded(self, engine: Engine, source: str) -> None:
        """A rulebook was loaded from files: it is reported even if no account was decided with it."""
        key = engine.rulebook.content_hash
        if key not in self.rulebooks:
            self.rulebooks[key] = RulebookCoverage(engine, source)

    def report(self, minimum: Decimal | None = None) -> list[str]:
        """The coverage table, one line per string."""
        if not self.rulebooks:
            return ["kamrules rule coverage: no rulebook was loaded from files by any scenario"]
        lines = []
        for coverage in sorted(self.rulebooks.values(), key=lambda c: c.source):
            rulebook = coverage.engine.rulebook
            cases = coverage.cases
            covered = len(cases) - len(coverage.missed())
            lines.append(
                f"kamrules rule coverage of {rulebook.id} {rulebook.version} ({coverage.source}): "
                f"{coverage.percent:.1f}% ({covered} of {len(cases)} rule cases, from {coverage.decisions} decisions)"
            )
            lines.append(f"  {'kind':<12} {'cases':>6} {'exercised':>10}")
            for kind, count, hit in coverage.by_kind():
                lines.append(f"  {kind:<12} {count:>6} {hit:>10}")
            missed = coverage.missed()
            if missed:
                width = max(len(case.rule) for case in missed)
                lines.append("  Not exercised by any scenario:")
                lines.append(f"    {'kind':<12} {'rule':<{width}} case")
                for case in missed:
                    lines.append(f"    {case.kind:<12} {case.rule:<{width}} {case.case}")
            if minimum is not None and coverage.percent < minimum:
                lines.append(f"  FAIL: {coverage.percent:.1f}% is below the required {minimum}%")
        if self.inline:
            count = len(self.inline)
            lines.append(
                f"({count} rulebook{'s' if count != 1 else ''} written inside features "
                f"{'are' if count != 1 else 'is'} not counted: they are part of the test, not the policy)"
            )
        return lines

    def below(self, minimum: Decimal) -> list[RulebookCoverage]:
        return [c for c in self.rulebooks.values() if c.percent < minimum]
