"""Checked expression trees to Python functions, generated once per rulebook.

A rulebook is evaluated for every account of a portfolio, so an expression is turned into
straight-line Python source and compiled with ``compile()``: no tree walking, no dispatch
per node at run time. Missing-value (three-valued) handling is emitted only where the type
checker found that a value can be missing, so the common case is plain Python.

Aggregates become comprehensions in the function itself, with their condition inlined
(``_len([0 for i1 in r.contacts if (i1.key_player and (i1.stance in _k0))])``): one
Python-level call per aggregate, none per item. Whatever an aggregate's items do not change
(account and plan facts, scores, an inner aggregate that reads no outer item) is computed
once, before the loops. A score compared with a number literal is compared in integers
(``n >= 50 * d``), since comparing a ``Fraction`` costs hundreds of nanoseconds.

The generated source never contains user text: attribute names come from the validated
schema, text literals are written with ``repr`` and other values (dates, value sets) are
passed as constants in the function's globals, which otherwise hold only the runtime
helpers and an empty ``__builtins__``.
"""

from __future__ import annotations

import datetime as dt
import functools
import keyword
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Literal

from kamrules.errors import ExpressionError
from kamrules.expressions.functions import RUNTIME, is_number, noun
from kamrules.expressions.nodes import (
    NULL,
    Aggregate,
    Arith,
    Call,
    Choose,
    Compare,
    Constant,
    ConstantValue,
    ExprType,
    Field,
    ListOf,
    Logic,
    Node,
    NullType,
    Unary,
    children,
)
from kamrules.expressions.parser import parse
from kamrules.expressions.typecheck import TypeChecker
from kamrules.facts.schema import FactSchema
from kamrules.facts.types import BOOLEAN, CategoryType, FactType, ListType, RecordType, ScalarType

Evaluate = Callable[[Any, Mapping[str, Fraction] | None, dt.date], tuple[Any, tuple[Any, ...]]]
AssignFacts = Callable[[Iterable[Any], Mapping[str, Fraction] | None, dt.date], None]
FindItems = Callable[[Any, Mapping[str, Fraction] | None, dt.date], list[Any]]


@dataclass(frozen=True, slots=True)
class ItemFinder:
    """Which items of a list made an expression false through one of its aggregates.

    The evidence of ``all(...)``, ``none(...)`` or ``any(...)`` is one true or false; an
    account manager needs to know which contacts, sign-offs or metrics to act on.
    ``find(record, scores, as_of)`` gives them in list order, and the explanation asks only
    when the aggregate's value is ``blames``; it never runs on the hot path.

    An aggregate is blamed only where its value can make the whole expression false: an
    ``all`` or ``none`` under ``and``/``or`` that is false (the items failing the ``all``,
    matching the ``none``), an ``any`` under ``not`` that is true (the items matching it).
    Anywhere else (inside a comparison, or an ``all`` under ``not``) no item is to blame.
    """

    items: str
    """The list, as its canonical path (``contacts``, ``plan.sign_offs``)."""
    item: RecordType
    find: FindItems
    blames: bool
    """The aggregate's value at which its items are to blame."""


@dataclass(frozen=True, slots=True)
class CompiledExpression:
    """An expression ready to run: ``evaluate(record, scores, as_of)`` gives the value and
    the values of the evidence terms, aligned with ``evidence``.

    ``nullable`` says whether the value may be None (unknown) because a fact it reads may be
    missing or a divisor may be zero. (A result beyond the range of floats also gives None.)
    """

    source: str
    type: FactType
    nullable: bool
    evidence: tuple[str, ...]
    evaluate: Evaluate
    finders: Mapping[str, ItemFinder] = field(default_factory=dict)
    """For each evidence term that is an ``all`` or ``none`` aggregate: its item finder."""
    lists: Mapping[str, str] = field(default_factory=dict)
    """For each evidence term that is an aggregate over an account's list: that list's path,
    so that an unknown ``min(plan.reviews, date)`` can be explained by an empty list."""


def compile_expression(
    source: str,
    schema: FactSchema,
    *,
    expect: Literal["boolean", "number", "any"] = "any",
    allow_scores: bool = True,
    item: RecordType | None = None,
) -> CompiledExpression:
    """Parse, check and compile ``source``; every problem is an :class:`ExpressionError`.

    With ``item``, the record evaluated is itself an item of that type (such as one
    contact): bare names and ``<item name>.x`` read its fields, and account facts are out
    of reach.
    """
    tree = parse(source)
    checked = TypeChecker(schema, allow_scores=allow_scores, item=item).check(tree)
    kind = checked.type
    if kind == NULL or kind is None:
        raise ExpressionError(
            "null alone is not a rule; use it as one result of if/else, such as x if present(x) else null",
            checked.offset,
        )
    if expect == "boolean" and kind != BOOLEAN:
        raise ExpressionError(
            f"this expression gives {noun(kind)}, but a condition must be true or false",
            checked.offset,
        )
    if expect == "number" and not is_number(kind):
        raise ExpressionError(f"this expression gives {noun(kind)}, but it must give a number", checked.offset)
    assert not isinstance(kind, NullType)
    generator = _Generator()
    evidence, function = generator.build(checked)
    finders = {}
    for label, negated in _polarities(checked).items():
        node = generator.terms[label][1]
        if not isinstance(node, Aggregate) or node.where is None or not isinstance(node.items.type, ListType):
            continue
        if node.name in ("all", "none") and not negated:
            finders[label] = ItemFinder(node.items.label, node.items.type.item, _Generator().build_finder(node), False)
        elif node.name == "any" and negated:
            finders[label] = ItemFinder(node.items.label, node.items.type.item, _Generator().build_finder(node), True)
    lists = {
        label: node.items.label
        for label, (_, node) in generator.terms.items()
        if isinstance(node, Aggregate) and node.items.namespace == "account"
    }
    return CompiledExpression(source, kind, checked.nullable, evidence, function, finders, lists)


def compile_item_facts(definitions: Mapping[str, str], schema: FactSchema, item: RecordType) -> AssignFacts:
    """Derived facts of the items of a list (a contact's ``key_player``), each defined by an
    item-mode expression, as one function ``assign(items, scores, as_of)`` that computes
    them all for every item and stores them on the item.

    A relationship map may hold thousands of contacts; one generated loop for all the
    definitions costs a fraction of a call per contact and definition. The definitions are
    the rulebook's, already checked with :func:`compile_expression`.
    """
    roots = {
        name: TypeChecker(schema, allow_scores=False, item=item).check(parse(source))
        for name, source in definitions.items()
    }
    return _Generator().build_assignments(roots)


@dataclass(frozen=True, slots=True)
class _Code:
    """Generated source for a node; ``simple`` code (a local or a literal) can be repeated
    without evaluating anything twice."""

    text: str
    nullable: bool
    simple: bool = False


_MAX_DAYS = 999_999_999
"""The most days a ``timedelta`` holds."""


def _attribute(name: str) -> str:
    # Names reach here only after resolution against the schema; checking again keeps the
    # guarantee local: nothing but a plain public identifier is ever spliced into code.
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise ExpressionError(f"the fact name '{name}' cannot be used in an expression", 0)
    return name


def _is_number_literal(node: Node) -> bool:
    return isinstance(node, Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool)


class _Generator:
    """Generates one expression's function.

    Layout of the generated code: reads of the evidence terms (the facts and aggregates
    written outside any aggregate) and of everything an aggregate's items do not change
    (account and plan facts, scores, inner aggregates that do not read an outer item) are
    hoisted to locals at the top, each computed once; aggregates are comprehensions over
    the list with the condition inlined, the item of nesting level k being ``i<k>``.
    """

    def __init__(self) -> None:
        self.globals: dict[str, object] = dict(RUNTIME)
        self.constants: dict[tuple[type, object], str] = {}
        self.counter = 0
        self.terms: dict[str, tuple[str, Node]] = {}
        self.defined: dict[str, str] = {}
        self.safe: list[str] = []
        self.setup: list[str] = []
        """Lines that depend on the as-of date alone (day cutoffs): first, outside any loop."""
        """Lines that cannot fail: reads of facts, records and scores."""
        self.risky: list[str] = []
        """Lines that may overflow: aggregates (their conditions may compute)."""
        self.free_levels: dict[int, frozenset[int]] = {}
        self.uses_arithmetic = False
        self.assume_known = False

    # -- assembly ---------------------------------------------------------------------------

    def build(self, root: Node) -> tuple[tuple[str, ...], Evaluate]:
        body = self.body(root, lambda value, terms: f"return ({value}, {terms})")
        lines = ["def _expr(r, s, as_of):", *[f"    {line}" for line in [*self.setup, *body]]]
        return tuple(self.terms), self.function(lines)

    def build_assignments(self, roots: Mapping[str, Node]) -> AssignFacts:
        """One loop over a list that computes each item-mode expression of ``roots`` for
        every item and stores it as the item's fact of that name."""
        lines = []
        for name, root in roots.items():
            self.terms, self.defined, self.safe, self.risky = {}, {}, [], []
            self.free_levels, self.uses_arithmetic, self.assume_known = {}, False, False
            store = functools.partial(_store, f"_d[{_attribute(name)!r}]")
            lines += [f"        {line}" for line in self.body(root, store)]
        head = ["def _expr(rs, s, as_of):", *[f"    {line}" for line in self.setup], "    for r in rs:"]
        function: AssignFacts = self.function([*head, "        _d = r.__dict__", *lines])
        return function

    def build_finder(self, node: Aggregate) -> FindItems:
        """The items for which an ``all`` aggregate's condition is not true (false or
        unknown, as ``all`` counts them), or an ``any`` or ``none`` aggregate's is. A list of
        a missing record, or arithmetic beyond range, finds nothing."""
        assert node.where is not None
        k = node.level
        items, missing = self.source(node.items)
        where = self.emit(node.where, k, truthy=True).text
        test = f"not ({where})" if node.name == "all" else where
        found = f"[i{k} for i{k} in {items} if {test}]"
        if missing is not None:
            found = f"([] if {missing} else {found})"
        lines = ["def _expr(r, s, as_of):", *[f"    {line}" for line in [*self.setup, *self.safe]]]
        if self.uses_arithmetic:
            lines += ["    try:", *[f"        {line}" for line in self.risky], f"        return {found}"]
            lines += ["    except _Overflow:", "        return []"]
        else:
            lines += [*[f"    {line}" for line in self.risky], f"    return {found}"]
        function: FindItems = self.function(lines)
        return function

    def body(self, root: Node, final: Callable[[str, str], str]) -> list[str]:
        """The lines computing ``root`` from ``r``, ending in ``final(value, evidence)``."""
        self.collect(root)
        for _, term in self.terms.values():
            assert isinstance(term, Field | Aggregate)
            self.define(term)
        careful = self.emit(root, 0).text
        # Most facts are optional, so most expressions need missing-value handling; but on
        # most records the facts are there. A second version of the value assumes every
        # evidence term is known and is used when a quick test says so.
        self.assume_known = True
        quick = self.emit(root, 0).text
        unknowable = [temp for temp, node in self.terms.values() if node.nullable]
        temps = [temp for temp, _ in self.terms.values()]
        evidence = f"({', '.join(temps)},)" if temps else "()"

        test = " or ".join(f"{t} is None" for t in unknowable)

        def result(indent: str, final: Callable[[str], str]) -> list[str]:
            if not unknowable or quick == careful:
                return [indent + final(careful)]
            return [
                f"{indent}if {test}:",
                f"{indent}    {final(careful)}",
                f"{indent}else:",
                f"{indent}    {final(quick)}",
            ]

        lines = list(self.safe)
        if self.uses_arithmetic:
            # Only arithmetic can fail at run time (a result beyond the range of floats or
            # dates); such a result is unknown, like a division by zero.
            lines += [f"{t} = None" for t, node in self.terms.values() if isinstance(node, Aggregate)]
            lines.append("try:")
            lines += [f"    {line}" for line in self.risky]
            lines += result("    ", lambda value: f"v0 = {value}")
            lines += ["except _Overflow:", "    v0 = None", final("v0", evidence)]
        else:
            lines += self.risky
            lines += result("", lambda value: final(value, evidence))
        return lines

    def function(self, lines: list[str]) -> Any:
        """Compile the generated lines; the function is ``_expr`` in the generated code."""
        source = "\n".join(lines) + "\n"
        namespace: dict[str, Any] = {**self.globals, "__builtins__": {}}
        try:
            code = compile(source, "<kamrules expression>", "exec")
        except (RecursionError, MemoryError, SyntaxError) as exc:
            # The size limits keep generated code far below Python's own nesting limits; this
            # is a last line of defence so that input can only ever cause an ExpressionError.
            # Any other syntax error in generated code is a bug and is not disguised.
            if isinstance(exc, SyntaxError) and "nested" not in str(exc):
                raise
            raise ExpressionError("this expression is too complex to compile; split it into several rules", 0) from exc
        exec(code, namespace)
        function = namespace.pop("_expr")
        function.__doc__ = source  # shown when debugging a rule; costs nothing at run time
        return function

    def collect(self, node: Node) -> None:
        """Evidence terms in order of first appearance: facts read outside aggregates, and
        the aggregates themselves."""
        if isinstance(node, Field | Aggregate):
            label = node.label
            if label not in self.terms:
                self.terms[label] = (f"t{len(self.terms)}", node)
            return
        for child in children(node):
            self.collect(child)

    def define(self, node: Field | Aggregate) -> str:
        """The local holding ``node``'s value, computed once at the top of the function
        (``node`` must not read the item of any aggregate)."""
        label = node.label
        if label in self.defined:
            return self.defined[label]
        name = self.terms[label][0] if label in self.terms else self.local("h")
        if isinstance(node, Field):
            self.safe.append(f"{name} = {self.read(node, 0)}")
        else:
            self.risky.append(f"{name} = {self.aggregate(node).text}")
        self.defined[label] = name
        return name

    def free(self, node: Node) -> frozenset[int]:
        """The aggregate levels whose item ``node`` reads without binding it itself."""
        key = id(node)
        if key not in self.free_levels:
            if isinstance(node, Field):
                levels = frozenset((node.level,)) if node.namespace == "item" and node.level else frozenset()
            else:
                levels = frozenset().union(*(self.free(c) for c in children(node)))
                if isinstance(node, Aggregate):
                    levels -= {node.level}
            self.free_levels[key] = levels
        return self.free_levels[key]

    # -- helpers ----------------------------------------------------------------------------

    def var(self) -> str:
        self.counter += 1
        return f"v{self.counter}"

    def local(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def bind(self, code: _Code) -> tuple[str, str]:
        """Text that evaluates ``code`` once, and a name to refer to its value afterwards."""
        if code.simple:
            return code.text, code.text
        name = self.var()
        return f"({name} := {code.text})", name

    def constant(self, value: ConstantValue | frozenset[Any] | dt.timedelta) -> _Code:
        if value is None or isinstance(value, bool | int | float | str):
            text = repr(value)
            if text.startswith("-"):
                text = f"({text})"
            return _Code(text, value is None, simple=True)
        key = (type(value), value)
        if key not in self.constants:
            self.constants[key] = name = f"_k{len(self.constants)}"
            self.globals[name] = value
        return _Code(self.constants[key], False, simple=True)

    def guarded(self, codes: list[_Code], body: Callable[[list[str]], str], nullable: bool) -> _Code:
        """``body`` over the operands, or None as soon as a nullable operand is None."""
        conditions: list[str] = []
        refs: list[str] = []
        for code in codes:
            if code.nullable:
                first, ref = self.bind(code)
                conditions.append(f"{first} is None")
                refs.append(ref)
            else:
                refs.append(code.text)
        if not conditions:
            return _Code(body(refs), nullable)
        return _Code(f"(None if {' or '.join(conditions)} else {body(refs)})", nullable)

    # -- paths ------------------------------------------------------------------------------

    def record(self, path: tuple[str, ...]) -> str:
        """The local holding the record at ``path`` from ``r`` (None when it or a record on
        the way is missing), read once per evaluation."""
        key = "." + ".".join(path)
        if key not in self.defined:
            if len(path) == 1:
                text = f"r.{_attribute(path[0])}"
            else:
                parent = self.record(path[:-1])
                text = f"None if {parent} is None else {parent}.{_attribute(path[-1])}"
            self.defined[key] = name = self.local("p")
            self.safe.append(f"{name} = {text}")
        return self.defined[key]

    def walk(self, start: str, steps: tuple[str, ...]) -> str:
        """Null-safe reads of ``steps`` from the (known) object ``start``."""
        text = f"{start}.{_attribute(steps[0])}"
        for step in steps[1:]:
            name = self.var()
            text = f"(None if ({name} := {text}) is None else {name}.{_attribute(step)})"
        return text

    def read(self, node: Field, level: int) -> str:
        """Source that reads a fact: from ``r`` (the record; in item mode the item), ``s``
        (the scores) or ``i<k>`` (the item of the aggregate at level k)."""
        path = node.path
        if node.namespace == "score":
            return f"s[{_attribute(path[0])!r}]"
        if node.namespace == "item" and node.level:
            return self.walk(f"i{node.level}", path)
        if len(path) == 1:
            return f"r.{_attribute(path[0])}"
        base = self.record(path[:-1])
        return f"None if {base} is None else {base}.{_attribute(path[-1])}"

    def source(self, items: Field) -> tuple[str, str | None]:
        """The list an aggregate iterates, and the test (if any) that finds it missing
        because a record on its path is missing. Neither contains an assignment, which
        Python does not allow in a comprehension's iterable."""
        path = items.path
        if items.namespace == "item" and items.level:
            start = f"i{items.level}"
            if len(path) == 1:
                return f"{start}.{_attribute(path[0])}", None
            name = self.var()
            return f"{name}.{_attribute(path[-1])}", f"({name} := {self.walk(start, path[:-1])}) is None"
        if len(path) == 1:
            return f"r.{_attribute(path[0])}", None
        base = self.record(path[:-1])
        return f"{base}.{_attribute(path[-1])}", f"{base} is None"

    def emit(self, node: Node, level: int, truthy: bool = False) -> _Code:
        """Source for ``node`` inside ``level`` aggregates (0: outside any). With ``truthy``,
        only the truth of the result matters (an aggregate's condition, where unknown counts
        as not matching), which lets some missing-value checks go."""
        if isinstance(node, Constant):
            return self.constant(node.value)
        if isinstance(node, Field | Aggregate):
            if not level:
                known = self.assume_known or not node.nullable
                return _Code(self.terms[node.label][0], not known, simple=True)
            if not self.free(node):
                return _Code(self.define(node), node.nullable, simple=True)
            if isinstance(node, Field):
                return _Code(self.read(node, level), node.nullable)
            return self.aggregate(node)
        if isinstance(node, Unary):
            return self.unary(node, level, truthy)
        if isinstance(node, Arith):
            return self.arith(node, level)
        if isinstance(node, Logic):
            return self.logic(node, level, truthy)
        if isinstance(node, Compare):
            return self.compare(node, level, truthy)
        if isinstance(node, Choose):
            return self.choose(node, level)
        if isinstance(node, Call):
            return self.call(node, level)
        raise TypeError(f"cannot compile {type(node).__name__}")  # pragma: no cover

    def unary(self, node: Unary, level: int, truthy: bool) -> _Code:
        operand = self.emit(node.operand, level)
        if node.op == "+":
            return operand
        if node.op == "not":
            if not operand.nullable:
                return _Code(f"(not {operand.text})", False)
            if truthy:
                return _Code(self.falsy(node.operand, level), False)
            return self.guarded([operand], lambda r: f"(not {r[0]})", True)
        return self.guarded([operand], lambda r: f"(-{r[0]})", operand.nullable)

    def falsy(self, node: Node, level: int) -> str:
        """Code whose truth says that the condition ``node`` is false, not true or unknown:
        ``not x`` where only the truth matters (an aggregate's condition).

        Pushed through ``and``/``or`` by De Morgan, so that
        ``not (key_player and stance in [...])`` tests each part once for being false
        rather than computing the three-valued ``and`` first: this runs per contact.
        """
        if isinstance(node, Unary) and node.op == "not":
            return self.emit(node.operand, level, truthy=True).text
        if isinstance(node, Logic):
            joiner = " or " if node.op == "and" else " and "
            return "(" + joiner.join(self.falsy(o, level) for o in node.operands) + ")"
        if isinstance(node, Compare) and len(node.ops) == 1:
            day_count = self.day_count_link(node, level, negate=True)
            if day_count is not None:
                return day_count.text
            left, right = node.operands
            op = node.ops[0]
            if self.score_link(left, op, right, level) is None:
                codes = [
                    self.constant(frozenset(i.value for i in o.items if isinstance(i, Constant)))
                    if isinstance(o, ListOf)
                    else self.emit(o, level)
                    for o in node.operands
                ]
                # None (an operand unknown) is not true, as unknown is not false.
                return self.guarded(codes, lambda r: f"(not ({r[0]} {op} {r[1]}))", True).text
        code = self.emit(node, level)
        return f"(not {code.text})" if not code.nullable else f"({code.text} == False)"

    def arith(self, node: Arith, level: int) -> _Code:
        self.uses_arithmetic = True
        left, right = self.emit(node.left, level), self.emit(node.right, level)
        op = node.op
        if op != "/" or (isinstance(node.right, Constant) and node.right.value != 0):
            return self.guarded([left, right], lambda r: f"({r[0]} {op} {r[1]})", left.nullable or right.nullable)
        # Division by zero gives unknown: the divisor is bound once and tested.
        conditions: list[str] = []
        left_ref = left.text
        if left.nullable:
            first, left_ref = self.bind(left)
            conditions.append(f"{first} is None")
        first, right_ref = self.bind(right)
        if right.nullable:
            conditions += [f"{first} is None", f"{right_ref} == 0"]
        else:
            conditions.append(f"{first} == 0")
        return _Code(f"(None if {' or '.join(conditions)} else ({left_ref} / {right_ref}))", True)

    def logic(self, node: Logic, level: int, truthy: bool) -> _Code:
        return self.join(node.op, [self.emit(o, level, truthy) for o in node.operands], truthy)

    def join(self, op: Literal["and", "or"], codes: list[_Code], truthy: bool) -> _Code:
        nullable = any(c.nullable for c in codes)
        if truthy or not nullable:
            return _Code("(" + f" {op} ".join(c.text for c in codes) + ")", nullable)
        # Kleene logic: false decides `and` (true decides `or`) even when another operand
        # is unknown; otherwise any unknown operand makes the result unknown.
        decisive = "False" if op == "and" else "True"
        other = "True" if op == "and" else "False"
        tests: list[str] = []
        unknowns: list[str] = []
        for code in codes:
            if code.nullable:
                first, ref = self.bind(code)
                tests.append(f"{first} == {decisive}")
                unknowns.append(f"{ref} is None")
            else:
                tests.append(f"not {code.text}" if op == "and" else code.text)
        return _Code(
            f"({decisive} if {' or '.join(tests)} else (None if {' or '.join(unknowns)} else {other}))",
            True,
        )

    def compare(self, node: Compare, level: int, truthy: bool) -> _Code:
        day_count = self.day_count_link(node, level, negate=False)
        if day_count is not None:
            return day_count
        codes: list[_Code] = []
        for operand in node.operands:
            if isinstance(operand, ListOf):
                values = frozenset(i.value for i in operand.items if isinstance(i, Constant))
                codes.append(self.constant(values))
            else:
                codes.append(self.emit(operand, level))
        ops = node.ops
        exact = [self.score_link(node.operands[i], op, node.operands[i + 1], level) for i, op in enumerate(ops)]
        if len(ops) == 1 and exact[0] is not None:
            return _Code(exact[0], False)
        if not any(code.nullable for code in codes) and not any(exact):
            parts = [codes[0].text]
            for op, code in zip(ops, codes[1:], strict=True):
                parts.append(f"{op} {code.text}")
            return _Code(f"({' '.join(parts)})", False)
        if len(ops) == 1:
            left, right = codes
            op = ops[0]
            # Where unknown and false are the same, Python's own == and in already say
            # False for a missing value (neither side of == can be None at the same time).
            if truthy and (op == "in" or (op == "==" and not (left.nullable and right.nullable))):
                return _Code(f"({left.text} {op} {right.text})", False)
            return self.guarded(codes, lambda r: f"({r[0]} {op} {r[1]})", True)
        # A chain with missing values (or with exact score links): each link is a
        # comparison, joined with Kleene `and`. Operands are bound up front because a link
        # may be skipped by short-circuiting.
        bindings: list[str] = []
        refs: list[_Code] = []
        for code in codes:
            first, ref = self.bind(code)
            if first != ref:
                bindings.append(first)
            refs.append(_Code(ref, code.nullable, simple=True))
        links = [
            _Code(special, False) if special is not None else self.link(refs[i], ops[i], refs[i + 1])
            for i, special in enumerate(exact)
        ]
        joined = self.join("and", links, truthy)
        if not bindings:
            return joined
        return _Code(f"({joined.text} if ({', '.join(bindings)},) else None)", joined.nullable)

    def day_count_link(self, node: Compare, level: int, *, negate: bool) -> _Code | None:
        """``days_since(d) <= 90`` as ``d >= cutoff``, the cutoff (the as-of date less 90
        days) computed once per evaluation: a date comparison, where the count makes a
        ``timedelta`` per item of a list (the freshness of each of a thousand contacts).

        Every order comparison of a day count with a whole number is first written as
        ``count <= m`` or its negation, ``m >= 0``; a cutoff beyond the range of dates is
        clamped to the first or last date, which gives the same answer for every date.
        ``negate`` gives the code that is true when the comparison is false (unknown stays
        unknown, None).
        """
        if len(node.ops) != 1:
            return None
        left, right = node.operands
        op: str = node.ops[0]
        if _is_day_count(right) and _is_whole_literal(left):
            left, right, op = right, left, _FLIPPED.get(op, op)
        if not (_is_day_count(left) and _is_whole_literal(right)) or op not in _FLIPPED:
            return None
        assert isinstance(left, Call) and isinstance(right, Constant) and isinstance(right.value, int)
        bound = right.value if op in ("<=", ">") else right.value - 1
        holds = op in ("<=", "<")
        if bound < 0 or bound > _MAX_DAYS:
            return None
        since = left.name == "days_since"
        key = f"cutoff:{since}:{bound}"
        if key not in self.defined:
            self.defined[key] = name = self.local("c")
            self.setup.append(f"{name} = _day_cutoff(as_of, {-bound if since else bound})")
        cutoff = self.defined[key]
        date = self.emit(left.args[0], level)
        at_most = holds != negate  # the code tests that the count is at most the bound
        test = {(True, True): ">=", (True, False): "<=", (False, True): "<", (False, False): ">"}[(at_most, since)]
        return self.guarded([date], lambda r: f"({r[0]} {test} {cutoff})", date.nullable)

    def score_link(self, left: Node, op: str, right: Node, level: int) -> str | None:
        """A comparison of a score with a number literal, in integers.

        Scores are exact fractions, and comparing a ``Fraction`` costs hundreds of
        nanoseconds; ``n/d >= L`` is ``n >= L * d`` (d > 0), and a float literal is
        converted exactly to a fraction here, once, so the result is exactly Python's."""
        if op in ("in", "not in"):
            return None
        if isinstance(left, Field) and left.namespace == "score" and _is_number_literal(right):
            score, literal, flipped = left, right, False
        elif isinstance(right, Field) and right.namespace == "score" and _is_number_literal(left):
            score, literal, flipped = right, left, True
        else:
            return None
        assert isinstance(literal, Constant) and isinstance(literal.value, int | float)
        num, den = Fraction(literal.value).as_integer_ratio()
        n, d = self.ratio(score)
        ours = n if den == 1 else f"{n} * {den}"
        theirs = "0" if num == 0 else (d if num == 1 else f"{num} * {d}")
        return f"({theirs} {op} {ours})" if flipped else f"({ours} {op} {theirs})"

    def ratio(self, score: Field) -> tuple[str, str]:
        """Locals with the numerator and (positive) denominator of a score."""
        key = f"ratio:{score.label}"
        if key not in self.defined:
            value = self.define(score)
            n, d = self.local("n"), self.local("d")
            self.safe.append(f"{n}, {d} = {value}.as_integer_ratio()")
            self.defined[key] = f"{n},{d}"
        n, d = self.defined[key].split(",")
        return n, d

    def link(self, left: _Code, op: str, right: _Code) -> _Code:
        return self.guarded([left, right], lambda r: f"({r[0]} {op} {r[1]})", left.nullable or right.nullable)

    def choose(self, node: Choose, level: int) -> _Code:
        body = self.emit(node.body, level)
        test = self.emit(node.test, level)
        orelse = self.emit(node.orelse, level)
        nullable = test.nullable or body.nullable or orelse.nullable
        if not test.nullable:
            return _Code(f"({body.text} if {test.text} else {orelse.text})", nullable)
        first, ref = self.bind(test)
        return _Code(f"(None if {first} is None else ({body.text} if {ref} else {orelse.text}))", True)

    def call(self, node: Call, level: int) -> _Code:
        name = node.name
        if name == "today":
            return _Code("as_of", False, simple=True)
        args = [self.emit(a, level) for a in node.args]
        nullable = any(a.nullable for a in args)
        if name == "days_since":
            return self.guarded(args, lambda r: f"(as_of - {r[0]}).days", nullable)
        if name == "days_until":
            return self.guarded(args, lambda r: f"({r[0]} - as_of).days", nullable)
        if name == "add_days":
            self.uses_arithmetic = True  # beyond the range of dates
            days = node.args[1]
            if isinstance(days, Constant) and isinstance(days.value, int) and abs(days.value) <= _MAX_DAYS:
                step = self.constant(dt.timedelta(days=days.value)).text
                return self.guarded(args[:1], lambda r: f"({r[0]} + {step})", nullable)
            return self.guarded(args, lambda r: f"({r[0]} + _timedelta(days={r[1]}))", nullable)
        if name in ("present", "missing"):
            if not args[0].nullable:
                return _Code("True" if name == "present" else "False", False, simple=True)
            test = "is not None" if name == "present" else "is None"
            return _Code(f"({args[0].text} {test})", False)
        if name == "coalesce":
            value, default = args
            if not value.nullable:
                return value
            first, ref = self.bind(value)
            return _Code(f"({default.text} if {first} is None else {ref})", default.nullable)
        if name in ("abs", "min", "max"):
            return self.guarded(args, lambda r: f"_{name}({', '.join(r)})", nullable)
        if name == "clamp":
            return self.guarded(args, lambda r: f"_min(_max({r[0]}, {r[1]}), {r[2]})", nullable)
        if name == "lower":
            return self.guarded(args, lambda r: f"{r[0]}.lower()", nullable)
        raise TypeError(f"cannot compile {name}()")  # pragma: no cover

    def aggregate(self, node: Aggregate) -> _Code:
        """A comprehension over the list with the condition inlined: one Python call per
        aggregate, none per item. A condition that is unknown for an item counts as not
        matching; values that are missing are skipped by sum/min/max/distinct."""
        lookup = self.lookup(node)
        if lookup is not None:
            return lookup
        k = node.level
        item = f"i{k}"
        items, missing = self.source(node.items)
        loop = f"for {item} in {items}"
        where = f"({self.emit(node.where, k, truthy=True).text})" if node.where is not None else None
        condition = f" if {where}" if where is not None else ""
        name = node.name
        if name == "count":
            body = f"_len([0 {loop}{condition}])" if where else f"_len({items})"
        elif name == "any":
            body = f"_any(True {loop}{condition})"
        elif name == "none":
            body = f"(not _any(True {loop}{condition}))"
        elif name == "all":
            body = f"(not _any(True {loop} if not {where}))"
        else:
            assert node.value is not None
            value = self.emit(node.value, k)
            if name == "distinct":
                drop = " - _NONE" if value.nullable else ""
                body = f"_len({{{value.text} {loop}{condition}}}{drop})"
            elif name == "max_share":
                body = f"_max_share([{value.text} {loop}{condition}])"
            else:
                element = value.text
                if value.nullable:
                    element = self.var()
                    condition += f" if ({element} := {value.text}) is not None"
                values = f"[{element} {loop}{condition}]"
                body = f"_sum({values})" if name == "sum" else f"_{name}({values}, default=None)"
        if missing is not None:
            return _Code(f"(None if {missing} else {body})", True)
        return _Code(body, node.nullable)

    def lookup(self, node: Aggregate) -> _Code | None:
        """``any``, ``none`` or ``count`` of the items whose field equals a value that comes
        from an outer item (``any(team, name == contact.owner)`` inside a loop over the
        contacts), as one lookup in a set or a table of counts built once, before the loops.

        Written as it reads, such a check walks the inner list once per outer item, so a
        relationship map of n contacts and n relationships costs n * n comparisons; the
        lookup makes it n + n. Only values whose equality is exactly a hash lookup qualify
        (not floats: NaN is equal to nothing, yet is found in a set holding the same
        object). A value that is missing matches nothing, as an unknown condition does.
        """
        where = node.where
        if node.name not in ("any", "none", "count") or not isinstance(where, Compare) or where.ops != ("==",):
            return None
        if self.free(node.items) or not self.free(node):
            return None  # the list changes per outer item, or the whole aggregate is hoisted
        k = node.level
        left, right = where.operands
        if _own_field(left, k) and k not in self.free(right):
            key, probe = left, right
        elif _own_field(right, k) and k not in self.free(left):
            key, probe = right, left
        else:
            return None
        if not (_hashes_exactly(key.type) and _hashes_exactly(probe.type)):
            return None
        assert isinstance(key, Field)
        items, missing = self.source(node.items)
        table = self.local("h")
        values = f"{self.read(key, k)} for i{k} in {items}"
        if node.name == "count":
            text = f"_value_counts([{values}])"
        else:
            text = f"({{{values}}} - _NONE)" if key.nullable else f"{{{values}}}"
        # Built on first use: a loop that stops early (an all() that fails at its first
        # item), or that meets no item needing the lookup, does not pay for it. The
        # assignment in a comprehension binds the name in the function, so it is built once.
        self.safe.append(f"{table} = _UNSET")
        build = f"None if {missing} else {text}" if missing is not None else text
        lazy = f"({table} if {table} is not _UNSET else ({table} := {build}))"
        value = self.emit(probe, k)

        def lookup_in(found: str) -> str:
            if node.name == "count":
                return f"{found}.get({value.text}, 0)"
            return f"({value.text} {'in' if node.name == 'any' else 'not in'} {found})"

        if missing is not None:  # the test builds the table, the lookup reads it
            return _Code(f"(None if {lazy} is None else {lookup_in(table)})", True)
        return _Code(lookup_in(lazy), node.nullable)


def _store(target: str, value: str, evidence: str) -> str:
    """The last line of a derived fact's computation: the value stored, no evidence kept."""
    return f"{target} = {value}"


_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
"""Order comparisons, and each one with its operands swapped."""


def _is_day_count(node: Node) -> bool:
    return isinstance(node, Call) and node.name in ("days_since", "days_until")


def _is_whole_literal(node: Node) -> bool:
    return isinstance(node, Constant) and isinstance(node.value, int) and not isinstance(node.value, bool)


def _polarities(root: Node) -> dict[str, bool]:
    """The evidence aggregates reached from the top through ``and``, ``or`` and ``not``
    alone, each with whether an odd number of ``not`` stands above it (an aggregate reached
    both ways is left out: neither of its values can be blamed)."""
    found: dict[str, bool] = {}
    ambiguous: set[str] = set()

    def walk(node: Node, negated: bool) -> None:
        if isinstance(node, Logic):
            for operand in node.operands:
                walk(operand, negated)
        elif isinstance(node, Unary) and node.op == "not":
            walk(node.operand, not negated)
        elif isinstance(node, Aggregate):
            label = node.label
            if found.get(label, negated) != negated:
                ambiguous.add(label)
            found[label] = negated

    walk(root, False)
    return {label: negated for label, negated in found.items() if label not in ambiguous}


def _own_field(node: Node, level: int) -> bool:
    """A fact of the item of the aggregate at ``level`` itself."""
    return isinstance(node, Field) and node.namespace == "item" and node.level == level


def _hashes_exactly(kind: ExprType | None) -> bool:
    return isinstance(kind, CategoryType) or (
        isinstance(kind, ScalarType) and kind.kind in ("integer", "text", "boolean", "date")
    )
