"""Types and missing-value analysis against the fact schema.

Checking happens once, when a rulebook loads, so a typo or a comparison of a date with a
number is reported with its position instead of misbehaving on some account later. The
``nullable`` flag it computes lets the compiler leave out missing-value handling wherever a
value cannot be missing, which is most of the speed of the compiled code.
"""

from __future__ import annotations

from dataclasses import replace

from kamrules.errors import ExpressionError
from kamrules.expressions.functions import (
    AGGREGATES,
    FUNCTIONS,
    SCALAR_RULES,
    aggregate_type,
    check_arity,
    check_category_value,
    is_number,
    is_text_literal,
    is_textual,
    noun,
    parse_date,
    unify,
)
from kamrules.expressions.nodes import (
    NULL,
    Aggregate,
    AggregateName,
    Arith,
    Call,
    Choose,
    Compare,
    CompareOp,
    Constant,
    Contacts,
    ExprType,
    Field,
    ListOf,
    Logic,
    Node,
    Unary,
)
from kamrules.facts.schema import FactSchema
from kamrules.facts.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    CategoryType,
    FactField,
    RecordType,
    ScalarType,
)
from kamrules.suggestions import did_you_mean

NAMESPACES = ("account", "plan", "score")
CONTACTS_IS_A_LIST = (
    "contacts is a list; read it through count(), any(), all(), distinct(), sum(), min() "
    "or max(), such as count(contacts, role == 'champion')"
)
NO_SCORES = "scores are not available here: a criterion cannot depend on a score"
COMPARE_NULL = "null cannot be compared; use missing(x) or present(x) to test for a missing value"


_AGGREGATE_NAMES: dict[str, AggregateName] = {
    "count": "count",
    "any": "any",
    "all": "all",
    "distinct": "distinct",
    "sum": "sum",
    "min": "min",
    "max": "max",
}


def _constant_type(value: object) -> ExprType:
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return TEXT
    return DATE


class TypeChecker:
    """Resolves names and types one expression; ``item`` switches to item mode, where the
    record being evaluated is itself an item (such as one contact)."""

    def __init__(self, schema: FactSchema, *, allow_scores: bool, item: RecordType | None = None) -> None:
        self.schema = schema
        self.allow_scores = allow_scores
        self.item_mode = item
        self.contact = schema.contact

    # -- entry ------------------------------------------------------------------------------

    def check(self, node: Node, inside: bool = False) -> Node:
        """The checked copy of ``node``; ``inside`` is True within an aggregate's arguments."""
        if isinstance(node, Constant):
            return replace(node, type=_constant_type(node.value), nullable=node.value is None)
        if isinstance(node, Field):
            return self.field(node, inside)
        if isinstance(node, Contacts):
            raise ExpressionError(CONTACTS_IS_A_LIST, node.offset)
        if isinstance(node, Unary):
            return self.unary(node, inside)
        if isinstance(node, Arith):
            return self.arith(node, inside)
        if isinstance(node, Logic):
            return self.logic(node, inside)
        if isinstance(node, Compare):
            return self.compare(node, inside)
        if isinstance(node, Choose):
            return self.choose(node, inside)
        if isinstance(node, Call):
            return self.call(node, inside)
        if isinstance(node, ListOf):
            raise ExpressionError("a list can only be used after in or not in", node.offset)
        raise ExpressionError(f"{type(node).__name__} is not supported", node.offset)

    # -- names ------------------------------------------------------------------------------

    def _resolved(self, node: Field, namespace: str, fact: FactField, item: str = "") -> Field:
        if not isinstance(fact.type, ScalarType | CategoryType):
            raise ExpressionError(f"'{fact.name}' is {noun(fact.type)} and cannot be read here", node.offset)
        nullable = namespace == "plan" or not fact.required
        return replace(
            node,
            namespace=namespace,
            item_name=item or node.item_name,
            type=fact.type,
            nullable=nullable,
        )

    def field(self, node: Field, inside: bool) -> Field:
        ns, name = node.namespace, node.name
        item = self.item_mode or (self.contact if inside else None)
        if ns is None:
            if item is not None and name in item.fields:
                return self._resolved(node, "item", item.fields[name], item.name)
            if self.item_mode is None and name in self.schema.account.fields:
                return self._resolved(node, "account", self.schema.account.fields[name])
            return self.unknown_bare(node, item)
        if self.item_mode is not None:
            if ns == self.item_mode.name:
                return self.item_field(node, self.item_mode)
            if ns == "score":
                return self.score(node)
            if ns in NAMESPACES:
                raise ExpressionError(
                    f"{ns} facts are not available here; only {self.item_mode.name} facts can be read",
                    node.offset,
                )
            raise self.unknown_namespace(node, list(self.item_mode.fields))
        if ns == "account":
            fields = self.schema.account.fields
            if name not in fields:
                raise ExpressionError(f"account has no fact '{name}'", node.offset, did_you_mean(name, fields))
            return self._resolved(node, "account", fields[name])
        if ns == "plan":
            fields = self.schema.plan.fields
            if name not in fields:
                raise ExpressionError(f"plan has no fact '{name}'", node.offset, did_you_mean(name, fields))
            return self._resolved(node, "plan", fields[name])
        if ns == "score":
            return self.score(node)
        raise self.unknown_namespace(node, list(self.schema.account.fields))

    def item_field(self, node: Field, item: RecordType) -> Field:
        if node.name not in item.fields:
            raise ExpressionError(
                f"{item.name} has no fact '{node.name}'",
                node.offset,
                did_you_mean(node.name, item.fields),
            )
        return self._resolved(node, "item", item.fields[node.name], item.name)

    def score(self, node: Field) -> Field:
        if not self.allow_scores:
            raise ExpressionError(NO_SCORES, node.offset)
        cards = self.schema.scorecards
        if node.name not in cards:
            known = f" (scorecards: {', '.join(cards)})" if cards else ""
            raise ExpressionError(
                f"there is no scorecard '{node.name}'{known}",
                node.offset,
                did_you_mean(node.name, cards),
            )
        return replace(node, namespace="score", type=NUMBER, nullable=False)

    def unknown_namespace(self, node: Field, fields: list[str]) -> ExpressionError:
        ns = node.namespace or ""
        starts = f"{self.item_mode.name}. or score." if self.item_mode is not None else "account., plan. or score."
        if ns in fields:
            return ExpressionError(
                f"'{ns}' is a fact, not a group of facts; a path with a dot starts with {starts}",
                node.offset,
            )
        namespaces = [self.item_mode.name, "score"] if self.item_mode else list(NAMESPACES)
        return ExpressionError(
            f"there is no '{ns}'; a path with a dot starts with {starts}",
            node.offset,
            did_you_mean(ns, namespaces + fields),
        )

    def unknown_bare(self, node: Field, item: RecordType | None) -> Field:
        name = node.name
        if name in NAMESPACES and self.item_mode is None:
            example = {
                "account": "account.annual_revenue",
                "plan": "plan.last_reviewed",
                "score": f"score.{self.schema.scorecards[0] if self.schema.scorecards else 'x'}",
            }[name]
            raise ExpressionError(f"{name} alone is not a fact; name one of its facts, such as {example}", node.offset)
        if self.item_mode is not None:
            candidates = list(self.item_mode.fields)
            where = f"a {self.item_mode.name}"
        elif item is not None:
            candidates = list(item.fields) + list(self.schema.account.fields)
            where = f"a {item.name} or the account"
        else:
            candidates = [*self.schema.account.fields, *NAMESPACES, "contacts"]
            where = "the account"
        raise ExpressionError(f"there is no fact '{name}' on {where}", node.offset, did_you_mean(name, candidates))

    # -- operators --------------------------------------------------------------------------

    def unary(self, node: Unary, inside: bool) -> Node:
        operand = self.check(node.operand, inside)
        if node.op == "not":
            if operand.type != BOOLEAN:
                raise ExpressionError(f"not needs true or false, but this gives {noun(operand.type)}", operand.offset)
            return replace(node, operand=operand, type=BOOLEAN, nullable=operand.nullable)
        if not is_number(operand.type):
            raise ExpressionError(f"`{node.op}` needs a number, but this gives {noun(operand.type)}", operand.offset)
        return replace(node, operand=operand, type=operand.type, nullable=operand.nullable)

    def arith(self, node: Arith, inside: bool) -> Node:
        left, right = self.check(node.left, inside), self.check(node.right, inside)
        for side, operand in (("left", left), ("right", right)):
            if not is_number(operand.type):
                hint = None
                if operand.type == DATE:
                    hint = "use days_since() or days_until() to count days between dates"
                raise ExpressionError(
                    f"`{node.op}` needs a number on each side, but the {side} side is {noun(operand.type)}",
                    operand.offset,
                    hint,
                )
        kind = INTEGER if node.op != "/" and left.type == right.type == INTEGER else NUMBER
        nullable = left.nullable or right.nullable
        if node.op == "/" and not (isinstance(right, Constant) and right.value != 0):
            nullable = True  # dividing by zero gives unknown
        return replace(node, left=left, right=right, type=kind, nullable=nullable)

    def logic(self, node: Logic, inside: bool) -> Node:
        operands = tuple(self.check(o, inside) for o in node.operands)
        for operand in operands:
            if operand.type != BOOLEAN:
                raise ExpressionError(
                    f"{node.op} needs true or false on each side, but this gives {noun(operand.type)}",
                    operand.offset,
                )
        return replace(node, operands=operands, type=BOOLEAN, nullable=any(o.nullable for o in operands))

    def choose(self, node: Choose, inside: bool) -> Node:
        body = self.check(node.body, inside)
        test = self.check(node.test, inside)
        orelse = self.check(node.orelse, inside)
        if test.type != BOOLEAN:
            raise ExpressionError(
                f"the condition after if must be true or false, but it gives {noun(test.type)}",
                test.offset,
            )
        if body.type == NULL and orelse.type == NULL:
            raise ExpressionError("at least one result of if/else must be something other than null", node.offset)

        def conflict() -> ExpressionError:
            return ExpressionError(
                f"both results of if/else must be of the same kind, but one is "
                f"{noun(body.type)} and the other {noun(orelse.type)}",
                node.offset,
            )

        kind = unify(body, orelse, conflict)
        nullable = test.nullable or body.nullable or orelse.nullable
        return replace(node, body=body, test=test, orelse=orelse, type=kind, nullable=nullable)

    # -- comparisons ------------------------------------------------------------------------

    def compare(self, node: Compare, inside: bool) -> Node:
        operands: list[Node] = []
        for operand in node.operands:
            if isinstance(operand, ListOf):
                items = tuple(self.check(i, inside) for i in operand.items)
                operands.append(replace(operand, items=items, type=items[0].type))
            else:
                operands.append(self.check(operand, inside))
        for i, op in enumerate(node.ops):
            self.pair(node, op, operands[i], operands[i + 1])
        nullable = any(o.nullable for o in operands)
        return replace(node, operands=tuple(operands), type=BOOLEAN, nullable=nullable)

    def pair(self, node: Compare, op: CompareOp, a: Node, b: Node) -> None:
        if isinstance(b, ListOf):
            if a.type == NULL:
                raise ExpressionError(COMPARE_NULL, a.offset)
            for item in b.items:
                if item.type == NULL:
                    raise ExpressionError(
                        "null cannot be in the list; use missing(x) to test for a missing value",
                        item.offset,
                    )
                self.equality(node, a, item)
            return
        for side in (a, b):
            if side.type == NULL:
                raise ExpressionError(COMPARE_NULL, side.offset)
        if op in ("==", "!="):
            self.equality(node, a, b)
            return
        ta, tb = a.type, b.type
        if (is_number(ta) and is_number(tb)) or ta == tb == DATE:
            return
        self.date_literal(node, a, b)
        if ta == tb or (is_textual(ta) and is_textual(tb)):
            raise ExpressionError(f"{noun(ta)} can only be compared with ==, != or in", node.offset)
        raise self.mismatch(node, a, b)

    def equality(self, node: Compare, a: Node, b: Node) -> None:
        ta, tb = a.type, b.type
        if (is_number(ta) and is_number(tb)) or (ta == tb and not isinstance(ta, CategoryType)):
            return
        if isinstance(ta, CategoryType) and is_text_literal(b):
            check_category_value(ta, b)
            return
        if isinstance(tb, CategoryType) and is_text_literal(a):
            check_category_value(tb, a)
            return
        if isinstance(ta, CategoryType) and isinstance(tb, CategoryType):
            if ta.values == tb.values:
                return
            raise self.mismatch(node, a, b)
        if is_textual(ta) and is_textual(tb):
            return
        self.date_literal(node, a, b)
        raise self.mismatch(node, a, b)

    def date_literal(self, node: Compare, a: Node, b: Node) -> None:
        for date, text in ((a, b), (b, a)):
            if date.type == DATE and is_text_literal(text):
                raise ExpressionError(
                    "cannot compare a date with text",
                    text.offset,
                    f"write date('{text.value}') for a date",  # type: ignore[attr-defined]
                )

    def mismatch(self, node: Compare, a: Node, b: Node) -> ExpressionError:
        return ExpressionError(f"cannot compare {noun(a.type)} with {noun(b.type)}", node.offset)

    # -- calls ------------------------------------------------------------------------------

    def call(self, node: Call, inside: bool) -> Node:
        name, args = node.name, node.args
        if name == "date":
            check_arity(name, len(args), node.offset)
            return Constant(offset=node.offset, value=parse_date(args[0]), type=DATE)
        if name in AGGREGATES and args and isinstance(args[0], Contacts):
            return self.aggregate(node, inside)
        if name in AGGREGATES and name not in SCALAR_RULES:
            raise ExpressionError(
                f"the first argument of {name}() must be contacts, the list it works over; "
                f"write {FUNCTIONS[name].usage}",
                args[0].offset if args else node.offset,
            )
        check_arity(name, len(args), node.offset)
        checked = tuple(self.check(a, inside) for a in args)
        kind, nullable = SCALAR_RULES[name](node, checked)
        return replace(node, args=checked, type=kind, nullable=nullable)

    def aggregate(self, node: Call, inside: bool) -> Node:
        name = node.name
        if inside:
            raise ExpressionError(
                "aggregates cannot be nested: contacts cannot be read inside another aggregate",
                node.args[0].offset,
            )
        if self.item_mode is not None:
            raise ExpressionError(
                f"contacts are not available here; only {self.item_mode.name} facts can be read",
                node.args[0].offset,
            )
        check_arity(name, len(node.args), node.offset, aggregate=True)
        rest = [self.check(a, inside=True) for a in node.args[1:]]
        value: Node | None = None
        where: Node | None = None
        if name in ("count", "any", "all"):
            where = rest[0] if rest else None
        else:
            value = rest[0]
            where = rest[1] if len(rest) > 1 else None
        kind, nullable = aggregate_type(name, value, where)
        return Aggregate(
            offset=node.offset,
            name=_AGGREGATE_NAMES[name],
            value=value,
            where=where,
            type=kind,
            nullable=nullable,
        )
