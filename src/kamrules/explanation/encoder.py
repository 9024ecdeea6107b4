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
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter

from kamrules._version import __version__
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


_PLAIN = frozenset({type(None), str, dt.date})
"""Types whose values equal only values that are written the same way (unlike ``1``,
``1.0``, ``True``, ``Fraction(1)`` or ``0.0`` and ``-0.0``), so a memo may be keyed by them."""


class _Unkeyable(Exception):
    """A value no memo key can stand for (a list, an odd type): the fragment is written anew."""


def _typed(v: Any) -> Any:
    """``v`` as part of a memo key: equal keys are values written alike."""
    t = type(v)
    if t in _PLAIN:
        return v
    if t is float:
        return (float, float.__repr__(v))
    if t is int or t is bool or t is Fraction:
        return (t, v)
    if t is Decimal:
        return (Decimal, str(v))
    raise _Unkeyable


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
        return "".join(self._parts(o)[0])

    def encode_around_capacity(self, o: Outcome) -> tuple[str, str]:
        """The JSON of ``o`` before and after its ``capacity`` value, so that a batch can
        write the capacity (whose note names the portfolio's size) once the whole portfolio
        is decided: ``before + capacity_json(...) + after`` is the decision of ``o`` with that
        capacity, when ``o`` already has one (so that its summary does not say it was not
        placed)."""
        out, at = self._parts(o)
        return "".join(out[:at]), "".join(out[at + 1 :])

    def _parts(self, o: Outcome) -> tuple[list[str], int]:
        """The decision's JSON in pieces, and the index of the piece that is its capacity."""
        engine = self.engine
        missing: list[str] = []
        out: list[str] = ['{"kind":"decision","account_id":', json_str(o.account_id), ',"account_name":']
        name = getattr(o.record, "name", None)
        out.append("null" if name is None else json_str(name))
        out.append(',"as_of":"' + o.as_of.isoformat() + '"')
        out.append(
            ',"tier":'
            + json_str(o.tier)
            + ',"tier_rank":'
            + str(o.tier_rank)
            + ',"key_account":'
            + _BOOL[o.key_account]
        )
        out.append(',"excluded":' + json_bool(o.excluded) + ',"segment":')
        out.append(self._segment_names[o.segment_index] if o.segment_index >= 0 else "null")
        summary_at = len(out)
        out.append("")  # the summary, once the tier tests have said what failed
        out.append(',"tier_by_rules":' + self._tier_names[o.rules_index] + ',"placement":[')
        out.append(
            ",".join('{"kind":' + json_str(kind) + ',"note":' + json_str(note) + "}" for kind, note in o.placement)
        )
        out.append('],"capacity":')
        capacity_at = len(out)
        if not engine.has_capacity:
            out.append("null")
        elif o.capacity is None:
            out.append(capacity_json(False, None, NOT_PLACED))
        else:
            out.append(capacity_json(*o.capacity))
        out.append(',"scores":{')
        primary = None
        shown_scores: dict[str, str] = {}
        first = True
        for (card_key, head, criteria), card, (weighted, total, rows) in zip(
            self._cards, engine.cards, o._cards, strict=True
        ):
            if not first:
                out.append(",")
            first = False
            # what score2(o.scores[card.id]) shows, and score_ratio(weighted, total * 100) gives
            score = hundredths_text(weighted // total)
            shown_scores[card.id] = score
            if card.id == engine.primary:
                primary = score
            out.append(card_key + head + _hundredths_json(weighted // total, 100))
            out.append(
                ',"weighted_points":'
                + _hundredths_json(weighted, 10_000)
                + ',"total_weight":'
                + self._centi_json(total)
                + ',"criteria":['
            )
            for n, ((c, chead, evidence, by_value, tails), (value, points, match, status, ev)) in enumerate(
                zip(criteria, rows, strict=True)
            ):
                value_json = json_any(value)
                evidence_json = evidence.encode(ev, missing) if evidence is not None and ev is not None else None
                if status and c.fact is not None:
                    missing.append(c.fact)
                # Everything after the value follows from these (the value itself only where
                # the words quote it: its type and JSON text then say exactly which value).
                key = (
                    evidence_json,
                    (type(value), value_json) if by_value else None,
                    match,
                    status,
                    points,
                    total,
                    value is None,
                )
                tail = tails.get(key)
                if tail is None:
                    if len(tails) >= MEMO_LIMIT:
                        tails.clear()
                    tail = tails[key] = self._criterion_tail(
                        c, value, points, match, status, total, "null" if evidence_json is None else evidence_json
                    )
                out.append((chead if n == 0 else "," + chead) + value_json + tail)
            out.append("]}")
        out.append('},"gates":[')
        out.append(
            ",".join(
                head
                + json_bool(applied)
                + ',"unknown":'
                + json_bool(unknown)
                + ',"evidence":'
                + evidence.encode(ev, missing if unknown else None)
                + reason
                + notes[(applied, unknown)]
                for (_, head, evidence, reason, notes, _), (applied, unknown, ev) in zip(
                    self._gates, o._gates, strict=True
                )
            )
        )
        out.append('],"tier_tests":[')
        above: list[str] = []
        for index, ((head, mins, requirements), (eligible, score_tests, requirement_rows)) in enumerate(
            zip(self._tiers, o._tier_rows, strict=True)
        ):
            failed: list[str] = []
            checks: list[str] = []
            for (card_id, minimum, check_head), passed in zip(mins, score_tests, strict=True):
                actual = shown_scores[card_id]
                if passed:
                    note = "null"
                else:
                    text = min_score_note(card_id, actual, minimum)
                    failed.append(text)
                    note = json_str(text)
                checks.append(check_head + json_bool(passed) + ',"actual":"' + str(actual) + '","note":' + note + "}")
            for condition, (result, ev) in zip(requirements, requirement_rows, strict=True):
                checks.append(condition.encode(result, ev, missing, failed))
            for (gate, *_, block), (applied, _, _) in zip(self._gates, o._gates, strict=True):
                if applied and gate.ceiling > index:
                    checks.append(block)
                    failed.append(gate_block_note(gate))
            if index:
                out.append(",")
            out.append(head + json_bool(eligible and index >= o.ceiling) + ',"checks":[' + ",".join(checks) + "]}")
            if index == o.tier_index - 1:
                above = failed
        out.append('],"segment_tests":[')
        unused: list[str] = []
        segment_tests = [
            condition.encode(result, ev, missing, unused)
            for condition, (result, ev) in zip(self._segments, o._segment_rows, strict=False)
        ]
        out.append(",".join(segment_tests))
        out.append('],"compliance":')
        out.append(self._compliance(o) if engine.checks else "null")
        out.append(',"missing_facts":[' + ",".join(json_str(m) for m in sorted(set(missing))) + "]")
        out.append(self._tail)
        assert primary is not None
        out[summary_at] = ',"summary":' + json_str(summary_text(o, primary, above))
        return out, capacity_at

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

        Without a plan or items, every fact a check's due date, owner, missing-evidence note
        or items at fault could read beyond its evidence is absent, except the account's own
        facts that due dates and owners read (``account.account_manager``) and the scores:
        so the words follow from the tier, the stage, the as-of date, those facts and each
        check's row (typed: ``1``, ``1.0`` and ``True`` are written differently)."""
        reads = self._flat_reads
        if reads is None:
            return None
        records, lists, facts, cards = reads
        record = o.record
        for name in records:
            if getattr(record, name) is not None:
                return None
        for name in lists:
            if getattr(record, name):
                return None
        key: list[Any] = [o.tier, record.stage, o.map_status, o.as_of]  # type: ignore[attr-defined]
        plain = _PLAIN
        try:
            for name in facts:
                key.append(_typed(getattr(record, name)))
            for card in cards:
                key.append(o.scores[card])
            for row in o._check_rows:
                if row[0] != APPLIES:
                    key.append(row[0])
                elif type(row[2]) in plain and plain.issuperset(map(type, row[3])):
                    key.append(row)  # passed is True, False or None: a row of such values is its own key
                else:
                    key.append((row[1], _typed(row[2]), *map(_typed, row[3])))
        except _Unkeyable:
            return None
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
                _, passed, unknown, values, note, remediation, owner, due, overdue, _ = result
                evidence = json_evidence(values) if values else "{}"
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
