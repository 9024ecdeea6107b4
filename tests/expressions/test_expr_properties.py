"""Property tests: hostile text can only ever raise ExpressionError, and the generated code
agrees with a naive reference interpreter on well-typed random expressions and records."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest
from expr_support import (
    AS_OF,
    SCHEMA,
    SCORES,
    checked,
    contact,
    full_record,
    member,
    objective,
    plan,
    record,
    reference,
    reference_terms,
    relationship,
    restriction,
    review,
    sign_off,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrules.errors import ExpressionError
from kamrules.expressions import compile_expression, compile_item_facts
from kamrules.expressions.nodes import Aggregate
from kamrules.facts.types import BOOLEAN, DATE, TEXT, CategoryType, ScalarType

SAMPLE_RECORDS = [
    full_record(),
    record(),
    record(plan=plan(), contacts=[contact(), contact(stance="enemy", influence=1)]),
    record(
        team=[member("Kim")],
        relationships=[relationship("Kim", "C1")],
        restrictions=[restriction("R&D")],
        plan=plan(version=2, sign_offs=[sign_off("Kim", version=2)], reviews=[review()]),
    ),
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
    "team",
    "plan.sign_offs",
    "relationships",
    "member.name",
    "sign_off.version",
    "contact.level",
    "restriction",
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
    "none",
    "max_share",
    "add_days",
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


# The lists an expression can aggregate over, each with its item name, the facts of each kind
# its items have, and conditions on its categories ("{}" is where the item name goes).
LISTS: dict[str, tuple[str, dict[str, list[str]]]] = {
    "contacts": (
        "contact",
        {
            "num": ["influence"],
            "bool": ["key_player"],
            "date": ["last_contacted"],
            "text": ["department", "name", "owner", "id"],
            "cond": ["{}stance in ['supporter', 'mentor']", "{}stance == 'enemy'"],
        },
    ),
    "team": ("member", {"text": ["name"]}),
    "relationships": ("relationship", {"num": ["strength"], "date": ["last_contact"], "text": ["member", "contact"]}),
    "restrictions": ("restriction", {"date": ["since"], "text": ["department", "contact"]}),
    "plan.sign_offs": ("sign_off", {"num": ["version"], "date": ["date"], "text": ["member"]}),
    "plan.reviews": (
        "review",
        {"num": ["version"], "date": ["date"], "cond": ["{}kind == 'mentor'", "{}kind in ['team', 'joint']"]},
    ),
    "plan.objectives": ("objective", {"date": ["due"], "text": ["owner"], "cond": ["{}status == 'open'"]}),
}
ACCOUNT_LEAVES: dict[str, list[str]] = {
    "num": [
        "annual_revenue",
        "strategic_fit",
        "account.gross_margin_pct",
        "score.strength",
        "plan.version",
        "account.plan.version",
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
    "text": ["name", "'Acme'", "lower(name)", "account.id", "'Kim'", "'C1'", "'R&D'"],
}
FIXED = {"true", "false", "today()", "date('2026-09-02')", "score.strength"}
"""Leaves that read no account fact (allowed in item mode)."""
Scope = tuple[str, ...]
"""The lists of the aggregates around an expression, outermost first."""


def _item_facts(scope: Scope, kind: str) -> list[str]:
    """The facts of ``kind`` of the items in reach: the innermost bare or by its name, outer
    ones by their item names."""
    facts: list[str] = []
    for depth, listed in enumerate(scope):
        item, kinds = LISTS[listed]
        innermost = depth == len(scope) - 1
        for fact in kinds.get(kind, []):
            if kind == "cond":
                facts += [fact.format(f"{item}.")] + ([fact.format("")] if innermost else [])
            else:
                facts += [f"{item}.{fact}"] + ([fact] if innermost else [])
    return facts


def _leaves(kind: str, scope: Scope, account: bool) -> Strategy:
    options = _item_facts(scope, kind)
    options += [leaf for leaf in ACCOUNT_LEAVES[kind] if account or leaf in FIXED or leaf[0] in "0123456789-'"]
    return st.sampled_from(options)


def typed(kind: str, depth: int, scope: Scope = (), account: bool = True) -> Strategy:
    """Well-typed expressions of ``kind`` inside aggregates over ``scope``; without
    ``account``, only the items' facts (item mode)."""
    leaf = _leaves(kind, scope, account)
    if depth <= 0:
        return leaf

    def sub(k: str) -> Strategy:
        return typed(k, depth - 1, scope, account)

    def over(build: Any) -> Strategy:
        """An aggregate over a random list: ``build(list, strategy for kinds inside)``."""

        def inner(listed: str) -> Strategy:
            def within(k: str) -> Strategy:
                return typed(k, depth - 1, (*scope, listed), account)

            return build(listed, within)

        return st.sampled_from(list(LISTS)).flatmap(inner)

    def cond(within: Any) -> Strategy:
        return within("bool")

    aggregates = account and len(scope) < 3
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
            sub("date").map(lambda d: f"days_until({d})"),
        ]
        if aggregates:
            choices += [
                over(lambda lst, w: st.just(f"count({lst})")),
                over(lambda lst, w: cond(w).map(lambda b: f"count({lst}, {b})")),
                over(lambda lst, w: w("num").map(lambda a: f"sum({lst}, {a})")),
                over(lambda lst, w: st.tuples(w("num"), cond(w)).map(lambda x: f"sum({lst}, {x[0]}, {x[1]})")),
                over(lambda lst, w: w("num").map(lambda a: f"min({lst}, {a})")),
                over(lambda lst, w: st.tuples(w("num"), cond(w)).map(lambda x: f"max({lst}, {x[0]}, {x[1]})")),
                over(lambda lst, w: w("text").map(lambda a: f"distinct({lst}, {a})")),
                over(lambda lst, w: st.tuples(w("text"), cond(w)).map(lambda x: f"distinct({lst}, {x[0]}, {x[1]})")),
                over(lambda lst, w: w("text").map(lambda a: f"max_share({lst}, {a})")),
                over(lambda lst, w: st.tuples(w("num"), cond(w)).map(lambda x: f"max_share({lst}, {x[0]}, {x[1]})")),
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
        conditions = _item_facts(scope, "cond")
        if conditions:
            choices.append(st.sampled_from(conditions).map(lambda c: f"({c})"))
        if account:
            choices.append(_paren("credit_risk {} ['low', 'medium']", st.sampled_from(["in", "not in"])))
        if aggregates:
            choices += [
                over(lambda lst, w, name=name: cond(w).map(lambda b: f"{name}({lst}, {b})"))
                for name in ("any", "all", "none")
            ]
    elif kind == "date":
        days = ["strategic_fit", "count(contacts)"] if account else ["influence"]
        choices += [
            _paren("coalesce({}, {})", sub("date"), sub("date")),
            _paren("min({}, {})", sub("date"), sub("date")),
            _paren("add_days({}, {})", sub("date"), st.sampled_from(["-30", "0", "7", "400", *days])),
        ]
        if aggregates:
            choices += [
                over(lambda lst, w: w("date").map(lambda d: f"max({lst}, {d})")),
                over(lambda lst, w: st.tuples(w("date"), cond(w)).map(lambda x: f"min({lst}, {x[0]}, {x[1]})")),
            ]
    elif kind == "text":
        choices.append(sub("text").map(lambda t: f"lower({t})"))
        choices.append(_paren("{} if {} else {}", sub("text"), sub("bool"), sub("text")))
    return st.one_of(*choices)


def _maybe(values: list[Any]) -> st.SearchStrategy[Any]:
    return st.sampled_from([None, *values])


DATES = [dt.date(2026, 10, 1), dt.date(2026, 9, 2), dt.date(2026, 11, 1)]
NAMES = ["Kim", "Lee", "Ann"]

contact_strategy = st.builds(
    contact,
    id=_maybe(["C1", "C2"]),
    name=_maybe(["Ann", "Acme", "Kim"]),
    stance=_maybe(["supporter", "mentor", "enemy"]),
    influence=_maybe([1, 3, 5]),
    department=_maybe(["Board", "Purchasing", "purchasing", "R&D"]),
    owner=_maybe(NAMES),
    last_contacted=_maybe(DATES),
    key_player=_maybe([True, False]),
)
contacts_strategy = st.lists(contact_strategy, max_size=4)
team_strategy = st.lists(st.builds(member, st.sampled_from(NAMES)), max_size=3)
relationships_strategy = st.lists(
    st.builds(
        relationship,
        st.sampled_from(NAMES),
        st.sampled_from(["C1", "C2"]),
        strength=_maybe([1, 4]),
        last_contact=_maybe(DATES),
    ),
    max_size=3,
)
restrictions_strategy = st.lists(
    st.builds(restriction, st.sampled_from(["R&D", "Board"]), contact=_maybe(["C1"]), since=_maybe(DATES)),
    max_size=2,
)
plans = st.one_of(
    st.none(),
    st.builds(
        plan,
        version=_maybe([1, 3]),
        last_reviewed=_maybe([dt.date(2026, 9, 2), dt.date(2026, 11, 1)]),
        sign_offs=st.lists(
            st.builds(sign_off, st.sampled_from(NAMES), version=_maybe([1, 3]), date=_maybe(DATES)), max_size=3
        ),
        reviews=st.lists(
            st.builds(review, kind=_maybe(["mentor", "team"]), version=_maybe([1, 3]), date=_maybe(DATES)),
            max_size=3,
        ),
        objectives=st.lists(
            st.builds(objective, owner=_maybe(NAMES), due=_maybe(DATES), status=_maybe(["open", "done"])),
            max_size=2,
        ),
    ),
)

records = st.builds(
    record,
    name=_maybe(["Acme", "acme", "Purchasing", "Kim"]),
    annual_revenue=_maybe([0.0, 2.5, 1_000_000.0, 2_500_000.0]),
    strategic_fit=_maybe([1, 3, 5]),
    gross_margin_pct=_maybe([-10.0, 0.0, 31.5]),
    wants_key_account=_maybe([True, False]),
    credit_risk=_maybe(["low", "high", "severe"]),
    plan=plans,
    contacts=contacts_strategy,
    team=team_strategy,
    relationships=relationships_strategy,
    restrictions=restrictions_strategy,
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


@pytest.mark.slow
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
    _agrees(source, rec, card_scores, as_of)


def _agrees(source: str, rec: Any, card_scores: dict[str, Fraction], as_of: dt.date, item: Any = None) -> None:
    try:
        compiled = compile_expression(source, SCHEMA, item=item)
    except ExpressionError as exc:  # only the size limits may refuse a well-typed expression
        assert "too large" in exc.message or "too long" in exc.message or "deeply" in exc.message, exc.message
        return
    tree = checked(source, item=item)
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


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source=st.one_of(
        typed("bool", 3, ("contacts",), account=False),
        typed("num", 2, ("contacts",), account=False),
        typed("date", 2, ("contacts",), account=False),
    ),
    item=contact_strategy,
    card_scores=scores,
)
def test_item_mode_agrees_with_the_reference_interpreter(
    source: str, item: Any, card_scores: dict[str, Fraction]
) -> None:
    """Item mode, as the engine uses it for derived contact facts: the record is a contact."""
    _agrees(source, item, card_scores, AS_OF, item=SCHEMA.contact)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=typed("bool", 3, ("contacts",), account=False),
    second=typed("num", 2, ("contacts",), account=False),
    items=st.lists(contact_strategy, max_size=4),
)
def test_item_facts_assigned_in_one_loop_are_the_values_of_each_item_alone(
    first: str, second: str, items: list[Any]
) -> None:
    """The engine derives contact facts for a whole relationship map in one generated loop;
    each item gets exactly what its expression gives for it alone."""
    try:
        alone = [compile_expression(s, SCHEMA, item=SCHEMA.contact, allow_scores=False) for s in (first, second)]
    except ExpressionError:
        return  # a size limit, or a score, which a derived fact cannot read
    copies = [SimpleNamespace(**vars(x)) for x in items]
    compile_item_facts({"derived_a": first, "derived_b": second}, SCHEMA, SCHEMA.contact)(copies, None, AS_OF)
    for item, copy in zip(items, copies, strict=True):
        expected = [e.evaluate(item, None, AS_OF)[0] for e in alone]
        assert _same(copy.derived_a, expected[0]) and _same(copy.derived_b, expected[1]), (first, second)


# -- nested aggregates that link an item to the items around it ----------------------------------


def _linked(scope: Scope) -> Strategy:
    """A comparison of a fact of the innermost item with a fact of an outer item (or of the
    account) of the same kind, written with item names or bare."""
    options: list[Strategy] = []
    for kind, ops in (("text", ["==", "!="]), ("num", ["<=", ">", "=="]), ("date", [">=", "<"])):
        inner = _item_facts(scope[-1:], kind)
        outer = [f for f in _item_facts(scope[:-1], kind) if "." in f] + ACCOUNT_LEAVES[kind][:2]
        if inner:
            options.append(
                st.tuples(st.sampled_from(inner), st.sampled_from(ops), st.sampled_from(outer)).map(
                    lambda x: f"{x[0]} {x[1]} {x[2]}"
                )
            )
    return st.one_of(*options) if options else st.just("true")


def _nested_condition(scope: Scope, levels: int) -> Strategy:
    parts: list[Strategy] = [_linked(scope), typed("bool", 1, scope)]
    if levels > 0:
        parts.append(_nested_aggregate(scope, levels - 1))
    part = st.one_of(*parts)
    return st.one_of(
        part,
        st.tuples(part, st.sampled_from(["and", "or"]), part).map(lambda x: f"({x[0]} {x[1]} {x[2]})"),
        part.map(lambda p: f"not ({p})"),
    )


def _nested_aggregate(scope: Scope, levels: int) -> Strategy:
    def build(listed: str) -> Strategy:
        inner = (*scope, listed)
        condition = _nested_condition(inner, levels)
        number = st.sampled_from(_item_facts(inner[-1:], "num") or ["1"])
        return st.one_of(
            condition.map(lambda c: f"any({listed}, {c})"),
            condition.map(lambda c: f"all({listed}, {c})"),
            condition.map(lambda c: f"none({listed}, {c})"),
            condition.map(lambda c: f"(count({listed}, {c}) >= 1)"),
            st.tuples(number, condition).map(lambda x: f"(sum({listed}, {x[0]}, {x[1]}) > 2)"),
            st.tuples(number, condition).map(lambda x: f"(max_share({listed}, {x[0]}, {x[1]}) >= 0.5)"),
        )

    return st.sampled_from(list(LISTS)).flatmap(build)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_nested_aggregate((), 2), rec=records, card_scores=scores)
def test_nested_aggregates_agree_with_the_reference_interpreter(
    source: str, rec: Any, card_scores: dict[str, Fraction]
) -> None:
    _agrees(source, rec, card_scores, AS_OF)


# -- inner aggregates that the compiler turns into a lookup -----------------------------------


def _lookup_condition(outer: str) -> Strategy:
    """``any/none/count`` over another list, of the items equal to a fact of the outer item:
    the shape the compiler answers with a set or a table of counts built once."""

    def build(listed: str) -> Strategy:
        scope = (outer, listed)
        options: list[Strategy] = []
        for kind in ("text", "num"):
            inner = _item_facts(scope[-1:], kind)
            around = [f for f in _item_facts(scope[:-1], kind) if "." in f]
            if inner and around:
                pair = st.tuples(st.sampled_from(inner), st.sampled_from(around), st.booleans())
                options.append(pair.map(lambda x: f"{x[0]} == {x[1]}" if x[2] else f"{x[1]} == {x[0]}"))
        if not options:
            return st.just("true")
        equal = st.one_of(*options)
        return st.one_of(
            equal.map(lambda c: f"any({listed}, {c})"),
            equal.map(lambda c: f"none({listed}, {c})"),
            st.tuples(equal, st.sampled_from(["== 0", ">= 1", ">= 2"])).map(
                lambda x: f"(count({listed}, {x[0]}) {x[1]})"
            ),
        )

    return st.sampled_from(list(LISTS)).flatmap(build)


def _lookup_aggregate() -> Strategy:
    def build(outer: str) -> Strategy:
        condition = _lookup_condition(outer)
        return st.one_of(
            condition.map(lambda c: f"all({outer}, {c})"),
            condition.map(lambda c: f"any({outer}, {c})"),
            condition.map(lambda c: f"count({outer}, {c}) >= 1"),
            condition.map(lambda c: f"count({outer}, not {c}) == 0"),
        )

    return st.sampled_from(list(LISTS)).flatmap(build)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=_lookup_aggregate(), rec=records, card_scores=scores)
def test_lookups_agree_with_the_reference_interpreter(source: str, rec: Any, card_scores: dict[str, Fraction]) -> None:
    """An inner aggregate answered by a lookup means what the loop it replaces means: a
    missing value matches nothing, and a list of a missing plan is unknown."""
    _agrees(source, rec, card_scores, AS_OF)


# -- the items a failed all() or none() names ----------------------------------------------------


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def _blamable() -> Strategy:
    """Aggregates at the top, alone, under ``not`` or joined by ``and``/``or``."""
    aggregate = st.one_of(_nested_aggregate((), 1), _lookup_aggregate())
    return st.one_of(
        aggregate,
        aggregate.map(lambda a: f"not {a}"),
        st.tuples(aggregate, st.sampled_from(["and", "or"]), aggregate, st.booleans()).map(
            lambda x: f"{x[0]} {x[1]} {'not ' if x[3] else ''}{x[2]}"
        ),
    )


@given(source=_blamable(), rec=records, card_scores=scores)
def test_item_finders_name_exactly_the_items_the_reference_faults(
    source: str, rec: Any, card_scores: dict[str, Fraction]
) -> None:
    """For each all() it blames, the items whose condition is not true (false or unknown);
    for each none() or negated any(), the items whose condition is true; nothing when the
    list itself is unknown. Compared item for item, in order, with the naive interpreter."""
    try:
        compiled = compile_expression(source, SCHEMA)
    except ExpressionError:
        return  # a size limit, checked elsewhere
    terms = reference_terms(checked(source))
    for label, finder in compiled.finders.items():
        node = terms[label]
        assert isinstance(node, Aggregate) and node.where is not None
        every = reference(node.items, rec, card_scores, AS_OF)
        faulted = [
            item
            for item in every or []
            if (reference(node.where, rec, card_scores, AS_OF, {0: rec, node.level: item}) is True)
            != (node.name == "all")
        ]
        found = finder.find(rec, card_scores, AS_OF)
        assert [id(x) for x in found] == [id(x) for x in faulted], (source, label, found, faulted)
