"""Operators and missing values: three-valued logic, comparisons, arithmetic, if/else."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest
from expr_support import AS_OF, contact, record, run

from kamrules.expressions import compile_expression
from kamrules.facts.schema import build_schema
from kamrules.facts.types import BOOLEAN, INTEGER, NUMBER, FactField

# Two optional booleans and one required, so every truth value can be fed in.
FLAGS = build_schema(
    [
        FactField("a", BOOLEAN),
        FactField("b", BOOLEAN),
        FactField("c", BOOLEAN, required=True),
        FactField("n", NUMBER),
        FactField("m", NUMBER),
        FactField("k", INTEGER, required=True),
    ],
    scorecards=["s1"],
)
VALUES = (True, False, None)


def flags(source: str, **facts: Any) -> Any:
    compiled = compile_expression(source, FLAGS)
    return compiled.evaluate(record(**facts), {"s1": Fraction(50)}, AS_OF)[0]


def kleene_and(x: Any, y: Any) -> Any:
    if x is False or y is False:
        return False
    return None if x is None or y is None else True


def kleene_or(x: Any, y: Any) -> Any:
    if x is True or y is True:
        return True
    return None if x is None or y is None else False


# -- truth tables ---------------------------------------------------------------------------


@pytest.mark.parametrize("x", VALUES)
@pytest.mark.parametrize("y", VALUES)
def test_and_is_kleene(x: Any, y: Any) -> None:
    assert flags("a and b", a=x, b=y) is kleene_and(x, y)


@pytest.mark.parametrize("x", VALUES)
@pytest.mark.parametrize("y", VALUES)
def test_or_is_kleene(x: Any, y: Any) -> None:
    assert flags("a or b", a=x, b=y) is kleene_or(x, y)


@pytest.mark.parametrize(("x", "expected"), [(True, False), (False, True), (None, None)])
def test_not_is_kleene(x: Any, expected: Any) -> None:
    assert flags("not a", a=x) is expected


@pytest.mark.parametrize("x", VALUES)
@pytest.mark.parametrize("y", VALUES)
@pytest.mark.parametrize("z", (True, False))
def test_three_operands_mixing_required_and_optional(x: Any, y: Any, z: bool) -> None:
    assert flags("a and b and c", a=x, b=y, c=z) is kleene_and(kleene_and(x, y), z)
    assert flags("a or c or b", a=x, b=y, c=z) is kleene_or(kleene_or(x, z), y)


@pytest.mark.parametrize("x", VALUES)
@pytest.mark.parametrize("y", VALUES)
def test_nested_logic(x: Any, y: Any) -> None:
    assert flags("not (a and not b)", a=x, b=y) is kleene_or(None if x is None else not x, y)


def test_logic_on_values_that_cannot_be_missing_is_plain_python() -> None:
    compiled = compile_expression("c and k > 1", FLAGS)
    assert compiled.nullable is False
    assert compiled.evaluate(record(c=True, k=2), None, AS_OF)[0] is True
    assert compiled.evaluate(record(c=True, k=0), None, AS_OF)[0] is False


# -- comparisons ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("n == 3", True),
        ("n != 3", False),
        ("n < 4", True),
        ("n <= 3", True),
        ("n > 3", False),
        ("n >= 3.0", True),
        ("3 == n", True),
        ("k == 2", True),
        ("n > k", True),
        ("score.s1 == 50", True),
        ("score.s1 > n", True),
        ("score.s1 == 50.0", True),
    ],
)
def test_number_comparisons_mix_integers_floats_and_scores(source: str, expected: bool) -> None:
    assert flags(source, n=3.0, k=2) is expected


@pytest.mark.parametrize("source", ["n == 3", "n != 3", "n < 4", "3 >= n", "n > m", "n == m"])
def test_comparison_with_a_missing_value_is_unknown(source: str) -> None:
    assert flags(source, n=None, m=1.0, k=1) is None


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0.5, False), (1.0, True), (3.0, True), (5.0, True), (5.5, False), (None, None)],
)
def test_chained_comparison(n: Any, expected: Any) -> None:
    assert flags("1 <= n <= 5", n=n, k=1) is expected


def test_chained_comparison_is_kleene_and_of_its_links() -> None:
    # n < 1 is unknown, but 1 < 0 is false, so the whole chain is false.
    assert flags("n < 1 < 0", n=None, k=1) is False
    assert flags("n < 1 < 2", n=None, k=1) is None
    assert flags("k < n < m", n=None, m=3.0, k=1) is None
    assert flags("k < n < m", n=2.0, m=3.0, k=1) is True
    assert flags("k < n + 0 < m - 1", n=2.5, m=3.0, k=1) is False
    assert flags("n + 0 < k < m", n=None, m=3.0, k=5) is False
    assert flags("m - 1 < k < n + 0", n=None, m=10.0, k=1) is False
    assert flags("k < n + 0 < m", n=None, m=3.0, k=1) is None


def test_required_chain_is_plain_python() -> None:
    assert flags("0 < k < 3 < 4", k=2) is True
    assert flags("0 < k < 3 < 4", k=3) is False


def test_dates_compare_with_dates() -> None:
    rec = record(plan=_plan(dt.date(2026, 9, 2)))
    assert run("plan.last_reviewed < date('2026-10-01')", rec) is True
    assert run("plan.last_reviewed >= today()", rec) is False
    assert run("plan.last_reviewed == date('2026-09-02')", rec) is True


def test_text_and_categories_compare_for_equality() -> None:
    rec = record(name="Acme", credit_risk="high", current_tier="high")
    assert run("credit_risk == 'high'", rec) is True
    assert run("credit_risk != 'high'", rec) is False
    assert run("'high' == credit_risk", rec) is True
    assert run("current_tier == credit_risk", rec) is True
    assert run("name == 'acme'", rec) is False


def test_booleans_compare_for_equality() -> None:
    assert flags("a == false", a=False) is True
    assert flags("a != b", a=True, b=False) is True
    assert flags("a == true", a=None) is None


@pytest.mark.parametrize(
    ("risk", "expected"), [("low", True), ("medium", True), ("high", False), (None, None)]
)
def test_in_and_not_in_with_a_list(risk: Any, expected: Any) -> None:
    assert run("credit_risk in ['low', 'medium']", record(credit_risk=risk)) is expected
    negated = None if expected is None else not expected
    assert run("credit_risk not in ['low', 'medium']", record(credit_risk=risk)) is negated


def test_in_with_numbers_and_dates() -> None:
    assert run("strategic_fit in [4, 5]", record(strategic_fit=5)) is True
    assert run("strategic_fit in [-1, 0.5]", record(strategic_fit=5)) is False
    assert (
        run("plan.last_reviewed in [date('2026-09-02')]", record(plan=_plan(dt.date(2026, 9, 2))))
        is True
    )


# -- arithmetic -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("n + 2", 8.0),
        ("n - 2", 4.0),
        ("n * 2", 12.0),
        ("n / 4", 1.5),
        ("-n", -6.0),
        ("+n", 6.0),
        ("k * 3 - 1", 5),
        ("k / 2", 1.0),
        ("(n + k) * 10 / 4", 20.0),
        ("n - k - 1", 3.0),
        ("n - (k - 1)", 5.0),
        ("score.s1 / 4", Fraction(25, 2)),
    ],
)
def test_arithmetic(source: str, expected: Any) -> None:
    assert flags(source, n=6.0, k=2) == expected


def test_arithmetic_types() -> None:
    assert compile_expression("k + 1", FLAGS).type == INTEGER
    assert compile_expression("k / 1", FLAGS).type == NUMBER
    assert compile_expression("k * 1.5", FLAGS).type == NUMBER


@pytest.mark.parametrize("source", ["n + 1", "1 - n", "n * m", "-n", "n / 2", "m / n"])
def test_arithmetic_with_a_missing_value_is_unknown(source: str) -> None:
    assert flags(source, n=None, m=2.0, k=1) is None


@pytest.mark.parametrize("source", ["n / 0", "n / m", "k / (k - 1)", "n / 0.0", "10 / (m * 0)"])
def test_division_by_zero_is_unknown_not_an_error(source: str) -> None:
    assert flags(source, n=5.0, m=0.0, k=1) is None
    assert compile_expression(source, FLAGS).nullable is True


def test_division_by_a_non_zero_literal_cannot_be_unknown() -> None:
    compiled = compile_expression("k / 4", FLAGS)
    assert compiled.nullable is False
    assert compiled.evaluate(record(k=2), None, AS_OF)[0] == 0.5


def test_overflow_beyond_float_range_is_unknown() -> None:
    source = "k * " + " * ".join(["999999999999999"] * 22) + " * 1.5"
    assert flags(source, k=1) is None


def test_float_overflow_gives_infinity_like_python() -> None:
    assert flags("n * 1e308 * 10", n=1.0, k=1) == float("inf")


# -- if / else --------------------------------------------------------------------------------


@pytest.mark.parametrize(("a", "expected"), [(True, 1), (False, 2), (None, None)])
def test_conditional(a: Any, expected: Any) -> None:
    assert flags("1 if a else 2", a=a) == expected


def test_conditional_with_null_branch_is_nullable() -> None:
    compiled = compile_expression("k * 10 if c else null", FLAGS)
    assert compiled.nullable is True
    assert compiled.type == INTEGER
    assert compiled.evaluate(record(c=False, k=1), None, AS_OF)[0] is None
    assert compiled.evaluate(record(c=True, k=1), None, AS_OF)[0] == 10


def test_conditional_mixing_integer_and_number_gives_number() -> None:
    compiled = compile_expression("1 if c else 2.5", FLAGS)
    assert compiled.type == NUMBER
    assert compiled.nullable is False


def test_conditional_only_evaluates_the_taken_branch() -> None:
    # The untaken branch divides by zero; it must not matter.
    assert flags("1 if c else n / 0", c=True, n=1.0, k=1) == 1


# -- conditions inside aggregates: unknown counts as not matching ---------------------------------


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ("stance == 'enemy'", 1),
        ("stance != 'enemy'", 2),
        ("not (stance == 'enemy')", 2),
        ("stance in ['enemy']", 1),
        ("stance not in ['enemy']", 2),
        ("influence > 2", 1),
        ("not influence > 2", 1),
        ("influence > 2 or stance == 'enemy'", 2),
        ("influence > 2 and stance == 'enemy'", 0),
        ("not (influence > 2 and stance == 'enemy')", 3),
        ("influence == account.strategic_fit", 0),
        ("1 <= influence <= 5", 2),
        ("(influence if stance == 'enemy' else 3) > 2", 2),
    ],
)
def test_aggregate_condition_unknown_is_not_matching(condition: str, expected: int) -> None:
    rec = record(
        contacts=[
            contact(stance="enemy", influence=1),
            contact(stance="supporter", influence=3),
            contact(),
            contact(stance="mentor"),
        ]
    )
    assert run(f"count(contacts, {condition})", rec) == expected


def test_equality_of_two_missing_values_is_unknown_inside_aggregates() -> None:
    rec = record(contacts=[contact(), contact(owner="Kim", name="Kim")])
    assert run("count(contacts, owner == name)", rec) == 1
    assert run("count(contacts, owner == account.account_manager)", rec) == 0


def _plan(last_reviewed: dt.date) -> Any:
    from expr_support import plan

    return plan(last_reviewed=last_reviewed)
