"""``kamrules sensitivity``: which weights matter for this portfolio.

Each criterion's weight is moved down and up by a few points, one at a time, and the
portfolio decided again (capacity included); the count of accounts that change tier shows
a policy owner where a weight discussion is worth having and where it is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kamrules.errors import RulebookError
from kamrules.evaluation.engine import Engine
from kamrules.facts.records import FactRecord, InvalidRecord
from kamrules.portfolio.capacity import apply_capacity
from kamrules.portfolio.sources import RawRecord
from kamrules.rulebook.model import RulebookSpec
from kamrules.rulebook.semantics import Rulebook, check


@dataclass(frozen=True, slots=True)
class WeightEffect:
    criterion: str
    scorecard: str
    weight: Decimal
    down: int | None
    """Accounts that change tier with the weight lowered; None when it cannot be lowered."""
    up: int
    promoted_up: int
    demoted_up: int


def with_weight(rulebook: Rulebook, criterion: str, weight: Decimal) -> Rulebook:
    """The same rulebook with one criterion's weight changed, validated and compiled again."""
    data: dict[str, Any] = rulebook.spec.model_dump(by_alias=True, exclude_none=True)
    cards = data["scorecards"] if "scorecards" in data else [{"criteria": data["criteria"]}]
    for card in cards:
        for c in card["criteria"]:
            if c["id"] == criterion:
                c["weight"] = weight
    spec = RulebookSpec.model_validate(data)
    result = check(spec, rulebook.source_map, rulebook.sources)
    if isinstance(result, list):
        raise RulebookError(result)
    return result


def _validated(engine: Engine, records: Sequence[RawRecord], as_of: dt.date) -> list[FactRecord]:
    """The records that decide under the base rulebook: weights do not change which do."""
    valid = []
    for raw in records:
        if raw.data is None:
            continue
        try:
            record = engine.validate(raw.data)
            engine.evaluate(record, as_of)
        except InvalidRecord:
            continue
        valid.append(record)
    return valid


def _tiers(engine: Engine, records: Sequence[FactRecord], as_of: dt.date) -> dict[str, int]:
    outcomes = [engine.evaluate(r, as_of) for r in records]
    return {o.account_id: o.tier_index for o in apply_capacity(engine, outcomes)}


def sensitivity(rulebook: Rulebook, records: Sequence[RawRecord], as_of: dt.date, step: Decimal) -> list[WeightEffect]:
    """For every criterion, how many accounts change tier when its weight moves by ``step``."""
    engine = Engine(rulebook)
    valid = _validated(engine, records, as_of)
    base = _tiers(engine, valid, as_of)
    effects = []
    for card in rulebook.scorecards:
        for c in card.criteria:
            down: int | None = None
            if c.weight - step >= 0:
                try:
                    lowered = _tiers(Engine(with_weight(rulebook, c.id, c.weight - step)), valid, as_of)
                    down = sum(1 for k, t in lowered.items() if base.get(k) != t)
                except RulebookError:  # every weight of the scorecard would be zero
                    down = None
            raised = _tiers(Engine(with_weight(rulebook, c.id, c.weight + step)), valid, as_of)
            effects.append(
                WeightEffect(
                    c.id,
                    card.id,
                    c.weight,
                    down,
                    sum(1 for k, t in raised.items() if base.get(k) != t),
                    sum(1 for k, t in raised.items() if t < base.get(k, t)),
                    sum(1 for k, t in raised.items() if t > base.get(k, t)),
                )
            )
    return effects
