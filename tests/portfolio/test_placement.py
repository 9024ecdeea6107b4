"""A saved portfolio placement: one account decided alone agrees with its batch."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrules import Engine, load_rulebook_text
from kamrules.portfolio.capacity import place_outcome, place_outcomes
from kamrules.portfolio.placement import Placement, PlacementError
from tests.conftest import AS_OF

RULEBOOK = """\
rulebook: placement
version: "1"
facts:
  custom:
    - {name: fit_score, type: number, description: A score from 0 to 100}
criteria:
  - id: fit
    weight: 3
    fact: account.fit_score
    scale: {from: 0, to: 100}
  - id: revenue
    weight: 1
    fact: account.annual_revenue
    bands: [{at_least: 1000000, points: 100}, {at_least: 100000, points: 50}]
    missing: drop
tie_breakers:
  - {by: account.annual_revenue, order: descending}
tiers:
  - {name: Gold, min_score: 70, capacity: 3, capacity_per_manager: 2}
  - {name: Silver, min_score: 40, capacity: "40%"}
  - {name: Bronze, min_score: 20, capacity: 4}
  - {name: Standard}
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(RULEBOOK))


account = st.fixed_dictionaries(
    {
        "fit_score": st.sampled_from([15, 30, 45, 60, 70, 75, 80, 90, 100]),
        "annual_revenue": st.one_of(st.none(), st.sampled_from([50_000, 200_000, 2_000_000])),
        "account_manager": st.one_of(st.none(), st.sampled_from(["kim", "lee", "max"])),
    }
)


def records(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"A{i:03d}", **{k: v for k, v in row.items() if v is not None}} for i, row in enumerate(rows)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(account, min_size=1, max_size=25))
def test_an_unchanged_account_decided_alone_gets_its_batch_tier_and_notes(
    engine: Engine, rows: list[dict[str, Any]]
) -> None:
    raws = records(rows)
    outcomes = [engine.evaluate(engine.validate(r), AS_OF) for r in raws]
    placed, result = place_outcomes(engine, outcomes, run="run-1")
    saved = Placement.from_json(result.placement.to_json(), engine)  # through its saved form
    for raw, batch in zip(raws, placed, strict=True):
        alone = engine.decide(raw, AS_OF, placement=saved)
        decided = batch.decision()
        assert alone.tier == decided.tier, raw["id"]
        assert [p.note for p in alone.placement] == [p.note for p in decided.placement]
        assert alone.capacity is not None and alone.capacity.applied and alone.capacity.placement == "run-1"


def test_a_new_account_ranks_among_the_saved_portfolio(engine: Engine) -> None:
    raws = records(
        [{"fit_score": 90, "annual_revenue": 2_000_000, "account_manager": m} for m in ("kim", "lee", "max")]
    )
    _, result = place_outcomes(engine, [engine.evaluate(engine.validate(r), AS_OF) for r in raws], run="nov")
    newcomer = {"id": "NEW", "fit_score": 100, "annual_revenue": 2_000_000, "account_manager": "ann"}
    decision = engine.decide(newcomer, AS_OF, placement=result.placement)
    # the best score of all: first of four, although Gold holds three
    assert decision.tier == "Gold"
    assert decision.placement[0].note == "ranked 1st of 4 eligible for Gold, capacity 3"
    weaker = {"id": "LATE", "fit_score": 80, "annual_revenue": 2_000_000, "account_manager": "ann"}
    late = engine.decide(weaker, AS_OF, placement=result.placement)
    assert late.tier == "Silver"
    assert late.placement[0].note == (
        "ranked 4th of 4 eligible for Gold, capacity 3: the tier is full, so it falls to Silver"
    )


def test_per_manager_limit_applies_against_the_saved_placement(engine: Engine) -> None:
    raws = records([{"fit_score": 95, "annual_revenue": 2_000_000, "account_manager": "kim"}] * 2)
    _, result = place_outcomes(engine, [engine.evaluate(engine.validate(r), AS_OF) for r in raws])
    third = {"id": "K3", "fit_score": 80, "annual_revenue": 2_000_000, "account_manager": "kim"}
    decision = engine.decide(third, AS_OF, placement=result.placement)
    # Silver's 40% of a two-account portfolio is no place at all, so it falls on to Bronze
    assert decision.tier == "Bronze"
    assert decision.placement[0].note == (
        "ranked 3rd of 3 eligible for Gold, capacity 3: kim already has 2 Gold accounts, the most per manager, "
        "so it falls to Silver"
    )
    assert decision.placement[1].note.endswith("capacity 0: the tier is full, so it falls to Bronze")


def test_without_a_placement_the_decision_says_capacity_was_not_applied(engine: Engine) -> None:
    decision = engine.decide({"id": "X", "fit_score": 90}, AS_OF)
    assert decision.capacity is not None and not decision.capacity.applied
    assert decision.summary.endswith(
        "capacity was not applied: the account was decided alone, not placed in a portfolio"
    )


def test_a_rulebook_without_capacity_says_nothing_of_it() -> None:
    plain = Engine(
        load_rulebook_text(
            RULEBOOK.replace(", capacity: 3, capacity_per_manager: 2", "")
            .replace(', capacity: "40%"', "")
            .replace(", capacity: 4", "")
        )
    )
    decision = plain.decide({"id": "X", "fit_score": 90}, AS_OF)
    assert decision.capacity is None
    assert "capacity" not in decision.summary


def test_a_placement_of_another_rulebook_is_refused(engine: Engine, tmp_path: Path) -> None:
    _, result = place_outcomes(engine, [engine.evaluate(engine.validate({"id": "A", "fit_score": 90}), AS_OF)])
    path = tmp_path / "placement.json"
    result.placement.save(path)
    other = Engine(load_rulebook_text(RULEBOOK.replace('version: "1"', 'version: "2"')))
    with pytest.raises(PlacementError, match="not with placement 2"):
        Placement.load(path, other)
    with pytest.raises(PlacementError, match="cannot read the placement"):
        Placement.load(tmp_path / "missing.json", engine)
    (tmp_path / "bad.json").write_text('{"format": "other"}')
    with pytest.raises(PlacementError, match="not a kamrules placement"):
        Placement.load(tmp_path / "bad.json", engine)


def test_dates_as_tie_breakers_survive_the_saved_form() -> None:
    text = RULEBOOK.replace("account.annual_revenue, order: descending", "account.override_expires, order: ascending")
    engine = Engine(load_rulebook_text(text))
    raws = [{"id": "A", "fit_score": 90, "override_expires": "2027-03-01"}, {"id": "B", "fit_score": 90}]
    outcomes = [engine.evaluate(engine.validate(r), AS_OF) for r in raws]
    _, result = place_outcomes(engine, outcomes)
    again = Placement.from_json(result.placement.to_json(), engine)
    assert again.to_json() == result.placement.to_json()
    assert again.tiers[0].entries[0].breakers == (dt.date(2027, 3, 1),)
    assert again.tiers[0].entries[1].breakers == (None,)


def test_place_outcome_names_the_placement(engine: Engine) -> None:
    raws = records([{"fit_score": 90}])
    outcomes = [engine.evaluate(engine.validate(r), AS_OF) for r in raws]
    _, result = place_outcomes(engine, outcomes, run="dec-run")
    result.placement.as_of = AS_OF
    placed = place_outcome(engine, outcomes[0], result.placement).decision()
    assert placed.capacity is not None
    assert placed.capacity.note == f"placed against the portfolio placement dec-run of {AS_OF.isoformat()} (1 accounts)"
