"""Refusals: unsafe constructs, unknown names, type errors, size limits, with exact
messages, offsets and hints."""

from __future__ import annotations

from typing import Any

import pytest
from expr_support import SCHEMA, compile_

from kamrules.errors import ExpressionError, KamrulesError
from kamrules.expressions import compile_expression
from kamrules.facts.schema import build_schema

FUNCTION_LIST = (
    "abs, add_days, all, any, clamp, coalesce, count, date, days_since, days_until, distinct, lower, "
    "max, max_share, min, missing, none, present, sum, today"
)


def error(source: str, **options: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_(source, **options)
    assert isinstance(caught.value, KamrulesError)
    return caught.value


def check(source: str, message: str, offset: int, hint: str | None = None) -> None:
    e = error(source)
    assert (e.message, e.offset, e.hint) == (message, offset, hint)


# -- safety -------------------------------------------------------------------------------------


UNDERSCORE = "names starting with an underscore are not allowed"


@pytest.mark.parametrize(
    ("source", "offset"),
    [
        ("__import__('os')", 0),
        ("__import__('os').system('ls')", 0),
        ("().__class__", 0),
        ("().__class__.__bases__[0].__subclasses__()", 0),
        ("account.__class__", 0),
        ("account._secret", 0),
        ("_x > 1", 0),
        ("1 + __builtins__", 4),
        ("count(contacts, __class__ == 1)", 16),
        ("account.__dict__ == 1", 0),
    ],
)
def test_underscore_names_are_refused(source: str, offset: int) -> None:
    e = error(source)
    assert e.message == UNDERSCORE
    assert e.offset == offset


def test_unknown_function_is_refused_with_the_list_and_a_suggestion() -> None:
    check(
        "open('x')",
        f"'open' is not a function; only these functions can be called: {FUNCTION_LIST}",
        0,
    )
    check(
        "1 + cont(contacts)",
        f"'cont' is not a function; only these functions can be called: {FUNCTION_LIST}",
        4,
        "did you mean 'count'?",
    )
    check(
        "eval('1')",
        f"'eval' is not a function; only these functions can be called: {FUNCTION_LIST}",
        0,
    )


def test_methods_cannot_be_called() -> None:
    check(
        "name.upper()",
        f"methods cannot be called; only these functions can be called: {FUNCTION_LIST}",
        0,
    )
    check(
        "'a'.join(name)",
        f"methods cannot be called; only these functions can be called: {FUNCTION_LIST}",
        0,
    )


def test_only_names_can_be_called() -> None:
    check("count(contacts)(1)", f"only these functions can be called: {FUNCTION_LIST}", 0)


@pytest.mark.parametrize(
    ("source", "message", "offset"),
    [
        (
            "[x for x in contacts]",
            "list comprehensions are not supported; use count(), any(), all() over a list",
            0,
        ),
        (
            "any(c for c in contacts)",
            "generator expressions are not supported; use count(), any(), all() over a list",
            3,
        ),
        (
            "{c for c in contacts}",
            "set comprehensions are not supported; use distinct() over a list",
            0,
        ),
        ("{c: 1 for c in contacts}", "dict comprehensions are not supported", 0),
        ("lambda: 1", "lambda functions are not supported", 0),
        ("(lambda: 1)()", f"only these functions can be called: {FUNCTION_LIST}", 0),
        ("10 ** 10 ** 10", "powers (**) are not supported", 0),
        ("annual_revenue ** 2", "powers (**) are not supported", 0),
        ("annual_revenue % 2", "the remainder operator % is not supported", 0),
        ("annual_revenue // 2", "`//` is not supported; use /", 0),
        ("wants_key_account & true", "`&` is not supported; use and", 0),
        ("wants_key_account | true", "`|` is not supported; use or", 0),
        ("~strategic_fit", "`~` is not supported; use not", 0),
        ("name[0]", "indexing with [...] is not supported", 0),
        ("name[0:2]", "indexing with [...] is not supported", 0),
        ("f'{name}'", "f-strings are not supported", 0),
        ("(x := 1)", "assignment with := is not supported", 1),
        ("{'a': 1}", "dictionaries ({...}) are not supported", 0),
        ("min(*contacts)", "unpacking with * is not supported", 4),
        ("count(contacts, where=true)", "keyword arguments (name=value) are not supported", 16),
        ("b'x' == name", "bytes literals are not supported; write text as 'text'", 0),
        ("1j", "imaginary numbers are not supported", 0),
        ("...", "`...` is not supported", 0),
        (
            "name is None",
            "`is` is not supported; use == or !=, or missing(x) to test for a missing value",
            0,
        ),
        (
            "stage in ('review',)",
            "tuples are not supported; after in, write a list such as stage in ['review', 'exploitation']",
            9,
        ),
        (
            "stage in {'review'}",
            "sets ({...}) are not supported; after in, write a list such as stage in ['review', 'exploitation']",
            9,
        ),
        (
            "['a'] == name",
            "a list can only be used after in or not in, as in stage in ['review', 'exploitation']",
            0,
        ),
        (
            "'a' in name",
            "in needs a list of values in square brackets on its right, such as stage in ['review', 'exploitation']",
            7,
        ),
        (
            "stage in [name]",
            "a list after in can only hold fixed values such as 'review', 3 or date('2026-01-31')",
            10,
        ),
        ("stage in []", "the list after in is empty", 9),
        (
            "stage in ['review'] == true",
            "in cannot be chained with other comparisons; combine them with and",
            0,
        ),
        ("'a' * 1000000000", "`*` needs a number on each side, but the left side is text", 0),
        ("name + 'x'", "`+` needs a number on each side, but the left side is text", 0),
        ("x > 1 # comment", "comments (#) are not allowed inside an expression", 6),
    ],
)
def test_unsupported_constructs_are_refused_in_plain_words(source: str, message: str, offset: int) -> None:
    e = error(source)
    assert (e.message, e.offset) == (message, offset)


def test_very_long_source_is_refused_before_parsing() -> None:
    source = "1 + " * 600 + "1"
    e = error(source)
    assert e.message == f"this expression is too long ({len(source)} characters; at most 2000)"
    assert e.offset == 2000


def test_deeply_nested_parentheses_are_refused() -> None:
    e = error("(" * 100 + "1" + ")" * 100)
    assert e.message == "this expression is nested too deeply (more than 40 levels)"
    assert e.offset == 40
    assert compile_("(" * 40 + "1" + ")" * 40).evaluate(None, None, None)[0] == 1  # type: ignore[arg-type]


def test_deep_nesting_without_parentheses_is_refused() -> None:
    e = error("not " * 60 + "wants_key_account")
    assert e.message == "this expression is nested too deeply (more than 40 levels)"
    e = error("-" * 1500 + "1")
    assert e.message == "this expression is nested too deeply (more than 40 levels)"


def test_too_many_parts_are_refused() -> None:
    too_large = "this expression is too large (more than 200 parts); split it into several rules"
    assert error(" and ".join(["x"] * 201)).message == too_large
    assert error("stage in [" + ", ".join(["1"] * 200) + "]").message == too_large
    compile_(" and ".join(["true"] * 199))  # 200 parts (199 and the and) are fine


def test_long_left_nested_sums_count_as_deep() -> None:
    assert error(" + ".join(["strategic_fit"] * 42)).message == (
        "this expression is nested too deeply (more than 40 levels)"
    )


def test_huge_int_literal_is_refused() -> None:
    check(
        "annual_revenue > 99999999999999999999999999999",
        "this number has more than 15 digits, which is not supported",
        17,
    )


def test_null_characters_and_unreadable_text_are_refused() -> None:
    check("name == 'a\x00'", "this expression contains a null character", 10)
    check("name == '\ud800'", "this expression contains characters that cannot be read", 9)


# -- syntax -----------------------------------------------------------------------------------


def test_syntax_errors_are_readable_with_a_column() -> None:
    check("x ===", "could not read this expression: invalid syntax at column 5", 4)
    check("strategic_fit >", "could not read this expression: it ends unexpectedly at column 16", 15)
    check("(strategic_fit > 1", "could not read this expression: '(' was never closed at column 1", 0)
    check("name == 'abc", "could not read this expression: unterminated string literal at column 9", 8)
    check("x = 1", "could not read this expression: invalid syntax at column 3", 2)


def test_syntax_errors_in_multi_line_source_name_the_line() -> None:
    check(
        "strategic_fit > 1\n and and",
        "could not read this expression: invalid syntax at line 2, column 6",
        23,
    )


def test_empty_source_is_refused() -> None:
    check("", "the expression is empty", 0)
    check("  \n ", "the expression is empty", 0)


# -- names ------------------------------------------------------------------------------------


def test_unknown_account_field_suggests_the_nearest() -> None:
    check(
        "account.anual_revenue > 1",
        "account has no fact 'anual_revenue'",
        0,
        "did you mean 'annual_revenue'?",
    )
    check(
        "strategic_fit > 1 and anual_revenue > 1",
        "there is no fact 'anual_revenue' on the account",
        22,
        "did you mean 'annual_revenue'?",
    )
    check("xyzzy", "there is no fact 'xyzzy' on the account", 0)


def test_unknown_plan_field_and_namespace() -> None:
    check("plan.last_review", "plan has no fact 'last_review'", 0, "did you mean 'last_reviewed'?")
    check(
        "acount.annual_revenue",
        "there is no 'acount'; a path with a dot starts with account., plan. or score.",
        0,
        "did you mean 'account'?",
    )
    check(
        "plans.owner",
        "there is no 'plans'; a path with a dot starts with account., plan. or score.",
        0,
        "did you mean 'plan'?",
    )
    check(
        "name.first",
        "'name' is a fact, not a group of facts; a path with a dot starts with account., plan. or score.",
        0,
    )
    check(
        "(1).real",
        "only account., plan., score. and item names such as contact. can be followed by a dot and a fact name",
        0,
    )


def test_bare_namespace_is_not_a_fact() -> None:
    check(
        "account",
        "account alone is not a fact; name one of its facts, such as account.annual_revenue",
        0,
    )
    check("plan", "plan alone is not a fact; name one of its facts, such as plan.last_reviewed", 0)
    check("score", "score alone is not a fact; name one of its facts, such as score.attractiveness", 0)


def test_unknown_scorecard() -> None:
    check(
        "score.atractiveness > 1",
        "there is no scorecard 'atractiveness' (scorecards: attractiveness, strength)",
        0,
        "did you mean 'attractiveness'?",
    )
    with pytest.raises(ExpressionError) as caught:
        compile_expression("score.x > 1", build_schema())
    assert caught.value.message == "there is no scorecard 'x'"


def test_unknown_item_field_inside_an_aggregate() -> None:
    check(
        "count(contacts, rol == 'user')",
        "'rol' is not a contact or account fact",
        16,
        "did you mean 'role'?",
    )


def test_contacts_only_inside_aggregates() -> None:
    message = (
        "contacts is a list; read it through count(), any(), all(), none(), distinct(), sum(), "
        "min(), max() or max_share(), such as count(contacts, role == 'champion')"
    )
    check("contacts", message, 0)
    check("contacts.role == 'user'", message, 0)
    check("max(1, contacts)", message, 7)


def test_aggregates_need_a_list_first() -> None:
    check(
        "count(annual_revenue)",
        "the first argument of count() must be a list, such as contacts or plan.objectives; write "
        "count(list) or count(list, condition)",
        6,
    )
    check(
        "sum(1, 2)",
        "the first argument of sum() must be a list, such as contacts or plan.objectives; write "
        "sum(list, number) or sum(list, number, condition)",
        4,
    )


# -- categories -------------------------------------------------------------------------------


def test_category_literal_is_checked_with_a_suggestion() -> None:
    check(
        "account.credit_risk == 'hihg'",
        "'hihg' is not a credit risk value (low, medium, high, severe)",
        23,
        "did you mean 'high'?",
    )
    check(
        "'hihg' != credit_risk",
        "'hihg' is not a credit risk value (low, medium, high, severe)",
        0,
        "did you mean 'high'?",
    )


def test_category_list_members_are_checked() -> None:
    check(
        "stage in ['review', 'exploitaton']",
        "'exploitaton' is not a stage value (pre_sales, "
        "contract_negotiation, implementation_delivery, review, exploitation)",
        20,
        "did you mean 'exploitation'?",
    )
    check(
        "count(contacts, stance in ['supporter', 'mentr'])",
        "'mentr' is not a stance value (mentor, supporter, neutral, non_supporter, enemy)",
        40,
        "did you mean 'mentor'?",
    )


def test_category_checked_in_conditional_and_coalesce_results() -> None:
    check(
        "coalesce(credit_risk, 'hihg') == 'low'",
        "'hihg' is not a credit risk value (low, medium, high, severe)",
        22,
        "did you mean 'high'?",
    )
    check(
        "('nope' if wants_key_account else credit_risk) == 'low'",
        "'nope' is not a credit risk value (low, medium, high, severe)",
        1,
    )


def test_different_categories_cannot_be_compared() -> None:
    check(
        "count(contacts, stance == role) > 0",
        "cannot compare a stance value with a contact role value",
        16,
    )


def test_categories_cannot_be_ordered() -> None:
    check("stage < 'review'", "a stage value can only be compared with ==, != or in", 0)


# -- types ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "offset", "hint"),
    [
        ("annual_revenue > 'x'", "cannot compare a number with text", 0, None),
        ("plan.last_reviewed > 5", "cannot compare a date with a number", 0, None),
        (
            "plan.last_reviewed > '2026-01-01'",
            "cannot compare a date with text",
            21,
            "write date('2026-01-01') for a date",
        ),
        ("wants_key_account == 1", "cannot compare true or false with a number", 0, None),
        ("name < 'b'", "text can only be compared with ==, != or in", 0, None),
        (
            "wants_key_account < true",
            "true or false can only be compared with ==, != or in",
            0,
            None,
        ),
        ("strategic_fit in ['a']", "cannot compare a number with text", 0, None),
        (
            "annual_revenue == null",
            "null cannot be compared; use missing(x) or present(x) to test for a missing value",
            18,
            None,
        ),
        (
            "stage in ['review', null]",
            "null cannot be in the list; use missing(x) to test for a missing value",
            20,
            None,
        ),
        ("not strategic_fit", "not needs true or false, but this gives a number", 4, None),
        ("-name", "`-` needs a number, but this gives text", 1, None),
        (
            "strategic_fit and true",
            "and needs true or false on each side, but this gives a number",
            0,
            None,
        ),
        ("true or 'x'", "or needs true or false on each side, but this gives text", 8, None),
        (
            "1 if strategic_fit else 2",
            "the condition after if must be true or false, but it gives a number",
            5,
            None,
        ),
        (
            "1 if true else 'a'",
            "both results of if/else must be of the same kind, but one is a number and the other text",
            0,
            None,
        ),
        (
            "null if true else null",
            "at least one result of if/else must be something other than null",
            0,
            None,
        ),
        (
            "null",
            "null alone is not a rule; use it as one result of if/else, such as x if present(x) else null",
            0,
            None,
        ),
        (
            "plan.last_reviewed - today()",
            "`-` needs a number on each side, but the left side is a date",
            0,
            "use days_since() or days_until() to count days between dates",
        ),
        (
            "days_since(annual_revenue)",
            "days_since() needs a date, but it is given a number",
            11,
            None,
        ),
        (
            "days_since('2026-01-01')",
            "days_since() needs a date, but it is given text",
            11,
            "write date('2026-01-01') for a date",
        ),
        ("abs(name)", "abs() needs a number, but it is given text", 4, None),
        ("min(name, 1)", "min() needs numbers (or dates), but it is given text", 4, None),
        ("clamp(1, 'a', 2)", "clamp() needs numbers, but it is given text", 9, None),
        (
            "clamp(strategic_fit, 5, 1)",
            "clamp() needs its low limit to be at most its high limit",
            21,
            None,
        ),
        ("lower(strategic_fit)", "lower() needs text, but it is given a number", 6, None),
        (
            "coalesce(annual_revenue, 'x')",
            "the default of coalesce() must be a number like the value, but it is text",
            25,
            None,
        ),
        ("coalesce(null, 1)", "coalesce() needs a fact as its first argument, not null", 9, None),
        ("present(null)", "present() needs a fact, not null", 8, None),
        ("date('2026-02-30')", "'2026-02-30' is not a valid date", 5, None),
        (
            "date('1/2/2026')",
            "'1/2/2026' is not a date written as 'YYYY-MM-DD', such as date('2026-01-31')",
            5,
            None,
        ),
        (
            "date(name)",
            "date() needs a date written in quotes as 'YYYY-MM-DD', such as date('2026-01-31')",
            5,
            None,
        ),
        ("today(1)", "today() was given 1 argument; write today()", 0, None),
        ("abs(1, 2)", "abs() was given 2 arguments; write abs(number)", 0, None),
        (
            "min(1)",
            "min() was given 1 argument; write min(a, b, ...) or min(list, value) or min(list, value, condition)",
            0,
            None,
        ),
        (
            "min(contacts, influence, 1)",
            "the condition of min() must be true or false, but it gives a number",
            25,
            None,
        ),
        (
            "min(contacts, influence, true, 1)",
            "min() was given 4 arguments; write min(a, b, ...) or min(list, value) or min(list, value, condition)",
            0,
            None,
        ),
        ("any(contacts)", "any() was given 1 argument; write any(list, condition)", 0, None),
        (
            "count(contacts, influence)",
            "the condition of count() must be true or false, but it gives a number",
            16,
            None,
        ),
        (
            "sum(contacts, role)",
            "sum() needs a number of each contact, but it is given a contact role value",
            14,
            None,
        ),
        (
            "max(contacts, name)",
            "max() needs a number or date of each contact, but it is given text",
            14,
            None,
        ),
    ],
)
def test_type_errors(source: str, message: str, offset: int, hint: str | None) -> None:
    check(source, message, offset, hint)


def test_expression_error_string_includes_the_hint() -> None:
    e = error("anual_revenue")
    assert str(e) == "there is no fact 'anual_revenue' on the account (did you mean 'annual_revenue'?)"


def test_schema_is_not_modified_by_compiling() -> None:
    before = dict(SCHEMA.account.fields)
    compile_("annual_revenue > 1")
    assert dict(SCHEMA.account.fields) == before
