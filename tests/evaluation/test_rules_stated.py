"""Each rule the mutation sample of issue 12 showed unstated, stated by a test of its own:
without these, a change to the rule was caught only by the columnar differential test, or
not at all."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from kamrules import Engine, load_rulebook_text
from kamrules.evaluation.engine import Outcome
from kamrules.evaluation.exact import round_ratio, score_ratio
from kamrules.portfolio.capacity import cutoffs, place_outcomes, placement_cutoffs
from tests.conftest import AS_OF

FLAGS = """\
rulebook: rules_stated
version: "1"
criteria:
  - {id: a, weight: 1, fact: account.f1, boolean: {"true": A, "false": 0}}
  - {id: b, weight: 1, fact: account.f2, boolean: {"true": B, "false": 0}}
  - {id: c, weight: WC, fact: account.f3, boolean: {"true": C, "false": 0}}
tiers:
  - {name: Gold, min_score: 60}
  - {name: Standard}
facts:
  custom:
    - {name: f1, type: boolean, description: One.}
    - {name: f2, type: boolean, description: Two.}
    - {name: f3, type: boolean, description: Three.}
"""
ALL_TRUE = {"id": "X", "f1": True, "f2": True, "f3": True}


def decide(a: str, b: str, c: str, wc: str = "1", record: dict[str, Any] | None = None) -> Any:
    text = FLAGS.replace("A", a).replace("B", b).replace("WC", wc).replace(": C,", f": {c},")
    return Engine(load_rulebook_text(text)).decide(record or ALL_TRUE, AS_OF)


def test_the_shown_score_is_rounded_down_so_it_never_shows_a_threshold_it_missed() -> None:
    # (60 + 60 + 59.99) / 3 = 59.99666...: half-even or half-up rounding would show 60.00
    decision = decide("60", "60", "59.99")
    assert decision.scores["score"].score == Decimal("59.99")
    assert decision.tier == "Standard"
    assert score_ratio(17999, 300) == Decimal("59.99")


@pytest.mark.parametrize(
    ("a", "b", "expected_a", "expected_b"),
    [
        # 0.01 / 3 is no tie; 0.005 and 0.015 are: half to even gives 0.00 and 0.02
        ("0.01", "0.03", Decimal("0.00"), Decimal("0.02")),
        ("0.05", "0.07", Decimal("0.02"), Decimal("0.04")),  # 0.025 -> 0.02, 0.035 -> 0.04
    ],
)
def test_contributions_on_an_exact_tie_round_half_to_even(
    a: str, b: str, expected_a: Decimal, expected_b: Decimal
) -> None:
    decision = decide(a, b, "0", wc="0")
    rows = {c.id: c.contribution for c in decision.scores["score"].criteria}
    assert (rows["a"], rows["b"]) == (expected_a, expected_b)
    assert round_ratio(5, 1000) == Decimal("0.00") and round_ratio(15, 1000) == Decimal("0.02")


EXCLUDING = """\
rulebook: excluding
version: "1"
criteria:
  - {id: fit, weight: 1, fact: account.fit_score, scale: {from: 0, to: 100}}
gates:
  - {id: declines, when: account.wants_key_account == false, effect: exclude, reason: Declines.}
tiers:
  - {name: Gold, min_score: 80}
  - {name: Watch, min_score: 50, key_account: false}
  - {name: Standard}
facts:
  custom:
    - {name: fit_score, type: number, description: A score from 0 to 100}
"""


def test_an_exclude_gate_gives_the_first_tier_that_is_not_a_key_account_tier() -> None:
    engine = Engine(load_rulebook_text(EXCLUDING))
    decision = engine.decide({"id": "X", "fit_score": 95, "wants_key_account": False}, AS_OF)
    assert decision.tier == "Watch"  # the first of the two non-key tiers, not the last
    assert engine.decide({"id": "Y", "fit_score": 95, "wants_key_account": True}, AS_OF).tier == "Gold"


CAPACITY = """\
rulebook: cutoffs
version: "1"
criteria:
  - {id: fit, weight: 1, fact: account.fit_score, scale: {from: 0, to: 100}}
tiers:
  - {name: Gold, min_score: 50, capacity: 2}
  - {name: Standard}
facts:
  custom:
    - {name: fit_score, type: number, description: A score from 0 to 100}
"""


def placed(scores: list[int]) -> tuple[Engine, list[Outcome], Any]:
    engine = Engine(load_rulebook_text(CAPACITY))
    outcomes = [engine.evaluate(engine.validate({"id": f"A{i}", "fit_score": s}), AS_OF) for i, s in enumerate(scores)]
    result, placement = place_outcomes(engine, outcomes)
    return engine, result, placement


def test_the_cutoff_of_a_full_tier_is_the_score_of_its_last_admitted_account() -> None:
    engine, outcomes, placement = placed([90, 70, 60, 20])
    assert cutoffs(engine, outcomes) == {0: Fraction(70)}
    assert placement_cutoffs(engine, placement.placement) == {0: Fraction(70)}


def test_a_tier_filled_exactly_to_capacity_has_a_cutoff() -> None:
    engine, outcomes, placement = placed([90, 70, 20])
    assert cutoffs(engine, outcomes) == {0: Fraction(70)}
    assert placement_cutoffs(engine, placement.placement) == {0: Fraction(70)}


def test_a_tier_with_room_left_has_no_cutoff() -> None:
    engine, outcomes, placement = placed([90, 20, 10])
    assert cutoffs(engine, outcomes) == {}
    assert placement_cutoffs(engine, placement.placement) == {}


CAPPED = """\
rulebook: capped
version: "1"
criteria:
  - {id: fit, weight: 1, fact: account.fit_score, scale: {from: 0, to: 100}}
gates:
  - {id: risky, when: account.credit_risk == 'high', effect: cap, at_most: Silver, reason: Risky.}
tiers:
  - {name: Gold, min_score: 50, capacity: 1}
  - {name: Silver, min_score: 50, capacity: 1}
  - {name: Bronze, min_score: 50}
  - {name: Standard}
facts:
  custom:
    - {name: fit_score, type: number, description: A score from 0 to 100}
"""


def test_an_account_falling_from_a_full_tier_lands_at_or_below_its_cap() -> None:
    """Capacity moves accounts down only: a capped account competes at its cap and falls to
    the next tier below, never back above the cap (what placement no longer re-tests)."""
    engine = Engine(load_rulebook_text(CAPPED))
    rows = [
        {"id": "A", "fit_score": 99, "credit_risk": "high"},
        {"id": "B", "fit_score": 98, "credit_risk": "high"},
        {"id": "C", "fit_score": 60, "credit_risk": "low"},
        {"id": "D", "fit_score": 55, "credit_risk": "low"},
    ]
    outcomes = [engine.evaluate(engine.validate(r), AS_OF) for r in rows]
    result, _ = place_outcomes(engine, outcomes)
    tiers = {o.account_id: o.tier for o in result}
    assert tiers == {"A": "Silver", "B": "Bronze", "C": "Gold", "D": "Bronze"}


def test_a_stage_range_reads_the_same_in_explanations_and_in_the_rulebook_document() -> None:
    from kamrules.evaluation.compliance import CompiledCheck
    from kamrules.explanation.rulebook_docs import _stage_words
    from kamrules.rulebook.model import PlanCheck

    check = PlanCheck(
        id="c", title="T", severity="minor", require="true", to_stage="review", remediation="Do it."
    )
    assert _stage_words(check) == "up to and including review"
    compiled = CompiledCheck.__new__(CompiledCheck)
    object.__setattr__(compiled, "spec", check)
    assert compiled.applicability() == "up to and including review"


def test_one_markdown_escaper_keeps_an_account_name_with_a_bar_in_its_cell() -> None:
    from kamrules.explanation import markdown

    assert markdown.cell("Acme | Partners") == "Acme \\| Partners"
    assert markdown.text("Acme *Ltd* <b>") == "Acme \\*Ltd\\* \\<b\\>"
    assert markdown.cell("two\nlines") == "two lines"
    assert markdown.code_cell("a|b") == "`a\\|b`"


DUE = """\
rulebook: due
version: "1"
criteria:
  - {id: fit, weight: 1, fact: account.fit_score, scale: {from: 0, to: 100}}
tiers:
  - {name: Gold, min_score: 0}
  - {name: Standard}
facts:
  custom:
    - {name: fit_score, type: number, description: A score from 0 to 100}
plan_checks:
  - id: signed
    title: The plan is signed.
    severity: minor
    require: account.fit_score > 100
    due: DUE
    remediation: Sign it.
"""


@pytest.mark.parametrize(("due", "overdue"), [("2026-11-01", None), ("2026-10-31", 1), ("2026-11-02", None)])
def test_a_failed_check_due_on_the_as_of_date_is_not_yet_overdue(due: str, overdue: int | None) -> None:
    engine = Engine(load_rulebook_text(DUE.replace("DUE", f"date('{due}')")))
    decision = engine.decide({"id": "X", "fit_score": 50}, AS_OF)
    assert decision.compliance is not None
    (check,) = decision.compliance.checks
    assert not check.passed and check.overdue_days == overdue
