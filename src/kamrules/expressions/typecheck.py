"""Types and missing-value analysis against the fact schema.

Checking happens once, when a rulebook loads, so a typo or a comparison of a date with a
number is reported with its position instead of misbehaving on some account later. The
``nullable`` flag it computes lets the compiler leave out missing-value handling wherever a
value cannot be missing, which is most of the speed of the compiled code.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from kamrules.errors import ExpressionError
from kamrules.expressions.functions import (
    AGGREGATES,
    FUNCTIONS,
    MAX_NESTING,
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
    ExprType,
    Field,
    ListOf,
    Logic,
    Namespace,
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
    FactType,
    ListType,
    RecordType,
    ScalarType,
)
from kamrules.suggestions import did_you_mean

NO_SCORES = "scores are not available here: a criterion cannot depend on a score"
COMPARE_NULL = "null cannot be compared; use missing(x) or present(x) to test for a missing value"
AGGREGATE_LIST = "count(), any(), all(), none(), distinct(), sum(), min(), max() or max_share()"
EXAMPLE_FACTS = {"account": "annual_revenue", "plan": "last_reviewed"}
"""The fact named in "x alone is not a fact" messages; otherwise the record's first fact."""

_AGGREGATE_NAMES: dict[str, AggregateName] = {
    "count": "count",
    "any": "any",
    "all": "all",
    "none": "none",
    "distinct": "distinct",
    "sum": "sum",
    "min": "min",
    "max": "max",
    "max_share": "max_share",
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


def list_message(label: str) -> str:
    example = "count(contacts, role == 'champion')" if label == "contacts" else f"count({label})"
    return f"{label} is a list; read it through {AGGREGATE_LIST}, such as {example}"


def _example_fact(record: RecordType) -> str:
    if record.name in EXAMPLE_FACTS and EXAMPLE_FACTS[record.name] in record.fields:
        return EXAMPLE_FACTS[record.name]
    scalars = [f for f in record.fields.values() if isinstance(f.type, ScalarType | CategoryType)]
    categories = [f for f in scalars if isinstance(f.type, CategoryType)]
    return (categories or scalars or list(record.fields.values()))[0].name


@dataclass(frozen=True, slots=True)
class _Scope:
    """One item in reach: the current element of an aggregate at ``level`` (1 is the
    outermost), or in item mode the record itself (level 0)."""

    item: RecordType
    level: int


Scopes = tuple[_Scope, ...]


@dataclass(frozen=True, slots=True)
class _Root:
    """Where a path starts; ``steps`` are the names still to walk from ``record``."""

    namespace: Namespace
    record: RecordType
    steps: tuple[str, ...]
    written: tuple[str, ...]
    """The names written before ``steps`` (``("account",)`` or ``("sign_off",)``)."""
    item_name: str = ""
    level: int = 0


class TypeChecker:
    """Resolves names and types in one expression.

    Name resolution. A bare name is looked up, in order, among the fields of the current
    item of the innermost aggregate, then of each enclosing aggregate's item outward, then
    (except in item mode) among the account's facts; the first match wins, so a name shadows
    the same name further out. ``account.x`` reads the account explicitly. A dotted path
    starts with an item name in reach (innermost first: ``sign_off.version``, or an outer
    item such as ``member.name`` in a nested aggregate), ``account``, ``score``, or any name
    that resolves as above to a record (``plan.x`` is short for ``account.plan.x``). Paths
    through a record are null-safe: a missing plan makes ``plan.x`` unknown, and makes an
    aggregate over ``plan.objectives`` unknown too (not 0).

    ``item`` switches to item mode, where the record being evaluated is itself an item (such
    as one contact) and nothing outside it but scores can be read.
    """

    def __init__(self, schema: FactSchema, *, allow_scores: bool, item: RecordType | None = None) -> None:
        self.schema = schema
        self.account = schema.account
        self.allow_scores = allow_scores
        self.item_mode = item
        self.base: Scopes = (_Scope(item, 0),) if item is not None else ()
        # Every list of the schema by its canonical path, and the paths by item name; for
        # messages ("did you mean 'plan.objectives'?", "stance is a fact of contacts").
        self.list_items: dict[str, RecordType] = {}
        self.lists: dict[str, list[str]] = {}
        self.top_lists: list[str] = []
        self._index_lists(self.account, (), top=True)

    def _index_lists(self, record: RecordType, prefix: tuple[str, ...], *, top: bool) -> None:
        if len(prefix) > 6:  # schemas are not recursive, but stay finite whatever they are
            return
        for fact in record.fields.values():
            path = (*prefix, fact.name)
            if isinstance(fact.type, ListType):
                label = ".".join(path)
                self.list_items[label] = fact.type.item
                if top:
                    self.top_lists.append(label)
                self.lists.setdefault(fact.type.item.name, []).append(label)
                self._index_lists(fact.type.item, (fact.type.item.name,), top=False)
            elif isinstance(fact.type, RecordType):
                self._index_lists(fact.type, path, top=top)

    # -- entry ------------------------------------------------------------------------------

    def check(self, node: Node, scope: Scopes | None = None) -> Node:
        """The checked copy of ``node``; ``scope`` lists the items in reach, innermost last."""
        if scope is None:
            scope = self.base
        if isinstance(node, Constant):
            return replace(node, type=_constant_type(node.value), nullable=node.value is None)
        if isinstance(node, Field):
            return self.field(node, scope)
        if isinstance(node, Unary):
            return self.unary(node, scope)
        if isinstance(node, Arith):
            return self.arith(node, scope)
        if isinstance(node, Logic):
            return self.logic(node, scope)
        if isinstance(node, Compare):
            return self.compare(node, scope)
        if isinstance(node, Choose):
            return self.choose(node, scope)
        if isinstance(node, Call):
            return self.call(node, scope)
        if isinstance(node, ListOf):
            raise ExpressionError("a list can only be used after in or not in", node.offset)
        raise ExpressionError(f"{type(node).__name__} is not supported", node.offset)

    # -- names ------------------------------------------------------------------------------

    def field(self, node: Field, scope: Scopes) -> Field:
        """A path read as a value: it must end at a fact, not at a record or a list."""
        resolved = self.resolve(node, scope, want_list=False)
        kind = resolved.type
        if isinstance(kind, ListType):
            raise ExpressionError(list_message(resolved.label), node.offset)
        if isinstance(kind, RecordType):
            label = resolved.label
            raise ExpressionError(
                f"{label} alone is not a fact; name one of its facts, such as {label}.{_example_fact(kind)}",
                node.offset,
            )
        return resolved

    def resolve(self, node: Field, scope: Scopes, *, want_list: bool) -> Field:
        """The checked path, whatever it ends at (a fact, a record or a list)."""
        parts = node.parts
        if parts[0] == "score" and len(parts) > 1 and all(s.item.name != "score" for s in scope):
            return self.score(node)
        root = self.root(node, scope, want_list)
        path: list[str] = []
        nullable = False
        kind: FactType = root.record
        for i, step in enumerate(root.steps):
            last = i == len(root.steps) - 1
            if not isinstance(kind, RecordType):
                written = ".".join(root.written + root.steps[:i])
                if isinstance(kind, ListType):
                    raise ExpressionError(list_message(self._label(root, path, kind)), node.offset)
                raise ExpressionError(
                    f"'{written}' is a fact, not a group of facts; a path with a dot starts with {self.starts(scope)}",
                    node.offset,
                )
            fact = kind.fields.get(step)
            if fact is None:
                raise self.no_fact(node, kind, step, want_list and last)
            path.append(step)
            kind = fact.type
            if isinstance(kind, RecordType) or (isinstance(kind, ScalarType | CategoryType) and last):
                nullable = nullable or not fact.required
        return replace(
            node,
            namespace=root.namespace,
            path=tuple(path),
            item_name=root.item_name,
            level=root.level,
            type=kind,
            nullable=nullable,
        )

    def _label(self, root: _Root, path: list[str], kind: FactType) -> str:
        return Field(
            offset=0,
            parts=(),
            namespace=root.namespace,
            path=tuple(path),
            item_name=root.item_name,
            level=root.level,
            type=kind,
        ).label

    def root(self, node: Field, scope: Scopes, want_list: bool) -> _Root:
        head, rest = node.parts[0], node.parts[1:]
        if rest:
            for s in reversed(scope):
                if s.item.name == head:
                    return self._item_root(s, rest, (head,))
            if head == "account" and self.item_mode is None:
                return _Root("account", self.account, rest, (head,))
        found = self.bare(head, scope)
        if found is not None:
            return replace(found, steps=(head, *rest))
        if rest:
            raise self.unknown_head(node, scope)
        raise self.unknown_bare(node, scope, want_list)

    def bare(self, name: str, scope: Scopes) -> _Root | None:
        """Where a bare name is a field: innermost item first, then outward, then the account."""
        for s in reversed(scope):
            if name in s.item.fields:
                return self._item_root(s, (), ())
        if self.item_mode is None and name in self.account.fields:
            return _Root("account", self.account, (), ())
        return None

    @staticmethod
    def _item_root(s: _Scope, steps: tuple[str, ...], written: tuple[str, ...]) -> _Root:
        return _Root("item", s.item, steps, written, item_name=s.item.name, level=s.level)

    def score(self, node: Field) -> Field:
        if not self.allow_scores:
            raise ExpressionError(NO_SCORES, node.offset)
        name = node.parts[1]
        cards = self.schema.scorecards
        if name not in cards:
            known = f" (scorecards: {', '.join(cards)})" if cards else ""
            raise ExpressionError(f"there is no scorecard '{name}'{known}", node.offset, did_you_mean(name, cards))
        if len(node.parts) > 2:
            raise ExpressionError(
                f"'score.{name}' is a fact, not a group of facts; a path with a dot starts with {self.starts(())}",
                node.offset,
            )
        return replace(node, namespace="score", path=(name,), type=NUMBER, nullable=False)

    # -- names: messages --------------------------------------------------------------------

    def heads(self, scope: Scopes) -> list[str]:
        """What a dotted path can start with here, innermost item first."""
        items = [s.item.name for s in reversed(scope)]
        if self.item_mode is not None:
            return [*items, "score"]
        records = [f.name for f in self.account.fields.values() if isinstance(f.type, RecordType)]
        return [*dict.fromkeys([*items, "account", *records]), "score"]

    def starts(self, scope: Scopes) -> str:
        heads = [f"{h}." for h in self.heads(scope)]
        return f"{', '.join(heads[:-1])} or {heads[-1]}"

    def elsewhere(self, name: str, scope: Scopes) -> str | None:
        """A hint when ``name`` is a fact of the items of lists not in reach."""
        here = {s.item.name for s in scope}
        owners = [label for label, item in self.list_items.items() if item.name not in here and name in item.fields]
        if not owners or self.item_mode is not None:
            return None
        lists = owners[0] if len(owners) == 1 else f"{', '.join(owners[:-1])} and {owners[-1]}"
        return (
            f"{name} is a fact of the items of {lists}; read it inside an aggregate over "
            f"{'that list' if len(owners) == 1 else 'one of them'}"
        )

    def no_fact(self, node: Field, record: RecordType, step: str, want_list: bool) -> ExpressionError:
        if want_list:
            lists = [f.name for f in record.fields.values() if isinstance(f.type, ListType)]
            return ExpressionError(f"{record.name} has no list '{step}'", node.offset, did_you_mean(step, lists))
        return ExpressionError(f"{record.name} has no fact '{step}'", node.offset, did_you_mean(step, record.fields))

    def unknown_head(self, node: Field, scope: Scopes) -> ExpressionError:
        head = node.parts[0]
        if self.item_mode is not None and (head == "account" or head in self.account.fields):
            return ExpressionError(
                f"{head} facts are not available here; only {self.item_mode.name} facts can be read",
                node.offset,
            )
        if head in self.lists and self.item_mode is None:
            lists = " or ".join(self.lists[head])
            return ExpressionError(
                f"'{head}' is an item of {lists}; it can only be read inside an aggregate over {self.lists[head][0]}",
                node.offset,
            )
        heads = self.heads(scope)
        fields = list(self.item_mode.fields) if self.item_mode is not None else list(self.account.fields)
        return ExpressionError(
            f"there is no '{head}'; a path with a dot starts with {self.starts(scope)}",
            node.offset,
            did_you_mean(head, [*heads, *fields]),
        )

    def unknown_bare(self, node: Field, scope: Scopes, want_list: bool) -> ExpressionError:
        name = node.name
        if self.item_mode is None and name in ("account", "score"):
            example = {
                "account": "account.annual_revenue",
                "score": f"score.{self.schema.scorecards[0] if self.schema.scorecards else 'x'}",
            }[name]
            return ExpressionError(f"{name} alone is not a fact; name one of its facts, such as {example}", node.offset)
        for s in reversed(scope):
            if s.item.name == name:
                return ExpressionError(
                    f"{name} alone is not a fact; name one of its facts, such as {name}.{_example_fact(s.item)}",
                    node.offset,
                )
        if self.item_mode is not None:
            item = self.item_mode
            if want_list and name in self.account.fields:
                return ExpressionError(
                    f"{name} are not available here; only {item.name} facts can be read", node.offset
                )
            what = "list" if want_list else "fact"
            return ExpressionError(
                f"there is no {what} '{name}' on a {item.name}", node.offset, did_you_mean(name, item.fields)
            )
        if want_list:
            inner = [f for s in reversed(scope) for f, x in s.item.fields.items() if isinstance(x.type, ListType)]
            return ExpressionError(
                f"there is no list '{name}'", node.offset, did_you_mean(name, [*inner, *self.top_lists])
            )
        candidates = [f for s in reversed(scope) for f in s.item.fields]
        candidates += [f for f, x in self.account.fields.items() if isinstance(x.type, ScalarType | CategoryType)]
        candidates += [*self.heads(scope), *self.top_lists]
        hint = self.elsewhere(name, scope) or did_you_mean(name, candidates)
        if scope:
            owners = dict.fromkeys(s.item.name for s in reversed(scope))
            what = f"{', '.join(owners)} or account"
            return ExpressionError(f"'{name}' is not a {what} fact", node.offset, hint)
        return ExpressionError(f"there is no fact '{name}' on the account", node.offset, hint)

    # -- operators --------------------------------------------------------------------------

    def unary(self, node: Unary, scope: Scopes) -> Node:
        operand = self.check(node.operand, scope)
        if node.op == "not":
            if operand.type != BOOLEAN:
                raise ExpressionError(f"not needs true or false, but this gives {noun(operand.type)}", operand.offset)
            return replace(node, operand=operand, type=BOOLEAN, nullable=operand.nullable)
        if not is_number(operand.type):
            raise ExpressionError(f"`{node.op}` needs a number, but this gives {noun(operand.type)}", operand.offset)
        return replace(node, operand=operand, type=operand.type, nullable=operand.nullable)

    def arith(self, node: Arith, scope: Scopes) -> Node:
        left, right = self.check(node.left, scope), self.check(node.right, scope)
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

    def logic(self, node: Logic, scope: Scopes) -> Node:
        operands = tuple(self.check(o, scope) for o in node.operands)
        for operand in operands:
            if operand.type != BOOLEAN:
                raise ExpressionError(
                    f"{node.op} needs true or false on each side, but this gives {noun(operand.type)}",
                    operand.offset,
                )
        return replace(node, operands=operands, type=BOOLEAN, nullable=any(o.nullable for o in operands))

    def choose(self, node: Choose, scope: Scopes) -> Node:
        body = self.check(node.body, scope)
        test = self.check(node.test, scope)
        orelse = self.check(node.orelse, scope)
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

    def compare(self, node: Compare, scope: Scopes) -> Node:
        operands: list[Node] = []
        for operand in node.operands:
            if isinstance(operand, ListOf):
                items = tuple(self.check(i, scope) for i in operand.items)
                operands.append(replace(operand, items=items, type=items[0].type))
            else:
                operands.append(self.check(operand, scope))
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

    def call(self, node: Call, scope: Scopes) -> Node:
        name, args = node.name, node.args
        if name == "date":
            check_arity(name, len(args), node.offset)
            return Constant(offset=node.offset, value=parse_date(args[0]), type=DATE)
        if name in AGGREGATES and name in SCALAR_RULES:
            # min/max: over a list when the first argument is one, else of plain values.
            if args and isinstance(args[0], Field):
                items = self.resolve(args[0], scope, want_list=False)
                if isinstance(items.type, ListType):
                    return self.aggregate(node, items, scope)
        elif name in AGGREGATES:
            check_arity(name, len(args), node.offset, aggregate=True)
            first = args[0]
            listed = self.resolve(first, scope, want_list=True) if isinstance(first, Field) else None
            if listed is None or not isinstance(listed.type, ListType):
                raise ExpressionError(
                    f"the first argument of {name}() must be a list, such as contacts or "
                    f"plan.objectives; write {FUNCTIONS[name].usage}",
                    first.offset,
                )
            return self.aggregate(node, listed, scope)
        check_arity(name, len(args), node.offset)
        checked = tuple(self.check(a, scope) for a in args)
        kind, nullable = SCALAR_RULES[name](node, checked)
        return replace(node, args=checked, type=kind, nullable=nullable)

    def aggregate(self, node: Call, items: Field, scope: Scopes) -> Node:
        name = node.name
        assert isinstance(items.type, ListType)
        level = sum(1 for s in scope if s.level > 0) + 1
        if level > MAX_NESTING:
            raise ExpressionError(
                f"aggregates can be nested at most {MAX_NESTING} deep; split this rule into simpler ones",
                node.offset,
            )
        check_arity(name, len(node.args), node.offset, aggregate=True)
        item = items.type.item
        inner = (*scope, _Scope(item, level))
        rest = [self.check(a, inner) for a in node.args[1:]]
        value: Node | None = None
        where: Node | None = None
        if name in ("count", "any", "all", "none"):
            where = rest[0] if rest else None
        else:
            value = rest[0]
            where = rest[1] if len(rest) > 1 else None
        kind, nullable = aggregate_type(name, item.name, value, where)
        return Aggregate(
            offset=node.offset,
            name=_AGGREGATE_NAMES[name],
            items=items,
            level=level,
            value=value,
            where=where,
            type=kind,
            nullable=nullable or items.nullable,
        )
