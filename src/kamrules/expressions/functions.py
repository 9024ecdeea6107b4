"""The fixed set of functions: what each is called with, what it gives, how it runs.

The set is closed on purpose: these names are the only things an expression can call, so
what a rule can do is exactly what this module lists. Type rules run at load time; the
runtime helpers are the only objects (besides constants) in a compiled expression's globals.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kamrules.errors import ExpressionError
from kamrules.expressions.nodes import NULL, Constant, ExprType, Node
from kamrules.facts.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    CategoryType,
    ListType,
    RecordType,
    ScalarType,
)
from kamrules.suggestions import did_you_mean


@dataclass(frozen=True, slots=True)
class FunctionInfo:
    """One callable name as documentation lists it."""

    name: str
    usage: str
    doc: str


def _info(*rows: tuple[str, str, str]) -> dict[str, FunctionInfo]:
    return {name: FunctionInfo(name, usage, doc) for name, usage, doc in rows}


FUNCTIONS: Mapping[str, FunctionInfo] = _info(
    ("abs", "abs(number)", "The number without its sign."),
    (
        "add_days",
        "add_days(date, days)",
        "The date moved by a whole number of days (back when negative); unknown when either is missing.",
    ),
    (
        "all",
        "all(list, condition)",
        "True when the condition holds for every item of the list (also when there are none).",
    ),
    ("any", "any(list, condition)", "True when the condition holds for at least one item of the list."),
    ("clamp", "clamp(number, low, high)", "The number limited to the range low..high."),
    ("coalesce", "coalesce(value, default)", "The value, or the default when it is missing."),
    (
        "count",
        "count(list) or count(list, condition)",
        "How many items the list has, or how many meet the condition.",
    ),
    ("date", "date('YYYY-MM-DD')", "A fixed date."),
    (
        "days_since",
        "days_since(date)",
        "Whole days from the date to the as-of date; unknown when the date is missing.",
    ),
    (
        "days_until",
        "days_until(date)",
        "Whole days from the as-of date to the date; unknown when the date is missing.",
    ),
    (
        "distinct",
        "distinct(list, value) or distinct(list, value, condition)",
        "How many different known values the items (meeting the condition) have.",
    ),
    ("lower", "lower(text)", "The text in lower case."),
    (
        "max",
        "max(a, b, ...) or max(list, value) or max(list, value, condition)",
        "The largest of the numbers or dates; over a list, unknown when no item (meeting the condition) has a value.",
    ),
    (
        "max_share",
        "max_share(list, value) or max_share(list, value, condition)",
        "The share (0 to 1) of the items (meeting the condition) that have the most common known "
        "value, such as the share of relationships held by the busiest team member; 0 when there "
        "are none.",
    ),
    (
        "min",
        "min(a, b, ...) or min(list, value) or min(list, value, condition)",
        "The smallest of the numbers or dates; over a list, unknown when no item (meeting the condition) has a value.",
    ),
    ("missing", "missing(value)", "True when the value is missing (never unknown)."),
    (
        "none",
        "none(list, condition)",
        "True when the condition holds for no item of the list (also when there are none).",
    ),
    ("present", "present(value)", "True when the value is known (never unknown)."),
    (
        "sum",
        "sum(list, number) or sum(list, number, condition)",
        "The total of a number over the items (meeting the condition), missing ones skipped.",
    ),
    ("today", "today()", "The as-of date of the evaluation (there is no hidden clock)."),
)
"""Every name an expression can call. An aggregate's list is any list path (``contacts``,
``team``, ``plan.objectives``, ...); when the list lies under a record that is missing
(no plan), the aggregate is unknown rather than 0."""

AGGREGATES = frozenset({"count", "any", "all", "none", "distinct", "sum", "min", "max", "max_share"})
"""Functions that take a list first (``min``/``max`` also work on plain numbers)."""

MAX_NESTING = 3
"""How deeply aggregates may be nested (``all(team, any(plan.sign_offs, ...))`` is 2)."""

_ARITY: dict[str, tuple[int, int | None]] = {
    "abs": (1, 1),
    "add_days": (2, 2),
    "clamp": (3, 3),
    "coalesce": (2, 2),
    "date": (1, 1),
    "days_since": (1, 1),
    "days_until": (1, 1),
    "lower": (1, 1),
    "max": (2, None),
    "min": (2, None),
    "missing": (1, 1),
    "present": (1, 1),
    "today": (0, 0),
    # aggregates, counting the list argument
    "count": (1, 2),
    "any": (2, 2),
    "all": (2, 2),
    "none": (2, 2),
    "distinct": (2, 3),
    "sum": (2, 3),
    "max_share": (2, 3),
}
_AGGREGATE_ARITY = {"min": (2, 3), "max": (2, 3)}


def known_functions() -> str:
    return ", ".join(FUNCTIONS)


def check_arity(name: str, count: int, offset: int, *, aggregate: bool = False) -> None:
    low, high = (_AGGREGATE_ARITY if aggregate and name in _AGGREGATE_ARITY else _ARITY)[name]
    if count < low or (high is not None and count > high):
        raise ExpressionError(
            f"{name}() was given {count} argument{'s' if count != 1 else ''}; write {FUNCTIONS[name].usage}",
            offset,
        )


# -- type vocabulary --------------------------------------------------------------------


def is_number(t: ExprType | None) -> bool:
    return isinstance(t, ScalarType) and t.kind in ("number", "integer")


def is_textual(t: ExprType | None) -> bool:
    return t == TEXT or isinstance(t, CategoryType)


def noun(t: ExprType | None) -> str:
    """The type as a phrase for messages read by policy owners, not programmers."""
    if isinstance(t, ScalarType):
        return {
            "number": "a number",
            "integer": "a number",
            "text": "text",
            "boolean": "true or false",
            "date": "a date",
        }[t.kind]
    if isinstance(t, CategoryType):
        return f"a {t.name} value"
    if isinstance(t, ListType):
        return f"a list of {t.item.name}s"
    if isinstance(t, RecordType):
        return f"a {t.name}"
    return "null"


def check_category_value(category: CategoryType, literal: Node) -> None:
    """A text literal compared with (or standing in for) a category must be one of its
    values: the typo ``'hihg'`` would otherwise silently never match."""
    assert isinstance(literal, Constant) and isinstance(literal.value, str)
    if literal.value not in category.values:
        raise ExpressionError(
            f"'{literal.value}' is not a {category.name} value ({', '.join(category.values)})",
            literal.offset,
            did_you_mean(literal.value, category.values),
        )


def is_text_literal(node: Node) -> bool:
    return isinstance(node, Constant) and isinstance(node.value, str)


def unify(a: Node, b: Node, conflict: Callable[[], ExpressionError]) -> ExprType:
    """The one type two alternative results share (``if``/``else``, ``coalesce``)."""
    ta, tb = a.type, b.type
    assert ta is not None and tb is not None
    if ta == NULL:
        return tb
    if tb == NULL:
        return ta
    if ta == tb:
        return ta
    if is_number(ta) and is_number(tb):
        return NUMBER
    if isinstance(ta, CategoryType) and is_text_literal(b):
        check_category_value(ta, b)
        return ta
    if isinstance(tb, CategoryType) and is_text_literal(a):
        check_category_value(tb, a)
        return tb
    if is_textual(ta) and is_textual(tb):
        return TEXT
    raise conflict()


# -- type rules of the scalar functions ---------------------------------------------------

Rule = Callable[[Node, Sequence[Node]], tuple[ExprType, bool]]


def _need(name: str, arg: Node, ok: bool, what: str) -> None:
    if not ok:
        hint = None
        if what == "a date" and is_text_literal(arg):
            hint = f"write date('{arg.value}') for a date"  # type: ignore[attr-defined]
        raise ExpressionError(f"{name}() needs {what}, but it is given {noun(arg.type)}", arg.offset, hint)


def _days(name: str) -> Rule:
    def rule(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
        _need(name, args[0], args[0].type == DATE, "a date")
        return INTEGER, args[0].nullable

    return rule


def _add_days(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
    _need("add_days", args[0], args[0].type == DATE, "a date")
    days = args[1]
    if days.type != INTEGER:
        raise ExpressionError(
            f"add_days() needs a whole number of days, but it is given {noun(days.type)}", days.offset
        )
    return DATE, args[0].nullable or days.nullable


def _today(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
    return DATE, False


def _presence(name: str) -> Rule:
    def rule(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
        if args[0].type == NULL:
            raise ExpressionError(f"{name}() needs a fact, not null", args[0].offset)
        return BOOLEAN, False

    return rule


def _coalesce(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
    value, default = args
    if value.type == NULL:
        raise ExpressionError("coalesce() needs a fact as its first argument, not null", value.offset)

    def conflict() -> ExpressionError:
        return ExpressionError(
            f"the default of coalesce() must be {noun(value.type)} like the value, but it is {noun(default.type)}",
            default.offset,
        )

    return unify(value, default, conflict), value.nullable and default.nullable


def _abs(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
    _need("abs", args[0], is_number(args[0].type), "a number")
    assert args[0].type is not None
    return args[0].type, args[0].nullable


def _extreme(name: str) -> Rule:
    def rule(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
        if all(a.type == DATE for a in args):
            return DATE, any(a.nullable for a in args)
        for arg in args:
            _need(name, arg, is_number(arg.type), "numbers (or dates)")
        kind = INTEGER if all(a.type == INTEGER for a in args) else NUMBER
        return kind, any(a.nullable for a in args)

    return rule


def _clamp(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
    for arg in args:
        _need("clamp", arg, is_number(arg.type), "numbers")
    low, high = args[1], args[2]
    if (
        isinstance(low, Constant) and isinstance(high, Constant) and low.value > high.value  # type: ignore[operator]
    ):
        raise ExpressionError("clamp() needs its low limit to be at most its high limit", low.offset)
    kind = INTEGER if all(a.type == INTEGER for a in args) else NUMBER
    return kind, any(a.nullable for a in args)


def _lower(call: Node, args: Sequence[Node]) -> tuple[ExprType, bool]:
    _need("lower", args[0], is_textual(args[0].type), "text")
    return TEXT, args[0].nullable


SCALAR_RULES: dict[str, Rule] = {
    "abs": _abs,
    "add_days": _add_days,
    "clamp": _clamp,
    "coalesce": _coalesce,
    "days_since": _days("days_since"),
    "days_until": _days("days_until"),
    "lower": _lower,
    "max": _extreme("max"),
    "min": _extreme("min"),
    "missing": _presence("missing"),
    "present": _presence("present"),
    "today": _today,
}


def parse_date(arg: Node) -> dt.date:
    """The value of ``date('YYYY-MM-DD')``, checked when the rulebook loads."""
    if not is_text_literal(arg):
        raise ExpressionError(
            "date() needs a date written in quotes as 'YYYY-MM-DD', such as date('2026-01-31')",
            arg.offset,
        )
    assert isinstance(arg, Constant) and isinstance(arg.value, str)
    text = arg.value
    shaped = len(text) == 10 and text[4] == "-" and text[7] == "-"
    digits = text[:4] + text[5:7] + text[8:]
    if not (shaped and digits.isascii() and digits.isdigit()):
        raise ExpressionError(
            f"'{text}' is not a date written as 'YYYY-MM-DD', such as date('2026-01-31')",
            arg.offset,
        )
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExpressionError(f"'{text}' is not a valid date", arg.offset) from None


def aggregate_type(name: str, item: str, value: Node | None, where: Node | None) -> tuple[ExprType, bool]:
    """The result type of an aggregate over items named ``item`` whose per-item arguments
    are already checked; ``nullable`` here ignores a missing list (the caller adds it)."""
    if where is not None and where.type != BOOLEAN:
        raise ExpressionError(
            f"the condition of {name}() must be true or false, but it gives {noun(where.type)}",
            where.offset,
        )
    if name in ("count", "distinct", "max_share"):
        if value is not None and not isinstance(value.type, ScalarType | CategoryType):
            raise ExpressionError(f"{name}() needs a value of each {item}, not {noun(value.type)}", value.offset)
        return (NUMBER if name == "max_share" else INTEGER), False
    if name in ("any", "all", "none"):
        return BOOLEAN, False
    assert value is not None
    if name == "sum":
        _need("sum", value, is_number(value.type), f"a number of each {item}")
        return (INTEGER if value.type == INTEGER else NUMBER), False
    if value.type == DATE:
        return DATE, True
    _need(name, value, is_number(value.type), f"a number or date of each {item}")
    return (INTEGER if value.type == INTEGER else NUMBER), True


# -- runtime helpers ------------------------------------------------------------------------
# Missing values are skipped by sum/min/max/distinct: an aggregate summarises what is known.


def _max_share(values: list[Any]) -> float:
    """The share of ``values`` equal to the most common value other than None."""
    if not values:
        return 0.0
    counts = Counter(values)
    counts.pop(None, None)
    return max(counts.values(), default=0) / len(values)


def _day_cutoff(as_of: dt.date, days: int) -> dt.date:
    """``as_of`` moved by ``days``, clamped to the range of dates: a day-count comparison
    against a cutoff beyond that range has the same answer for every date as against the
    first or last date (see ``_Generator.day_count_link``)."""
    try:
        return as_of + dt.timedelta(days=days)
    except OverflowError:
        return dt.date.min if days < 0 else dt.date.max


def _value_counts(values: Iterable[Any]) -> dict[Any, int]:
    """How often each value other than None occurs, for a count made once per outer item."""
    counts = Counter(values)
    counts.pop(None, None)
    return counts


_NONE: frozenset[None] = frozenset((None,))

RUNTIME: dict[str, object] = {
    "_len": len,
    "_any": any,
    "_sum": sum,
    "_min": min,
    "_max": max,
    "_abs": abs,
    "_max_share": _max_share,
    "_timedelta": dt.timedelta,
    "_NONE": _NONE,
    "_value_counts": _value_counts,
    "_day_cutoff": _day_cutoff,
    "_UNSET": object(),
    "_Overflow": OverflowError,
}
"""The globals of every compiled expression (plus its constants); ``__builtins__`` is empty.

Aggregates are generated as comprehensions in the expression's own code (one Python call
per aggregate, not per item); only ``max_share`` counts through a helper, and that helper
runs once per aggregate over the values the comprehension collected. The value counts
serve an inner count turned into a lookup (see ``_Generator.lookup``)."""
