"""Each lint rule: a rulebook that triggers it, and one that does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamrules import load_rulebook, load_rulebook_text
from kamrules.workbench.lint import lint
from tests.conftest import ROOT, SMALL_RULEBOOK, default_rules_with


def codes(text: str, portfolio: int | None = None) -> list[str]:
    return [str(f) for f in lint(load_rulebook_text(text, "r.yaml"), portfolio)]


def test_the_default_rulebook_is_clean() -> None:
    assert lint(load_rulebook(ROOT / "rules"), 300) == []


def test_small_rulebook_flags_revenue_as_largest_weight() -> None:
    (finding,) = codes(SMALL_RULEBOOK)
    assert finding == (
        "r.yaml:7:17: warning KAM001: criterion 'revenue' (revenue) carries 60% of scorecard 'attractiveness', "
        "the largest weight: big sales last year is not the same as a key account "
        "(weigh growth potential and strategic fit at least as much)"
    )


BALANCED = SMALL_RULEBOOK.replace("weight: 60", "weight: 25")


def test_balanced_revenue_is_fine() -> None:
    assert codes(BALANCED) == []


def test_revenue_alone() -> None:
    text = BALANCED.replace("        weight: 40\n", "        weight: 0\n")
    findings = codes(text)
    assert any("KAM001: criterion 'revenue' (revenue) is the only criterion" in f for f in findings)


def test_unreachable_tier() -> None:
    text = BALANCED.replace("{at_least: 10000000, points: 100}", "{at_least: 10000000, points: 50}")
    # best attractiveness: (25 x 60 + 40 x 100) / 65 = 84.62 >= 80 still reachable
    assert not any("KAM002" in f for f in codes(text))
    text = text.replace("min_score: 80", "min_score: 90")
    (finding,) = [f for f in codes(text) if "KAM002" in f]
    assert (
        "no account can reach tier 'Gold': it needs attractiveness 90, but the best possible attractiveness "
        "score is 84.62" in finding
    )


def test_bands_beyond_the_fact_range_and_out_of_order_points() -> None:
    text = BALANCED.replace(
        "        fact: account.strategic_fit\n        scale: {from: 1, to: 5}",
        "        fact: account.strategic_fit\n        bands: [{at_least: 6, points: 100}, {at_least: 4, points: 50},"
        " {at_least: 2, points: 80}]",
    )
    findings = [f for f in codes(text) if "KAM003" in f]
    assert any("the band 'at least 6' can never match, account.strategic_fit is at most 5" in f for f in findings)
    assert any("a lower band (at least 2) gives more points (80) than the band above it (50)" in f for f in findings)


def test_weight_too_small_to_matter() -> None:
    text = BALANCED.replace("weight: 40", "weight: 0.2")
    assert any(
        "KAM004: criterion 'fit' can move the attractiveness score by at most 0.79 points" in f for f in codes(text)
    )


@pytest.mark.parametrize(("portfolio", "expected"), [(10, True), (500, False), (None, False)])
def test_capacity_larger_than_the_portfolio(portfolio: int | None, expected: bool) -> None:
    text = BALANCED.replace("    min_score: 60\n", "    min_score: 60\n    capacity: 20\n")
    found = any(
        "KAM005: tier 'Silver' holds 20 accounts, more than the 10 accounts" in f for f in codes(text, portfolio)
    )
    assert found is expected


def test_plan_check_that_never_applies() -> None:
    text = BALANCED + (
        "plan_checks:\n  - {id: c, title: t, severity: minor, require: present(plan.owner),\n"
        "     remediation: r, stages: []}\n"
    )
    assert any("KAM006: plan check 'c' has an empty `stages` list, so it never applies" in f for f in codes(text))


def test_unused_custom_fact() -> None:
    text = BALANCED + "facts:\n  custom:\n    - {name: nps, type: number, description: x}\n"
    assert any("KAM007: the custom fact 'nps' (number) is declared but no rule reads it" in f for f in codes(text))
    used = text.replace("fact: account.relationship_strength", "fact: account.nps")
    assert not any("KAM007" in f for f in codes(used))


def _default_rules_with(tmp_path: Path, *changes: tuple[str, str]) -> list[str]:
    rules = default_rules_with(tmp_path / "rules", "plan_checks.yaml", *changes)
    return [str(f) for f in lint(load_rulebook(rules))]


MENTOR = "\n    fresh:\n      date: max(plan.reviews, date, kind == 'mentor')"


def test_a_higher_tier_held_to_a_looser_freshness_window(tmp_path: Path) -> None:
    """Gold's mentor review every 120 days while Silver and Bronze need one every 90."""
    findings = _default_rules_with(tmp_path, ("within_days: 60", "within_days: 120"))
    (finding,) = [f for f in findings if "KAM008" in f]
    assert finding.endswith(
        "warning KAM008: plan check 'mentor_review_gold' lets tier Gold go 120 days without "
        "max(plan.reviews, date, kind == 'mentor'), but 'mentor_review_silver_bronze' gives tier Silver only 90: "
        "a higher tier is held to a looser standard (give higher tiers the shorter window, or check which tiers "
        "each check lists)"
    )
    assert "plan_checks.yaml:" in finding


def test_tiers_listed_the_wrong_way_round(tmp_path: Path) -> None:
    """The 60-day check written for Bronze and the 90-day one for Gold and Silver."""
    findings = _default_rules_with(
        tmp_path,
        ("tiers: [Gold]" + MENTOR, "tiers: [Bronze]" + MENTOR),
        ("tiers: [Silver, Bronze]" + MENTOR, "tiers: [Gold, Silver]" + MENTOR),
    )
    (finding,) = [f for f in findings if "KAM008" in f]
    assert "plan check 'mentor_review_silver_bronze' lets tier Gold go 90 days" in finding
    assert "but 'mentor_review_gold' gives tier Bronze only 60" in finding


def test_a_tie_for_the_largest_weight_is_not_revenue_dominance() -> None:
    # revenue 40 of 80 (50%, above the 40% limit) still warns; 30 of 100 tied with fit does not.
    tied = SMALL_RULEBOOK.replace("weight: 60", "weight: 40")
    assert any("KAM001" in f for f in codes(tied))
    three = tied.replace("weight: 40", "weight: 30").replace(
        "      - id: fit\n",
        "      - id: growth\n        weight: 40\n        fact: account.growth_potential\n"
        "        scale: {from: 1, to: 5}\n      - id: fit\n",
    )
    # revenue 30, growth 40, fit 30 of 100: revenue is not the largest, and a tie with fit
    assert not any("KAM001" in f for f in codes(three))
    tie_top = three.replace("weight: 40\n        fact: account.growth", "weight: 30\n        fact: account.growth")
    # revenue 30, growth 30, fit 30: a three-way tie for the largest weight, 33% each
    assert not any("KAM001" in f for f in codes(tie_top))
    alone_top = tie_top.replace("weight: 30\n        fact: account.annual", "weight: 31\n        fact: account.annual")
    assert any("KAM001" in f for f in codes(alone_top))


def test_a_warning_is_switched_off_per_rule_with_its_reason() -> None:
    from kamrules.workbench.lint import lint_report

    text = SMALL_RULEBOOK.replace(
        "        weight: 60\n",
        "        weight: 60\n        lint:\n          KAM001: Revenue leads this year, by board decision of 2026-10.\n",
    )
    findings, suppressed = lint_report(load_rulebook_text(text, "r.yaml"))
    assert findings == []
    assert [(s.finding.code, s.reason) for s in suppressed] == [
        ("KAM001", "Revenue leads this year, by board decision of 2026-10.")
    ]


def test_switching_off_needs_a_known_code_and_a_reason() -> None:
    from kamrules import RulebookError

    for lint_block, expected in [
        ("KAM0001: x", "'KAM0001' is not allowed here"),
        ("KAM001: ''", "criterion 'revenue': lint.KAM001 must not be empty"),
    ]:
        text = SMALL_RULEBOOK.replace("        weight: 60\n", f"        weight: 60\n        lint: {{{lint_block}}}\n")
        with pytest.raises(RulebookError) as info:
            load_rulebook_text(text, "r.yaml")
        assert expected in str(info.value), str(info.value)


def test_a_scorecard_can_switch_a_code_off_for_its_criteria() -> None:
    from kamrules.workbench.lint import lint_report

    text = SMALL_RULEBOOK.replace(
        "  - id: attractiveness\n", "  - id: attractiveness\n    lint: {KAM001: Our revenue-led year.}\n"
    )
    findings, suppressed = lint_report(load_rulebook_text(text, "r.yaml"))
    assert findings == [] and len(suppressed) == 1


def test_weighted_facts_missing_in_most_of_the_portfolio_warn() -> None:
    import datetime as dt

    from kamrules import Engine

    rulebook = load_rulebook_text(BALANCED, "r.yaml")
    engine = Engine(rulebook)
    as_of = dt.date(2026, 11, 1)
    # strategic_fit missing in 3 of 4 accounts; revenue in 1 of 4; relationship in none
    records = [
        {"id": "A", "annual_revenue": 1, "strategic_fit": 3, "relationship_strength": 2},
        {"id": "B", "annual_revenue": 1, "relationship_strength": 2},
        {"id": "C", "annual_revenue": 1, "relationship_strength": 2},
        {"id": "D", "relationship_strength": 2},
    ]
    decisions = [engine.decide(r, as_of) for r in records]
    findings = [str(f) for f in lint(rulebook, None, decisions)]
    assert findings == [
        "r.yaml:14:15: warning KAM010: criterion 'fit' (weight 40) reads account.strategic_fit, which is missing "
        "in 3 of the 4 accounts (75%): its weight mostly follows the missing-fact policy, not the facts (fill the "
        "fact in the CRM (or map its CRM column under facts.columns), or lower the weight)"
    ]
    # half missing is not "most"
    assert lint(rulebook, None, decisions[:2]) == []
