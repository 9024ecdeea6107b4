"""Portfolio placement: tier capacity with ranking, stability margins, and overrides."""

from __future__ import annotations

from typing import Any

import pytest

from kamrules import Engine, InvalidRecord, RulebookError, load_rulebook_text
from kamrules.evaluation.engine import Outcome
from kamrules.portfolio.batch import Summary, run
from kamrules.portfolio.capacity import apply_capacity, ordinal, tier_capacity
from kamrules.portfolio.sources import RawRecord
from tests.conftest import AS_OF

RULEBOOK = """\
rulebook: capacity
version: "1"
criteria:
  - id: fit
    weight: 1
    fact: account.strategic_fit
    scale: {from: 0, to: 100}
tie_breakers:
  - {by: account.annual_revenue, order: descending}
tiers:
  - {name: Gold, min_score: 80, capacity: 2}
  - {name: Silver, min_score: 50, capacity: "50%", capacity_per_manager: 1}
  - {name: Standard}
"""
# strategic_fit is 1..5 in the built-in schema, so the tests use a custom fact for the score
RULEBOOK = RULEBOOK.replace("account.strategic_fit", "account.fit_score") + (
    "facts:\n  custom:\n    - {name: fit_score, type: number, description: A score from 0 to 100}\n"
)


def outcomes(engine: Engine, rows: list[dict[str, Any]]) -> list[Outcome]:
    return [engine.evaluate(engine.validate(r), AS_OF) for r in rows]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(RULEBOOK))


def test_capacity_ranks_and_overflow_falls_to_the_next_tier(engine: Engine) -> None:
    rows = [
        {"id": "A", "fit_score": 90, "account_manager": "kim"},
        {"id": "B", "fit_score": 95, "account_manager": "lee"},
        {"id": "C", "fit_score": 85, "account_manager": "max"},
        {"id": "D", "fit_score": 60, "account_manager": "ann"},
    ]
    placed = {o.account_id: o for o in apply_capacity(engine, outcomes(engine, rows))}
    assert placed["B"].tier == "Gold" and placed["A"].tier == "Gold"
    assert placed["C"].tier == "Silver"
    decision = placed["C"].decision()
    assert decision.tier_by_rules == "Gold"
    assert decision.placement[0].note == (
        "ranked 3rd of 3 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"
    )
    assert decision.placement[1].note == "ranked 1st of 2 eligible for Silver, capacity 2"
    assert placed["B"].decision().placement[0].note == "ranked 1st of 3 eligible for Gold, capacity 2"


def test_ties_are_broken_by_the_rulebook_then_by_id(engine: Engine) -> None:
    rows = [
        {"id": "Z", "fit_score": 90, "annual_revenue": 100},
        {"id": "Y", "fit_score": 90, "annual_revenue": 500},
        {"id": "X", "fit_score": 90, "annual_revenue": 100},
    ]
    placed = {o.account_id: o.tier for o in apply_capacity(engine, outcomes(engine, rows))}
    assert placed == {"Y": "Gold", "X": "Gold", "Z": "Silver"}
    shuffled = {o.account_id: o.tier for o in apply_capacity(engine, outcomes(engine, rows[::-1]))}
    assert shuffled == placed


def test_capacity_per_manager(engine: Engine) -> None:
    rows = [
        {"id": "A", "fit_score": 70, "account_manager": "kim"},
        {"id": "B", "fit_score": 65, "account_manager": "kim"},
        {"id": "C", "fit_score": 10, "account_manager": "kim"},
        {"id": "D", "fit_score": 10, "account_manager": "kim"},
    ]
    placed = {o.account_id: o for o in apply_capacity(engine, outcomes(engine, rows))}
    assert placed["A"].tier == "Silver" and placed["B"].tier == "Standard"
    assert "kim already has 1 Silver accounts, the most per manager" in placed["B"].decision().placement[0].note


def test_share_capacity_rounds_down() -> None:
    assert tier_capacity("50%", 5) == 2
    assert tier_capacity("2.5%", 1000) == 25
    assert tier_capacity(7, 1000) == 7
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"
    ]


def test_overrides_pin_and_count_against_capacity(engine: Engine) -> None:
    override = {"override_tier": "Gold", "override_reason": "strategic partner", "override_approver": "KAM director",
                "override_expires": "2027-03-31"}
    rows = [
        {"id": "A", "fit_score": 10, **override},
        {"id": "B", "fit_score": 95},
        {"id": "C", "fit_score": 90},
    ]
    placed = {o.account_id: o for o in apply_capacity(engine, outcomes(engine, rows))}
    assert placed["A"].tier == "Gold"
    a = placed["A"].decision()
    assert a.tier_by_rules == "Standard"
    assert a.placement[0].note == (
        "pinned to Gold by override until 2027-03-31, approved by KAM director: strategic partner"
    )
    assert placed["B"].tier == "Gold" and placed["C"].tier == "Silver"
    assert "ranked 3rd of 3 eligible for Gold" in placed["C"].decision().placement[0].note


def test_expired_override_stops_applying(engine: Engine) -> None:
    row = {"id": "A", "fit_score": 10, "override_tier": "Gold", "override_reason": "r", "override_approver": "x",
           "override_expires": "2026-10-31"}
    (outcome,) = outcomes(engine, [row])
    assert outcome.tier == "Standard"
    assert outcome.decision().placement[0].note == "the override to Gold expired on 2026-10-31; the rules decide"


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"override_tier": "Gld", "override_reason": "r", "override_approver": "x", "override_expires": "2027-01-01"},
         "override_tier: 'Gld' is not a tier of this rulebook; did you mean 'Gold'?"),
        ({"override_tier": "Gold"},
         "override_reason, override_approver, override_expires: an override needs a reason, an approver and an "
         "expiry date"),
    ],
)
def test_bad_overrides_are_record_errors(engine: Engine, row: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidRecord) as info:
        engine.evaluate(engine.validate({"id": "A", "fit_score": 10, **row}), AS_OF)
    assert str(info.value) == f"account 'A': {message}"


STABLE = RULEBOOK.replace("tiers:", "stability: {margin: 3}\ntiers:")


@pytest.mark.parametrize(
    ("current", "score", "tier", "note"),
    [
        ("Gold", 78, "Gold", "held at Gold: the score is below its thresholds by less than the stability margin of 3 "
                             "points (the rules alone give Silver)"),
        ("Gold", 76.99, "Silver", None),
        ("Silver", 82, "Silver", "held at Silver: moving up to Gold needs its thresholds passed by the stability "
                                 "margin of 3 points"),
        ("Silver", 83, "Gold", None),
        ("Standard", 81, "Silver", "moved up to Silver only: Gold needs its thresholds passed by the stability "
                                   "margin of 3 points"),
        ("Platinum", 81, "Gold", "the current tier 'Platinum' is not a tier of this rulebook, so no stability margin "
                                 "applies"),
    ],
)
def test_stability_margin(current: str, score: float, tier: str, note: str | None) -> None:
    engine = Engine(load_rulebook_text(STABLE.replace("capacity: 2", "capacity: 10")))
    (outcome,) = outcomes(engine, [{"id": "A", "fit_score": score, "current_tier": current}])
    decision = outcome.decision()
    assert decision.tier == tier
    assert [p.note for p in decision.placement] == ([note] if note else [])


def test_capacity_on_the_last_tier_is_refused() -> None:
    with pytest.raises(RulebookError, match="the last tier 'Standard' takes every account that overflows"):
        load_rulebook_text(RULEBOOK.replace("  - {name: Standard}", "  - {name: Standard, capacity: 5}"))


def test_batch_applies_capacity_and_keeps_order(engine: Engine) -> None:
    rows = [{"id": c, "fit_score": 99 - i} for i, c in enumerate("ABCDE")]
    rows.insert(2, {"id": "bad", "fit_score": "x"})
    summary = Summary()
    items = list(run(engine, [RawRecord(i, r) for i, r in enumerate(rows, 1)], AS_OF, summary))
    assert [getattr(i, "account_id", None) for i in items] == ["A", "B", "bad", "C", "D", "E"]
    assert summary.tiers == {"Gold": 2, "Silver": 2, "Standard": 1}
    assert summary.read == 6 and summary.decided == 5 and summary.errors == 1
