"""Shared test material: a schema, records built from SimpleNamespace, and a reference
interpreter that evaluates checked trees naively, to test the generated code against."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

from kamrules.expressions import CompiledExpression, compile_expression
from kamrules.expressions.nodes import (
    Aggregate,
    Arith,
    Call,
    Choose,
    Compare,
    Constant,
    Field,
    ListOf,
    Logic,
    Node,
    Unary,
)
from kamrules.expressions.parser import parse
from kamrules.expressions.typecheck import TypeChecker
from kamrules.facts.schema import (
    CONTACT_FIELDS,
    CUSTOMER_OBJECTIVE_FIELDS,
    OBJECTIVE_FIELDS,
    PLAN_FIELDS,
    RELATIONSHIP_FIELDS,
    RESTRICTION_FIELDS,
    REVIEW_FIELDS,
    SIGN_OFF_FIELDS,
    TEAM_MEMBER_FIELDS,
    build_schema,
)
from kamrules.facts.types import FactField, ListType

SCHEMA = build_schema(scorecards=["attractiveness", "strength"])
AS_OF = dt.date(2026, 11, 1)
SCORES: dict[str, Fraction] = {"attractiveness": Fraction(155, 2), "strength": Fraction(40)}


def _build(fields: dict[str, FactField], facts: dict[str, Any]) -> SimpleNamespace:
    """A record of ``fields``: facts missing and lists empty unless given."""
    values: dict[str, Any] = {name: [] if isinstance(f.type, ListType) else None for name, f in fields.items()}
    values.update(facts)
    return SimpleNamespace(**values)


def contact(**facts: Any) -> SimpleNamespace:
    return _build(CONTACT_FIELDS, facts)


def member(name: str = "Kim", **facts: Any) -> SimpleNamespace:
    return _build(TEAM_MEMBER_FIELDS, {"name": name, **facts})


def relationship(member: str = "Kim", contact: str = "C1", **facts: Any) -> SimpleNamespace:
    return _build(RELATIONSHIP_FIELDS, {"member": member, "contact": contact, **facts})


def restriction(department: str = "Finance", **facts: Any) -> SimpleNamespace:
    return _build(RESTRICTION_FIELDS, {"department": department, **facts})


def sign_off(member: str = "Kim", **facts: Any) -> SimpleNamespace:
    return _build(SIGN_OFF_FIELDS, {"member": member, **facts})


def review(**facts: Any) -> SimpleNamespace:
    return _build(REVIEW_FIELDS, facts)


def objective(**facts: Any) -> SimpleNamespace:
    return _build(OBJECTIVE_FIELDS, facts)


def customer_objective(**facts: Any) -> SimpleNamespace:
    return _build(CUSTOMER_OBJECTIVE_FIELDS, facts)


def plan(**facts: Any) -> SimpleNamespace:
    return _build(PLAN_FIELDS, facts)


def record(**facts: Any) -> SimpleNamespace:
    """An account with every fact missing, no plan and every list empty unless given (id
    defaults to 'A1')."""
    return _build(SCHEMA.account.fields, {"id": "A1", **facts})


def full_record() -> SimpleNamespace:
    return record(
        name="Acme",
        industry="Chemicals",
        region="EMEA",
        account_manager="Kim",
        annual_revenue=2_500_000.0,
        gross_margin_pct=31.5,
        revenue_growth_pct=4.0,
        wallet_size=10_000_000.0,
        share_of_wallet_pct=25.0,
        growth_potential=4,
        strategic_fit=5,
        relationship_strength=3,
        competitive_position=4,
        reference_value=2,
        years_as_customer=7.5,
        credit_risk="low",
        wants_key_account=True,
        stage="review",
        current_tier="Silver",
        plan=plan(
            owner="Kim",
            status="active",
            version=3,
            last_reviewed=dt.date(2026, 9, 2),
            mentor="Lee",
            horizon_months=24,
        ),
        contacts=[
            contact(
                name="Ann",
                role="decision_maker",
                level="board",
                stance="supporter",
                influence=5,
                department="Board",
                last_contacted=dt.date(2026, 10, 1),
            ),
            contact(
                name="Bo",
                role="influencer",
                level="executive",
                stance="mentor",
                influence=4,
                department="Purchasing",
                last_contacted=dt.date(2026, 8, 15),
            ),
            contact(
                name="Cy",
                role="decision_maker",
                level="executive",
                stance="neutral",
                influence=3,
                department="Purchasing",
            ),
            contact(name="Di", role="user", stance=None, influence=None, department=None),
        ],
    )


def compile_(source: str, **options: Any) -> CompiledExpression:
    return compile_expression(source, SCHEMA, **options)


def run(
    source: str,
    rec: Any | None = None,
    scores: Mapping[str, Fraction] | None = None,
    as_of: dt.date = AS_OF,
    **options: Any,
) -> Any:
    """The value of ``source`` for ``rec`` (the full record by default)."""
    compiled = compile_(source, **options)
    value, evidence = compiled.evaluate(
        rec if rec is not None else full_record(), SCORES if scores is None else scores, as_of
    )
    assert len(evidence) == len(compiled.evidence)
    return value


def checked(source: str, allow_scores: bool = True, item: Any = None) -> Node:
    return TypeChecker(SCHEMA, allow_scores=allow_scores, item=item).check(parse(source))


# -- reference interpreter ------------------------------------------------------------------


def _kleene_and(values: list[Any]) -> Any:
    if any(v is False for v in values):
        return False
    return None if any(v is None for v in values) else True


def _kleene_or(values: list[Any]) -> Any:
    if any(v is True for v in values):
        return True
    return None if any(v is None for v in values) else False


_COMPARE = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _walk(start: Any, path: tuple[str, ...]) -> Any:
    value = start
    for step in path:
        if value is None:
            return None
        value = getattr(value, step)
    return value


def reference(
    node: Node,
    r: Any,
    s: Mapping[str, Fraction] | None,
    as_of: dt.date,
    items: Mapping[int, Any] | None = None,
) -> Any:
    """The value of a checked tree, by the book and with no cleverness. ``items`` holds the
    current item of each aggregate level (level 0 is the record itself, in item mode)."""
    scope: Mapping[int, Any] = {0: r} if items is None else items

    def ev(n: Node) -> Any:
        return reference(n, r, s, as_of, scope)

    if isinstance(node, Constant):
        return node.value
    if isinstance(node, Field):
        if node.namespace == "score":
            assert s is not None
            return s[node.path[0]]
        start = r if node.namespace == "account" else scope[node.level]
        return _walk(start, node.path)
    if isinstance(node, Unary):
        v = ev(node.operand)
        if v is None:
            return None
        return (not v) if node.op == "not" else (-v if node.op == "-" else v)
    if isinstance(node, Arith):
        a, b = ev(node.left), ev(node.right)
        if a is None or b is None:
            return None
        if node.op == "/":
            return None if b == 0 else a / b
        return {"+": a + b, "-": a - b, "*": a * b}[node.op]
    if isinstance(node, Logic):
        values = [ev(o) for o in node.operands]
        return _kleene_and(values) if node.op == "and" else _kleene_or(values)
    if isinstance(node, Compare):
        links: list[bool | None] = []
        for i, op in enumerate(node.ops):
            a = ev(node.operands[i])
            right = node.operands[i + 1]
            if isinstance(right, ListOf):
                members = {ev(x) for x in right.items}
                links.append(None if a is None else ((a in members) == (op == "in")))
                continue
            b = ev(right)
            links.append(None if a is None or b is None else _COMPARE[op](a, b))
        return _kleene_and(links)
    if isinstance(node, Choose):
        test = ev(node.test)
        if test is None:
            return None
        return ev(node.body) if test else ev(node.orelse)
    if isinstance(node, Call):
        args = [ev(a) for a in node.args]
        name = node.name
        if name == "today":
            return as_of
        if name == "present":
            return args[0] is not None
        if name == "missing":
            return args[0] is None
        if name == "coalesce":
            return args[1] if args[0] is None else args[0]
        if any(a is None for a in args):
            return None
        x = args[0]
        return {
            "days_since": lambda: (as_of - x).days,
            "days_until": lambda: (x - as_of).days,
            "add_days": lambda: _add_days(x, args[1]),
            "abs": lambda: abs(x),
            "min": lambda: min(args),
            "max": lambda: max(args),
            "clamp": lambda: min(max(args[0], args[1]), args[2]),
            "lower": lambda: x.lower(),
        }[name]()
    if isinstance(node, Aggregate):
        every = ev(node.items)
        if every is None:  # a record on the list's path is missing: unknown, not empty
            return None

        def at(n: Node, item: Any) -> Any:
            return reference(n, r, s, as_of, {**scope, node.level: item})

        matching = [c for c in every if node.where is None or at(node.where, c) is True]
        if node.name == "count":
            return len(matching)
        if node.name == "any":
            return bool(matching)
        if node.name == "all":
            return len(matching) == len(every)
        if node.name == "none":
            return not matching
        assert node.value is not None
        values = [at(node.value, c) for c in matching]
        known = [v for v in values if v is not None]
        if node.name == "distinct":
            return len(set(known))
        if node.name == "sum":
            return sum(known)
        if node.name == "max_share":
            if not values:
                return 0.0
            tally: dict[Any, int] = {}
            for v in known:
                tally[v] = tally.get(v, 0) + 1
            return max(tally.values(), default=0) / len(values)
        if not known:
            return None
        return min(known) if node.name == "min" else max(known)
    raise AssertionError(node)


def _add_days(day: dt.date, days: int) -> dt.date | None:
    try:
        return day + dt.timedelta(days=days)
    except OverflowError:
        return None


def reference_terms(node: Node) -> dict[str, Node]:
    """The evidence terms of a checked tree by label, as the compiler should list them."""
    terms: dict[str, Node] = {}

    def walk(n: Node) -> None:
        if isinstance(n, Field | Aggregate):
            terms.setdefault(n.label, n)
            return
        for child in _children(n):
            walk(child)

    walk(node)
    return terms


def _children(n: Node) -> tuple[Node, ...]:
    if isinstance(n, Unary):
        return (n.operand,)
    if isinstance(n, Arith):
        return (n.left, n.right)
    if isinstance(n, Logic | Compare):
        return n.operands
    if isinstance(n, Choose):
        return (n.body, n.test, n.orelse)
    if isinstance(n, Call):
        return n.args
    return ()
