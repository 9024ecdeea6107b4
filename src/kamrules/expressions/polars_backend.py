"""Checked expression trees to polars expressions: the rule language's polars backend.

It sits beside the Python backend (:mod:`kamrules.expressions.compiler`) so that a construct
added to one is visibly missing from the other; :mod:`kamrules.columnar` runs it.

The per-account compiler (``kamrules.expressions.compiler``) turns an expression into a
Python function of one record. Here the same checked tree (``parse`` + ``TypeChecker``)
becomes one polars expression over a frame with a column per account fact, so a portfolio
is decided column by column. Both must give the same value for every account; where polars
and Python could differ, this module either refuses (:class:`Unsupported`, and the caller
evaluates per account) or adds a *guard*: a boolean expression that marks the rows on which
the per-account evaluator must decide instead.

How each construct keeps Python's meaning:

* Missing facts are nulls, and polars' null handling is the language's three-valued logic:
  arithmetic and comparisons with a null are null, ``and``/``or`` are Kleene, ``not`` of
  null is null. ``if``/``else`` with an unknown test is unknown (polars' ``when`` would
  take the ``else`` branch, so the test is checked first). ``min``/``max``/``clamp`` are
  unknown when an argument is (polars' horizontal min ignores nulls, so they are guarded).
* Division by zero is unknown, as in Python.
* Numbers: integers stay Int64 and floats Float64; every integer an expression can produce
  is bounded statically (fact ranges, literals, operators) and an expression whose integers
  could pass 2**53 is refused, so mixing integers with floats rounds exactly as Python does.
  Float arithmetic is IEEE in both; a row where an intermediate result is infinite or NaN
  (polars orders NaN above every number, Python compares it false) is guarded.
* Scores are exact fractions ``weighted / (100 * total)``. A comparison of a score with a
  number literal becomes an integer comparison of ``weighted`` with a threshold computed
  exactly (with ``fractions.Fraction``) for each total weight that occurs; score against
  score and score against an integer are cross-multiplied in Int128. Any other use of a
  score (arithmetic, functions, comparison with a float fact) is refused.
* Aggregates read lists. With nested facts in columns, :mod:`kamrules.columnar.lists`
  computes each aggregate into a column first (``Columns.aggregate``), and plan and item facts
  are columns. Without them (rows that carry no plan and no lists), an aggregate over a
  top-level list is the value it has over an empty list and one over a list inside the plan
  is unknown, exactly as the per-account code gives for such rows.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce
from typing import TYPE_CHECKING, Literal

from kamrules.expressions.nodes import (
    Aggregate,
    Arith,
    Call,
    Choose,
    Compare,
    Constant,
    ExprType,
    Field,
    ListOf,
    Logic,
    Node,
    NullType,
    Unary,
    children,
    render,
)
from kamrules.expressions.parser import parse
from kamrules.expressions.typecheck import TypeChecker
from kamrules.facts.schema import FactSchema
from kamrules.facts.types import CategoryType, FactField, ListType, RecordType, ScalarType

if TYPE_CHECKING:
    import polars as pl

Kind = Literal["integer", "number", "text", "boolean", "date", "null"]

INT_LIMIT = 2**31
"""Integer facts without a declared range are decided in columns only up to this magnitude
(larger values go to the per-account evaluator), which bounds every integer expression."""

EXACT_INT = 2**53
"""The largest integer a float64 holds exactly: integer expressions must stay within it."""

MAX_DAYS = 999_999_999
"""The most days a Python ``timedelta`` holds (``add_days`` beyond it is unknown)."""

_EPOCH = dt.date(1970, 1, 1)
_FIRST_DAY = (dt.date.min - _EPOCH).days
_LAST_DAY = (dt.date.max - _EPOCH).days


class Unsupported(Exception):
    """An expression the columnar evaluator cannot reproduce exactly; the caller falls back
    to the per-account evaluator and reports ``reason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Columns:
    """What a compiled expression reads: the frame's fact columns and the scores.

    ``fact(name)`` is the column of a flat account fact (typed: Float64, Int64, String,
    Boolean, Date); ``score(card)`` the pair of Int64 columns (weighted centi-points, total
    centi-weight); ``totals(card)`` every total weight that occurs, for exact thresholds.
    """

    def __init__(
        self,
        fact: Callable[[str], pl.Expr],
        score: Callable[[str], tuple[pl.Expr, pl.Expr]],
        totals: Callable[[str], Sequence[int]],
        as_of: dt.date,
        aggregate: Callable[[Aggregate], tuple[pl.Expr, float]] | None = None,
    ) -> None:
        self.fact = fact
        self.score = score
        self.totals = totals
        self.as_of = as_of
        self.aggregate = aggregate
        """With nested facts in columns: the column of an aggregate already computed (by
        :mod:`kamrules.columnar.lists`) and, for an integer, the largest magnitude it can have;
        plan facts are then columns ``plan.<fact>`` and an item's facts ``@i<level>.<fact>``.
        Without it, rows have no nested facts (see :meth:`PolarsCompiler.aggregate`)."""


@dataclass(frozen=True, slots=True)
class Compiled:
    """One compiled (sub)expression."""

    expr: pl.Expr
    kind: Kind
    bound: float = 0.0
    """For integers: the largest magnitude the value can have."""
    score: str | None = None
    """Set when the expression is ``score.<card>`` itself (its value is not a column)."""


@dataclass(slots=True)
class ColumnarExpression:
    """A whole expression in columnar form: its value, and the rows to decide per account."""

    source: str
    expr: pl.Expr
    kind: Kind
    guards: list[pl.Expr] = field(default_factory=list)
    nested: bool = False
    """Whether it reads nested facts (the plan, a list), constant on the rows decided here."""

    def guard(self) -> pl.Expr | None:
        """True on rows the per-account evaluator must decide; None when there are none."""
        import polars as pl

        if not self.guards:
            return None
        return pl.any_horizontal([g.fill_null(False) for g in self.guards])


def check(source: str, schema: FactSchema) -> Node:
    """The checked tree of ``source`` as the rulebook loader checked it."""
    return TypeChecker(schema, allow_scores=True).check(parse(source))


def kind_of(t: ExprType | None) -> Kind:
    if isinstance(t, NullType) or t is None:
        return "null"
    if isinstance(t, CategoryType):
        return "text"
    if isinstance(t, ScalarType):
        return t.kind
    raise Unsupported(f"a value of type {t.describe()} has no column")


def dtype_of(kind: Kind) -> pl.DataType:
    import polars as pl

    return {
        "integer": pl.Int64(),
        "number": pl.Float64(),
        "text": pl.String(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
        "null": pl.Null(),
    }[kind]


def null_of(kind: Kind) -> pl.Expr:
    import polars as pl

    return pl.lit(None, dtype=dtype_of(kind))


def field_bound(fact: FactField) -> float:
    """The magnitude an integer fact can have on rows the columnar evaluator decides."""
    low = fact.minimum if fact.minimum is not None else -INT_LIMIT
    high = fact.maximum if fact.maximum is not None else INT_LIMIT
    return float(min(max(abs(low), abs(high)), INT_LIMIT))


def nested_reads(node: Node) -> bool:
    """Whether ``node`` reads the plan or a list (anything but flat account facts)."""
    if isinstance(node, Aggregate):
        return True
    if isinstance(node, Field):
        return node.namespace == "item" or (node.namespace == "account" and len(node.path) > 1)
    return any(nested_reads(child) for child in children(node))


def as_column(divisor: pl.Expr) -> pl.Expr:
    """``divisor`` as a full-length Float64 column.

    polars divides a column by a scalar by multiplying with the reciprocal, which rounds
    differently from Python's ``x / c`` (303508.5 / 1e6 gives 0.30350849999999996). Adding
    a column of zeros makes the divisor a column, and column-by-column division is IEEE
    division, as in Python."""
    import polars as pl

    return divisor.cast(pl.Float64) + pl.int_range(pl.len()).cast(pl.Float64) * 0.0


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _compare(left: pl.Expr, op: str, right: pl.Expr) -> pl.Expr:
    if not left.meta.root_names() and right.meta.root_names():
        # polars 2.1 fails (a length-1 result) when a literal on the left is compared with
        # an expression that turns out constant on every row, such as coalesce(fact, 5) with
        # the fact missing everywhere; with the literal on the right it broadcasts.
        left, right, op = right, left, _FLIP[op]
    if op == "==":
        return left == right
    if op == "!=":
        return left != right
    if op == "<":
        return left < right
    if op == "<=":
        return left <= right
    if op == ">":
        return left > right
    if op == ">=":
        return left >= right
    raise AssertionError(op)  # pragma: no cover


def score_threshold(op: str, literal: Fraction, total: int) -> tuple[str, int] | bool:
    """``weighted / (100 * total) <op> literal`` as ``weighted <op'> integer``, exactly;
    or the constant result when the literal lies where no weighted sum can reach it.

    ``weighted`` lies in ``0 .. 10_000 * total`` (points are at most 100.00), so thresholds
    are clamped just outside that range and always fit in 64 bits."""
    bound = literal * 100 * total
    if op in ("==", "!=") and bound.denominator != 1:
        return op == "!="
    limit = math.ceil(bound) if op in (">=", "<") else math.floor(bound)
    return (op, min(max(limit, -1), 10_000 * total + 1))


class PolarsCompiler:
    """Compiles checked trees against one frame's :class:`Columns`; one per evaluation."""

    def __init__(self, schema: FactSchema, columns: Columns) -> None:
        self.schema = schema
        self.columns = columns
        self.guards: list[pl.Expr] = []

    def compile(self, source: str) -> ColumnarExpression:
        tree = check(source, self.schema)
        return self.compile_tree(source, tree)

    def compile_tree(self, source: str, tree: Node) -> ColumnarExpression:
        self.guards = []
        value = self.emit(tree)
        return ColumnarExpression(source, value.expr, value.kind, self.guards, nested_reads(tree))

    def value(self, node: Node) -> Compiled:
        """A node whose value is a column (a bare score is not one)."""
        compiled = self.emit(node)
        if compiled.score is not None:
            raise Unsupported(
                f"score.{compiled.score} is used as a value (in arithmetic, a function or a choice); "
                "only comparisons of a score compile to columns"
            )
        return compiled

    # -- nodes ------------------------------------------------------------------------------

    def emit(self, node: Node) -> Compiled:
        import polars as pl

        if isinstance(node, Constant):
            return self.constant(node)
        if isinstance(node, Field):
            return self.field(node)
        if isinstance(node, Aggregate):
            return self.aggregate(node)
        if isinstance(node, Unary):
            operand = self.value(node.operand)
            if node.op == "not":
                return Compiled(~operand.expr, "boolean")
            if node.op == "-":
                return Compiled(-operand.expr, operand.kind, operand.bound)
            return operand
        if isinstance(node, Arith):
            return self.arith(node)
        if isinstance(node, Logic):
            operands = [self.value(o).expr for o in node.operands]
            joined = reduce(lambda a, b: a & b, operands) if node.op == "and" else reduce(lambda a, b: a | b, operands)
            return Compiled(joined, "boolean")
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, Choose):
            test = self.value(node.test)
            body, orelse = self.value(node.body), self.value(node.orelse)
            kind = kind_of(node.type)
            result = (
                pl.when(test.expr.is_null())
                .then(null_of(kind))
                .when(test.expr)
                .then(self.cast(body, kind))
                .otherwise(self.cast(orelse, kind))
            )
            return Compiled(result, kind, max(body.bound, orelse.bound))
        if isinstance(node, Call):
            return self.call(node)
        raise Unsupported(f"{type(node).__name__} has no columnar form")

    def cast(self, compiled: Compiled, kind: Kind) -> pl.Expr:
        if compiled.kind == kind or kind == "null":
            return compiled.expr
        if compiled.kind == "null":
            return null_of(kind)
        return compiled.expr.cast(dtype_of(kind))

    def checked_int(self, expr: pl.Expr, bound: float, node: Node) -> Compiled:
        if bound > EXACT_INT:
            raise Unsupported(f"'{render(node)}' can give integers beyond 2**53, which a column of floats would round")
        return Compiled(expr, "integer", bound)

    def constant(self, node: Constant) -> Compiled:
        import polars as pl

        value = node.value
        kind = kind_of(node.type)
        if kind == "null":
            return Compiled(pl.lit(None), "null")
        if kind == "integer":
            assert isinstance(value, int)
            return self.checked_int(pl.lit(value, dtype=pl.Int64), float(abs(value)), node)
        if kind == "number":
            assert isinstance(value, float)
            if not math.isfinite(value):
                raise Unsupported(f"the literal {value!r} is not finite")
        return Compiled(pl.lit(value, dtype=dtype_of(kind)), kind)

    def field(self, node: Field) -> Compiled:
        import polars as pl

        kind = kind_of(node.type)
        if node.namespace == "score":
            weighted, _ = self.columns.score(node.path[0])
            return Compiled(weighted, "number", score=node.path[0])
        nested = self.columns.aggregate is not None
        if node.namespace == "item" and nested:
            if len(node.path) != 1:
                raise Unsupported(f"'{node.label}' reads a record inside an item")
            expr = pl.col(item_column(node.level, node.path[0]))
            if kind == "integer":
                item = _record_at(self.schema, node)
                return self.checked_int(expr, field_bound(item.fields[node.path[0]]), node)
            return Compiled(expr, kind)
        if node.namespace != "account":
            raise Unsupported(f"'{node.label}' reads an item outside an aggregate")
        if len(node.path) > 1:
            if not nested:
                # A fact of the plan: the rows decided in columns without nested facts have no plan.
                return Compiled(null_of(kind), kind)
            if len(node.path) != 2 or node.path[0] != "plan":
                raise Unsupported(f"'{node.label}' reads a record other than the plan")
            plan = self.schema.account.fields["plan"].type
            assert isinstance(plan, RecordType)
            expr = pl.col(".".join(node.path))
            if kind == "integer":
                return self.checked_int(expr, field_bound(plan.fields[node.path[1]]), node)
            return Compiled(expr, kind)
        fact = self.schema.account.fields[node.path[0]]
        expr = self.columns.fact(node.path[0])
        if kind == "integer":
            return self.checked_int(expr, field_bound(fact), node)
        return Compiled(expr, kind)

    def aggregate(self, node: Aggregate) -> Compiled:
        """An aggregate on a row without nested facts: over an empty list, or unknown when
        the list lies under the (missing) plan."""
        import polars as pl

        kind = kind_of(node.type)
        if self.columns.aggregate is not None:
            expr, bound = self.columns.aggregate(node)
            if kind == "integer":
                return self.checked_int(expr, bound, node)
            return Compiled(expr, kind)
        items = node.items
        assert isinstance(items.type, ListType)
        under_record = items.namespace != "account" or len(items.path) > 1
        if under_record:
            return Compiled(null_of(kind), kind)
        name = node.name
        if name in ("count", "distinct"):
            return Compiled(pl.lit(0, dtype=pl.Int64), "integer")
        if name == "any":
            return Compiled(pl.lit(False), "boolean")
        if name in ("all", "none"):
            return Compiled(pl.lit(True), "boolean")
        if name == "sum":
            return Compiled(pl.lit(0, dtype=dtype_of(kind)), kind)
        if name == "max_share":
            return Compiled(pl.lit(0.0, dtype=pl.Float64), "number")
        return Compiled(null_of(kind), kind)  # min / max of nothing

    def finite(self, expr: pl.Expr) -> None:
        """Guard rows where a float result is infinite or NaN."""
        self.guards.append(~expr.is_finite())

    def arith(self, node: Arith) -> Compiled:
        import polars as pl

        left, right = self.value(node.left), self.value(node.right)
        op = node.op
        kind = kind_of(node.type)
        if op == "/":
            divisor_known = isinstance(node.right, Constant) and node.right.value != 0
            quotient = left.expr / as_column(right.expr)
            result = quotient if divisor_known else pl.when(right.expr == 0).then(None).otherwise(quotient)
            self.finite(result)
            return Compiled(result, "number")
        if op == "+":
            expr, bound = left.expr + right.expr, left.bound + right.bound
        elif op == "-":
            expr, bound = left.expr - right.expr, left.bound + right.bound
        else:
            expr, bound = left.expr * right.expr, left.bound * right.bound
        if kind == "integer":
            return self.checked_int(expr, bound, node)
        self.finite(expr)
        return Compiled(expr, "number")

    # -- comparisons ------------------------------------------------------------------------

    def compare(self, node: Compare) -> Compiled:
        links: list[pl.Expr] = []
        operands = node.operands
        compiled: list[Compiled | None] = [None if isinstance(o, ListOf) else self.emit(o) for o in operands]
        for i, op in enumerate(node.ops):
            left, right = compiled[i], compiled[i + 1]
            assert left is not None
            if op in ("in", "not in"):
                target = operands[i + 1]
                assert isinstance(target, ListOf)
                if left.score is not None:
                    raise Unsupported(f"score.{left.score} in a list has no columnar form")
                member = self.member(left, target)
                links.append(~member if op == "not in" else member)
                continue
            assert right is not None
            if left.score is not None or right.score is not None:
                links.append(self.score_link(left, op, right, operands[i], operands[i + 1]))
                continue
            links.append(_compare(left.expr, op, right.expr))
        return Compiled(reduce(lambda a, b: a & b, links), "boolean")

    def member(self, value: Compiled, items: ListOf) -> pl.Expr:
        """``x in [...]``: only the constants of the list count, as in the Python compiler.
        Numbers and dates are compared with ``==`` (1 == 1.0, as Python's set lookup has it)."""
        import polars as pl

        constants = [i.value for i in items.items if isinstance(i, Constant)]
        constants = list(dict.fromkeys(constants))
        if not constants:
            return pl.when(value.expr.is_null()).then(None).otherwise(pl.lit(False))
        if value.kind == "text":
            return value.expr.is_in([str(c) for c in constants])
        tests = [value.expr == pl.lit(c) for c in constants]
        return reduce(lambda a, b: a | b, tests)

    def score_link(self, left: Compiled, op: str, right: Compiled, left_node: Node, right_node: Node) -> pl.Expr:
        import polars as pl

        if left.score is None:  # put the score on the left
            left, right, left_node, right_node = right, left, right_node, left_node
            op = _FLIP[op]
        assert left.score is not None
        weighted, total = self.columns.score(left.score)
        if right.score is not None:
            # a / (100 t) <op> c / (100 u)  <=>  a * u <op> c * t
            other_weighted, other_total = self.columns.score(right.score)
            lhs = weighted.cast(pl.Int128) * other_total.cast(pl.Int128)
            rhs = other_weighted.cast(pl.Int128) * total.cast(pl.Int128)
            return _compare(lhs, op, rhs)
        if isinstance(right_node, Constant) and right.kind in ("integer", "number"):
            value = right_node.value
            assert isinstance(value, int | float)
            if not math.isfinite(value):
                raise Unsupported(f"a score compared with {value!r}")
            return self.threshold(left.score, weighted, total, op, Fraction(value))
        if right.kind == "integer":
            # a / (100 t) <op> m  <=>  a <op> 100 t m
            rhs = total.cast(pl.Int128) * 100 * right.expr.cast(pl.Int128)
            return _compare(weighted.cast(pl.Int128), op, rhs)
        raise Unsupported(
            f"score.{left.score} is compared with '{render(right_node)}', a computed number; "
            "only literals, integers and other scores compare exactly in columns"
        )

    def threshold(self, card: str, weighted: pl.Expr, total: pl.Expr, op: str, literal: Fraction) -> pl.Expr:
        """Compare a score with a literal through an exact integer threshold per total."""
        import polars as pl

        rules = {t: score_threshold(op, literal, t) for t in sorted(set(self.columns.totals(card)))}
        if not rules:
            return pl.lit(False)
        thresholds = {t: r[1] for t, r in rules.items() if not isinstance(r, bool)}
        constants = {t: r for t, r in rules.items() if isinstance(r, bool)}
        if len(thresholds) == 1 and not constants:
            ((_, value),) = thresholds.items()
            return _compare(weighted, op, pl.lit(value, dtype=pl.Int64))
        result: pl.Expr = pl.lit(False)
        if thresholds:
            column = total.replace_strict(
                list(thresholds), list(thresholds.values()), default=None, return_dtype=pl.Int64
            )
            result = _compare(weighted, op, column)
        for t, constant in constants.items():
            result = pl.when(total == t).then(pl.lit(constant)).otherwise(result)
        return result

    # -- functions --------------------------------------------------------------------------

    def call(self, node: Call) -> Compiled:
        import polars as pl

        name = node.name
        kind = kind_of(node.type)
        as_of = self.columns.as_of
        if name == "today":
            return Compiled(pl.lit(as_of, dtype=pl.Date), "date")
        args = [self.value(a) for a in node.args]
        if name == "days_since":
            return Compiled((pl.lit(as_of, dtype=pl.Date) - args[0].expr).dt.total_days(), "integer", 4e6)
        if name == "days_until":
            return Compiled((args[0].expr - pl.lit(as_of, dtype=pl.Date)).dt.total_days(), "integer", 4e6)
        if name == "add_days":
            date, days = args[0].expr, args[1].expr
            ordinal = date.cast(pl.Int64) + days
            # Python raises OverflowError (the whole expression is unknown) beyond its dates.
            self.guards.append((days.abs() > MAX_DAYS) | (ordinal < _FIRST_DAY) | (ordinal > _LAST_DAY))
            safe = ordinal.clip(_FIRST_DAY, _LAST_DAY).cast(pl.Int32).cast(pl.Date)
            return Compiled(safe, "date")
        if name in ("present", "missing"):
            test = args[0].expr.is_not_null() if name == "present" else args[0].expr.is_null()
            return Compiled(test, "boolean")
        if name == "coalesce":
            value, default = args
            target = kind if kind != "null" else value.kind
            expr = pl.coalesce([self.cast(value, target), self.cast(default, target)])
            return Compiled(expr, target, max(value.bound, default.bound))
        if name == "abs":
            return Compiled(args[0].expr.abs(), args[0].kind, args[0].bound)
        if name in ("min", "max", "clamp"):
            exprs = [self.cast(a, kind) for a in args]
            if name == "min":
                extreme = pl.min_horizontal(exprs)
            elif name == "max":
                extreme = pl.max_horizontal(exprs)
            else:
                extreme = pl.min_horizontal([pl.max_horizontal(exprs[:2]), exprs[2]])
            unknown = pl.any_horizontal([e.is_null() for e in exprs])
            bound = max(a.bound for a in args)
            return Compiled(pl.when(unknown).then(null_of(kind)).otherwise(extreme), kind, bound)
        if name == "lower":
            return Compiled(args[0].expr.str.to_lowercase(), "text")
        raise Unsupported(f"{name}() has no columnar form")


def item_column(level: int, name: str) -> str:
    """The column of an item's fact in the frame of the items of the aggregate at ``level``."""
    return f"@i{level}.{name}"


def _record_at(schema: FactSchema, node: Field) -> RecordType:
    """The item type an item field of ``node`` belongs to (by its item name)."""
    for record in _records(schema.account):
        if record.name == node.item_name:
            return record
    raise Unsupported(f"no item type named '{node.item_name}'")


def _records(record: RecordType) -> list[RecordType]:
    found = []
    for fact in record.fields.values():
        if isinstance(fact.type, ListType):
            found.append(fact.type.item)
            found += _records(fact.type.item)
        elif isinstance(fact.type, RecordType):
            found += _records(fact.type)
    return found


def list_facts(schema: FactSchema) -> tuple[str, ...]:
    """The account's nested facts: the plan and the lists. Rows that carry any are decided
    per account (their items are validated and read one by one)."""
    return tuple(name for name, f in schema.account.fields.items() if isinstance(f.type, RecordType | ListType))


def describe_unsupported(problems: Mapping[str, tuple[str, str]]) -> str:
    """One line per expression that keeps a rulebook from compiling to columns."""
    return "; ".join(f"{where} `{source}`: {reason}" for where, (source, reason) in problems.items())


__all__ = [
    "ColumnarExpression",
    "Columns",
    "Compiled",
    "PolarsCompiler",
    "Unsupported",
    "as_column",
    "check",
    "describe_unsupported",
    "list_facts",
    "nested_reads",
    "score_threshold",
]
