"""Every function, with missing values, and the aggregates over contacts."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest
from expr_support import AS_OF, checked, compile_, contact, full_record, plan, record, reference, run

from kamrules.facts.types import BOOLEAN, DATE, INTEGER, NUMBER, TEXT

# -- dates ------------------------------------------------------------------------------------


def test_days_since_counts_to_the_as_of_date() -> None:
    rec = record(plan=plan(last_reviewed=dt.date(2026, 9, 2)))
    assert run("days_since(plan.last_reviewed)", rec) == 60
    assert run("days_since(plan.last_reviewed)", rec, as_of=dt.date(2026, 9, 1)) == -1
    assert run("days_since(plan.last_reviewed) <= 60", rec) is True
    assert run("days_since(plan.last_reviewed) <= 60", rec, as_of=dt.date(2026, 11, 2)) is False
    assert compile_("days_since(plan.last_reviewed)").type == INTEGER


def test_days_until_counts_from_the_as_of_date() -> None:
    assert run("days_until(date('2026-12-25'))", record()) == 54
    assert run("days_until(date('2026-10-25'))", record()) == -7


@pytest.mark.parametrize(
    "source", ["days_since(plan.last_reviewed)", "days_until(plan.last_reviewed)"]
)
def test_days_of_a_missing_date_are_unknown(source: str) -> None:
    assert run(source, record(plan=None)) is None
    assert run(source, record(plan=plan())) is None
    assert compile_(source).nullable is True


def test_days_of_a_literal_date_cannot_be_unknown() -> None:
    assert compile_("days_since(date('2026-01-01'))").nullable is False
    assert compile_("days_since(today())").nullable is False


def test_today_and_date() -> None:
    assert run("today()", record()) == AS_OF
    assert run("today() == date('2026-11-01')", record()) is True
    assert compile_("today()").type == DATE


# -- presence ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "present"), [(None, False), (0.0, True), (12.5, True)])
def test_present_and_missing_are_never_unknown(value: Any, present: bool) -> None:
    rec = record(annual_revenue=value)
    assert run("present(annual_revenue)", rec) is present
    assert run("missing(annual_revenue)", rec) is (not present)
    assert compile_("present(annual_revenue)").nullable is False
    assert compile_("missing(annual_revenue)").type == BOOLEAN


def test_present_of_a_value_that_cannot_be_missing_is_true_but_still_evidence() -> None:
    compiled = compile_("present(id) and not missing(score.strength)")
    assert compiled.evidence == ("account.id", "score.strength")
    assert compiled.evaluate(record(), {"strength": Fraction(1)}, AS_OF) == (
        True,
        ("A1", Fraction(1)),
    )


def test_present_of_a_missing_plan() -> None:
    assert run("present(plan.mentor)", record(plan=None)) is False


@pytest.mark.parametrize(("value", "expected"), [(None, 0), (7.0, 7.0)])
def test_coalesce(value: Any, expected: Any) -> None:
    assert run("coalesce(annual_revenue, 0)", record(annual_revenue=value)) == expected


def test_coalesce_types_and_nullability() -> None:
    assert compile_("coalesce(annual_revenue, 0)").nullable is False
    assert compile_("coalesce(annual_revenue, 0)").type == NUMBER
    assert compile_("coalesce(annual_revenue, wallet_size)").nullable is True
    assert run("coalesce(annual_revenue, wallet_size)", record(wallet_size=3.0)) == 3.0
    assert compile_("coalesce(id, 'x')").evaluate(record(), None, AS_OF)[0] == "A1"
    assert run("coalesce(plan.last_reviewed, date('2020-01-01'))", record()) == dt.date(2020, 1, 1)


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("abs(revenue_growth_pct)", 12.5),
        ("abs(-3)", 3),
        ("min(revenue_growth_pct, 0)", -12.5),
        ("max(revenue_growth_pct, 0, -1)", 0),
        ("min(strategic_fit, 4, 9)", 3),
        ("max(score.strength, strategic_fit)", 40),
        ("clamp(revenue_growth_pct, -10, 10)", -10),
        ("clamp(strategic_fit * 30, 0, 100)", 90),
        ("clamp(strategic_fit, 0, 100)", 3),
        ("min(date('2026-01-01'), today())", dt.date(2026, 1, 1)),
    ],
)
def test_number_functions(source: str, expected: Any) -> None:
    rec = record(revenue_growth_pct=-12.5, strategic_fit=3)
    assert run(source, rec) == expected


@pytest.mark.parametrize(
    "source",
    [
        "abs(annual_revenue)",
        "min(annual_revenue, 1)",
        "max(1, annual_revenue)",
        "clamp(annual_revenue, 0, 1)",
        "clamp(1, annual_revenue, 2)",
    ],
)
def test_number_functions_of_a_missing_value_are_unknown(source: str) -> None:
    assert run(source, record()) is None
    assert compile_(source).nullable is True


def test_number_function_types() -> None:
    assert compile_("min(strategic_fit, 3)").type == INTEGER
    assert compile_("min(strategic_fit, 3.5)").type == NUMBER
    assert compile_("abs(strategic_fit)").type == INTEGER


def test_lower() -> None:
    assert run("lower(name) == 'acme gmbh'", record(name="ACME GmbH")) is True
    assert run("lower(name)", record()) is None
    assert compile_("lower(stage)").type == TEXT
    assert run("lower(stage)", record(stage="review")) == "review"


# -- aggregates -------------------------------------------------------------------------------


def test_count_all_and_with_a_condition() -> None:
    rec = full_record()
    assert run("count(contacts)", rec) == 4
    assert run("count(contacts, role == 'decision_maker')", rec) == 2
    assert (
        run("count(contacts, role == 'decision_maker' and stance in ['supporter', 'mentor'])", rec)
        == 1
    )
    assert compile_("count(contacts)").type == INTEGER


def test_any_and_all() -> None:
    rec = full_record()
    assert run("any(contacts, level == 'board')", rec) is True
    assert run("any(contacts, stance == 'enemy')", rec) is False
    assert run("all(contacts, present(name))", rec) is True
    # Di's influence is missing: unknown counts as not matching.
    assert run("all(contacts, influence >= 1)", rec) is False
    assert compile_("any(contacts, influence >= 1)").nullable is False


def test_aggregates_of_an_empty_list() -> None:
    rec = record(contacts=[])
    assert run("count(contacts)", rec) == 0
    assert run("count(contacts, role == 'user')", rec) == 0
    assert run("any(contacts, role == 'user')", rec) is False
    assert run("all(contacts, role == 'user')", rec) is True
    assert run("distinct(contacts, department)", rec) == 0
    assert run("sum(contacts, influence)", rec) == 0
    assert run("min(contacts, influence)", rec) is None
    assert run("max(contacts, last_contacted)", rec) is None


def test_distinct_counts_known_values() -> None:
    rec = full_record()
    assert run("distinct(contacts, department)", rec) == 2
    assert run("distinct(contacts, department, role == 'decision_maker')", rec) == 2
    assert run("distinct(contacts, department, stance == 'mentor')", rec) == 1
    assert run("distinct(contacts, lower(department))", rec) == 2
    assert run("distinct(contacts, role)", rec) == 3


def test_sum_min_max_skip_missing_values() -> None:
    rec = full_record()
    assert run("sum(contacts, influence)", rec) == 12
    assert run("sum(contacts, influence * 2 if role == 'decision_maker' else 0)", rec) == 16
    assert run("min(contacts, influence)", rec) == 3
    assert run("max(contacts, influence)", rec) == 5
    assert run("max(contacts, last_contacted)", rec) == dt.date(2026, 10, 1)
    assert run("days_since(max(contacts, last_contacted)) <= 31", rec) is True
    assert compile_("sum(contacts, influence)").nullable is False
    assert compile_("sum(contacts, influence / 2)").type == NUMBER
    assert compile_("min(contacts, influence)").nullable is True


def test_aggregate_condition_can_read_account_plan_and_score() -> None:
    rec = full_record()
    assert run("count(contacts, influence >= strategic_fit)", rec) == 1
    assert run("count(contacts, owner == plan.owner)", rec) == 0
    assert run("count(contacts, influence * 10 >= score.strength)", rec) == 2
    assert run("count(contacts, last_contacted >= plan.last_reviewed)", rec) == 1
    assert run("count(contacts, influence >= 4)", record(plan=None, contacts=rec.contacts)) == 2
    assert (
        run(
            "count(contacts, last_contacted >= plan.last_reviewed)",
            record(plan=None, contacts=rec.contacts),
        )
        == 0
    )


def test_item_fields_shadow_account_fields_of_the_same_name() -> None:
    rec = record(name="Acme", contacts=[contact(name="Acme"), contact(name="Bo")])
    assert run("count(contacts, name == 'Acme')", rec) == 1
    assert run("count(contacts, name == account.name)", rec) == 1
    assert compile_("count(contacts, name == account.name)").evidence == (
        "count(contacts, name == account.name)",
    )


def test_min_max_dispatch_on_the_first_argument() -> None:
    rec = full_record()
    assert run("max(count(contacts), 2)", rec) == 4
    assert run("min(contacts, influence) + min(1, 2)", rec) == 4


# -- day counts compared with whole numbers are compiled as date comparisons ---------------------


@pytest.mark.parametrize(
    ("source", "day", "expected"),
    [
        ("days_since(plan.last_reviewed) <= 90", dt.date(2026, 8, 3), True),  # 90 days
        ("days_since(plan.last_reviewed) <= 90", dt.date(2026, 8, 2), False),  # 91 days
        ("days_since(plan.last_reviewed) < 90", dt.date(2026, 8, 3), False),
        ("days_since(plan.last_reviewed) > 90", dt.date(2026, 8, 2), True),
        ("days_since(plan.last_reviewed) >= 90", dt.date(2026, 8, 3), True),
        ("90 >= days_since(plan.last_reviewed)", dt.date(2026, 8, 3), True),
        ("90 < days_since(plan.last_reviewed)", dt.date(2026, 8, 3), False),
        ("days_until(plan.last_reviewed) <= 0", dt.date(2026, 11, 1), True),
        ("days_until(plan.last_reviewed) > 30", dt.date(2026, 12, 1), False),  # 30 days ahead
        ("days_until(plan.last_reviewed) >= 30", dt.date(2026, 12, 1), True),
        ("days_since(plan.last_reviewed) <= 90", None, None),
    ],
)
def test_day_count_comparisons(source: str, day: dt.date | None, expected: bool | None) -> None:
    compiled = compile_(source)
    assert "_day_cutoff(" in (compiled.evaluate.__doc__ or "")
    assert compiled.evaluate(record(plan=plan(last_reviewed=day)), None, AS_OF)[0] is expected


@pytest.mark.parametrize(
    ("source", "as_of", "day", "expected"),
    [
        # the cutoff (as-of less 10 days) is before the first date: every date is that recent
        ("days_since(plan.last_reviewed) <= 10", dt.date(1, 1, 5), dt.date.min, True),
        ("days_since(plan.last_reviewed) < 10", dt.date(1, 1, 5), dt.date.min, True),
        ("days_since(plan.last_reviewed) > 10", dt.date(1, 1, 5), dt.date.min, False),
        ("days_since(plan.last_reviewed) >= 10", dt.date(1, 1, 5), dt.date.min, False),
        # the cutoff (as-of plus 10 days) is after the last date
        ("days_until(plan.last_reviewed) <= 10", dt.date(9999, 12, 28), dt.date.max, True),
        ("days_until(plan.last_reviewed) > 10", dt.date(9999, 12, 28), dt.date.max, False),
        ("not (days_until(plan.last_reviewed) > 10)", dt.date(9999, 12, 28), dt.date.max, True),
    ],
)
def test_day_count_cutoffs_beyond_the_range_of_dates(
    source: str, as_of: dt.date, day: dt.date, expected: bool
) -> None:
    """Where as-of plus or minus the days is no date, the answer is the one the count gives."""
    rec = record(plan=plan(last_reviewed=day))
    assert compile_(source).evaluate(rec, None, as_of)[0] is expected
    assert reference(checked(source), rec, None, as_of) is expected


def test_day_count_in_a_list_condition_is_negated_exactly() -> None:
    """`not (days_since(x) <= 90)` inside an aggregate: false when recent, unknown when missing."""
    source = "count(contacts, not (days_since(last_contacted) <= 90))"
    contacts = [contact(last_contacted=dt.date(2026, 10, 1)), contact(last_contacted=dt.date(2026, 1, 1)), contact()]
    assert run(source, record(contacts=contacts)) == 1
