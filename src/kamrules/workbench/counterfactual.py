"""What would it take: the smallest changes of facts that bring an account to a tier.

An account manager asks why an account is Silver and what it would take to reach Gold; a
director asks what would make an account drop. The answer is a short list of change sets
(one fact, then two, then three), each *verified* by re-evaluating the changed account with
the same engine, plus the facts that can never be enough on their own. Nothing is printed
that the engine has not confirmed.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from kamrules.evaluation.engine import CompiledCriterion, Engine, Outcome
from kamrules.evaluation.exact import centi_decimal, score2
from kamrules.explanation.render import show_value
from kamrules.facts.records import FactRecord, InvalidRecord
from kamrules.facts.types import BOOLEAN, CategoryType, ScalarType

if TYPE_CHECKING:
    from kamrules.portfolio.placement import Placement

MAX_FACTS = 3
"""Change sets of up to this many facts are searched; beyond that the answer is a plan, not a fix."""
MAX_SUGGESTIONS = 5


@dataclass(frozen=True, slots=True)
class Change:
    fact: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.fact}: {show_value(self.before)} -> {show_value(self.after)}"


@dataclass(frozen=True, slots=True)
class Suggestion:
    changes: tuple[Change, ...]
    tier: str
    score: Decimal


@dataclass
class Counterfactual:
    account_id: str
    tier: str
    target: str
    direction: str  # "reach" or "drop"
    score: Decimal
    gaps: dict[str, Decimal] = field(default_factory=dict)
    suggestions: list[Suggestion] = field(default_factory=list)
    never_enough: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "tier": self.tier,
            "target": self.target,
            "direction": self.direction,
            "score": float(self.score),
            "points_missing": {k: float(v) for k, v in self.gaps.items()},
            "suggestions": [
                {
                    "changes": [{"fact": c.fact, "from": _json(c.before), "to": _json(c.after)} for c in s.changes],
                    "tier": s.tier,
                    "score": float(s.score),
                }
                for s in self.suggestions
            ],
            "never_enough": self.never_enough,
            "notes": self.notes,
        }

    def to_text(self, *, markdown: bool = False) -> str:
        """The answer as an account manager reads it: the points missing per scorecard, the
        verified change sets, and what can never be enough on its own."""
        verb = "reach" if self.direction == "reach" else "drop to"
        bullet = "- " if markdown else "  "
        lines = [f"Account {self.account_id} is {self.tier} (score {self.score}). To {verb} {self.target}:"]
        lines += [
            f"{bullet}{card} score: {gap} points {'short' if self.direction == 'reach' else 'above'}"
            for card, gap in self.gaps.items()
        ]
        lines += [f"{bullet}{note}" for note in self.notes]
        if self.suggestions:
            lines.append("Smallest changes that do it (each checked by re-evaluating the account):")
            for n, s in enumerate(self.suggestions, start=1):
                lines.append(f"{bullet}{n}. " + "; ".join(str(c) for c in s.changes) + f" => {s.tier}, score {s.score}")
        if self.never_enough:
            lines.append("Never enough on their own:")
            lines += [f"{bullet}{line}" for line in self.never_enough]
        return "\n".join(lines)


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


# A candidate: (fact name on the account, new value, points after, criterion id)
Candidate = tuple[str, Any, int, str]


def _account_fact(c: CompiledCriterion) -> str | None:
    if c.fact is None or not c.fact.startswith("account.") or c.fact.count(".") != 1:
        return None
    return c.fact.split(".", 1)[1]


def _candidates(engine: Engine, c: CompiledCriterion, current: int, better: bool, gap: int) -> list[Candidate]:
    """Values of a criterion's fact that give more (or fewer) points, nearest first."""
    name = _account_fact(c)
    spec = c.spec
    if name is None:
        return []
    fact = engine.rulebook.schema.account.fields[name]
    found: list[Candidate] = []

    def keep(points: int) -> bool:
        return points > current if better else points < current

    if spec.bands is not None:
        bands = list(enumerate(spec.bands))
        values = [(b.at_least, round(float(b.points) * 100)) for _, b in bands]
        if not better:
            low = spec.bands[-1].at_least
            values.append(
                (low - 1 if fact.type == ScalarType("integer") else low - 0.01, round(float(spec.below_bands) * 100))
            )
        for value, points in sorted(values, key=lambda v: v[0], reverse=not better):
            if (
                keep(points)
                and (fact.minimum is None or value >= fact.minimum)
                and (fact.maximum is None or value <= fact.maximum)
            ):
                found.append((name, _typed(fact.type, value), points, spec.id))
    elif spec.scale is not None and c.scorer is not None:
        s = spec.scale
        lo, hi = float(s.from_value), float(s.to_value)
        if c.weight:
            needed = current + math.ceil(gap / c.weight) if better else current - math.ceil(gap / c.weight)
            pf, pt = round(float(s.points_from) * 100), round(float(s.points_to) * 100)
            if pt != pf:
                t = min(1.0, max(0.0, (needed - pf) / (pt - pf)))
                exact = lo + t * (hi - lo)
                for value in (math.ceil(exact * 100) / 100, math.floor(exact * 100) / 100, hi if better else lo):
                    typed = _typed(fact.type, value, up=(hi > lo) == better)
                    points = c.scorer(typed)[0]
                    if keep(points):
                        found.append((name, typed, points, spec.id))
    elif spec.map is not None:
        for category, category_points in sorted(spec.map.items(), key=lambda kv: kv[1], reverse=not better):
            if keep(round(float(category_points) * 100)):
                found.append((name, category, round(float(category_points) * 100), spec.id))
    elif spec.boolean is not None:
        for value in (True, False):
            points = round(float(spec.boolean["true" if value else "false"]) * 100)
            if keep(points):
                found.append((name, value, points, spec.id))
    unique: dict[Any, Candidate] = {}
    for candidate in found:
        unique.setdefault(candidate[1], candidate)
    return list(unique.values())


def _typed(kind: Any, value: float, up: bool = True) -> Any:
    """A value as the fact's type; whole numbers round toward the direction of the change."""
    if kind == ScalarType("integer"):
        return math.ceil(value) if up else math.floor(value)
    return int(value) if float(value).is_integer() else value


def _gate_and_requirement_fixes(engine: Engine, outcome: Outcome, target: int) -> list[list[tuple[str, Any]]]:
    """For each gate or requirement standing between the account and the target, the values
    of the account facts it reads that might lift it (tried, then verified by the engine)."""
    fixes: list[list[tuple[str, Any]]] = []
    readers = [
        g.expression for g, row in zip(engine.gates, outcome._gates, strict=True) if row[0] and g.ceiling > target
    ]
    readers += [
        expr
        for (expr, _), row in zip(engine.tiers[target].requirements, outcome._tier_rows[target][2], strict=True)
        if row[0] is not True
    ]
    for expr in readers:
        options: list[tuple[str, Any]] = []
        for label in expr.evidence:
            if not label.startswith("account.") or label.count(".") != 1:
                continue
            name = label.split(".", 1)[1]
            fact = engine.rulebook.schema.account.fields.get(name)
            if fact is None:
                continue
            if isinstance(fact.type, CategoryType):
                options += [(name, v) for v in fact.type.values]
            elif fact.type == BOOLEAN:
                options += [(name, True), (name, False)]
            elif fact.type == ScalarType("integer") and fact.minimum is not None and fact.maximum is not None:
                options += [(name, v) for v in range(int(fact.minimum), int(fact.maximum) + 1)]
        fixes.append([o for o in options if getattr(outcome.record, o[0]) != o[1]])
    return fixes


def what_would_it_take(
    engine: Engine,
    record: FactRecord,
    target: str,
    as_of: dt.date,
    cutoff: Fraction | None = None,
    placement: Placement | None = None,
) -> Counterfactual:
    """The smallest verified fact changes that bring ``record`` to tier ``target``.

    ``cutoff`` is the capacity cut-off of the portfolio: the primary score the account
    must beat to win a place in the target tier when it is full. With the portfolio's
    ``placement``, the account starts from the tier the portfolio gives it (not the one the
    rules alone give) and every suggestion is verified by placing the changed account
    against the same portfolio.
    """
    if placement is not None and engine.has_capacity:
        from kamrules.portfolio.capacity import place_outcome, placement_cutoffs

        def decide(r: FactRecord) -> Outcome:
            return place_outcome(engine, engine.evaluate(r, as_of), placement)

        if cutoff is None:
            cutoff = placement_cutoffs(engine, placement).get(engine.tier_index[target])
    else:

        def decide(r: FactRecord) -> Outcome:
            return engine.evaluate(r, as_of)

    outcome = decide(record)
    want = engine.tier_index[target]
    now = outcome.tier_index
    result = Counterfactual(
        outcome.account_id,
        outcome.tier,
        target,
        "reach" if want < now else "drop",
        score2(outcome.scores[engine.primary]),
    )
    if want == now:
        result.notes.append(f"the account is already {target}")
        return result
    better = want < now

    def reaches(o: Outcome) -> bool:
        if better:
            if placement is not None:
                return o.tier_index <= want  # placed against the portfolio: the cut-off is applied
            return o.tier_index <= want and (cutoff is None or o.scores[engine.primary] > cutoff)
        return o.tier_index >= want

    # how many weighted points each scorecard is short of (or above) the target's thresholds
    exact = {card.id: (w, t) for card, (w, t, _) in zip(engine.cards, outcome._cards, strict=True)}
    thresholds = dict(engine.tiers[want if better else now].thresholds)
    if better and cutoff is not None:
        primary_needed = math.floor(cutoff * 100) + 1
        thresholds[engine.primary] = max(thresholds.get(engine.primary, 0), primary_needed)
        result.notes.append(
            f"{target} is full: the {engine.primary} score must beat {score2(cutoff)}, the last account admitted"
        )
    gaps: dict[str, int] = {}
    for card_id, minimum in thresholds.items():
        weighted, total = exact[card_id]
        gap = minimum * total - weighted if better else weighted - (minimum * total - 1)
        if gap > 0:
            gaps[card_id] = gap
            result.gaps[card_id] = centi_decimal(math.ceil(gap / total))
    pools: dict[str, list[Candidate]] = {}
    card_of: dict[str, tuple[str, int, int]] = {}  # criterion -> (card, weight, current points)
    for card, (_, total, rows) in zip(engine.cards, outcome._cards, strict=True):
        for c, row in zip(card.criteria, rows, strict=True):
            card_of[c.spec.id] = (card.id, c.weight, row[1])
            gap = gaps.get(card.id, 0)
            options = _candidates(engine, c, row[1], better, gap)
            if options:
                pools[c.spec.id] = options
            if gap and c.weight:
                best = max((abs(p - row[1]) for _, _, p, _ in options), default=0)
                if 0 < best * c.weight < gap:
                    result.never_enough.append(
                        f"{c.spec.id} ({c.fact}): at most {centi_decimal(best * c.weight // total)} points of "
                        f"{card.id} score on its own, {centi_decimal(math.ceil(gap / total))} needed"
                    )
    fixes = _gate_and_requirement_fixes(engine, outcome, want) if better else []

    def predicted(change_set: tuple[Candidate, ...]) -> bool:
        moved: dict[str, int] = {}
        for _, _, points, criterion in change_set:
            card, weight, current = card_of[criterion]
            moved[card] = moved.get(card, 0) + abs(points - current) * weight
        return all(moved.get(card, 0) >= gap for card, gap in gaps.items())

    solved: set[frozenset[str]] = set()
    budget = 300  # engine evaluations at most: a counterfactual stays interactive
    for size in range(1, MAX_FACTS + 1):
        for fix, chosen in _change_sets(pools, fixes, size):
            facts = frozenset([f for f, _ in fix] + [f for f, _, _, _ in chosen])
            if len(facts) != size or any(done <= facts for done in solved):
                continue
            if not fixes and not predicted(chosen):
                continue
            if budget == 0:
                break
            budget -= 1
            change_set = (*fix, *((f, v) for f, v, _, _ in chosen))
            changed = _apply(record, change_set)
            if changed is None:
                continue
            try:
                after = decide(changed)
            except InvalidRecord:
                continue
            if reaches(after):
                solved.add(facts)
                result.suggestions.append(
                    Suggestion(
                        tuple(Change(f, getattr(record, f), v) for f, v in change_set),
                        after.tier,
                        score2(after.scores[engine.primary]),
                    )
                )
                if len(result.suggestions) >= MAX_SUGGESTIONS:
                    break
        if result.suggestions:
            break  # the smallest sets found: larger ones are not "what it takes"
    engine.evaluate(record, as_of)  # restore the derived facts of the original record
    if not result.suggestions:
        result.notes.append(f"no change of up to {MAX_FACTS} account facts reaches {target}")
    return result


def _change_sets(
    pools: dict[str, list[Candidate]], fixes: Sequence[list[tuple[str, Any]]], size: int
) -> list[tuple[tuple[tuple[str, Any], ...], tuple[Candidate, ...]]]:
    """Sets of ``size`` fact changes: one fix for every gate or requirement in the way, the
    rest criterion candidates, nearest values first."""
    free = size - len(fixes)
    if free < 0:
        return []
    fix_products = list(itertools.product(*fixes))[:50] if fixes else [()]
    sets = []
    for fix in fix_products:
        for chosen in itertools.combinations(sorted(pools), free):
            for values in itertools.product(*(pools[c][:4] for c in chosen)):
                sets.append((tuple(fix), values))
    sets.sort(key=lambda s: sum(pools[c[3]].index(c) for c in s[1]))
    return sets


def _apply(record: FactRecord, change_set: tuple[tuple[str, Any], ...]) -> FactRecord | None:
    try:
        return type(record).model_validate({**record.__dict__, **dict(change_set)})
    except ValueError:
        return None
