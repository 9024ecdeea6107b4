"""The expression tree: our own nodes rather than Python's ``ast``.

Python's ``ast`` is used only to read the text. Converting it at once into this small,
closed set of nodes means the type checker and the code generator can only ever meet
constructs the language allows; anything else was refused while converting.

The parser fills in ``offset``; the type checker returns a copy of the tree with ``type``
and ``nullable`` set on every node and every field resolved to its namespace.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from kamrules.facts.types import FactType, ListType, RecordType


@dataclass(frozen=True, slots=True)
class NullType:
    """The type of the ``null`` literal, which only makes sense as one branch of ``if``."""

    def describe(self) -> str:
        return "null"


NULL = NullType()

ExprType = FactType | NullType

Namespace = Literal["account", "score", "item"]
"""Where a resolved path starts: the account record, the scores, or an item (the current
element of an aggregate, or the record itself when an expression is compiled for an item
type)."""

ConstantValue = int | float | str | bool | dt.date | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Node:
    """Base of every node: where it starts in the source and, once checked, its type."""

    offset: int
    type: ExprType | None = None
    nullable: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Constant(Node):
    value: ConstantValue


@dataclass(frozen=True, slots=True, kw_only=True)
class Field(Node):
    """A path: a fact, or (only as the first argument of an aggregate) a list.

    Before checking only ``parts`` is set: the names as written (``("plan", "version")``,
    ``("contact", "level")``, ``("contacts",)``). After checking, ``namespace`` says where
    the path starts and ``path`` is the chain of attributes read from there:

    * ``account``: from the record (``plan.version`` is ``("plan", "version")``);
    * ``score``: ``path`` is the scorecard's name alone;
    * ``item``: from the item of the aggregate at nesting ``level`` (1 is the outermost
      aggregate), named ``item_name``; level 0 is the record itself in item mode.
    """

    parts: tuple[str, ...]
    namespace: Namespace | None = None
    path: tuple[str, ...] = ()
    item_name: str = ""
    level: int = 0

    @property
    def name(self) -> str:
        """The last name of the path: the fact (or list) itself."""
        return (self.path or self.parts)[-1]

    @property
    def label(self) -> str:
        """The canonical path: ``account.x`` for an account fact, ``plan.x`` for a fact of
        a nested record, ``contacts`` / ``plan.objectives`` for a list (``plan`` for the
        record itself), ``score.x``, ``contact.x`` for an item's fact."""
        if self.namespace is None:
            return ".".join(self.parts)
        joined = ".".join(self.path)
        if self.namespace == "item":
            return f"{self.item_name}.{joined}"
        if self.namespace == "score":
            return f"score.{joined}"
        if len(self.path) == 1 and not isinstance(self.type, ListType | RecordType):
            return f"account.{joined}"
        return joined


@dataclass(frozen=True, slots=True, kw_only=True)
class ListOf(Node):
    """A list of fixed values on the right of ``in`` / ``not in``."""

    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Unary(Node):
    op: Literal["not", "-", "+"]
    operand: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Arith(Node):
    op: Literal["+", "-", "*", "/"]
    left: Node
    right: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Logic(Node):
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


CompareOp = Literal["==", "!=", "<", "<=", ">", ">=", "in", "not in"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Compare(Node):
    """A comparison, possibly chained: ``operands[i] ops[i] operands[i + 1]`` for each i."""

    ops: tuple[CompareOp, ...]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Choose(Node):
    """``body if test else orelse``."""

    body: Node
    test: Node
    orelse: Node


@dataclass(frozen=True, slots=True, kw_only=True)
class Call(Node):
    """A call of one of the fixed functions with scalar arguments."""

    name: str
    args: tuple[Node, ...]


AggregateName = Literal["count", "any", "all", "none", "distinct", "sum", "min", "max", "max_share"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate(Node):
    """An aggregate over a list; produced by the type checker from a :class:`Call`.

    ``items`` is the checked list path and ``level`` the nesting of this aggregate (1 for
    the outermost): inside ``value`` and ``where``, item fields of this level are the
    current element. ``value`` is the per-item expression (``distinct``, ``sum``, ``min``,
    ``max``, ``max_share``) and ``where`` the per-item condition.
    """

    name: AggregateName
    items: Field
    level: int
    value: Node | None
    where: Node | None

    @property
    def label(self) -> str:
        return render(self)


# -- canonical text -------------------------------------------------------------------
# Evidence labels must not depend on how a policy owner spaced or quoted an expression,
# so aggregates are labelled by re-rendering the checked tree.

_PRECEDENCE = {"if": 1, "or": 2, "and": 3, "not": 4, "compare": 5, "+": 6, "-": 6, "*": 7, "/": 7}
_UNARY = 8
_ATOM = 9


def _precedence(node: Node) -> int:
    if isinstance(node, Choose):
        return _PRECEDENCE["if"]
    if isinstance(node, Logic):
        return _PRECEDENCE[node.op]
    if isinstance(node, Unary):
        return _PRECEDENCE["not"] if node.op == "not" else _UNARY
    if isinstance(node, Compare):
        return _PRECEDENCE["compare"]
    if isinstance(node, Arith):
        return _PRECEDENCE[node.op]
    if isinstance(node, Constant) and isinstance(node.value, int | float) and node.value < 0:
        return _UNARY
    return _ATOM


def _wrap(node: Node, needs: bool, level: int) -> str:
    text = render(node, level)
    return f"({text})" if needs else text


def render_constant(value: ConstantValue) -> str:
    """A value written the way a policy owner would write it in an expression."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return f"date('{value.isoformat()}')"
    return repr(value)


def render(node: Node, level: int = 0) -> str:
    """The canonical source text of a (checked) node.

    ``level`` is the nesting of the innermost aggregate around ``node``. In a single
    aggregate a field of its item is written bare (``count(contacts, role == 'user')``);
    inside nested aggregates every item field is written with its item name
    (``sign_off.member == member.name``), which reads unambiguously and is how the checker
    resolves them back.
    """
    if isinstance(node, Constant):
        return render_constant(node.value)
    if isinstance(node, Field):
        if node.namespace == "item" and node.level == level == 1:
            return ".".join(node.path)
        return node.label
    if isinstance(node, ListOf):
        return "[" + ", ".join(render(i, level) for i in node.items) + "]"
    own = _precedence(node)
    if isinstance(node, Unary):
        sep = " " if node.op == "not" else ""
        return f"{node.op}{sep}{_wrap(node.operand, _precedence(node.operand) < own, level)}"
    if isinstance(node, Arith):
        left = _wrap(node.left, _precedence(node.left) < own, level)
        right = _wrap(node.right, _precedence(node.right) <= own, level)
        return f"{left} {node.op} {right}"
    if isinstance(node, Logic):
        return f" {node.op} ".join(_wrap(o, _precedence(o) <= own, level) for o in node.operands)
    if isinstance(node, Compare):
        parts = [_wrap(node.operands[0], _precedence(node.operands[0]) <= own, level)]
        for op, operand in zip(node.ops, node.operands[1:], strict=True):
            parts.append(f"{op} {_wrap(operand, _precedence(operand) <= own, level)}")
        return " ".join(parts)
    if isinstance(node, Choose):
        body = _wrap(node.body, _precedence(node.body) <= own, level)
        test = _wrap(node.test, _precedence(node.test) <= own, level)
        return f"{body} if {test} else {_wrap(node.orelse, _precedence(node.orelse) < own, level)}"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(render(a, level) for a in node.args)})"
    if isinstance(node, Aggregate):
        args = [render(node.items, level)]
        args += [render(a, node.level) for a in (node.value, node.where) if a is not None]
        return f"{node.name}({', '.join(args)})"
    raise TypeError(f"cannot render {type(node).__name__}")  # pragma: no cover


def children(node: Node) -> tuple[Node, ...]:
    """Child nodes in source order (so evidence is listed as written)."""
    if isinstance(node, Unary):
        return (node.operand,)
    if isinstance(node, Arith):
        return (node.left, node.right)
    if isinstance(node, Logic):
        return node.operands
    if isinstance(node, Compare):
        return node.operands
    if isinstance(node, Choose):
        return (node.body, node.test, node.orelse)
    if isinstance(node, Call):
        return node.args
    if isinstance(node, ListOf):
        return node.items
    if isinstance(node, Aggregate):
        return tuple(n for n in (node.items, node.value, node.where) if n is not None)
    return ()
