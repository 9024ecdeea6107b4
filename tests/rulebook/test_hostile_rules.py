"""Hostile and careless rule files (issue 12): every one is refused with a positioned problem
in plain words, never a traceback, and nothing `validate` accepts fails at evaluation."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kamrules import Engine, RulebookError, load_rulebook, load_rulebook_text
from kamrules.rulebook.model import NUMBER_LIMIT, WEIGHT_LIMIT
from tests.conftest import AS_OF, SMALL_RULEBOOK

FIT_SCALE = "        fact: account.strategic_fit\n        scale: {from: 1, to: 5}\n"
RECORD = {"id": "A", "annual_revenue": 2_500_000, "strategic_fit": 4, "relationship_strength": 3}


def problems_of(text: str, name: str = "r.yaml") -> list[str]:
    with pytest.raises(RulebookError) as info:
        load_rulebook_text(text, name)
    return [str(p) for p in info.value.problems]


def only_problem(text: str) -> str:
    problems = problems_of(text)
    assert len(problems) == 1, problems
    return problems[0]


def test_an_impossible_date_is_named_with_its_place() -> None:
    text = SMALL_RULEBOOK + "title: 2026-02-30\n"
    line = text.count("\n")
    assert only_problem(text) == (
        f"r.yaml:{line}:8: '2026-02-30' is not a real date: the month has no such day, or the month or time "
        "is out of range (put it in quotes if it is meant as text)"
    )


@pytest.mark.parametrize(
    ("character", "code"), [("\x00", "0000"), ("\x07", "0007"), ("\x1b", "001B"), ("\x7f", "007F")]
)
def test_control_characters_are_named_by_line_and_column(character: str, code: str) -> None:
    text = SMALL_RULEBOOK + f'title: "ab{character}c"\n'
    line = text.count("\n")
    problem = only_problem(text)
    assert problem.startswith(f"r.yaml:{line}:11: the control character U+{code} is not allowed in a rule file")


def test_tabs_and_line_ends_are_not_control_characters() -> None:
    text = SMALL_RULEBOOK.replace("\n", "\r\n") + "title: 'a\tb'\r\n"
    assert load_rulebook_text(text).spec.title == "a\tb"


@pytest.mark.parametrize("opening", ["[", "{a: "])
def test_deep_nesting_is_refused_before_the_parser_recurses(opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = SMALL_RULEBOOK + "description: " + opening * 5000 + "1" + closing * 5000 + "\n"
    problem = only_problem(text)
    assert "nested more than 64 levels deep" in problem
    assert problem.startswith(f"r.yaml:{text.count(chr(10))}:")


def test_nesting_within_the_bound_reaches_validation() -> None:
    text = SMALL_RULEBOOK + "description: " + "[" * 60 + "]" * 60 + "\n"
    assert only_problem(text).endswith("description must be text")


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("at_least: 10000000", "at_least: .nan", "criterion 'revenue', band 1: at_least must be a finite number"),
        ("at_least: 10000000", "at_least: .inf", "criterion 'revenue', band 1: at_least must be a finite number"),
        ("scale: {from: 1, to: 5}", "scale: {from: 1, to: -.inf}", "criterion 'fit': scale.to must be a finite"),
        ("points: 100", "points: .nan", "criterion 'revenue', band 1: points must be a finite number"),
        ("at_least: 10000000", "at_least: 1.0e+16", "band 1: at_least must be at most 1,000,000,000,000,000"),
        ("scale: {from: 1, to: 5}", "scale: {from: -1.0e+16, to: 5}", "scale.from must be at least -1,000,000,000"),
        ("min_score: 80", "min_score: .nan", "tier 'Gold': min_score must be a finite number"),
    ],
)
def test_numbers_are_finite_and_within_bounds(old: str, new: str, expected: str) -> None:
    text = SMALL_RULEBOOK.replace(old, new, 1)
    assert expected in only_problem(text)


def test_the_bounds_themselves_are_accepted() -> None:
    text = SMALL_RULEBOOK.replace("at_least: 10000000", f"at_least: {NUMBER_LIMIT}").replace(
        "weight: 60", f"weight: {WEIGHT_LIMIT}"
    )
    rulebook = load_rulebook_text(text)
    assert Engine(rulebook).decide(RECORD, as_of=AS_OF).tier == "Silver"


def test_a_weight_that_would_overflow_the_columnar_engine_is_refused() -> None:
    text = SMALL_RULEBOOK.replace("weight: 60", "weight: 1e30")
    assert only_problem(text) == "r.yaml:7:17: criterion 'revenue': weight must be at most 1,000,000, not 1e30"


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ("minimum: 0.5", "an integer fact's `minimum` must be a whole number, not 0.5"),
        ("maximum: .nan", "custom fact 'seats': maximum must be a finite number"),
        ("minimum: 5, maximum: 1", "`minimum` (5) is larger than `maximum` (1)"),
    ],
)
def test_custom_integer_fact_bounds_are_whole_finite_and_ordered(bounds: str, expected: str) -> None:
    text = SMALL_RULEBOOK + f"facts:\n  custom:\n    - {{name: seats, type: integer, description: Seats, {bounds}}}\n"
    assert expected in only_problem(text)


def test_bounds_on_a_text_fact_are_refused() -> None:
    text = SMALL_RULEBOOK + "facts:\n  custom:\n    - {name: code, type: text, description: A code, minimum: 1}\n"
    assert "only a number or integer fact takes `minimum`" in only_problem(text)


@pytest.mark.parametrize("capacity", ["100.5%", "101%", "-5", "1000000001", "'5 %'", "true%"])
def test_capacity_is_a_count_or_a_share_up_to_100_percent(capacity: str) -> None:
    text = SMALL_RULEBOOK.replace("min_score: 80", f"min_score: 80\n    capacity: {capacity}")
    problem = only_problem(text)
    assert problem.startswith("r.yaml:35:15: tier 'Gold': capacity must be"), problem


@pytest.mark.parametrize("capacity", ["100%", "100.00%", "0%", "12.5%", "20", "0"])
def test_valid_capacities_are_accepted(capacity: str) -> None:
    text = SMALL_RULEBOOK.replace("min_score: 80", f"min_score: 80\n    capacity: {capacity}")
    assert load_rulebook_text(text).spec.tiers[0].capacity is not None


@pytest.mark.parametrize(
    ("expression", "points"),
    [
        ("account.annual_revenue * 1e300", 100),
        ("account.annual_revenue / 1e-300", 100),
        ("0 - account.annual_revenue * 1e300", 0),
        ("account.annual_revenue * 1e300 - account.annual_revenue * 1e300", None),
        ("account.seats * account.seats * account.seats * account.seats * account.seats * account.seats", 100),
    ],
)
def test_expression_arithmetic_that_overflows_decides_the_account(expression: str, points: int | None) -> None:
    """Infinity is clamped like any value beyond 0..100; NaN (infinity minus infinity) is no
    number, so the criterion's fact counts as missing (here: zero points, flagged)."""
    text = SMALL_RULEBOOK.replace(FIT_SCALE, f'        expression: "{expression}"\n') + (
        "facts:\n  custom:\n    - {name: seats, type: integer, description: Seats}\n"
    )
    engine = Engine(load_rulebook_text(text))
    decision = engine.decide({**RECORD, "annual_revenue": 1e300, "seats": 10**60}, as_of=AS_OF)
    fit = decision.scores["attractiveness"].criteria[1]
    if points is None:
        assert fit.value is None and fit.missing and fit.points == 0
    else:
        assert fit.points == points and not fit.missing


def test_a_file_that_is_not_utf8_is_named_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes((SMALL_RULEBOOK + "title: Caf\xe9\n").encode("latin-1"))
    with pytest.raises(RulebookError) as info:
        load_rulebook(path)
    line = SMALL_RULEBOOK.count("\n") + 1
    assert [str(p) for p in info.value.problems] == [
        f"{path}:{line}:11: the file is not UTF-8 text: the byte 0xE9 here is not valid UTF-8 "
        "(invalid continuation byte) (save the file as UTF-8 in your editor)"
    ]


def test_an_empty_rule_file_given_alone_is_named(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("# nothing yet\n", encoding="utf-8")
    with pytest.raises(RulebookError) as info:
        load_rulebook(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:1:1: the rule file is empty (or holds only comments)"]


def test_an_emptied_file_of_a_folder_is_a_warning(write_rules) -> None:  # type: ignore[no-untyped-def]
    folder = write_rules({"a.yaml": SMALL_RULEBOOK, "b.yaml": "# the segments were here\n"})
    rulebook = load_rulebook(folder)
    assert [str(w) for w in rulebook.source_map.warnings] == [
        f"{folder / 'b.yaml'}:1:1: the rule file is empty (or holds only comments), so it adds nothing to the "
        "rulebook (delete it if that is meant; otherwise its rules were lost)"
    ]


def test_a_rulebook_that_lost_its_gates_or_tiers_warns() -> None:
    start = SMALL_RULEBOOK.index("gates:")
    end = SMALL_RULEBOOK.index("tiers:")
    text = SMALL_RULEBOOK[:start] + "gates: []\ntiers:\n  - name: Standard\nsegments: []\n"
    assert end > start
    warnings = [str(w) for w in load_rulebook_text(text, "r.yaml").source_map.warnings]
    assert warnings[0].startswith("r.yaml:") and "`gates:` is empty" in warnings[0]
    assert "there is only one tier ('Standard')" in warnings[1]
    assert load_rulebook_text(SMALL_RULEBOOK).source_map.warnings == []


def test_evaluating_a_validated_rulebook_never_raises_for_large_facts() -> None:
    engine = Engine(load_rulebook_text(SMALL_RULEBOOK))
    for revenue in (0, 1e-300, 1.7e308):
        decision = engine.decide({**RECORD, "annual_revenue": revenue}, as_of=dt.date(2026, 11, 1))
        assert decision.tier in ("Gold", "Silver", "Bronze", "Standard")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a:\n  b: 1\n c: 2\n", "r.yaml:3:2: this is not valid YAML: this line is indented differently"),
        ("a: b: c\n", "r.yaml:1:5: this is not valid YAML: a ':' here starts a second key on one line"),
        ("a:\n\tb: 1\n", "r.yaml:2:1: this is not valid YAML: a tab is used for indentation here"),
        ("a: 'abc\nb: 2\n", "this is not valid YAML: a quoted text is not closed (the one opened on line 1)"),
        ("a: [1, 2\nb: 3\n", "this is not valid YAML: a list in brackets [...] is not closed"),
        ("a: {x: 1\nb: 3\n", "this is not valid YAML: a mapping in braces {...} is not closed"),
        ("a:\n  - 1\n  b: 2\n", "r.yaml:3:3: this is not valid YAML: a list item ('- ') and a key are mixed"),
        ("a: 1\nfoo\nb: 2\n", "r.yaml:2:1: this is not valid YAML: this line has no ':' after its key"),
        ("a: *x\n", "r.yaml:1:4: this is not valid YAML: the alias 'x' names no anchor ('&name') above it"),
        ("a: 1\n---\nb: 2\n", "r.yaml:2:1: this is not valid YAML: a second document starts here ('---')"),
        ("a: [1, 2]]\n", "r.yaml:1:10: this is not valid YAML: a closing ']' here has no opening '['"),
        ("a: @x\n", "r.yaml:1:4: this is not valid YAML: a value cannot start with '@' (put the value in quotes)"),
    ],
)
def test_yaml_syntax_errors_are_in_plain_words(text: str, expected: str) -> None:
    problem = only_problem(text)
    assert expected in problem
    assert "<block" not in problem and "token" not in problem
