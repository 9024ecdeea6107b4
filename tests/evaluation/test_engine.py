"""The selection semantics: compensation, exact scores, gates, tiers, segments, missing facts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kamrules import Engine, InvalidRecord, load_rulebook_text
from kamrules.explanation.decision import Decision
from tests.conftest import AS_OF, SMALL_RULEBOOK


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(SMALL_RULEBOOK))


def account(**facts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "A-1",
        "name": "Acme",
        "annual_revenue": 5_000_000,
        "strategic_fit": 4,
        "relationship_strength": 4,
        "wants_key_account": True,
        "credit_risk": "low",
    }
    base.update(facts)
    return {k: v for k, v in base.items() if v is not None}


def test_weighted_mean_of_points(engine: Engine) -> None:
    d = engine.decide(account(), AS_OF)
    card = d.scores["attractiveness"]
    revenue, fit = card.criteria
    assert (revenue.points, revenue.matched) == (Decimal(60), "at least 1,000,000")
    assert fit.points == Decimal(75)  # (4 - 1) / (5 - 1) of the way from 0 to 100
    assert card.score == Decimal(66)  # (60 * 60 + 40 * 75) / 100
    assert d.tier == "Silver"
    assert d.key_account is True


def test_explanation_is_enough_to_recompute_the_score(engine: Engine) -> None:
    d = engine.decide(account(annual_revenue=12_345_678, strategic_fit=2), AS_OF)
    for card in d.scores.values():
        counted = [c for c in card.criteria if not c.dropped]
        weighted = sum(c.weight * c.points for c in counted)
        total = sum(c.weight for c in counted)
        assert weighted == card.weighted_points
        assert total == card.total_weight
        assert round(weighted / total, 2) == card.score


def test_compensation_a_missing_criterion_does_not_disqualify(engine: Engine) -> None:
    d = engine.decide(account(annual_revenue=50_000_000, strategic_fit=None), AS_OF)
    fit = d.scores["attractiveness"].criteria[1]
    assert fit.missing and fit.points == 0 and "policy: zero" in fit.matched
    assert d.scores["attractiveness"].score == Decimal(60)
    assert d.tier == "Silver"
    assert "account.strategic_fit" in d.missing_facts


def test_exclude_gate_gives_the_default_tier_and_says_why(engine: Engine) -> None:
    d = engine.decide(account(annual_revenue=50_000_000, strategic_fit=5, wants_key_account=False), AS_OF)
    assert d.tier == "Standard" and d.key_account is False
    gate = d.gates[0]
    assert gate.applied and gate.evidence == {"account.wants_key_account": False}
    assert "excluded from key-account tiers by gate 'declines_kam'" in d.summary
    gold = d.tier_tests[0]
    assert not gold.eligible
    assert any(c.kind == "gate" and c.test == "declines_kam" for c in gold.checks)


def test_cap_gate_holds_the_account_at_most_at_its_tier(engine: Engine) -> None:
    d = engine.decide(account(annual_revenue=50_000_000, strategic_fit=5, credit_risk="high"), AS_OF)
    assert d.scores["attractiveness"].score == Decimal(100)
    assert d.tier == "Silver"
    assert "gate 'high_credit_risk' applies: High credit risk." in d.summary


def test_tier_requirement_failure_is_explained(engine: Engine) -> None:
    # revenue 100 points * 60 + fit 3 (50 points) * 40 = 80: Gold by score, but fit < 4
    d = engine.decide(account(annual_revenue=50_000_000, strategic_fit=3), AS_OF)
    assert d.scores["attractiveness"].score == Decimal(80)
    assert d.tier == "Silver"
    gold = d.tier_tests[0]
    (score_check, requirement) = gold.checks
    assert score_check.passed and score_check.test == "score.attractiveness >= 80"
    assert not requirement.passed
    assert requirement.note == "Gold accounts fit our strategy."
    assert requirement.actual == {"account.strategic_fit": 3}
    assert "not Gold because Gold accounts fit our strategy." in d.summary, d.summary


def test_score_exactly_on_the_threshold_reaches_the_tier() -> None:
    # 0.1 + 0.2 + 0.7 weights of 80 points: a float sum gives 80.00000000000001 or 79.99999999999999
    text = SMALL_RULEBOOK.replace(
        """      - id: revenue
        weight: 60
        fact: account.annual_revenue
        bands:
          - {at_least: 10000000, points: 100}
          - {at_least: 1000000, points: 60}
      - id: fit
        weight: 40
        fact: account.strategic_fit
        scale: {from: 1, to: 5}
""",
        """      - {id: a, weight: 0.1, fact: account.annual_revenue, bands: [{at_least: 0, points: 80}]}
      - {id: b, weight: 0.2, fact: account.annual_revenue, bands: [{at_least: 0, points: 80}]}
      - {id: c, weight: 0.7, fact: account.annual_revenue, bands: [{at_least: 0, points: 80}]}
""",
    )
    d = Engine(load_rulebook_text(text)).decide(account(), AS_OF)
    assert d.scores["attractiveness"].score == Decimal(80)
    assert d.tier == "Gold"


def test_drop_policy_leaves_the_weight_out() -> None:
    text = SMALL_RULEBOOK.replace(
        "        scale: {from: 1, to: 5}\n  - id: strength",
        "        scale: {from: 1, to: 5}\n        missing: drop\n  - id: strength",
    )
    d = Engine(load_rulebook_text(text)).decide(account(strategic_fit=None), AS_OF)
    card = d.scores["attractiveness"]
    assert card.criteria[1].dropped
    assert card.total_weight == Decimal(60)
    assert card.score == Decimal(60)


def test_error_policy_refuses_to_decide() -> None:
    text = SMALL_RULEBOOK.replace(
        "        scale: {from: 1, to: 5}\n  - id: strength",
        "        scale: {from: 1, to: 5}\n        missing: error\n  - id: strength",
    )
    with pytest.raises(InvalidRecord) as info:
        Engine(load_rulebook_text(text)).decide(account(strategic_fit=None), AS_OF)
    assert str(info.value) == (
        "account 'A-1': account.strategic_fit: is missing, and criterion 'fit' cannot score without it"
    )


def test_gate_with_a_missing_fact_is_skipped_and_flagged(engine: Engine) -> None:
    d = engine.decide(account(credit_risk=None, annual_revenue=50_000_000, strategic_fit=5), AS_OF)
    gate = d.gates[1]
    assert (gate.applied, gate.unknown) == (False, True)
    assert "not applied (missing: skip)" in gate.note
    assert "account.credit_risk" in d.missing_facts
    assert d.tier == "Gold"


def test_segments_first_match_wins(engine: Engine) -> None:
    assert engine.decide(account(), AS_OF).segment == "Strategic"
    assert engine.decide(account(relationship_strength=1), AS_OF).segment == "Other"


def test_same_input_same_bytes(engine: Engine) -> None:
    first = engine.decide(account(), AS_OF).model_dump_json()
    second = Engine(load_rulebook_text(SMALL_RULEBOOK)).decide(account(), AS_OF).model_dump_json()
    assert first == second
    assert '"as_of":"2026-11-01"' in first


def test_decision_names_its_rulebook(engine: Engine) -> None:
    d: Decision = engine.decide(account(), AS_OF)
    assert d.rulebook.id == "small" and d.rulebook.version == "1"
    assert d.rulebook.content_hash == engine.rulebook.content_hash
    assert d.kamrules_version


def test_bad_record_names_account_and_field(engine: Engine) -> None:
    with pytest.raises(InvalidRecord) as info:
        engine.decide(account(credit_risk="hihg", strategic_fit=9), AS_OF)
    messages = {p.field: p.message for p in info.value.problems}
    assert messages["strategic_fit"] == "must be at most 5, got 9"
    assert messages["credit_risk"] == (
        "'hihg' is not a credit risk value (low, medium, high, severe); did you mean 'high'?"
    )
    assert info.value.account_id == "A-1"


def test_record_without_id(engine: Engine) -> None:
    with pytest.raises(InvalidRecord) as info:
        engine.decide({"annual_revenue": "lots"}, AS_OF)
    assert info.value.account_id is None
    messages = {p.field: p.message for p in info.value.problems}
    assert messages["id"] == "is required but missing"
    assert messages["annual_revenue"] == "must be a number, got 'lots'"


@pytest.mark.parametrize(
    ("numerator", "denominator", "shown", "rounded"),
    [
        (599955, 10000, "59.99", "60.00"),
        (7000, 90, "77.77", "77.78"),
        (125, 10000, "0.01", "0.01"),
        (135, 10000, "0.01", "0.01"),
        (-1, 300, "-0.01", "0.00"),
        (6000, 100, "60.00", "60.00"),
    ],
)
def test_shown_scores_round_down_and_other_figures_half_to_even(
    numerator: int, denominator: int, shown: str, rounded: str
) -> None:
    from kamrules.evaluation.exact import round_ratio, score_ratio

    assert str(score_ratio(numerator, denominator)) == shown
    assert str(round_ratio(numerator, denominator)) == rounded
