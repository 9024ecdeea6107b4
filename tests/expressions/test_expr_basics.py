"""Literals, paths, evidence, expected result kinds and the compiled object itself."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

import pytest
from expr_support import AS_OF, SCHEMA, SCORES, compile_, contact, full_record, plan, record, run

from kamrules.errors import ExpressionError
from kamrules.expressions import FUNCTIONS, CompiledExpression, FunctionInfo, compile_expression
from kamrules.facts.schema import CREDIT_RISK, STANCE
from kamrules.facts.types import BOOLEAN, DATE, INTEGER, NUMBER, TEXT


def error(source: str, **options: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_(source, **options)
    return caught.value


# -- literals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "value", "kind"),
    [
        ("42", 42, INTEGER),
        ("1_000_000", 1_000_000, INTEGER),
        ("-7", -7, INTEGER),
        ("2.5", 2.5, NUMBER),
        ("-0.25", -0.25, NUMBER),
        ("'gold'", "gold", TEXT),
        ('"gold"', "gold", TEXT),
        ("True", True, BOOLEAN),
        ("true", True, BOOLEAN),
        ("False", False, BOOLEAN),
        ("false", False, BOOLEAN),
        ("date('2026-01-31')", dt.date(2026, 1, 31), DATE),
        ("999999999999999", 999_999_999_999_999, INTEGER),
    ],
)
def test_literals_have_their_value_and_type(source: str, value: object, kind: object) -> None:
    compiled = compile_(source)
    assert compiled.type == kind
    assert compiled.nullable is False
    assert compiled.evidence == ()
    assert compiled.evaluate(record(), None, AS_OF) == (value, ())


def test_null_and_none_are_the_same_literal() -> None:
    assert run("1 if false else null", record()) is None
    assert run("1 if false else None", record()) is None


def test_int_literal_with_sixteen_digits_is_refused() -> None:
    e = error("x == 1234567890123456")
    assert e.message == "this number has more than 15 digits, which is not supported"
    assert e.offset == 5


def test_infinite_float_literal_is_refused() -> None:
    assert error("1e999").message == "this number is too large"


# -- paths ------------------------------------------------------------------------------------


def test_account_path_and_bare_name_read_the_same_fact() -> None:
    rec = record(annual_revenue=3.5)
    assert run("account.annual_revenue", rec) == 3.5
    assert run("annual_revenue", rec) == 3.5
    assert compile_("annual_revenue").evidence == ("account.annual_revenue",)


def test_path_types_come_from_the_schema() -> None:
    assert compile_("account.annual_revenue").type == NUMBER
    assert compile_("account.strategic_fit").type == INTEGER
    assert compile_("account.credit_risk").type == CREDIT_RISK
    assert compile_("plan.last_reviewed").type == DATE
    assert compile_("score.strength").type == NUMBER


def test_nullability_follows_required_and_namespaces() -> None:
    assert compile_("account.id").nullable is False  # required
    assert compile_("account.name").nullable is True
    assert compile_("plan.version").nullable is True  # the plan itself may be missing
    assert compile_("score.strength").nullable is False
    assert compile_("count(contacts)").nullable is False


def test_plan_path_is_null_safe() -> None:
    assert run("plan.mentor", record(plan=None)) is None
    assert run("plan.mentor", record(plan=plan(mentor="Lee"))) == "Lee"
    assert run("plan.mentor", record(plan=plan())) is None


def test_score_path_reads_the_scores_mapping() -> None:
    assert run("score.attractiveness", record()) == Fraction(155, 2)
    assert run("score.strength >= 40", record()) is True


def test_missing_account_fact_is_none() -> None:
    assert run("account.annual_revenue", record()) is None
    assert run("account.annual_revenue >= 1000000", record()) is None


# -- evidence ---------------------------------------------------------------------------------


def test_evidence_lists_paths_in_order_of_first_appearance_without_duplicates() -> None:
    compiled = compile_("strategic_fit >= 4 and account.credit_risk != 'high' and account.strategic_fit < 6")
    assert compiled.evidence == ("account.strategic_fit", "account.credit_risk")
    rec = record(strategic_fit=5, credit_risk="low")
    assert compiled.evaluate(rec, None, AS_OF) == (True, (5, "low"))


def test_evidence_covers_plan_score_and_aggregates_with_canonical_labels() -> None:
    compiled = compile_(
        "days_since(plan.last_reviewed) <= 60 and score.strength > 30 and "
        "count(contacts,role=='decision_maker'  and stance in [\"supporter\",'mentor']) >= 1"
    )
    assert compiled.evidence == (
        "plan.last_reviewed",
        "score.strength",
        "count(contacts, role == 'decision_maker' and stance in ['supporter', 'mentor'])",
    )
    value, evidence = compiled.evaluate(full_record(), SCORES, AS_OF)
    assert value is True
    assert evidence == (dt.date(2026, 9, 2), Fraction(40), 1)


def test_paths_inside_an_aggregate_are_not_evidence_but_the_aggregate_is() -> None:
    compiled = compile_("any(contacts, influence >= strategic_fit)")
    assert compiled.evidence == ("any(contacts, influence >= account.strategic_fit)",)
    rec = record(strategic_fit=5, contacts=[contact(influence=5)])
    assert compiled.evaluate(rec, None, AS_OF) == (True, (True,))


def test_evidence_values_are_read_even_when_logic_short_circuits() -> None:
    compiled = compile_("wants_key_account and annual_revenue > 5")
    value, evidence = compiled.evaluate(record(wants_key_account=False, annual_revenue=9), None, AS_OF)
    assert value is False
    assert evidence == (False, 9)


def test_evidence_of_conditional_follows_source_order() -> None:
    compiled = compile_("annual_revenue if wants_key_account else wallet_size")
    assert compiled.evidence == (
        "account.annual_revenue",
        "account.wants_key_account",
        "account.wallet_size",
    )


def test_aggregate_labels_are_normalised_and_deduplicated() -> None:
    compiled = compile_("count( contacts , role=='user' ) + count(contacts, role == \"user\")")
    assert compiled.evidence == ("count(contacts, role == 'user')",)
    rec = record(contacts=[contact(role="user")])
    assert compiled.evaluate(rec, None, AS_OF) == (2, (1,))


def test_aggregate_label_renders_literals_and_parentheses_canonically() -> None:
    compiled = compile_(
        "count(contacts, (influence + 1) * 2 > 3 and (not (stance == 'enemy') or true) "
        "and last_contacted >= date('2026-01-01'))"
    )
    assert compiled.evidence == (
        "count(contacts, (influence + 1) * 2 > 3 and (not stance == 'enemy' or true) "
        "and last_contacted >= date('2026-01-01'))",
    )


def test_criterion_fact_path_has_exactly_one_evidence_term() -> None:
    compiled = compile_("account.annual_revenue", allow_scores=False)
    assert compiled.evidence == ("account.annual_revenue",)


# -- expected kinds, scores, source ------------------------------------------------------------


def test_expect_boolean_refuses_a_number() -> None:
    e = error("account.annual_revenue + 1", expect="boolean")
    assert e.message == "this expression gives a number, but a condition must be true or false"
    assert e.offset == 0


def test_expect_boolean_refuses_text_and_categories() -> None:
    assert error("'x'", expect="boolean").message == (
        "this expression gives text, but a condition must be true or false"
    )
    assert error("credit_risk", expect="boolean").message == (
        "this expression gives a credit risk value, but a condition must be true or false"
    )


def test_expect_number_refuses_a_condition() -> None:
    e = error("  strategic_fit > 3", expect="number")
    assert e.message == "this expression gives true or false, but it must give a number"
    assert e.offset == 2


def test_expect_number_accepts_integers_and_any_accepts_everything() -> None:
    assert compile_("strategic_fit * 20", expect="number").type == INTEGER
    assert compile_("plan.last_reviewed", expect="any").type == DATE


def test_scores_can_be_forbidden() -> None:
    e = error("strategic_fit > 3 and score.strength > 50", allow_scores=False)
    assert e.message == "scores are not available here: a criterion cannot depend on a score"
    assert e.offset == 22


def test_compiled_expression_keeps_its_source_and_is_frozen() -> None:
    compiled = compile_("strategic_fit >= 4")
    assert isinstance(compiled, CompiledExpression)
    assert compiled.source == "strategic_fit >= 4"
    with pytest.raises(AttributeError):
        compiled.source = "x"  # type: ignore[misc]


def test_multi_line_source_is_accepted_and_offsets_count_every_character() -> None:
    source = "strategic_fit >= 4\n  and credit_risk == 'hihg'"
    e = error(source)
    assert e.offset == source.index("'hihg'")
    assert (
        run(
            "strategic_fit >= 4\n  and\r\n credit_risk == 'low'",
            record(strategic_fit=4, credit_risk="low"),
        )
        is True
    )


def test_offsets_are_in_characters_not_bytes() -> None:
    e = error("name == 'Müller' and anual_revenue > 1")
    assert e.offset == 21
    assert e.hint == "did you mean 'annual_revenue'?"


def test_leading_whitespace_is_allowed_and_counted_in_offsets() -> None:
    assert run("   strategic_fit", record(strategic_fit=2)) == 2
    assert error("   strategic_fitt").offset == 3


def test_the_as_of_date_is_the_only_clock() -> None:
    compiled = compile_("today()")
    assert compiled.evaluate(record(), None, dt.date(2001, 2, 3))[0] == dt.date(2001, 2, 3)


# -- item mode ------------------------------------------------------------------------------------


def test_item_mode_reads_the_fields_of_the_item_itself() -> None:
    compiled = compile_expression_for_contact("role == 'champion' and contact.influence >= 3")
    assert compiled.evidence == ("contact.role", "contact.influence")
    assert compiled.evaluate(contact(role="champion", influence=4), None, AS_OF) == (
        True,
        ("champion", 4),
    )


def test_item_mode_refuses_account_facts_and_aggregates() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression("account.annual_revenue > 1", SCHEMA, item=SCHEMA.contact)
    assert caught.value.message == ("account facts are not available here; only contact facts can be read")
    with pytest.raises(ExpressionError) as caught:
        compile_expression("annual_revenue > 1", SCHEMA, item=SCHEMA.contact)
    assert caught.value.message == "there is no fact 'annual_revenue' on a contact"
    with pytest.raises(ExpressionError) as caught:
        compile_expression("count(contacts) > 1", SCHEMA, item=SCHEMA.contact)
    assert caught.value.message == "contacts are not available here; only contact facts can be read"


def compile_expression_for_contact(source: str) -> CompiledExpression:
    return compile_expression(source, SCHEMA, item=SCHEMA.contact)


# -- documentation -------------------------------------------------------------------------------


def test_functions_are_documented() -> None:
    assert set(FUNCTIONS) == {
        "abs",
        "add_days",
        "all",
        "any",
        "clamp",
        "coalesce",
        "count",
        "date",
        "days_since",
        "days_until",
        "distinct",
        "lower",
        "max",
        "min",
        "max_share",
        "missing",
        "none",
        "present",
        "sum",
        "today",
    }
    for name, info in FUNCTIONS.items():
        assert isinstance(info, FunctionInfo)
        assert info.name == name
        assert info.usage.startswith(f"{name}(")
        assert info.doc.endswith(".")


def test_generated_code_has_only_runtime_helpers_in_its_globals() -> None:
    compiled = compile_("count(contacts, stance in ['mentor']) > 0 and plan.last_reviewed > date('2026-01-01')")
    namespace = compiled.evaluate.__globals__
    assert namespace["__builtins__"] == {}
    assert all(key.startswith("_") for key in namespace)
    assert "_expr" not in namespace


def test_category_types_are_preserved_for_map_criteria() -> None:
    assert compile_("coalesce(credit_risk, 'low')").type == CREDIT_RISK
    assert compile_("'low' if wants_key_account else credit_risk").type == CREDIT_RISK
    assert STANCE != CREDIT_RISK
