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
from kamrules.facts.schema import ACCOUNT_FIELDS, CONTACT_FIELDS, PLAN_FIELDS, build_schema

SCHEMA = build_schema(scorecards=["attractiveness", "strength"])
AS_OF = dt.date(2026, 11, 1)
SCORES: dict[str, Fraction] = {"attractiveness": Fraction(155, 2), "strength": Fraction(40)}


def contact(**facts: Any) -> SimpleNamespace:
    values: dict[str, Any] = dict.fromkeys(CONTACT_FIELDS)
    values.update(facts)
    return SimpleNamespace(**values)


def plan(**facts: Any) -> SimpleNamespace:
    values: dict[str, Any] = dict.fromkeys(PLAN_FIELDS)
    values.update(facts)
    return SimpleNamespace(**values)


def record(**facts: Any) -> SimpleNamespace:
    """An account with every fact missing unless given (id defaults to 'A1')."""
    values: dict[str, Any] = dict.fromkeys(ACCOUNT_FIELDS)
    values.update({"id": "A1", "plan": None, "contacts": []})
    values.update(facts)
    return SimpleNamespace(**values)


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


def checked(source: str, allow_scores: bool = True) -> Node:
    return TypeChecker(SCHEMA, allow_scores=allow_scores).check(parse(source))


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


def reference(
    node: Node, r: Any, s: Mapping[str, Fraction] | None, as_of: dt.date, item: Any = None
) -> Any:
    """The value of a checked tree, by the book and with no cleverness."""

    def ev(n: Node) -> Any:
        return reference(n, r, s, as_of, item)

    if isinstance(node, Constant):
        return node.value
    if isinstance(node, Field):
        if node.namespace == "account":
            return getattr(r, node.name)
        if node.namespace == "plan":
            return None if r.plan is None else getattr(r.plan, node.name)
        if node.namespace == "score":
            assert s is not None
            return s[node.name]
        return getattr(item if item is not None else r, node.name)
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
            "abs": lambda: abs(x),
            "min": lambda: min(args),
            "max": lambda: max(args),
            "clamp": lambda: min(max(args[0], args[1]), args[2]),
            "lower": lambda: x.lower(),
        }[name]()
    if isinstance(node, Aggregate):
        items = list(r.contacts)
        if node.where is not None:
            items = [c for c in items if reference(node.where, r, s, as_of, c) is True]
        if node.name == "count":
            return len(items)
        if node.name == "any":
            return bool(items)
        if node.name == "all":
            return len(items) == len(r.contacts)
        values = [reference(node.value, r, s, as_of, c) for c in items]  # type: ignore[arg-type]
        known = [v for v in values if v is not None]
        if node.name == "distinct":
            return len(set(known))
        if node.name == "sum":
            return sum(known)
        if not known:
            return None
        return min(known) if node.name == "min" else max(known)
    raise AssertionError(node)


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
