"""What the pictures show, gathered from the decisions themselves.

Every figure drawn is read off a :class:`~kamrules.explanation.decision.Decision` (scores,
tier, segment, placement steps, plan checks, criterion points) or off the rulebook (the
thresholds the lines are drawn at): nothing is recomputed, so a picture can never disagree
with the table, the JSON or the explanation of the same run. The portfolio is streamed:
only one small :class:`Point` per account is kept, plus counters.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from kamrules.explanation.decision import AccountError, Decision
from kamrules.expressions import nodes
from kamrules.expressions.parser import parse
from kamrules.portfolio.capacity import tier_capacity
from kamrules.rulebook.semantics import Rulebook

Marker = Literal["", "override", "capacity", "stability"]
STATUSES = ("compliant", "at_risk", "non_compliant", "not_applicable")
"""Plan statuses, best first: the order of every compliance picture's colours."""


@dataclass(frozen=True, slots=True)
class Point:
    """One decided account as the matrix draws it."""

    account_id: str
    name: str | None
    x: Decimal | None
    """The score on the matrix's horizontal scorecard (None when the rulebook has one card)."""
    y: Decimal
    """The score on the primary scorecard."""
    tier: str
    tier_by_rules: str
    segment: str | None
    marker: Marker
    compliance: str
    why: str

    @property
    def label(self) -> str:
        """The account and its one-line why, for hovering and for the printed list."""
        who = f"{self.account_id} {self.name}" if self.name else self.account_id
        return f"{who}: {self.why}"


@dataclass(frozen=True, slots=True)
class Threshold:
    """A line drawn at a rulebook value: a segment boundary, a tier minimum or a capacity cut-off."""

    kind: Literal["segment", "tier", "capacity"]
    card: str
    value: Decimal
    label: str


@dataclass(slots=True)
class CriterionSpread:
    """How one criterion's points spread over the portfolio."""

    card: str
    criterion: str
    title: str | None
    weight: Decimal
    points: Counter[Decimal] = field(default_factory=Counter)
    contribution_total: Decimal = Decimal(0)
    missing: int = 0
    dropped: int = 0

    @property
    def accounts(self) -> int:
        return sum(self.points.values())

    @property
    def separates(self) -> bool:
        """Whether the criterion gives different accounts different points at all."""
        return len(self.points) > 1

    @property
    def mean_contribution(self) -> Decimal:
        return (self.contribution_total / self.accounts).quantize(Decimal("0.01")) if self.accounts else Decimal(0)


@dataclass(slots=True)
class FailingCheck:
    check: str
    title: str
    severity: str
    remediation: str | None
    failed: int = 0


@dataclass(slots=True)
class Portfolio:
    """A portfolio's decisions, reduced to what the report draws."""

    rulebook: Rulebook
    as_of: dt.date
    y_card: str
    x_card: str | None
    points: list[Point] = field(default_factory=list)
    errors: int = 0
    tiers: Counter[str] = field(default_factory=Counter)
    segments: Counter[str] = field(default_factory=Counter)
    compliance_by_tier: Counter[tuple[str, str]] = field(default_factory=Counter)
    compliance_by_manager: Counter[tuple[str, str]] = field(default_factory=Counter)
    failing: dict[str, FailingCheck] = field(default_factory=dict)
    criteria: dict[tuple[str, str], CriterionSpread] = field(default_factory=dict)
    lowest_placed: dict[str, Decimal] = field(default_factory=dict)
    """Per tier, the lowest primary score of an account placed in it (for capacity cut-offs)."""
    overflowed: set[str] = field(default_factory=set)
    """Tiers some account fell out of for capacity."""

    @property
    def excluded(self) -> str | None:
        """The name of the excluded outcome, when the rulebook gives excluded accounts one."""
        return self.rulebook.spec.excluded.name if self.rulebook.spec.excluded else None

    @property
    def outcomes(self) -> tuple[str, ...]:
        """Every tier a decision can give, best first, then the excluded outcome if any."""
        return self.rulebook.tier_names + ((self.excluded,) if self.excluded else ())

    @property
    def decided(self) -> int:
        return len(self.points)

    def capacities(self) -> dict[str, int | None]:
        """Each tier's capacity in accounts, as placement resolved it for this many decisions."""
        capacities = {t.name: tier_capacity(t.capacity, self.decided) for t in self.rulebook.spec.tiers}
        return capacities | ({self.excluded: None} if self.excluded else {})

    def thresholds(self) -> list[Threshold]:
        """Segment boundaries, tier minimums and capacity cut-offs, in rulebook order."""
        lines = list(segment_thresholds(self.rulebook))
        for tier in self.rulebook.spec.tiers:
            if tier.min_score is not None:
                lines.append(Threshold("tier", self.y_card, tier.min_score, f"{tier.name} from {tier.min_score}"))
            for card, value in sorted((tier.min_scores or {}).items()):
                lines.append(Threshold("tier", card, value, f"{tier.name} needs {card} {value}"))
        for name in (t.name for t in self.rulebook.spec.tiers):
            if name in self.overflowed and name in self.lowest_placed:
                value = self.lowest_placed[name]
                lines.append(Threshold("capacity", self.y_card, value, f"{name} full: cut-off {value}"))
        return lines

    def add(self, item: Decision | AccountError, manager: str | None = None) -> None:
        """Count one decision (or error) in."""
        if isinstance(item, AccountError):
            self.errors += 1
            return
        self.points.append(_point(self, item))
        self.tiers[item.tier] += 1
        if item.segment is not None:
            self.segments[item.segment] += 1
        primary = item.scores[self.y_card].score
        if primary < self.lowest_placed.get(item.tier, Decimal(101)):
            self.lowest_placed[item.tier] = primary
        if _moved_by_capacity(item):
            self.overflowed.add(item.tier_by_rules)
        status = item.compliance.status if item.compliance else "not_applicable"
        self.compliance_by_tier[(item.tier, status)] += 1
        if item.key_account:
            self.compliance_by_manager[(manager or "(no account manager)", status)] += 1
        for check in item.compliance.checks if item.compliance else ():
            if check.applies and not check.passed:
                entry = self.failing.get(check.id)
                if entry is None:
                    entry = self.failing[check.id] = FailingCheck(
                        check.id, check.title, check.severity, check.remediation
                    )
                entry.failed += 1
        for card in item.scores.values():
            for c in card.criteria:
                spread = self.criteria.get((card.id, c.id))
                if spread is None:
                    spread = self.criteria[(card.id, c.id)] = CriterionSpread(card.id, c.id, c.title, c.weight)
                spread.points[c.points] += 1
                spread.contribution_total += c.contribution
                spread.missing += c.missing
                spread.dropped += c.dropped


def _moved_by_capacity(decision: Decision) -> bool:
    """A full tier sent the account lower (a capacity step is also noted for accounts that
    made the cut: "ranked 3rd of 26 eligible for Gold, capacity 10")."""
    return decision.tier != decision.tier_by_rules and any(s.kind == "capacity" for s in decision.placement)


def _point(portfolio: Portfolio, decision: Decision) -> Point:
    kinds = {step.kind for step in decision.placement}
    if not _moved_by_capacity(decision):
        kinds.discard("capacity")
    marker: Marker = next((k for k in ("override", "capacity", "stability") if k in kinds), "")
    why = decision.summary
    if decision.placement:
        why += "; " + "; ".join(step.note for step in decision.placement)
    x = decision.scores[portfolio.x_card].score if portfolio.x_card else None
    return Point(
        account_id=decision.account_id,
        name=decision.account_name,
        x=x,
        y=decision.scores[portfolio.y_card].score,
        tier=decision.tier,
        tier_by_rules=decision.tier_by_rules,
        segment=decision.segment,
        marker=marker,
        compliance=decision.compliance.status if decision.compliance else "not_applicable",
        why=why,
    )


def matrix_axes(rulebook: Rulebook) -> tuple[str, str | None]:
    """The primary scorecard (up) and the one drawn across: the first other scorecard the
    segments compare, else the first other scorecard, else none (a one-card rulebook)."""
    primary = rulebook.primary_scorecard
    others = [card.id for card in rulebook.scorecards if card.id != primary]
    compared = [t.card for t in segment_thresholds(rulebook) if t.card in others]
    across = compared[0] if compared else (others[0] if others else None)
    return primary, across


def segment_thresholds(rulebook: Rulebook) -> Iterator[Threshold]:
    """Each ``score.<card> <op> <number>`` a segment's condition compares, once per value.

    Read from the condition the rulebook states (parsed, not evaluated): a boundary written
    any other way (arithmetic on scores, two scores compared) is not drawn as a line.
    """
    seen: set[tuple[str, Decimal]] = set()
    for segment in rulebook.spec.segments:
        if segment.when is None:
            continue
        for card, value in _score_comparisons(parse(str(segment.when))):
            if (card, value) not in seen:
                seen.add((card, value))
                yield Threshold("segment", card, value, f"segment boundary {card} {value}")


def _score_comparisons(node: nodes.Node) -> Iterable[tuple[str, Decimal]]:
    if isinstance(node, nodes.Compare) and len(node.operands) == 2:
        for field_node, constant in (node.operands, node.operands[::-1]):
            if (
                isinstance(field_node, nodes.Field)
                and len(field_node.parts) == 2
                and field_node.parts[0] == "score"
                and isinstance(constant, nodes.Constant)
                and isinstance(constant.value, int | float)
                and not isinstance(constant.value, bool)
            ):
                yield field_node.parts[1], Decimal(str(constant.value))
    for child in nodes.children(node):
        yield from _score_comparisons(child)


def gather(
    rulebook: Rulebook, items: Iterable[tuple[Decision | AccountError, str | None]], as_of: dt.date
) -> Portfolio:
    """A :class:`Portfolio` from decisions (each with its account manager), streamed."""
    y_card, x_card = matrix_axes(rulebook)
    portfolio = Portfolio(rulebook=rulebook, as_of=as_of, y_card=y_card, x_card=x_card)
    for name in portfolio.outcomes:
        portfolio.tiers[name] += 0
    for item, manager in items:
        portfolio.add(item, manager)
    return portfolio
