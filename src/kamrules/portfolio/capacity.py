"""Tier capacity over a portfolio: rank the accounts of each tier, let the overflow fall.

Teams are finite, so a tier that can serve 20 accounts takes the 20 best-ranked accounts
that qualify for it; the others fall to the next tier they qualify for, where they compete
again. Ranking is by exact primary score (best first), then the rulebook's tie-breakers,
then account id, so the order never depends on input order. Accounts pinned by an active
override keep their tier and count against its capacity. Every account of a tier with a
capacity gets a placement step that says where it ranked ("ranked 23rd of 40 eligible for
Gold, capacity 20").
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kamrules.evaluation.engine import Engine, Outcome


def tier_capacity(value: int | str | None, portfolio: int) -> int | None:
    """A tier's capacity in accounts: a count, or a share of the decided portfolio (rounded down)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    share = Decimal(value.rstrip("%"))
    return math.floor(share * portfolio / 100)


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


class _Descending:
    """Wraps a value so that sorting ascending puts larger values first; missing values last."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Descending) -> bool:
        if self.value is None:
            return False
        if other.value is None:
            return True
        return bool(self.value > other.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Descending) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


class _Ascending(_Descending):
    def __lt__(self, other: _Descending) -> bool:
        if self.value is None:
            return False
        if other.value is None:
            return True
        return bool(self.value < other.value)


def rank_key(engine: Engine, outcome: Outcome) -> tuple[Any, ...]:
    """Best first: exact primary score, then tie-breakers, then account id."""
    score: Fraction = outcome.scores[engine.primary]
    breakers = tuple(
        (_Descending if order == "descending" else _Ascending)(
            expr.evaluate(outcome.record, outcome.scores, outcome.as_of)[0]
        )
        for expr, order in engine.tie_breakers
    )
    return (-score, *breakers, outcome.account_id)


def has_capacity(engine: Engine) -> bool:
    return any(t.capacity is not None or t.capacity_per_manager is not None for t in engine.rulebook.spec.tiers)


def apply_capacity(engine: Engine, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes with each tier's capacity enforced; outcomes keep their order."""
    if not has_capacity(engine):
        return list(outcomes)
    specs = engine.rulebook.spec.tiers
    tier_of = [o.tier_index for o in outcomes]
    notes: list[list[str]] = [[] for _ in outcomes]
    pinned = [any(kind == "override" and "pinned" in note for kind, note in o.placement) for o in outcomes]
    keys: dict[int, tuple[Any, ...]] = {}
    portfolio = len(outcomes)
    last = len(specs) - 1
    for index, spec in enumerate(specs[:-1]):
        capacity = tier_capacity(spec.capacity, portfolio)
        per_manager = spec.capacity_per_manager
        if capacity is None and per_manager is None:
            continue
        members = [i for i, t in enumerate(tier_of) if t == index]
        held = [i for i in members if pinned[i]]
        ranked = sorted(
            (i for i in members if not pinned[i]),
            key=lambda i: keys.setdefault(i, rank_key(engine, outcomes[i])),
        )
        managers: Counter[Any] = Counter(getattr(outcomes[i].record, "account_manager", None) for i in held)
        slots = capacity - len(held) if capacity is not None else len(ranked)
        eligible = len(ranked) + len(held)
        limit = f"capacity {capacity}" if capacity is not None else "no overall capacity"
        for place, i in enumerate(ranked, start=1):
            manager = getattr(outcomes[i].record, "account_manager", None)
            where = f"ranked {ordinal(place + len(held))} of {eligible} eligible for {spec.name}, {limit}"
            over_manager = per_manager is not None and manager is not None and managers[manager] >= per_manager
            if slots > 0 and not over_manager:
                slots -= 1
                managers[manager] += 1
                notes[i].append(where)
                continue
            target = _next_eligible(engine, outcomes[i], index, last)
            reason = (
                f"{manager} already has {per_manager} {spec.name} accounts, the most per manager"
                if over_manager and slots > 0
                else "the tier is full"
            )
            notes[i].append(f"{where}: {reason}, so it falls to {specs[target].name}")
            tier_of[i] = target
    note = f"placed with the portfolio of {portfolio:,} decided account" + ("" if portfolio == 1 else "s")
    return [
        (outcome.placed(tier_of[i], notes[i]) if notes[i] else outcome).with_capacity(True, None, note)
        for i, outcome in enumerate(outcomes)
    ]


def _next_eligible(engine: Engine, outcome: Outcome, index: int, last: int) -> int:
    for candidate in range(index + 1, last):
        if outcome.tier_rows[candidate][0] and candidate >= outcome.ceiling:
            return candidate
    return last


def cutoffs(engine: Engine, placed: Sequence[Outcome]) -> dict[int, Fraction]:
    """For each tier that is full, the primary score of the last account admitted: the
    score another account must beat to take a place in it."""
    portfolio = len(placed)
    result: dict[int, Fraction] = {}
    for index, spec in enumerate(engine.rulebook.spec.tiers[:-1]):
        capacity = tier_capacity(spec.capacity, portfolio)
        if capacity is None:
            continue
        members = [o.scores[engine.primary] for o in placed if o.tier_index == index]
        if members and len(members) >= capacity:
            result[index] = min(members)
    return result
