"""Tier capacity over a portfolio of per-account outcomes.

Teams are finite, so a tier that can serve 20 accounts takes the 20 best-ranked accounts
that qualify for it; the others fall to the next tier they qualify for, where they compete
again. Ranking is by exact primary score (best first), then the rulebook's tie-breakers,
then account id, so the order never depends on input order. Accounts pinned by an active
override keep their tier and count against its capacity. Every account of a tier with a
capacity gets a placement step that says where it ranked ("ranked 23rd of 40 eligible for
Gold, capacity 20").

The placement itself is :func:`kamrules.portfolio.placement.place`, shared by every
executor; this module applies it to outcomes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from fractions import Fraction

from kamrules.evaluation.engine import Engine, Outcome
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.placement import (
    Contender,
    Placed,
    Placement,
    capacity_tiers,
    contender,
    notes_of,
    ordinal,
    place,
    tier_capacity,
)
from kamrules.portfolio.sources import RawRecord

__all__ = [
    "apply_capacity",
    "cutoffs",
    "has_capacity",
    "ordinal",
    "place_outcome",
    "place_outcomes",
    "placement_cutoffs",
    "portfolio_placement",
    "tier_capacity",
]


def has_capacity(engine: Engine) -> bool:
    return engine.has_capacity


def portfolio_note(decided: int) -> str:
    """What a decision placed with its batch says of capacity."""
    return f"placed with the portfolio of {decided:,} decided account" + ("" if decided == 1 else "s")


def place_outcomes(
    engine: Engine, outcomes: Sequence[Outcome], *, run: str | None = None
) -> tuple[list[Outcome], Placed]:
    """The outcomes with each tier's capacity enforced (in their order), and the placement."""
    contenders = [contender(engine, o, i) for i, o in enumerate(outcomes)]
    placed = place(engine, contenders, len(outcomes), run=run)
    note = portfolio_note(len(outcomes))
    result = []
    for i, outcome in enumerate(outcomes):
        notes = notes_of(engine, placed, i, contenders[i].manager)
        if notes:
            outcome = outcome.placed(placed.final[i], notes)
        result.append(outcome.with_capacity(True, None, note))
    return result, placed


def apply_capacity(engine: Engine, outcomes: Sequence[Outcome]) -> list[Outcome]:
    """The outcomes with each tier's capacity enforced; outcomes keep their order."""
    if not has_capacity(engine):
        return list(outcomes)
    return place_outcomes(engine, outcomes)[0]


def place_outcome(engine: Engine, outcome: Outcome, placement: Placement) -> Outcome:
    """One account decided alone, placed against a saved portfolio placement: with the facts
    the batch saw, it gets the batch's tier and notes; the decision names the placement."""
    mine = contender(engine, outcome, -1)
    final, notes = placement.place_one(engine, mine)
    if notes or final != outcome.tier_index:
        outcome = outcome.placed(final, notes)
    when = f" of {placement.as_of.isoformat()}" if placement.as_of else ""
    note = f"placed against the portfolio placement {placement.id}{when} ({placement.portfolio:,} accounts)"
    return outcome.with_capacity(True, placement.id, note)


def place_as_in_batch(engine: Engine, outcome: Outcome, placement: Placement) -> Outcome:
    """One account of a batch decided again and placed against that batch's own saved
    placement: the tier and notes the batch gave it, and the batch's capacity note, so the
    decision reads exactly as the batch wrote it (replay)."""
    mine = contender(engine, outcome, -1)
    final, notes = placement.place_one(engine, mine)
    if notes or final != outcome.tier_index:
        outcome = outcome.placed(final, notes)
    return outcome.with_capacity(True, None, portfolio_note(placement.portfolio))


def cutoffs(engine: Engine, placed: Sequence[Outcome]) -> dict[int, Fraction]:
    """For each tier that is full, the primary score of the last account admitted: the
    score another account must beat to take a place in it."""
    portfolio = len(placed)
    result: dict[int, Fraction] = {}
    for spec in capacity_tiers(engine, portfolio):
        if spec.capacity is None:
            continue
        members = [o.scores[engine.primary] for o in placed if o.tier_index == spec.index]
        if members and len(members) >= spec.capacity:
            result[spec.index] = min(members)
    return result


def placement_cutoffs(engine: Engine, placement: Placement) -> dict[int, Fraction]:
    """The same cut-offs from a saved placement: the last admitted account of each full tier."""
    result: dict[int, Fraction] = {}
    for saved in placement.tiers:
        if saved.capacity is None:
            continue
        admitted = [e for e in saved.entries if e.accepted]
        if admitted and len(admitted) + saved.held >= saved.capacity:
            last = admitted[-1]
            result[saved.index] = Fraction(last.weighted, last.total * 100)
    return result


def portfolio_placement(
    engine: Engine, records: Iterable[RawRecord], as_of: dt.date, *, run: str | None = None
) -> Placement:
    """Decide a portfolio only as far as capacity needs it and keep its placement.

    Streams the records and keeps one compact :class:`Contender` per decided account, never
    the outcomes: the placement a single-account question is answered against ("explain
    this account", "what would it take"), or that a batch run saves for later processes.
    Records that cannot be decided, and repeats of an account id already seen, take no place."""
    contenders: list[Contender] = []
    seen: set[str] = set()
    for raw in records:
        if raw.data is None:
            continue
        try:
            outcome = engine.evaluate(engine.validate(raw.data), as_of)
        except InvalidRecord:
            continue
        if outcome.account_id in seen:
            continue
        seen.add(outcome.account_id)
        contenders.append(contender(engine, outcome, len(contenders)))
    placement = place(engine, contenders, len(contenders), run=run).placement
    placement.as_of = as_of
    return placement
