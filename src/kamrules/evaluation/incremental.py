"""Deciding an account again after a change, keeping the rule results the change cannot move.

A monitor re-decides an account after every CRM event, and an event changes a few facts:
one contact's meeting date, a plan field, the revenue. Most of the rulebook reads none of
them. :meth:`Engine.evaluate_after <kamrules.evaluation.engine.Engine.evaluate_after>` runs
the same :meth:`~kamrules.evaluation.engine.Engine.evaluate` with the previous outcome's rows
kept for the rules whose inputs are unchanged; this module says which those are. There is
no second implementation of any rule: a kept row is the row the same rule function computed
from the same inputs.

What a rule reads is found once per rulebook from the checked expression trees:

- the account's top-level facts its expression names (``plan.x`` and an aggregate over
  ``plan.objectives`` read ``plan``; an aggregate over ``contacts`` reads ``contacts``,
  including the contacts' derived facts ``key_player`` and ``supportive``);
- whether it reads a score, and whether it reads the as-of date (``today()``,
  ``days_since``, ``days_until``).

A fact changed when its value is not the same: a nested record (the plan) or a list item (a
contact) by identity, since validated records are immutable and a fold that leaves one alone
passes the same instance on; any other value by equality. The derived contact facts are the
exception, computed in place on each contact: they are compared as values, before and after.
A rule is computed again when it reads a changed fact, a score that moved, or the as-of date
when that moved. What is cheap is always computed again: the scorecards, the tier tests, the
stability margin and the override, the plan checks' applicability by tier and stage, and a
fresh check's age (its date is kept, its age counted as of the new date).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamrules.expressions.nodes import Aggregate, Call, Field, Node, children
from kamrules.expressions.parser import parse
from kamrules.expressions.typecheck import TypeChecker
from kamrules.facts.records import FactRecord
from kamrules.facts.schema import FactSchema
from kamrules.facts.types import RecordType

if TYPE_CHECKING:
    from kamrules.evaluation.engine import Engine, Outcome

TIME_FUNCTIONS = frozenset({"today", "days_since", "days_until"})
"""The functions whose value depends on the as-of date."""


@dataclass(frozen=True, slots=True)
class Reads:
    """What one expression reads."""

    facts: frozenset[str]
    """The account's facts, two levels deep: ``annual_revenue``, ``plan.last_reviewed``,
    ``plan.reviews`` (the list, and any fact of its items), ``contacts`` (which contacts
    there are), ``contacts.stance`` (a contact's fact), ``plan`` (the plan itself)."""
    scores: bool
    today: bool


def _key(path: Iterable[str]) -> str:
    """A fact as the dependencies name it: two levels deep at most (``plan.reviews``,
    ``contacts.stance``); deeper facts count as the one at the second level."""
    return ".".join(list(path)[:2])


def reads_of(source: str, schema: FactSchema, item: RecordType | None = None) -> Reads:
    """What ``source`` reads, from its checked tree (``item``: an item-mode expression)."""
    facts: set[str] = set()
    flags = {"scores": False, "today": False}

    def walk(node: Node, lists: dict[int, str]) -> None:
        if isinstance(node, Field):
            if node.namespace == "account" and node.path:
                facts.add(_key(node.path))
            elif node.namespace == "score":
                flags["scores"] = True
            elif node.namespace == "item" and node.level in lists and node.path:
                facts.add(_key([*lists[node.level].split("."), *node.path]))
            return
        if isinstance(node, Call) and node.name in TIME_FUNCTIONS:
            flags["today"] = True
        if isinstance(node, Aggregate):
            items = node.items
            if items.namespace == "item" and items.level in lists:
                listed = ".".join([lists[items.level], *items.path])
            else:
                listed = ".".join(items.path)
            facts.add(_key(listed.split(".")))  # the list itself: its items, as many as there are
            inner = {**lists, node.level: listed}
            for child in (node.value, node.where):
                if child is not None:
                    walk(child, inner)
            return
        for child in children(node):
            walk(child, lists)

    walk(TypeChecker(schema, allow_scores=True, item=item).check(parse(source)), {})
    return Reads(frozenset(facts), flags["scores"], flags["today"])


@dataclass(frozen=True, slots=True)
class Reuse:
    """The previous outcome, and which of its rule rows are to be computed again."""

    previous: Outcome
    dirty: frozenset[int]
    """Rule numbers (see :class:`Dependencies`) whose inputs changed, before the scores."""
    scan: Callable[[Any, dt.date], bool]
    """The future-date scan of the changed facts only."""


class Dependencies:
    """Which rules of an engine read what; built once per engine, on first use.

    Rules are numbered: the gates, then every tier requirement in order, then the segments'
    conditions, then the plan checks' conditions, then the scorecards (all criteria of one
    scorecard are one generated function: see the ``*_base`` offsets)."""

    def __init__(self, engine: Engine) -> None:
        schema = engine.rulebook.schema
        reads: list[Reads] = [reads_of(g.expression.source, schema) for g in engine.gates]
        self.requirement_base = len(reads)
        self.requirement_offsets: tuple[int, ...] = ()
        offsets = []
        for tier in engine.tiers:
            offsets.append(len(reads))
            reads += [reads_of(expr.source, schema) for expr, _ in tier.requirements]
        self.requirement_offsets = tuple(offsets)
        self.segment_base = len(reads)
        reads += [
            reads_of(expr.source, schema) if expr is not None else Reads(frozenset(), False, False)
            for _, expr in engine.segments
        ]
        self.check_base = len(reads)
        reads += [reads_of(check.condition.source, schema) for check in engine.checks]
        self.card_base = len(reads)
        for card in engine.cards:
            criteria = [reads_of(c.expression.source, schema) for c in card.criteria if c.expression is not None]
            reads.append(
                Reads(
                    frozenset().union(*(r.facts for r in criteria)),
                    any(r.scores for r in criteria),
                    any(r.today for r in criteria),
                )
            )
        self.reads = tuple(reads)
        by_fact: dict[str, set[int]] = {}
        for number, r in enumerate(reads):
            for fact in r.facts:
                by_fact.setdefault(fact, set()).add(number)
        self.by_fact = {fact: frozenset(numbers) for fact, numbers in by_fact.items()}
        below: dict[str, set[str]] = {}
        for fact in by_fact:
            top, _, rest = fact.partition(".")
            if rest:
                below.setdefault(top, set()).add(fact)
        self._below = {top: frozenset(facts) for top, facts in below.items()}
        """The facts read inside each top-level fact (``plan`` -> ``plan.reviews``, ...)."""
        self.by_today = frozenset(n for n, r in enumerate(reads) if r.today)
        self.by_scores = frozenset(n for n, r in enumerate(reads) if r.scores)
        self.derived: tuple[str, ...] = ("key_player", "supportive") if engine.derives else ()
        """The contacts' derived facts, computed in place on each contact."""
        self._derived_getter = operator.attrgetter(*self.derived) if self.derived else None
        self.derived_dirty = frozenset().union(*(by_fact.get(f"contacts.{name}", set()) for name in self.derived))
        """The rules to compute again when a contact's derived facts moved."""
        self.fields = tuple(schema.account.fields)
        self._scans = {fact: _scan_of(engine, fact) for fact in _dated_facts(engine.past_dates)}

    def changed(self, before: Any, after: Any) -> set[str]:
        """The facts whose values differ between two validated records of one model (its
        field values are the instances' ``__dict__``), named as :class:`Reads` names them.

        Inside a nested record (the plan), the facts that differ; inside a list of records
        of the same length (the contacts), the facts that differ in the items at the same
        place: an aggregate reads which items there are (the list's own name) and their
        facts it names, so a change to one contact's meeting date leaves a count of
        supportive decision makers standing. The derived contact facts are not compared
        here: they are computed in place, afterwards (:meth:`derived_of`)."""
        if type(before) is not type(after):
            return set(self.fields) | set().union(*self._below.values())
        now = after.__dict__
        out: set[str] = set()
        for name, a in before.__dict__.items():
            b = now[name]
            if b is a or (type(a) in _PLAIN and type(b) is type(a) and a == b) or _same(a, b):
                continue
            if name in self._below:
                inner = _inside(name, a, b, self.derived if name == "contacts" else ())
                if inner is not None:
                    out |= inner
                    continue
                out |= self._below[name]
            out.add(name)
        return out

    def derived_of(self, record: Any) -> tuple[Any, ...] | None:
        """The contacts' derived facts as they stand, to tell next time whether they moved."""
        if self._derived_getter is None:
            return None
        return tuple(map(self._derived_getter, record.contacts or ()))

    def dirty(self, changed: Iterable[str], today_moved: bool) -> frozenset[int]:
        numbers: set[int] = set(self.by_today) if today_moved else set()
        for fact in changed:
            numbers |= self.by_fact.get(fact, frozenset())
        return frozenset(numbers)

    def scan(self, changed: Iterable[str]) -> Callable[[Any, dt.date], bool]:
        """A future-date scan of the changed facts only: the previous outcome was decided
        as of a date no later than this one, and no date it read lay after it."""
        tops = {fact.partition(".")[0] for fact in changed}
        finders = [self._scans[fact] for fact in tops if fact in self._scans]
        if not finders:
            return _nothing
        if len(finders) == 1:
            return finders[0]
        return lambda record, as_of: any(f(record, as_of) for f in finders)


def _nothing(record: Any, as_of: dt.date) -> bool:
    return False


def _inside(name: str, a: Any, b: Any, skip: tuple[str, ...]) -> set[str] | None:
    """The facts that differ inside two values of a nested record or list of records, as
    ``name.fact``; None when they differ as a whole (one missing, lists of other lengths)."""
    if isinstance(a, FactRecord) and isinstance(b, FactRecord) and type(a) is type(b):
        pairs = [(a, b)]
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        pairs = [(x, y) for x, y in zip(a, b, strict=True) if x is not y]
        if not all(isinstance(x, FactRecord) and type(x) is type(y) for x, y in pairs):
            return None
    else:
        return None
    out: set[str] = set()
    for x, y in pairs:
        later = y.__dict__
        for fact, value in x.__dict__.items():
            if fact in skip:
                continue
            other = later[fact]
            if other is not value and not _same(value, other):
                out.add(f"{name}.{fact}")
    return out


_PLAIN = frozenset({str, int, float, bool, dt.date})
"""Value types compared by equality at once (a validation makes new objects of them)."""


def _same(a: Any, b: Any) -> bool:
    """Whether two values of one fact are the same: records and list items by identity
    (validated records are immutable), anything else by equality of value and type."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is list:
        return len(a) == len(b) and all(x is y or _same(x, y) for x, y in zip(a, b, strict=True))
    return not isinstance(a, FactRecord) and bool(a == b)


def _dated_facts(paths: Iterable[tuple[tuple[str, ...], bool, tuple[str, ...]]]) -> set[str]:
    facts = set()
    for path, _, names in paths:
        if path:
            facts.add(path[0])
        else:
            facts.update(names)
    return facts


def _scan_of(engine: Engine, fact: str) -> Callable[[Any, dt.date], bool]:
    from kamrules.evaluation.engine import _future_date_finder

    paths = []
    for path, is_list, names in engine.past_dates:
        if path and path[0] == fact:
            paths.append((path, is_list, names))
        elif not path and fact in names:
            paths.append((path, is_list, (fact,)))
    return _future_date_finder(tuple(paths))


def reuse_for(dependencies: Dependencies, previous: Outcome, record: Any, as_of: dt.date) -> Reuse:
    """The reuse plan for deciding ``record`` after ``previous`` (the derived contact facts
    are compared during the evaluation, once computed)."""
    changed = dependencies.changed(previous.record, record)
    today_moved = as_of != previous.as_of
    return Reuse(previous, dependencies.dirty(changed, today_moved), dependencies.scan(changed))


__all__ = ["Dependencies", "Reads", "Reuse", "reads_of", "reuse_for"]
