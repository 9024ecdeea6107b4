"""``kamrules lint``: warnings beyond validation, each with its place and a reason a policy
owner understands.

Validation refuses a rulebook that cannot work; lint flags one that works but probably
does not say what its owner means: a tier no account can reach, revenue quietly deciding
everything, a weight too small to matter, a band no value can fall in.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kamrules.errors import SourceLocation
from kamrules.explanation.decision import Decision
from kamrules.facts.types import CategoryType, FactField
from kamrules.rulebook.model import Criterion
from kamrules.rulebook.semantics import Rulebook
from kamrules.rulebook.yaml_source import Path

REVENUE_SHARE_LIMIT = Fraction(40, 100)
"""Above this share of its scorecard's weight, a revenue criterion is called dominant."""
SMALL_SWING = Fraction(1)
"""A criterion that can move the score by less than one point rarely changes anything."""


MOSTLY_MISSING = Fraction(1, 2)
"""Above this share of a portfolio's accounts without it, a weighted criterion's fact is
called missing in most of the portfolio (KAM010)."""


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    message: str
    location: SourceLocation | None = None
    hint: str | None = None
    rule: Path | None = None
    """The rule the warning is about, by its path in the spec; a `lint:` mapping on that rule
    (or on a rule around it, such as the criterion's scorecard) can switch the code off."""

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}warning {self.code}: {self.message}{hint}"

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("rule")
        data["location"] = str(self.location) if self.location else None
        return data


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A warning switched off in the rulebook, with the reason written there."""

    finding: Finding
    reason: str

    def __str__(self) -> str:
        return f"{self.finding} [switched off: {self.reason}]"


@dataclass(frozen=True, slots=True)
class PointRange:
    """The points a criterion can give, and whether it can be left out (missing: drop)."""

    low: Fraction
    high: Fraction
    droppable: bool


def _fact_field(rulebook: Rulebook, path: str | None) -> FactField | None:
    if path is None:
        return None
    parts = path.split(".")
    if parts[0] == "account":
        parts = parts[1:]
    record = rulebook.schema.account
    if len(parts) == 2 and parts[0] == "plan":
        record = rulebook.schema.plan
        parts = parts[1:]
    return record.fields.get(parts[0]) if len(parts) == 1 else None


def point_range(rulebook: Rulebook, criterion: Criterion) -> PointRange:
    """The lowest and highest points a criterion can give, given its fact's allowed range."""
    policy = criterion.missing or rulebook.spec.defaults.missing
    fact = _fact_field(rulebook, criterion.fact)
    lo_fact = fact.minimum if fact else None
    hi_fact = fact.maximum if fact else None
    options: list[Decimal] = []
    if criterion.bands is not None:
        reachable = [b for b in criterion.bands if hi_fact is None or b.at_least <= hi_fact]
        options += [b.points for b in reachable]
        if lo_fact is None or lo_fact < criterion.bands[-1].at_least:
            options.append(criterion.below_bands)
    elif criterion.scale is not None:
        s = criterion.scale
        options += [_scale_points(criterion, v) for v in (lo_fact, hi_fact) if v is not None]
        if lo_fact is None or hi_fact is None:
            options += [s.points_from, s.points_to]
    elif criterion.map is not None:
        options += list(criterion.map.values())
    elif criterion.boolean is not None:
        options += list(criterion.boolean.values())
    else:
        options += [Decimal(0), Decimal(100)]
    optional = fact is None or not fact.required
    if policy == "zero" and optional:
        options.append(Decimal(0))
    return PointRange(Fraction(min(options)), Fraction(max(options)), policy == "drop" and optional)


def _scale_points(criterion: Criterion, value: float) -> Decimal:
    s = criterion.scale
    assert s is not None
    t = min(1.0, max(0.0, (value - s.from_value) / (s.to_value - s.from_value)))
    return s.points_from + (s.points_to - s.points_from) * Decimal(str(t))


def best_score(rulebook: Rulebook, card_index: int) -> Fraction:
    """An upper bound of a scorecard's score: every criterion at its best, and droppable
    criteria left out when that helps (tried exhaustively for up to 12 of them)."""
    card = rulebook.scorecards[card_index]
    ranges = [(Fraction(c.weight), point_range(rulebook, c)) for c in card.criteria]
    droppable = [i for i, (_, r) in enumerate(ranges) if r.droppable][:12]
    best = Fraction(0)
    for k in range(len(droppable) + 1):
        for dropped in itertools.combinations(droppable, k):
            kept = [(w, r) for i, (w, r) in enumerate(ranges) if i not in dropped]
            total = sum(w for w, _ in kept)
            if total > 0:
                best = max(best, Fraction(sum(w * r.high for w, r in kept)) / total)
    return best


def lint(
    rulebook: Rulebook, portfolio_size: int | None = None, portfolio: Sequence[Decision] | None = None
) -> list[Finding]:
    """Every warning for a rulebook not switched off in it; ``portfolio_size`` enables the
    capacity check, ``portfolio`` (decisions of the accounts) the missing-facts check."""
    return lint_report(rulebook, portfolio_size, portfolio)[0]


def lint_report(
    rulebook: Rulebook, portfolio_size: int | None = None, portfolio: Sequence[Decision] | None = None
) -> tuple[list[Finding], list[Suppressed]]:
    """The warnings, and the ones the rulebook switched off with its reason."""
    findings = _all_findings(rulebook, portfolio_size)
    if portfolio is not None:
        findings += _mostly_missing(rulebook, portfolio)
    kept: list[Finding] = []
    suppressed: list[Suppressed] = []
    for finding in findings:
        reason = _suppression(rulebook, finding)
        if reason is None:
            kept.append(finding)
        else:
            suppressed.append(Suppressed(finding, reason))
    return kept, suppressed


def _suppression(rulebook: Rulebook, finding: Finding) -> str | None:
    """The reason a rule on the finding's path gives for switching its code off, if any."""
    node: Any = rulebook.spec
    for part in finding.rule or ():
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = getattr(node, part, None)
        if node is None:
            return None
        switched = getattr(node, "lint", None)
        if isinstance(switched, dict) and finding.code in switched:
            return str(switched[finding.code])
    return None


def _mostly_missing(rulebook: Rulebook, portfolio: Sequence[Decision]) -> list[Finding]:
    """KAM010: a weighted criterion whose fact is missing in most decided accounts scores
    (or drops) on nothing but the missing-fact policy: its weight does not weigh."""
    if not portfolio:
        return []
    found = []
    spec = rulebook.spec
    card_base: Path = ("scorecards",) if spec.scorecards is not None else ()
    for i, card in enumerate(rulebook.scorecards):
        for j, c in enumerate(card.criteria):
            if c.weight <= 0:
                continue
            missing = 0
            for decision in portfolio:
                result = decision.scores[card.id].criteria[j]
                missing += result.missing or result.dropped
            if Fraction(missing, len(portfolio)) <= MOSTLY_MISSING:
                continue
            path: Path = (*card_base, i, "criteria", j) if card_base else ("criteria", j)
            reads = c.fact or "its expression's facts"
            found.append(
                Finding(
                    "KAM010",
                    f"criterion '{c.id}' (weight {c.weight}) reads {reads}, which is missing in {missing} of the "
                    f"{len(portfolio)} accounts ({missing / len(portfolio):.0%}): its weight mostly follows the "
                    "missing-fact policy, not the facts",
                    rulebook.source_map.location((*path, "fact" if c.fact else "expression")),
                    "fill the fact in the CRM (or map its CRM column under facts.columns), or lower the weight",
                    path,
                )
            )
    return found


def _all_findings(rulebook: Rulebook, portfolio_size: int | None) -> list[Finding]:
    findings: list[Finding] = []
    where = rulebook.source_map.location
    spec = rulebook.spec
    card_base: Path = ("scorecards",) if spec.scorecards is not None else ()

    def criterion_path(i: int, j: int) -> Path:
        return (*card_base, i, "criteria", j) if card_base else ("criteria", j)

    for i, card in enumerate(rulebook.scorecards):
        total = sum(Fraction(c.weight) for c in card.criteria)
        for j, c in enumerate(card.criteria):
            path = criterion_path(i, j)
            share = Fraction(c.weight) / total if total else Fraction(0)
            if _is_revenue(c) and card.id == rulebook.primary_scorecard:
                if len([x for x in card.criteria if x.weight > 0]) == 1:
                    findings.append(
                        Finding(
                            "KAM001",
                            f"criterion '{c.id}' (revenue) is the only criterion of scorecard '{card.id}': "
                            "big sales last year is not the same as a key account",
                            where((*path, "weight")),
                            "add criteria for growth potential, strategic fit, margin and relationship",
                            path,
                        )
                    )
                elif share > REVENUE_SHARE_LIMIT or all(c.weight > x.weight for x in card.criteria if x is not c):
                    # The largest weight alone; a tie with another criterion is a balance, not dominance.
                    findings.append(
                        Finding(
                            "KAM001",
                            f"criterion '{c.id}' (revenue) carries {float(share):.0%} of scorecard "
                            f"'{card.id}', the largest weight: big sales last year is not the same as a key account",
                            where((*path, "weight")),
                            "weigh growth potential and strategic fit at least as much",
                            path,
                        )
                    )
            r = point_range(rulebook, c)
            swing = Fraction(c.weight) * (r.high - r.low) / total if total else Fraction(0)
            if c.weight > 0 and swing < SMALL_SWING:
                findings.append(
                    Finding(
                        "KAM004",
                        f"criterion '{c.id}' can move the {card.id} score by at most {float(swing):.2f} points: "
                        "too little to change a tier but at a boundary",
                        where((*path, "weight")),
                        "raise its weight or remove it",
                        path,
                    )
                )
            findings += _band_findings(rulebook, c, path)
    for index, tier in enumerate(spec.tiers):
        tests: list[tuple[str, Decimal, Path]] = (
            [(rulebook.primary_scorecard, tier.min_score, ("tiers", index, "min_score"))]
            if tier.min_score is not None
            else []
        )
        tests += [
            (card, value, ("tiers", index, "min_scores", card)) for card, value in (tier.min_scores or {}).items()
        ]
        for card_id, minimum, path in tests:
            card_index = [c.id for c in rulebook.scorecards].index(card_id)
            best = best_score(rulebook, card_index)
            if best < Fraction(minimum):
                findings.append(
                    Finding(
                        "KAM002",
                        f"no account can reach tier '{tier.name}': it needs {card_id} {minimum}, but the "
                        f"best possible {card_id} score is {float(best):.2f}",
                        where(path),
                        "lower the threshold or raise the points the criteria can give",
                        ("tiers", index),
                    )
                )
        if portfolio_size is not None and isinstance(tier.capacity, int) and tier.capacity > portfolio_size:
            findings.append(
                Finding(
                    "KAM005",
                    f"tier '{tier.name}' holds {tier.capacity} accounts, more than the {portfolio_size} "
                    "accounts of the portfolio it was run on: the capacity limits nothing",
                    where(("tiers", index, "capacity")),
                    rule=("tiers", index),
                )
            )
    for index, check in enumerate(spec.plan_checks):
        if check.stages == [] or check.tiers == []:
            empty = "stages" if check.stages == [] else "tiers"
            findings.append(
                Finding(
                    "KAM006",
                    f"plan check '{check.id}' has an empty `{empty}` list, so it never applies",
                    where(("plan_checks", index, empty)),
                    "list where it applies, or remove the key to apply it everywhere",
                    ("plan_checks", index),
                )
            )
    findings += _looser_for_higher_tiers(rulebook)
    findings += _unused_custom_facts(rulebook)
    findings += _alerts_without_lead(rulebook)
    return findings


def _alerts_without_lead(rulebook: Rulebook) -> list[Finding]:
    """A per-tier ``lead_days`` that leaves out a key-account tier: that tier is warned on
    the day the review or override falls due, which is no warning at all."""
    findings = []
    tiers = rulebook.spec.tiers
    key_tiers = [
        t.name for i, t in enumerate(tiers) if (t.key_account if t.key_account is not None else i < len(tiers) - 1)
    ]
    for index, rule in enumerate(rulebook.spec.alerts):
        if not isinstance(rule.lead_days, dict):
            continue
        missing = [t for t in key_tiers if t not in rule.lead_days]
        if missing:
            findings.append(
                Finding(
                    "KAM009",
                    f"alert {rule.kind} gives no lead time for {', '.join(missing)}, so "
                    f"{'that tier is' if len(missing) == 1 else 'those tiers are'} warned only on the day it falls due",
                    rulebook.source_map.location(("alerts", index, "lead_days")),
                    "add the tier to `lead_days`, or give one number for every tier",
                )
            )
    return findings


def _looser_for_higher_tiers(rulebook: Rulebook) -> list[Finding]:
    """Freshness checks of the same date where a higher tier may wait longer than a lower one.

    Plans of higher tiers are held to stricter checks (a mentor review every 60 days for the
    top tier, 90 for the next); a tier list written the wrong way round, or a window edited
    for one tier only, inverts that without any test failing.
    """
    spec = rulebook.spec
    rank = {name: i for i, name in enumerate(rulebook.tier_names)}
    key_tiers = [t.name for t in spec.tiers if t.key_account]
    fresh = [
        (index, check, " ".join(check.fresh.date.split()), check.tiers or key_tiers)
        for index, check in enumerate(spec.plan_checks)
        if check.fresh is not None
    ]
    findings = []
    for (index, check, date, tiers), (_, other, other_date, other_tiers) in itertools.permutations(fresh, 2):
        if date != other_date or check.fresh is None or other.fresh is None:
            continue
        if check.fresh.within_days <= other.fresh.within_days:
            continue
        higher = [t for t in tiers if any(rank[t] < rank[o] for o in other_tiers)]
        if not higher:
            continue
        lower = next(o for o in other_tiers if rank[o] > rank[higher[0]])
        findings.append(
            Finding(
                "KAM008",
                f"plan check '{check.id}' lets tier {higher[0]} go {check.fresh.within_days} days without "
                f"{date}, but '{other.id}' gives tier {lower} only {other.fresh.within_days}: a higher tier "
                "is held to a looser standard",
                rulebook.source_map.location(("plan_checks", index, "fresh", "within_days")),
                "give higher tiers the shorter window, or check which tiers each check lists",
                ("plan_checks", index),
            )
        )
    return findings


def _is_revenue(c: Criterion) -> bool:
    text = " ".join(filter(None, [c.id, c.fact, c.expression, c.title]))
    return bool(re.search(r"revenue|sales|turnover", text, re.IGNORECASE)) and "margin" not in (c.fact or "")


def _band_findings(rulebook: Rulebook, c: Criterion, path: Path) -> list[Finding]:
    where = rulebook.source_map.location
    found: list[Finding] = []
    fact = _fact_field(rulebook, c.fact)
    if c.bands is not None:
        for k, band in enumerate(c.bands):
            if fact is not None and fact.maximum is not None and band.at_least > fact.maximum:
                found.append(
                    Finding(
                        "KAM003",
                        f"criterion '{c.id}': the band 'at least {band.at_least:g}' can never match, "
                        f"{c.fact} is at most {fact.maximum:g}",
                        where((*path, "bands", k, "at_least")),
                        rule=path,
                    )
                )
            if k and band.points > c.bands[k - 1].points:
                found.append(
                    Finding(
                        "KAM003",
                        f"criterion '{c.id}': a lower band (at least {band.at_least:g}) gives more points "
                        f"({band.points}) than the band above it ({c.bands[k - 1].points})",
                        where((*path, "bands", k, "points")),
                        "bands usually give more points for higher values",
                        path,
                    )
                )
        lowest = c.bands[-1]
        if fact is not None and fact.minimum is not None and lowest.at_least <= fact.minimum and c.below_bands:
            found.append(
                Finding(
                    "KAM003",
                    f"criterion '{c.id}': `below_bands` can never apply, {c.fact} is at least "
                    f"{fact.minimum:g} and the lowest band starts at {lowest.at_least:g}",
                    where((*path, "below_bands")),
                    rule=path,
                )
            )
    if c.scale is not None and fact is not None:
        lo, hi = sorted((c.scale.from_value, c.scale.to_value))
        if (fact.maximum is not None and lo > fact.maximum) or (fact.minimum is not None and hi < fact.minimum):
            found.append(
                Finding(
                    "KAM003",
                    f"criterion '{c.id}': the scale {c.scale.from_value:g} to {c.scale.to_value:g} lies "
                    f"outside the values {c.fact} can take",
                    where((*path, "scale")),
                    rule=path,
                )
            )
    return found


def _expression_sources(rulebook: Rulebook) -> Iterable[str]:
    spec = rulebook.spec
    for card in rulebook.scorecards:
        for c in card.criteria:
            yield c.fact or c.expression or ""
    yield from (g.when for g in spec.gates)
    for tier in spec.tiers:
        yield from (r.when for r in tier.requires or [])
    yield from (s.when or "" for s in spec.segments)
    for check in spec.plan_checks:
        yield from (x for x in (check.require, check.due, check.owner, check.fresh.date if check.fresh else None) if x)
    yield from (b.by for b in spec.tie_breakers)


def _unused_custom_facts(rulebook: Rulebook) -> list[Finding]:
    text = "\n".join(_expression_sources(rulebook))
    found = []
    for index, custom in enumerate(rulebook.spec.facts.custom):
        if not re.search(rf"\b{re.escape(custom.name)}\b", text):
            kind = f" ({custom.type})" if not isinstance(custom.type, CategoryType) else ""
            found.append(
                Finding(
                    "KAM007",
                    f"the custom fact '{custom.name}'{kind} is declared but no rule reads it",
                    rulebook.source_map.location(("facts", "custom", index, "name")),
                    "use it in a criterion, gate or check, or remove it",
                    ("facts", "custom", index),
                )
            )
    return found
