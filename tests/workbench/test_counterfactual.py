"""Counterfactuals: every change set printed is proved by re-evaluating the changed account."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrules import Engine, load_rulebook, load_rulebook_text
from kamrules.workbench.counterfactual import what_would_it_take
from tests.conftest import AS_OF, ROOT, SMALL_RULEBOOK

ENGINE = Engine(load_rulebook(ROOT / "rules"))
ACCOUNTS: list[dict[str, Any]] = [
    json.loads(line) for line in (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(0, len(ACCOUNTS) - 1), target=st.sampled_from(["Gold", "Silver", "Bronze", "Standard"]))
def test_every_suggestion_is_proved_by_re_evaluation(index: int, target: str) -> None:
    raw = ACCOUNTS[index]
    record = ENGINE.validate(raw)
    result = what_would_it_take(ENGINE, record, target, AS_OF)
    want = ENGINE.tier_index[target]
    for suggestion in result.suggestions:
        changed = {**raw, **{c.fact: c.after for c in suggestion.changes}}
        decision = ENGINE.decide(changed, AS_OF)
        if result.direction == "reach":
            assert ENGINE.tier_index[decision.tier] <= want
        else:
            assert ENGINE.tier_index[decision.tier] >= want
        assert decision.tier == suggestion.tier
        assert decision.scores[ENGINE.primary].score == suggestion.score
    # the answer is the smallest: no suggestion is a superset of another
    fact_sets = [frozenset(c.fact for c in s.changes) for s in result.suggestions]
    assert not any(a < b for a in fact_sets for b in fact_sets)


def test_a_single_band_step_reaches_the_next_tier() -> None:
    engine = Engine(load_rulebook_text(SMALL_RULEBOOK))
    record = engine.validate(
        {
            "id": "A",
            "annual_revenue": 5_000_000,
            "strategic_fit": 4,
            "relationship_strength": 4,
            "wants_key_account": True,
            "credit_risk": "low",
        }
    )
    result = what_would_it_take(engine, record, "Gold", AS_OF)
    # 66 now; revenue at 10M gives 100 points: (60 x 100 + 40 x 75) / 100 = 90 >= 80, fit 4 meets Gold's requirement
    assert next(str(c) for s in result.suggestions for c in s.changes) == "annual_revenue: 5,000,000 -> 10,000,000"
    assert result.gaps == {"attractiveness": pytest.approx(14)}


def test_a_gate_in_the_way_must_be_lifted_too() -> None:
    engine = Engine(load_rulebook_text(SMALL_RULEBOOK))
    record = engine.validate(
        {
            "id": "A",
            "annual_revenue": 50_000_000,
            "strategic_fit": 5,
            "relationship_strength": 4,
            "wants_key_account": True,
            "credit_risk": "high",
        }
    )
    result = what_would_it_take(engine, record, "Gold", AS_OF)
    assert result.tier == "Silver"
    assert all(any(c.fact == "credit_risk" for c in s.changes) for s in result.suggestions)
    assert all(c.after != "high" for s in result.suggestions for c in s.changes if c.fact == "credit_risk")


def test_what_would_make_it_drop() -> None:
    engine = Engine(load_rulebook_text(SMALL_RULEBOOK))
    record = engine.validate(
        {
            "id": "A",
            "annual_revenue": 5_000_000,
            "strategic_fit": 4,
            "relationship_strength": 4,
            "wants_key_account": True,
            "credit_risk": "low",
        }
    )
    result = what_would_it_take(engine, record, "Bronze", AS_OF)
    assert result.direction == "drop"
    # fit 4 -> 3 gives 60 x 60 + 40 x 50 = 56: below Silver's 60
    assert "strategic_fit: 4 -> 3" in [str(c) for s in result.suggestions for c in s.changes]
