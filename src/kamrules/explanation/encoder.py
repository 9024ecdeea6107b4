"""The JSON of an explained decision, written straight from the engine's compact outcome.

``DecisionEncoder(engine).encode(outcome)`` returns exactly the bytes (as text) of
``outcome.decision().model_dump_json()``: the same field order, ``null`` where a field is
None, pydantic-core's float formatting (``1e-7``, ``1e+16``, ``-0.0``, ``null`` for infinity
and NaN), its string escaping and ISO dates. It builds no pydantic model: building and
validating the ``Decision`` costs ten times more than writing its JSON, and a batch that
writes every explanation (``evaluate --format jsonl``) does nothing else with it.

**One wording.** The sentences of an explanation (what a criterion matched, a gate's note, a
requirement's note, the summary, every plan-check note) come from the functions the model
builder uses too (``kamrules.evaluation.engine`` and ``explain_checks`` in
``kamrules.evaluation.compliance``); this module only lays them out as JSON. What is constant
for a rulebook (ids, titles, reasons, weights, tests) is encoded once per rulebook, and what
repeats across accounts is kept in bounded memos: a criterion's band text, points and
contributions (keyed by integers only, so no memo ever confuses ``1``, ``1.0``, ``True`` and
``-0.0``). Values (facts, evidence) are encoded each time by type; anything other than text,
integers, booleans, floats, dates, decimals and None goes through pydantic's own serializer
for ``Any``.

**Generated per rulebook.** The layout itself is one generated function per rulebook
(:func:`_compile_layout`, as ``evaluation/codegen.py`` does for scorecards): every criterion,
gate, tier test and segment test unrolled, the constant JSON between values written once as
literals, and the whole document joined by one f-string; the memos above are looked up from
it. A flat account's compliance (no plan, no list items) is remembered under what its checks
follow from (:class:`~kamrules.evaluation.engine.FlatChecks`), not under its thirty rows.

**Tested, not assumed.** ``tests/explanation/test_encoder.py`` compares the encoder with
``decision().model_dump_json()`` byte for byte on the example accounts, on flat rows, on
generated records (hypothesis) and on odd values; a field added to ``Decision`` and not here
fails those tests rather than going missing silently.

**Input interface (for executors without Python records).** ``encode`` reads an ``Outcome``
through these attributes only, all plain tuples, integers and scalars:

- ``engine`` (the rulebook's compiled constants), ``account_id``, ``as_of`` (date);
- ``tier_index``, ``rules_index``, ``segment_index`` (ints into the engine's tiers and
  segments), ``ceiling`` (the gates' tier index ceiling), and what ``Outcome`` derives from
  them and ``gates``: ``tier``, ``tier_rank``, ``key_account``, ``excluded``;
- ``cards``: per scorecard ``(weighted, total, rows)`` with exact integers and, per
  criterion, ``(value, centipoints, band index, status, evidence tuple or None)``;
- ``scores``: per scorecard id the exact ``Fraction`` (requirements' evidence shows it);
- ``gates``: ``(applied, unknown, evidence)``; ``tier_rows``: ``(eligible, score tests,
  ((result, evidence), ...))``; ``segment_rows``: ``(result, evidence)``;
- ``placement``: ``((kind, note), ...)``; ``capacity``: ``(applied, placement, note)`` or None;
- ``record``: only its ``name`` (and ``stage`` with plan checks);
- with plan checks, ``check_rows`` and ``map_status``: ``explain_checks`` reads the checks'
  due dates, owners and items at fault from ``record`` there, as the model builder does.

A columnar executor can therefore feed it per row an ``Outcome`` built from its columns
(the tuples above, ``record`` any object with ``name`` and ``stage``) without validating a
Python record, for every part but the plan checks, whose explanation reads the plan's items
(due dates, owners, items at fault); for those it needs the record's plan and lists, or
``explain_checks``'s values computed its own way. The memos are per encoder, so one encoder
per engine (``Engine.encoder``) serves every row; they are not locked, and concurrent
threads at worst compute a fragment twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from kamrules._version import __version__
from kamrules.evaluation.codegen import define
from kamrules.evaluation.compliance import APPLIES, MAP_STATUS, CheckExplained, explain_checks
from kamrules.evaluation.engine import (
    NOT_PLACED,
    condition_note,
    criterion_matched,
    gate_block_note,
    gate_note,
    min_score_note,
    summary_text,
)
from kamrules.evaluation.exact import centi_decimal, hundredths_text, round_ratio, score2_text
from kamrules.evaluation.keys import PLAIN, Unkeyable, typed
from kamrules.facts.types import ListType, RecordType

if TYPE_CHECKING:
    from kamrules.evaluation.engine import CompiledCriterion, Engine, Outcome
    from kamrules.expressions import CompiledExpression

_ANY: TypeAdapter[Any] = TypeAdapter(Any)
_FLOAT: TypeAdapter[float] = TypeAdapter(float)
MEMO_LIMIT = 50_000
"""Entries per memo before it is emptied: the memos hold strings keyed by small integers, so
this bounds them at a few megabytes whatever the portfolio."""


def json_float(x: float) -> str:
    """A float as pydantic-core writes it: Python's shortest repr where the two agree
    (``1e-4 <= |x| < 1e16`` and zero), pydantic itself elsewhere (``1e-7``, ``1e+16``,
    infinities and NaN as ``null``)."""
    a = -x if x < 0 else x
    if 1e-4 <= a < 1e16 or a == 0.0:
        return float.__repr__(x)
    return _FLOAT.dump_json(x).decode()


def json_str(s: str) -> str:
    """A string as pydantic-core writes it: plain printable ASCII without quotes or
    backslashes as it is, anything else (non-ASCII, control characters) by pydantic itself."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    return _ANY.dump_json(s).decode()


def json_any(v: Any) -> str:
    """A value of an ``Any`` field (a fact, a piece of evidence) as pydantic infers it;
    a score (``Fraction``) as an explanation shows it, to two decimals rounded down."""
    t = type(v)
    if t is str:
        return json_str(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return int.__repr__(v)
    if v is None:
        return "null"
    if t is float:
        return json_float(v)
    if t is Fraction:
        return '"' + score2_text(v) + '"'
    if t is Decimal:
        return '"' + str(v) + '"' if v.is_finite() else _ANY.dump_json(v).decode()
    if t is dt.date:
        day: dt.date = v
        return '"' + day.isoformat() + '"'
    return _ANY.dump_json(v).decode()


_PLAIN = PLAIN
_typed = typed
_Unkeyable = Unkeyable


def json_opt_str(s: str | None) -> str:
    return "null" if s is None else json_str(s)


_BOOL = ("false", "true")
"""JSON of a bool, by indexing with it."""


def json_bool(b: bool) -> str:
    return _BOOL[b]


def json_date(d: dt.date | None) -> str:
    return "null" if d is None else '"' + d.isoformat() + '"'


def json_evidence(values: dict[str, Any]) -> str:
    return "{" + ",".join(json_str(k) + ":" + json_any(v) for k, v in values.items()) + "}"


def json_number(d: Decimal) -> str:
    """A ``Number`` field: a Decimal written as the float it converts to."""
    return json_float(float(d))


def _hundredths_json(n: int, scale: int) -> str:
    """``json_number(Decimal(n) / scale)`` for a power of ten ``scale``: both the Decimal and
    the integer division round once, to the nearest float, while the Decimal is exact
    (below 26 digits); beyond, the Decimal itself."""
    if -_EXACT < n < _EXACT:
        return json_float(n / scale)
    return json_number(Decimal(n) / scale)


_EXACT = 10**25


def capacity_json(applied: bool, placement: str | None, note: str) -> str:
    """A decision's ``capacity`` value."""
    return (
        '{"applied":' + _BOOL[applied] + ',"placement":' + json_opt_str(placement) + ',"note":' + json_str(note) + "}"
    )


class _Evidence:
    """The evidence of one compiled expression: its labels encoded once."""

    __slots__ = ("keys", "labels", "unique")

    def __init__(self, expression: CompiledExpression) -> None:
        self.labels = tuple(expression.evidence)
        self.keys = tuple(json_str(label) + ":" for label in self.labels)
        self.unique = len(set(self.labels)) == len(self.labels)

    def encode(self, values: tuple[Any, ...], missing: list[str] | None) -> str:
        """The evidence object; with ``missing``, the labels whose value is None are added
        to it (as the model builder does for an unknown result)."""
        if not self.unique:  # a repeated label keeps its first place and its last value
            shown = {label: v for label, v in zip(self.labels, values, strict=True)}
            if missing is not None:
                missing.extend(label for label, v in shown.items() if v is None)
            return json_evidence(shown)
        if len(values) == 1:  # the common case: a condition on one fact
            value = values[0]
            if value is None and missing is not None:
                missing.append(self.labels[0])
            return "{" + self.keys[0] + json_any(value) + "}"
        if missing is not None:
            missing.extend(label for label, v in zip(self.labels, values, strict=True) if v is None)
        return "{" + ",".join(k + json_any(v) for k, v in zip(self.keys, values, strict=True)) + "}"


class _Condition:
    """A requirement or segment test: its JSON up to ``passed``, its evidence, and, for each
    result (true, false, unknown), the rest of its JSON and the note it adds to what failed."""

    __slots__ = ("evidence", "head", "tails")

    def __init__(self, head: str, expression: CompiledExpression, reason: str | None) -> None:
        self.head = head
        self.evidence = _Evidence(expression)
        self.tails: dict[bool | None, tuple[str, str, str | None]] = {}
        for result in (True, False, None):
            note = condition_note(expression, result, reason)
            self.tails[result] = (
                ("true" if result is True else "false") + ',"actual":',
                ',"note":' + ("null" if note is None else json_str(note)) + "}",
                None if result is True else (note or expression.source),
            )

    def encode(self, result: bool | None, ev: tuple[Any, ...], missing: list[str], failed: list[str]) -> str:
        """The test's JSON; its note (or its test) joins ``failed`` if unmet."""
        passed, tail, note = self.tails[None if result is None else result is True]
        if note is not None:
            failed.append(note)
        return self.head + passed + self.evidence.encode(ev, missing if result is None else None) + tail


_CriterionParts = tuple["CompiledCriterion", str, _Evidence | None, bool, dict[tuple[Any, ...], str]]
"""A criterion, its JSON up to the value, its evidence labels, whether its words quote the
value, and the memo of its JSON after the value."""


class DecisionEncoder:
    """The JSON of explained decisions for one engine's rulebook (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._centi: dict[int, str] = {}
        self._ratio: dict[tuple[int, int], str] = {}
        self._cards: list[tuple[str, str, list[_CriterionParts]]] = []
        for card in engine.cards:
            criteria: list[_CriterionParts] = []
            for c in card.criteria:
                spec = c.spec
                head = (
                    '{"id":'
                    + json_str(spec.id)
                    + ',"title":'
                    + json_opt_str(spec.title)
                    + ',"method":'
                    + json_str(spec.method)
                    + ',"fact":'
                    + json_opt_str(c.fact)
                    + ',"value":'
                )
                evidence = _Evidence(c.expression) if c.expression is not None and c.fact is None else None
                by_value = spec.method in ("map", "boolean")
                criteria.append((c, head, evidence, by_value, {}))
            self._cards.append(
                (
                    json_str(card.id) + ":",
                    '{"id":' + json_str(card.id) + ',"title":' + json_opt_str(card.title) + ',"score":',
                    criteria,
                )
            )
        self._gates = []
        for gate in engine.gates:
            gate_spec = gate.spec
            head = (
                '{"id":'
                + json_str(gate_spec.id)
                + ',"title":'
                + json_opt_str(gate_spec.title)
                + ',"effect":'
                + json_str(gate_spec.effect)
                + ',"at_most":'
                + json_opt_str(gate_spec.at_most)
                + ',"applied":'
            )
            reason = ',"reason":' + json_str(gate_spec.reason) + ',"note":'
            notes = {(a, u): json_str(gate_note(gate_spec, a, u)) + "}" for a in (False, True) for u in (False, True)}
            block = (
                '{"kind":"gate","test":'
                + json_str(gate_spec.id)
                + ',"segment":null,"passed":false,"actual":null,"note":'
            )
            self._gates.append(
                (gate, head, _Evidence(gate.expression), reason, notes, block + json_str(gate_block_note(gate)) + "}")
            )
        self._tiers = []
        for tier in engine.tiers:
            head = '{"tier":' + json_str(tier.name) + ',"eligible":'
            mins = tuple(
                (
                    card,
                    minimum,
                    '{"kind":"min_score","test":'
                    + json_str(f"score.{card} >= {minimum}")
                    + ',"segment":null,"passed":',
                )
                for card, _, minimum in tier.min_scores
            )
            requirements = tuple(
                _Condition(
                    '{"kind":"requirement","test":' + json_str(expr.source) + ',"segment":null,"passed":', expr, reason
                )
                for expr, reason in tier.requirements
            )
            self._tiers.append((head, mins, requirements))
        self._segments = tuple(
            _Condition(
                '{"kind":"segment","test":' + json_str(expr.source) + ',"segment":' + json_str(name) + ',"passed":',
                expr,
                None,
            )
            for name, expr in engine.segments
            if expr is not None
        )
        self._segment_names = tuple(json_str(name) for name, _ in engine.segments)
        self._tier_names = tuple(json_str(t.name) for t in engine.tiers)
        self._checks = tuple(
            '{"id":'
            + json_str(check.spec.id)
            + ',"title":'
            + json_str(check.spec.title)
            + ',"area":'
            + json_opt_str(check.spec.area)
            + ',"severity":'
            + json_str(check.spec.severity)
            + ',"applies":'
            for check in engine.checks
        )
        self._not_applying: dict[tuple[int, str], str] = {}
        self._check_evidence = tuple(_Evidence(check.condition) for check in engine.checks)
        self._flat_reads = _flat_reads(engine)
        self._flat: dict[tuple[Any, ...], str] = {}
        self._not_applicable: dict[tuple[Any, ...], str] = {}
        self._applying: dict[tuple[Any, ...], str] = {}
        self._map_labels = tuple(json_str(label) for label in MAP_STATUS)
        self._tail = (
            ',"rulebook":'
            + engine.ref.model_dump_json()
            + ',"profile":'
            + (engine.profile.model_dump_json() if engine.profile is not None else "null")
            + ',"kamrules_version":'
            + json_str(__version__)
            + "}"
        )
        self._middle: dict[tuple[int, bool, int], str] = {}
        self._encode, self._around = _compile_layout(self)

    def _criterion_tail(
        self, c: CompiledCriterion, value: Any, points: int, match: int, status: int, total: int, evidence: str
    ) -> str:
        """A criterion's JSON after its value."""
        return (
            ',"evidence":'
            + evidence
            + ',"matched":'
            + json_str(criterion_matched(c, value, points, match, status))
            + ',"points":'
            + self._centi_json(points)
            + ',"weight":'
            + self._centi_json(c.weight)
            + ',"contribution":'
            + ("0.0" if status == 2 else self._ratio_json(c.weight * points, total * 100))
            + ',"missing":'
            + _BOOL[status != 0 or value is None]
            + ',"dropped":'
            + _BOOL[status == 2]
            + "}"
        )

    # -- memoised numbers -------------------------------------------------------------

    def _centi_json(self, centi: int) -> str:
        """Integer hundredths (points, weights) as a ``Number``."""
        memo = self._centi
        found = memo.get(centi)
        if found is None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            found = memo[centi] = json_number(centi_decimal(centi))
        return found

    def _ratio_json(self, numerator: int, denominator: int) -> str:
        """``round_ratio`` (a contribution, half to even) as a ``Number``."""
        memo = self._ratio
        key = (numerator, denominator)
        found = memo.get(key)
        if found is None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            found = memo[key] = json_number(round_ratio(numerator, denominator))
        return found

    # -- the decision -----------------------------------------------------------------

    def encode(self, o: Outcome) -> str:
        """``o.decision().model_dump_json()``, without building the model."""
        return self._encode(o)

    def encode_around_capacity(self, o: Outcome) -> tuple[str, str]:
        """The JSON of ``o`` before and after its ``capacity`` value, so that a batch can
        write the capacity (whose note names the portfolio's size) once the whole portfolio
        is decided: ``before + capacity_json(...) + after`` is the decision of ``o`` with that
        capacity, when ``o`` already has one (so that its summary does not say it was not
        placed)."""
        return self._around(o)

    # -- what the generated layout calls on a memo's miss -------------------------------

    def _tail_of(
        self,
        card: int,
        n: int,
        value: Any,
        points: int,
        match: int,
        status: int,
        total: int,
        evidence: str | None,
        key: Any,
    ) -> str:
        """A criterion's JSON after its value, remembered under ``key`` (what it follows from)."""
        c, _, _, _, tails = self._cards[card][2][n]
        if len(tails) >= MEMO_LIMIT:
            tails.clear()
        tail = tails[key] = self._criterion_tail(
            c, value, points, match, status, total, "null" if evidence is None else evidence
        )
        return tail

    def _middle_of(self, o: Outcome, tier_index: int, excluded: bool, segment_index: int) -> str:
        """The decision's tier, rank, key-account flag, exclusion and segment, which follow
        from the tier's index, the exclusion and the segment's index."""
        text = (
            ',"tier":'
            + json_str(o.tier)
            + ',"tier_rank":'
            + str(o.tier_rank)
            + ',"key_account":'
            + _BOOL[o.key_account]
            + ',"excluded":'
            + _BOOL[excluded]
            + ',"segment":'
            + (self._segment_names[segment_index] if segment_index >= 0 else "null")
        )
        self._middle[(tier_index, excluded, segment_index)] = text
        return text

    @staticmethod
    def _check_tail(result: CheckExplained) -> str:
        applies, passed, unknown, values, note, remediation, owner, due, overdue, at_fault = result
        return (
            _BOOL[applies]
            + ',"passed":'
            + _BOOL[passed]
            + ',"unknown":'
            + _BOOL[unknown]
            + ',"evidence":'
            + (json_evidence(values) if values else "{}")
            + ',"note":'
            + json_str(note)
            + ',"remediation":'
            + json_opt_str(remediation)
            + ',"owner":'
            + json_opt_str(owner)
            + ',"due":'
            + json_date(due)
            + ',"overdue_days":'
            + ("null" if overdue is None else str(overdue))
            + ',"at_fault":['
            + ",".join(
                '{"condition":'
                + json_str(group.condition)
                + ',"items_of":'
                + json_str(group.items_of)
                + ',"total":'
                + str(group.total)
                + ',"count":'
                + str(group.count)
                + ',"names":['
                + ",".join(json_str(name) for name in group.names)
                + "]}"
                for group in at_fault
            )
            + "]}"
        )

    def _compliance(self, o: Outcome) -> str:
        """The plan's compliance. When no check applies (an account outside the key tiers),
        every word of it follows from the tier, the stage, the map status and why each check
        does not apply, so the whole object is remembered under those; for a flat account
        to which checks apply, under what :meth:`_flat_key` names."""
        rows = o._check_rows
        for row in rows:
            if row[0] == APPLIES:
                flat = self._flat_key(o)
                if flat is None:
                    return self._compliance_of(o)
                memo = self._flat
                found = memo.get(flat)
                if found is None:
                    if len(memo) >= MEMO_LIMIT:
                        memo.clear()
                    found = memo[flat] = self._compliance_of(o)
                return found
        key = (o.tier, o.record.stage, o.map_status, tuple(row[0] for row in rows))  # type: ignore[attr-defined]
        memo = self._not_applicable
        found = memo.get(key)
        if found is None:
            if len(memo) >= MEMO_LIMIT:
                memo.clear()
            found = memo[key] = self._compliance_of(o)
        return found

    def _flat_key(self, o: Outcome) -> tuple[Any, ...] | None:
        """What the compliance of a flat account (no plan, no list items: a row of a CRM
        export) follows from, or None for any other account.

        Its checks' rows follow from what :meth:`FlatChecks.key
        <kamrules.evaluation.engine.FlatChecks.key>` names (the tier, the stage, the as-of
        date, the facts and scores the conditions read: every ``Outcome`` has its rows from
        ``evaluate_checks`` at its own tier). Beyond the rows, without a plan or items every
        fact a check's due date, owner, missing-evidence note or items at fault could read
        is absent, except the account's own facts that due dates and owners read
        (``account.account_manager``) and the scores: so the words follow from those, the
        tier's name (or the excluded outcome's) and the map status (typed: ``1``, ``1.0``
        and ``True`` are written differently)."""
        reads = self._flat_reads
        flat = self.engine.flat_checks
        if reads is None or flat is None:
            return None
        record = o.record
        rows = flat.key(record, o.tier_index, o.as_of, o.scores)
        if rows is None:
            return None
        _, _, facts, cards = reads
        key: list[Any] = [rows, o.tier, o.map_status]
        try:
            for name in facts:
                key.append(_typed(getattr(record, name)))
        except _Unkeyable:
            return None
        for card in cards:
            key.append(o.scores[card])
        return tuple(key)

    def _compliance_of(self, o: Outcome) -> str:
        engine = self.engine
        record = o.record
        status, score, failed, next_due, results, missing = explain_checks(
            engine.checks, o._check_rows, record, o.scores, o.tier, o.as_of
        )
        stage = record.stage  # type: ignore[attr-defined]
        out = [
            '{"status":"',
            status,
            '","score":',
            "null" if score is None else json_number(score),
            ',"stage":',
            "null" if stage is None else json_str(stage),
            ',"map_status":',
            str(o.map_status),
            ',"map_status_label":',
            self._map_labels[o.map_status],
            ',"failed":{"blocker":',
            str(failed["blocker"]),
            ',"major":',
            str(failed["major"]),
            ',"minor":',
            str(failed["minor"]),
            '},"next_due":',
            json_date(next_due),
            ',"checks":[',
        ]
        not_applying, applying = self._not_applying, self._applying
        check_evidence, rows = self._check_evidence, o._check_rows
        for n, (head, result) in enumerate(zip(self._checks, results, strict=True)):
            if n:
                out.append(",")
            if not result[0]:  # it does not apply: everything but its note is the same for every account
                key = (n, result[4])
                fragment = not_applying.get(key)
                if fragment is None:
                    if len(not_applying) >= MEMO_LIMIT:
                        not_applying.clear()
                    fragment = not_applying[key] = head + self._check_tail(result)
                out.append(fragment)
            elif result[9]:  # items at fault: named per account
                out.append(head + self._check_tail(result))
            else:
                # Everything else is text, dates, numbers and the evidence's exact JSON
                # (the remediation is the check's own, or None once it passes).
                _, passed, unknown, _, note, remediation, owner, due, overdue, _ = result
                # the evidence's JSON from the row, its labels encoded once (a score in it
                # is written as ``shown`` writes it, so this is ``json_evidence(values)``)
                evidence = check_evidence[n].encode(rows[n][3], None)
                applying_key = (n, passed, unknown, evidence, note, remediation is None, owner, due, overdue)
                fragment = applying.get(applying_key)
                if fragment is None:
                    if len(applying) >= MEMO_LIMIT:
                        applying.clear()
                    fragment = applying[applying_key] = head + self._check_tail(result)
                out.append(fragment)
        out.append('],"missing_facts":[' + ",".join(json_str(m) for m in missing) + "]}")
        return "".join(out)


def _flat_reads(engine: Engine) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]] | None:
    """For the compliance memo of flat accounts: the account's nested records and lists
    (which must be absent and empty), and the account facts and scores the checks' due dates
    and owners read. None when one reads something else, which this cannot vouch for."""
    account = engine.rulebook.schema.account
    records = tuple(name for name, f in account.fields.items() if isinstance(f.type, RecordType))
    lists = tuple(name for name, f in account.fields.items() if isinstance(f.type, ListType))
    facts: list[str] = []
    cards: list[str] = []
    for check in engine.checks:
        for expression in (check.due, check.owner):
            if expression is None:
                continue
            for label in expression.evidence:
                root, _, rest = expression.lists.get(label, label).partition(".")
                if root in records or root in lists:
                    continue  # absent or empty in a flat account: the same for every one
                if root == "account" and rest in account.fields and rest not in records + lists:
                    facts.append(rest)
                elif root == "score" and rest in engine.card_index:
                    cards.append(rest)
                else:
                    return None
    return records, lists, tuple(dict.fromkeys(facts)), tuple(dict.fromkeys(cards))


# -- the layout, generated per rulebook ------------------------------------------------
#
# DESIGN.md section 7, as for scorecards (``evaluation/codegen.py``): a decision's layout is
# one generated function per rulebook, straight-line code with every criterion, gate, tier
# test and segment test unrolled, its constant JSON (ids, titles, reasons, rule texts)
# written once as literals between the values, and one f-string that joins the whole
# document. Text from the rule files enters the source only as ``repr()`` of a ``str`` (a
# literal whatever it holds); everything else it calls is passed in by name.

_Piece = tuple[bool, str]
"""(False, constant text) or (True, a Python expression giving text)."""

_BUILTINS = {"type": type, "float": float, "int": int, "bool": bool, "len": len, "getattr": getattr}
_L2 = 10**17
"""Below this many hundredths a score is written by ``float.__repr__``: its float is then at
least 0.01 (or zero) and below 1e15, where pydantic and ``repr`` agree."""
_L4 = 10**19
"""The same for weighted points, in ten-thousandths."""


def _fstring(pieces: list[_Piece]) -> str:
    """One f-string of the pieces, as adjacent literals (Python joins them when compiling)."""
    out: list[str] = []
    text = ""
    for is_code, piece in pieces:
        if not is_code:
            text += piece
            continue
        if text:
            out.append(repr(text))
            text = ""
        out.append("f'{" + piece + "}'")
    if text:
        out.append(repr(text))
    return "(" + " ".join(out) + ")" if out else "''"


def _split_note(before: str, after: str) -> tuple[str, str] | None:
    """The JSON of ``before + x + after`` around a score text ``x`` (digits, '-', '.') as two
    constants, when JSON writes the three as the concatenation of their own escaped text (it
    escapes character by character, so it does; this checks it rather than assume)."""
    head, tail = json_str(before)[:-1], json_str(after)[1:]
    for sample in ("12.34", "-0.05", "100.00"):
        if json_str(before + sample + after) != head + sample + tail:
            return None
    return head, tail


def _compile_layout(enc: DecisionEncoder) -> tuple[Callable[[Outcome], str], Callable[[Outcome], tuple[str, str]]]:
    """The rulebook's layout as two functions of an ``Outcome``: its JSON, and its JSON before
    and after the capacity value (:meth:`DecisionEncoder.encode_around_capacity`)."""
    engine = enc.engine
    names: dict[str, Any] = {
        **_BUILTINS,
        "_fr": float.__repr__,
        "_ir": int.__repr__,
        "_jany": json_any,
        "_jstr": json_str,
        "_ht": hundredths_text,
        "_hj": _hundredths_json,
        "_cj": enc._centi_json,
        "_tail": enc._tail_of,
        "_mid": enc._middle_of,
        "_MID": enc._middle,
        "_B": _BOOL,
        "_summary": summary_text,
        "_plj": lambda steps: ",".join(
            '{"kind":' + json_str(kind) + ',"note":' + json_str(note) + "}" for kind, note in steps
        ),
        "_mfj": lambda found: ",".join(json_str(m) for m in sorted(set(found))),
        "_capj": capacity_json,
        "_NP": capacity_json(False, None, NOT_PLACED),
        "_compliance": enc._compliance,
        "_TBR": tuple(',"tier_by_rules":' + name + ',"placement":[' for name in enc._tier_names),
    }

    def constant(value: Any) -> str:
        name = f"_c{len(names)}"
        names[name] = value
        return name

    body: list[str] = []

    def line(text: str, indent: int = 1) -> None:
        body.append("    " * indent + text)

    def value_json(source: str, target: str, indent: int) -> None:
        """``target = json_any(source)``, the common types inline."""
        line(f"_t = type({source})", indent)
        line(f"if _t is float and (1e-4 <= {source} < 1e16 or -1e16 < {source} <= -1e-4 or {source} == 0.0):", indent)
        line(f"    {target} = _fr({source})", indent)
        line("elif _t is int:", indent)
        line(f"    {target} = _ir({source})", indent)
        line("elif _t is bool:", indent)
        line(f"    {target} = 'true' if {source} else 'false'", indent)
        line(f"elif {source} is None:", indent)
        line(f"    {target} = 'null'", indent)
        line("else:", indent)
        line(f"    {target} = _jany({source})", indent)

    def condition_json(condition: _Condition, write: str, notes: str | None, indent: int) -> None:
        """Lines writing the JSON of one condition whose row is in ``r, e`` (a tier's
        requirement or a segment's test) as ``write`` says (``"k0_r1 = {}"``,
        ``"sg.append({})"``); a failed requirement's note goes to the list ``notes``."""
        if not condition.evidence.unique:
            line(write.format(f"{constant(condition.encode)}(r, e, mis, {notes or '[]'})"), indent)
            return
        evidence_json(condition.evidence, "e", "rj", indent, "r is None")
        for test, result in (("if r is True:", True), ("elif r is None:", None), ("else:", False)):
            passed, tail, note = condition.tails[result]
            line(test, indent)
            json = _fstring([(False, condition.head + passed), (True, "rj"), (False, tail)])
            line("    " + write.format(json), indent)
            if notes is not None and note is not None:
                line(f"    {notes}.append({note!r})", indent)

    def evidence_json(evidence: _Evidence, source: str, target: str, indent: int, missing_when: str | None) -> None:
        """``target = evidence.encode(source, ...)``: labels whose value is None join the
        missing facts when ``missing_when`` (a condition) holds."""
        if not evidence.unique:
            missing = "None" if missing_when is None else f"(mis if {missing_when} else None)"
            line(f"{target} = {constant(evidence.encode)}({source}, {missing})", indent)
            return
        pieces: list[_Piece] = [(False, "{")]
        for i, (label, key) in enumerate(zip(evidence.labels, evidence.keys, strict=True)):
            line(f"_x = {source}[{i}]", indent)
            card = engine.card_index.get(label[6:], -1) if label.startswith("score.") else -1
            if card >= 0:  # a score, written as the scorecard's own shown score when it is it
                line(f"if _x is so{card}:", indent)
                line(f"    _e{i} = sq{card}", indent)
                line("else:", indent)
                value_json("_x", f"_e{i}", indent + 1)
            else:
                value_json("_x", f"_e{i}", indent)
            if missing_when is not None:
                condition = "_x is None" if missing_when == "True" else f"_x is None and {missing_when}"
                line(f"if {condition}:", indent)
                line(f"    mis.append({label!r})", indent)
            pieces += [(False, "," + key if i else key), (True, f"_e{i}")]
        pieces.append((False, "}"))
        line(f"{target} = {_fstring(pieces)}", indent)

    line("rec = o.record")
    line("mis = []")
    line("cards = o._cards")
    line("sco = o.scores")
    line("gates = o._gates")
    line("trows = o._tier_rows")
    line("aj = _jstr(o.account_id)")
    line("nm = getattr(rec, 'name', None)")
    line("nj = 'null' if nm is None else _jstr(nm)")
    line("ad = o.as_of.isoformat()")

    # Scorecards and their criteria.
    cards: list[_Piece] = [(False, ',"scores":{')]
    primary = -1
    for k, ((card_key, head, criteria), card) in enumerate(zip(enc._cards, engine.cards, strict=True)):
        if card.id == engine.primary:
            primary = k
        line(f"w{k}, t{k}, rows{k} = cards[{k}]")
        line(f"q = w{k} // t{k}")
        line(f"s{k} = _ht(q)")
        line(f"sq{k} = '\"' + s{k} + '\"'")
        line(f"so{k} = sco[{card.id!r}]")
        line(f"sc{k} = _fr(q / 100) if -{_L2} < q < {_L2} else _hj(q, 100)")
        line(f"wp{k} = _fr(w{k} / 10000) if -{_L4} < w{k} < {_L4} else _hj(w{k}, 10000)")
        line(f"tw{k} = _cj(t{k})")
        cards += [
            (False, ("," if k else "") + card_key + head),
            (True, f"sc{k}"),
            (False, ',"weighted_points":'),
            (True, f"wp{k}"),
            (False, ',"total_weight":'),
            (True, f"tw{k}"),
            (False, ',"criteria":['),
        ]
        for j, (c, chead, evidence, by_value, tails) in enumerate(criteria):
            line(f"v, p, m, st, e = rows{k}[{j}]")
            value_json("v", f"vj{k}_{j}", 1)
            if evidence is not None:
                line("if e is None:")
                line("    ej = None")
                line("else:")
                evidence_json(evidence, "e", "ej", 2, "True")
                key = f"(ej, m, st, p, t{k}, v is None)"
            elif by_value:
                key = f"(m, st, p, t{k}, v is None, _t, vj{k}_{j})"
            else:
                key = f"(m, st, p, t{k}, v is None)"
            line(f"key = {key}")
            line(f"tl{k}_{j} = {constant(tails)}.get(key)")
            line(f"if tl{k}_{j} is None:")
            evidence_arg = "ej" if evidence is not None else "None"
            line(f"    tl{k}_{j} = _tail({k}, {j}, v, p, m, st, t{k}, {evidence_arg}, key)")
            if c.fact is not None:
                line("if st:")
                line(f"    mis.append({c.fact!r})")
            cards += [(False, ("," if j else "") + chead), (True, f"vj{k}_{j}"), (True, f"tl{k}_{j}")]
        cards.append((False, "]}"))
    assert primary >= 0

    # Gates.
    gates: list[_Piece] = [(False, '},"gates":[')]
    for i, (_, head, evidence, reason, notes, _) in enumerate(enc._gates):
        line(f"ga{i}, gu{i}, ge = gates[{i}]")
        evidence_json(evidence, "ge", f"gej{i}", 1, f"gu{i}")
        gates += [
            (False, ("," if i else "") + head),
            (True, f"_B[ga{i}]"),
            (False, ',"unknown":'),
            (True, f"_B[gu{i}]"),
            (False, ',"evidence":'),
            (True, f"gej{i}"),
            (False, reason),
            (True, f"{constant(notes)}[ga{i}, gu{i}]"),
        ]
    exclude = [f"ga{i}" for i, gate in enumerate(engine.gates) if gate.spec.effect == "exclude"]
    line(f"exc = {' or '.join(exclude) if exclude else 'False'}")
    line("ti = o.tier_index")
    line("si = o.segment_index")
    line("mid = _MID.get((ti, exc, si))")
    line("if mid is None:")
    line("    mid = _mid(o, ti, exc, si)")

    # Tier tests; f<i> holds what failed at tier i, for the summary.
    tiers: list[_Piece] = [(False, '],"tier_tests":[')]
    line("ceil = o.ceiling")
    for i, ((head, mins, requirements), tier) in enumerate(zip(enc._tiers, engine.tiers, strict=True)):
        line(f"el{i}, sts, rqs = trows[{i}]")
        line(f"f{i} = []")
        checks: list[str] = []
        for n, (card_id, minimum, check_head) in enumerate(mins):
            score = f"s{engine.card_index[card_id]}"
            target = f"k{i}_{n}"
            checks.append(target)
            line(f"if sts[{n}]:")
            line(
                f"    {target} = "
                + _fstring([(False, check_head + 'true,"actual":"'), (True, score), (False, '","note":null}')])
            )
            line("else:")
            note_before, mark, note_after = min_score_note(card_id, "\x00", minimum).partition("\x00")
            split = _split_note(note_before, note_after) if mark and "\x00" not in note_before + note_after else None
            if split is not None and min_score_note(card_id, "12.34", minimum) == note_before + "12.34" + note_after:
                head_json, tail_json = split
                line(
                    f"    {target} = "
                    + _fstring(
                        [
                            (False, check_head + 'false,"actual":"'),
                            (True, score),
                            (False, '","note":' + head_json),
                            (True, score),
                            (False, tail_json + "}"),
                        ]
                    )
                )
                line(f"    f{i}.append(" + _fstring([(False, note_before), (True, score), (False, note_after)]) + ")")
            else:  # a card id JSON would not write piece by piece: the note written whole
                line(f"    _n = {constant(min_score_note)}({card_id!r}, {score}, {constant(minimum)})")
                line(f"    f{i}.append(_n)")
                line(
                    f"    {target} = "
                    + _fstring(
                        [
                            (False, check_head + 'false,"actual":"'),
                            (True, score),
                            (False, '","note":'),
                            (True, "_jstr(_n)"),
                            (False, "}"),
                        ]
                    )
                )
        for n, condition in enumerate(requirements):
            target = f"k{i}_r{n}"
            checks.append(target)
            line(f"r, e = rqs[{n}]")
            condition_json(condition, f"{target} = {{}}", f"f{i}", 1)
        blocks = [(g, gate, block) for g, (gate, *_, block) in enumerate(enc._gates) if gate.ceiling > i]
        if not blocks:
            pieces: list[_Piece] = []
            for n, target in enumerate(checks):
                pieces += [(False, "," if n else ""), (True, target)]
            line(f"tj{i} = {_fstring(pieces)}")
        else:
            line(f"ck = [{', '.join(checks)}]")
            for g, gate, block in blocks:
                line(f"if ga{g}:")
                line(f"    ck.append({block!r})")
                line(f"    f{i}.append({gate_block_note(gate)!r})")
            line(f"tj{i} = ','.join(ck)")
        tiers += [
            (False, ("," if i else "") + head),
            (True, f"_B[el{i} and ceil <= {i}]"),
            (False, ',"checks":['),
            (True, f"tj{i}"),
            (False, "]}"),
        ]
        del tier
    line("above = (" + "".join(f"f{i}, " for i in range(len(engine.tiers))) + ")[ti - 1] if ti > 0 else ()")

    # Segment tests: the rows of the segments tried, up to the first that matched.
    line("sr = o._segment_rows")
    line("ns = len(sr)")
    line("sg = []")
    for j, condition in enumerate(enc._segments):
        line(f"if ns > {j}:")
        line(f"    r, e = sr[{j}]")
        condition_json(condition, "sg.append({})", None, 2)

    line("sgj = ','.join(sg)")
    line(f"smj = _jstr(_summary(o, s{primary}, above))")
    line("pl = o.placement")
    line("plj = _plj(pl) if pl else ''")
    if engine.has_capacity:
        line("cp = o.capacity")
        line("cj = _NP if cp is None else _capj(*cp)")
        capacity: list[_Piece] = [(True, "cj")]
    else:
        capacity = [(False, "null")]
    line("cmj = _compliance(o)" if engine.checks else "cmj = 'null'")
    line("mj = _mfj(mis) if mis else ''")
    before: list[_Piece] = [
        (False, '{"kind":"decision","account_id":'),
        (True, "aj"),
        (False, ',"account_name":'),
        (True, "nj"),
        (False, ',"as_of":"'),
        (True, "ad"),
        (False, '"'),
        (True, "mid"),
        (False, ',"summary":'),
        (True, "smj"),
        (True, "_TBR[o.rules_index]"),
        (True, "plj"),
        (False, '],"capacity":'),
    ]
    after: list[_Piece] = [
        *cards,
        *gates,
        *tiers,
        (False, '],"segment_tests":['),
        (True, "sgj"),
        (False, '],"compliance":'),
        (True, "cmj"),
        (False, ',"missing_facts":['),
        (True, "mj"),
        (False, "]" + enc._tail),
    ]
    text = "\n".join(body)
    source = (
        f"def _encode(o):\n{text}\n    return {_fstring(before + capacity + after)}\n\n"
        f"def _around(o):\n{text}\n    return {_fstring(before)}, {_fstring(after)}\n"
    )
    encode, around = define(source, names, "<kamrules decision layout>", "_encode", "_around")
    return encode, around
