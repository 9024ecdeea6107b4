"""Property tests: hostile text can only ever raise ExpressionError, and the generated code
agrees with a naive reference interpreter on well-typed random expressions and records."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from typing import Any

from expr_support import (
    AS_OF,
    SCHEMA,
    SCORES,
    checked,
    contact,
    full_record,
    plan,
    record,
    reference,
    reference_terms,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrules.errors import ExpressionError
from kamrules.expressions import compile_expression
from kamrules.facts.types import BOOLEAN, DATE, TEXT, CategoryType, ScalarType

SAMPLE_RECORDS = [
    full_record(),
    record(),
    record(plan=plan(), contacts=[contact(), contact(stance="enemy", influence=1)]),
]

# -- hostile input ------------------------------------------------------------------------------

TOKENS = [
    "__import__",
    "__class__",
    "_x",
    "os",
    "open",
    "eval",
    "exec",
    "lambda",
    "for",
    "in",
    "not",
    "if",
    "else",
    "and",
    "or",
    "is",
    "None",
    "null",
    "true",
    "False",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ".",
    ",",
    ":",
    "=",
    "==",
    "!=",
    "<",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "**",
    "//",
    "%",
    "~",
    "&",
    "|",
    "@",
    ":=",
    "'a'",
    '"b"',
    "f'x'",
    "b'y'",
    "1",
    "0",
    "2.5",
    "1e999",
    "10**10",
    "...",
    "#",
    "\n",
    "\\",
    "account",
    "plan",
    "score",
    "contacts",
    "annual_revenue",
    "strategic_fit",
    "credit_risk",
    "'high'",
    "'hihg'",
    "stage",
    "role",
    "stance",
    "influence",
    "last_contacted",
    "plan.last_reviewed",
    "score.strength",
    "account.name",
    "count",
    "any",
    "all",
    "distinct",
    "sum",
    "min",
    "max",
    "abs",
    "clamp",
    "coalesce",
    "present",
    "missing",
    "lower",
    "today",
    "date",
    "days_since",
    "days_until",
    "date('2026-01-01')",
    "yield",
    "await",
    "async",
    "*a",
    "**k",
    "x=1",
    "'''",
    "\x00",
    "é",
]


def _evaluates_cleanly(source: str) -> None:
    try:
        compiled = compile_expression(source, SCHEMA)
    except ExpressionError as exc:
        assert isinstance(exc.offset, int)
        assert 0 <= exc.offset <= len(source)
        assert exc.message
        return
    for rec in SAMPLE_RECORDS:
        value, evidence = compiled.evaluate(rec, SCORES, AS_OF)
        assert len(evidence) == len(compiled.evidence)
        if not compiled.nullable:
            assert value is not None


@settings(max_examples=800, deadline=None)
@given(st.text(max_size=120))
def test_random_text_only_ever_raises_expression_error(source: str) -> None:
    _evaluates_cleanly(source)


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map(" ".join))
def test_token_soup_only_ever_raises_expression_error(source: str) -> None:
    _evaluates_cleanly(source)


@settings(max_examples=800, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=25).map("".join))
def test_glued_token_soup_only_ever_raises_expression_error(source: str) -> None:
    _evaluates_cleanly(source)


# -- well-typed random expressions ----------------------------------------------------------------

Strategy = st.SearchStrategy[str]


def _paren(fmt: str, *parts: Strategy) -> Strategy:
    return st.tuples(*parts).map(lambda xs: "(" + fmt.format(*xs) + ")")


def _leaves(kind: str, inside: bool) -> Strategy:
    account: dict[str, list[str]] = {
        "num": [
            "annual_revenue",
            "strategic_fit",
            "account.gross_margin_pct",
            "score.strength",
            "plan.version",
            "days_since(plan.last_reviewed)",
            "0",
            "1",
            "3",
            "-2",
            "2.5",
            "0.0",
            "1000000",
        ],
        "bool": ["wants_key_account", "true", "false"],
        "date": ["plan.last_reviewed", "today()", "date('2026-09-02')"],
        "risk": ["credit_risk", "'low'", "'high'"],
        "text": ["name", "'Acme'", "lower(name)", "account.id"],
    }
    items: dict[str, list[str]] = {
        "num": ["influence", "influence", "influence"],
        "bool": [],
        "date": ["last_contacted", "last_contacted"],
        "risk": ["stance", "'supporter'", "'enemy'"],
        "text": ["department", "'Purchasing'", "name"],
    }
    options = account[kind] + (items[kind] if inside else [])
    if kind == "risk" and inside:
        options = items["risk"]
    return st.sampled_from(options)


def typed(kind: str, depth: int, inside: bool = False) -> Strategy:
    leaf = _leaves(kind, inside)
    if depth <= 0:
        return leaf

    def sub(k: str) -> Strategy:
        return typed(k, depth - 1, inside)

    def agg_bool() -> Strategy:
        return typed("bool", depth - 1, True)

    def agg(k: str) -> Strategy:
        return typed(k, depth - 1, True)

    choices: list[Strategy] = [leaf]
    if kind == "num":
        choices += [
            _paren("{} {} {}", sub("num"), st.sampled_from(["+", "-", "*", "/"]), sub("num")),
            sub("num").map(lambda a: f"(-{a})"),
            sub("num").map(lambda a: f"abs({a})"),
            _paren("min({}, {})", sub("num"), sub("num")),
            _paren("max({}, {}, {})", sub("num"), sub("num"), sub("num")),
            _paren("clamp({}, 0, 10)", sub("num")),
            _paren("coalesce({}, {})", sub("num"), sub("num")),
            _paren("{} if {} else {}", sub("num"), sub("bool"), sub("num")),
            _paren("{} if {} else null", sub("num"), sub("bool")),
        ]
        if not inside:
            choices += [
                st.just("count(contacts)"),
                agg_bool().map(lambda b: f"count(contacts, {b})"),
                agg("num").map(lambda a: f"sum(contacts, {a})"),
                agg("num").map(lambda a: f"min(contacts, {a})"),
                agg("num").map(lambda a: f"max(contacts, {a})"),
                agg("text").map(lambda a: f"distinct(contacts, {a})"),
                st.tuples(agg("risk"), agg_bool()).map(
                    lambda x: f"distinct(contacts, {x[0]}, {x[1]})"
                ),
                sub("date").map(lambda d: f"days_until({d})"),
            ]
    elif kind == "bool":
        compare = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        equality = st.sampled_from(["==", "!="])
        choices += [
            _paren("{} {} {}", sub("num"), compare, sub("num")),
            _paren("{} {} {} {} {}", sub("num"), compare, sub("num"), compare, sub("num")),
            _paren("{} {} {}", sub("date"), compare, sub("date")),
            _paren("{} {} {}", sub("risk"), equality, sub("risk")),
            _paren("{} {} {}", sub("text"), equality, sub("text")),
            _paren("{} {} {}", sub("bool"), equality, sub("bool")),
            _paren("{} {} [3, 4, 2.5]", sub("num"), st.sampled_from(["in", "not in"])),
            _paren("{} and {}", sub("bool"), sub("bool")),
            _paren("{} or {} or {}", sub("bool"), sub("bool"), sub("bool")),
            _paren("{} and {} or {}", sub("bool"), sub("bool"), sub("bool")),
            sub("bool").map(lambda b: f"(not {b})"),
            sub("num").map(lambda a: f"present({a})"),
            sub("date").map(lambda a: f"missing({a})"),
            _paren("{} if {} else {}", sub("bool"), sub("bool"), sub("bool")),
            _paren("coalesce({}, {})", sub("bool"), sub("bool")),
        ]
        if inside:
            choices.append(
                _paren("stance {} ['supporter', 'mentor']", st.sampled_from(["in", "not in"]))
            )
        else:
            choices += [
                _paren("credit_risk {} ['low', 'medium']", st.sampled_from(["in", "not in"])),
                agg_bool().map(lambda b: f"any(contacts, {b})"),
                agg_bool().map(lambda b: f"all(contacts, {b})"),
            ]
    elif kind == "date":
        choices += [
            _paren("coalesce({}, {})", sub("date"), sub("date")),
            _paren("min({}, {})", sub("date"), sub("date")),
        ]
        if not inside:
            choices.append(agg("date").map(lambda d: f"max(contacts, {d})"))
    elif kind == "text":
        choices.append(sub("text").map(lambda t: f"lower({t})"))
        choices.append(_paren("{} if {} else {}", sub("text"), sub("bool"), sub("text")))
    return st.one_of(*choices)


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


contacts_strategy = st.lists(
    st.builds(
        contact,
        name=_maybe(["Ann", "Acme"]),
        stance=_maybe(["supporter", "mentor", "enemy"]),
        influence=_maybe([1, 3, 5]),
        department=_maybe(["Board", "Purchasing", "purchasing"]),
        last_contacted=_maybe([dt.date(2026, 10, 1), dt.date(2026, 9, 2)]),
    ),
    max_size=4,
)

records = st.builds(
    record,
    name=_maybe(["Acme", "acme", "Purchasing"]),
    annual_revenue=_maybe([0.0, 2.5, 1_000_000.0, 2_500_000.0]),
    strategic_fit=_maybe([1, 3, 5]),
    gross_margin_pct=_maybe([-10.0, 0.0, 31.5]),
    wants_key_account=_maybe([True, False]),
    credit_risk=_maybe(["low", "high", "severe"]),
    plan=st.one_of(
        st.none(),
        st.builds(
            plan,
            version=_maybe([1, 3]),
            last_reviewed=_maybe([dt.date(2026, 9, 2), dt.date(2026, 11, 1)]),
        ),
    ),
    contacts=contacts_strategy,
)

scores = st.builds(
    lambda a, b: {"attractiveness": a, "strength": b},
    st.fractions(0, 100, max_denominator=7),
    st.sampled_from([Fraction(0), Fraction(3), Fraction(161, 3), Fraction(100)]),
)


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def _matches_type(value: Any, kind: Any) -> bool:
    if value is None:
        return True
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == DATE:
        return isinstance(value, dt.date)
    if kind == TEXT or isinstance(kind, CategoryType):
        return isinstance(value, str)
    assert isinstance(kind, ScalarType)
    return isinstance(value, int | float | Fraction) and not isinstance(value, bool)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.one_of(typed("bool", 3), typed("num", 3), typed("date", 2), typed("text", 2)),
    rec=records,
    card_scores=scores,
    as_of=st.sampled_from([AS_OF, dt.date(2026, 9, 2), dt.date(2030, 1, 1)]),
)
def test_compiled_code_agrees_with_the_reference_interpreter(
    source: str, rec: Any, card_scores: dict[str, Fraction], as_of: dt.date
) -> None:
    try:
        compiled = compile_expression(source, SCHEMA)
    except ExpressionError as exc:  # only the size limits may refuse a well-typed expression
        assert "too large" in exc.message or "too long" in exc.message or "deeply" in exc.message
        return
    tree = checked(source)
    value, evidence = compiled.evaluate(rec, card_scores, as_of)
    expected = reference(tree, rec, card_scores, as_of)
    assert _same(value, expected), (source, value, expected, compiled.evaluate.__doc__)
    assert _matches_type(value, compiled.type)
    assert compiled.nullable or value is not None
    terms = reference_terms(tree)
    assert compiled.evidence == tuple(terms)
    for label, got in zip(compiled.evidence, evidence, strict=True):
        want = reference(terms[label], rec, card_scores, as_of)
        assert _same(got, want), (label, got, want)
