"""Loading rulebooks: every error class names its place and what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamrules import RulebookError, load_rulebook, load_rulebook_text
from kamrules.errors import SourceLocation
from tests.conftest import ROOT, SMALL_RULEBOOK


def problems_of(text: str) -> list[str]:
    with pytest.raises(RulebookError) as info:
        load_rulebook_text(text, "r.yaml")
    return [str(p) for p in info.value.problems]


def only_problem(text: str) -> str:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_small_rulebook_loads() -> None:
    rulebook = load_rulebook_text(SMALL_RULEBOOK)
    assert rulebook.id == "small"
    assert rulebook.tier_names == ("Gold", "Silver", "Bronze", "Standard")
    assert [s.id for s in rulebook.scorecards] == ["attractiveness", "strength"]
    assert rulebook.primary_scorecard == "attractiveness"
    assert rulebook.content_hash.startswith("sha256:")


def test_the_shipped_default_rulebook_loads() -> None:
    rulebook = load_rulebook(ROOT / "rules")
    criteria = sum(len(s.criteria) for s in rulebook.scorecards)
    assert 8 <= criteria <= 12
    assert len(rulebook.spec.tiers) == 4


def test_misspelt_key_names_line_and_suggests() -> None:
    text = SMALL_RULEBOOK.replace("        weight: 60\n", "        wieght: 60\n")
    assert (
        only_problem(text) == "r.yaml:7:9: unknown key 'wieght' in criterion 'revenue' (did you mean 'weight'?)"
    )


def test_unquoted_version_says_to_quote_it() -> None:
    text = SMALL_RULEBOOK.replace('version: "1"', "version: 2026.10")
    assert only_problem(text) == "r.yaml:2:10: version must be text (put it in quotes: YAML reads 2026.1 as a number)"


def test_misspelt_fact_path_suggests_the_field() -> None:
    text = SMALL_RULEBOOK.replace("fact: account.annual_revenue", "fact: account.anual_revenue")
    problem = only_problem(text)
    assert problem.startswith("r.yaml:8:")
    assert "did you mean 'annual_revenue'?" in problem


def test_gate_naming_a_missing_tier_suggests_one() -> None:
    text = SMALL_RULEBOOK.replace("at_most: Silver", "at_most: Silvr")
    assert only_problem(text) == (
        "r.yaml:30:14: gate 'high_credit_risk' caps at the tier 'Silvr', which does not exist (did you mean 'Silver'?)"
    )


def test_negative_weight_is_refused() -> None:
    text = SMALL_RULEBOOK.replace("weight: 60", "weight: -5")
    assert only_problem(text).startswith(
        "r.yaml:7:17: criterion 'revenue': weight must be at least 0, not -5"
    )


def test_all_zero_weights_are_refused() -> None:
    text = SMALL_RULEBOOK.replace("        weight: 1\n", "        weight: 0\n")
    assert "every weight of scorecard 'strength' is zero" in only_problem(text)


def test_duplicate_criterion_ids_are_refused() -> None:
    text = SMALL_RULEBOOK.replace("- id: fit", "- id: revenue")
    problem = only_problem(text)
    assert "the criterion id 'revenue' is used 2 times" in problem
    assert "r.yaml:6:13" in problem and "r.yaml:12:13" in problem


def test_tiers_out_of_order_are_refused() -> None:
    text = SMALL_RULEBOOK.replace("min_score: 40", "min_score: 70")
    assert only_problem(text) == (
        "r.yaml:41:16: tiers out of order: 'Bronze' (min_score 70) is listed below 'Silver' (min_score 60); "
        "list tiers best first"
    )


def test_bands_out_of_order_are_refused() -> None:
    text = SMALL_RULEBOOK.replace("at_least: 1000000,", "at_least: 20000000,")
    assert "bands out of order; list them highest first (at_least 20,000,000 comes after 10,000,000)" in only_problem(
        text
    )


def test_last_tier_is_the_default() -> None:
    text = SMALL_RULEBOOK.replace("  - name: Standard\n", "  - name: Standard\n    min_score: 10\n")
    assert "the last tier 'Standard' is the default" in only_problem(text)


def test_expression_error_points_at_the_token() -> None:
    text = SMALL_RULEBOOK.replace("when: account.credit_risk == 'high'", "when: account.credit_risk == 'hihg'")
    problem = only_problem(text)
    assert problem.startswith("r.yaml:28:34: gate 'high_credit_risk': 'hihg' is not a credit risk value")
    assert "did you mean 'high'?" in problem


def test_scale_on_a_category_is_refused() -> None:
    text = SMALL_RULEBOOK.replace("fact: account.relationship_strength", "fact: account.credit_risk")
    assert "is scored by scale, which needs a number, but account.credit_risk is credit risk" in only_problem(text)


def test_several_problems_are_reported_together() -> None:
    text = SMALL_RULEBOOK.replace("at_most: Silver", "at_most: Platinum").replace("min_score: 40", "min_score: 70")
    assert len(problems_of(text)) == 2


def test_wrong_literal_suggests() -> None:
    text = SMALL_RULEBOOK.replace("effect: exclude", "effect: exclud")
    problem = only_problem(text)
    assert "'exclud' is not allowed here" in problem and "did you mean 'exclude'?" in problem


def test_folder_is_merged_in_name_order(write_rules) -> None:  # type: ignore[no-untyped-def]
    head, rest = SMALL_RULEBOOK.split("gates:\n", 1)
    gates, tiers = rest.split("tiers:\n", 1)
    folder = write_rules({"a.yaml": head, "b.yaml": "gates:\n" + gates, "c.yaml": "tiers:\n" + tiers})
    rulebook = load_rulebook(folder)
    assert [g.id for g in rulebook.spec.gates] == ["declines_kam", "high_credit_risk"]
    assert rulebook.content_hash == load_rulebook_text(SMALL_RULEBOOK).content_hash


def test_a_setting_in_two_files_is_refused(write_rules) -> None:  # type: ignore[no-untyped-def]
    folder = write_rules({"a.yaml": SMALL_RULEBOOK, "b.yaml": 'version: "2"\n'})
    with pytest.raises(RulebookError) as info:
        load_rulebook(folder)
    (problem,) = info.value.problems
    assert problem.location == SourceLocation(str(folder / "b.yaml"), 1, 1)
    assert "'version' is defined in two rule files" in problem.message


def test_content_hash_ignores_comments_and_layout() -> None:
    reformatted = "# a comment\n" + SMALL_RULEBOOK.replace("weight: 60", "weight: 60.0  # sixty")
    assert load_rulebook_text(reformatted).content_hash == load_rulebook_text(SMALL_RULEBOOK).content_hash
    changed = SMALL_RULEBOOK.replace("weight: 60", "weight: 61")
    assert load_rulebook_text(changed).content_hash != load_rulebook_text(SMALL_RULEBOOK).content_hash


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(RulebookError, match="no rule file or folder at"):
        load_rulebook(tmp_path / "nope")
    with pytest.raises(RulebookError, match=r"holds no \.yaml or \.yml rule files"):
        load_rulebook(tmp_path)


def test_custom_fact_cannot_shadow_a_builtin() -> None:
    text = SMALL_RULEBOOK + "facts:\n  custom:\n    - {name: annual_revenue, type: number, description: x}\n"
    assert "has the name of a built-in fact" in only_problem(text)


def test_custom_fact_is_usable_in_rules() -> None:
    text = SMALL_RULEBOOK.replace("fact: account.relationship_strength", "fact: account.nps") + (
        "facts:\n  custom:\n    - {name: nps, type: number, description: Net promoter score, column: NPS__c}\n"
    )
    rulebook = load_rulebook_text(text)
    assert rulebook.schema.account.fields["nps"].column == "NPS__c"
