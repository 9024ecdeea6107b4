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

from kamrules.facts.types import FactType


@dataclass(frozen=True, slots=True)
class NullType:
    """The type of the ``null`` literal, which only makes sense as one branch of ``if``."""

    def describe(self) -> str:
        return "null"


NULL = NullType()

ExprType = FactType | NullType

Namespace = Literal["account", "plan", "score", "item"]
"""Where a resolved field is read: ``item`` is the current element inside an aggregate
(or the record itself when an expression is compiled for an item type)."""

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
    """A fact read by path. Before checking, ``namespace`` is what was written before the
    dot (or None for a bare name); after checking it is one of :data:`Namespace`."""

    namespace: str | None
    name: str
    item_name: str = "contact"

    @property
    def label(self) -> str:
        if self.namespace == "item":
            return f"{self.item_name}.{self.name}"
        if self.namespace is None:
            return f"account.{self.name}"
        return f"{self.namespace}.{self.name}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Contacts(Node):
    """The ``contacts`` list; only valid as the first argument of an aggregate."""


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


AggregateName = Literal["count", "any", "all", "distinct", "sum", "min", "max"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Aggregate(Node):
    """An aggregate over ``contacts``; produced by the type checker from a :class:`Call`.

    ``value`` is the per-item expression (``distinct``, ``sum``, ``min``, ``max``) and
    ``where`` the per-item condition (``count``, ``any``, ``all``, ``distinct``).
    """

    name: AggregateName
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


def _wrap(node: Node, needs: bool) -> str:
    text = render(node)
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


def render(node: Node) -> str:
    """The canonical source text of a (checked) node."""
    if isinstance(node, Constant):
        return render_constant(node.value)
    if isinstance(node, Field):
        return node.name if node.namespace == "item" else node.label
    if isinstance(node, Contacts):
        return "contacts"
    if isinstance(node, ListOf):
        return "[" + ", ".join(render(i) for i in node.items) + "]"
    own = _precedence(node)
    if isinstance(node, Unary):
        sep = " " if node.op == "not" else ""
        return f"{node.op}{sep}{_wrap(node.operand, _precedence(node.operand) < own)}"
    if isinstance(node, Arith):
        left = _wrap(node.left, _precedence(node.left) < own)
        right = _wrap(node.right, _precedence(node.right) <= own)
        return f"{left} {node.op} {right}"
    if isinstance(node, Logic):
        return f" {node.op} ".join(_wrap(o, _precedence(o) <= own) for o in node.operands)
    if isinstance(node, Compare):
        parts = [_wrap(node.operands[0], _precedence(node.operands[0]) <= own)]
        for op, operand in zip(node.ops, node.operands[1:], strict=True):
            parts.append(f"{op} {_wrap(operand, _precedence(operand) <= own)}")
        return " ".join(parts)
    if isinstance(node, Choose):
        body = _wrap(node.body, _precedence(node.body) <= own)
        test = _wrap(node.test, _precedence(node.test) <= own)
        return f"{body} if {test} else {_wrap(node.orelse, _precedence(node.orelse) < own)}"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(render(a) for a in node.args)})"
    if isinstance(node, Aggregate):
        args = ["contacts"] + [render(a) for a in (node.value, node.where) if a is not None]
        return f"{node.name}({', '.join(args)})"
    raise TypeError(f"cannot render {type(node).__name__}")  # pragma: no cover
