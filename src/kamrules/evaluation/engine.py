"""The per-account evaluator: a rulebook compiled into one pass over an account's facts.

``Engine`` is built once per rulebook. Its hot path (:meth:`Engine.evaluate`) computes
scores, gates, every tier test and the segment into compact tuples (an :class:`Outcome`),
with every value the explanation needs but no pydantic objects; :meth:`Outcome.decision`
turns that into the public :class:`~kamrules.explanation.decision.Decision` when someone
reads it. A batch that only needs tiers never pays for explanation objects it drops.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kamrules._version import __version__
from kamrules.evaluation.codegen import compile_scorecard, compile_tiers
from kamrules.evaluation.compliance import (
    CheckRow,
    compile_checks,
    compliance_model,
    compliance_status,
    evaluate_checks,
    map_status,
)
from kamrules.evaluation.exact import centi_decimal, round_ratio, score2, score_ratio, shown
from kamrules.evaluation.incremental import Dependencies, Reuse, reuse_for
from kamrules.evaluation.keys import Unkeyable, typed
from kamrules.evaluation.scoring import Scorer, centi, scorer_for
from kamrules.explanation.decision import (
    AccountError,
    Decision,
    FieldError,
    ProfileRef,
    RulebookRef,
)
from kamrules.expressions import CompiledExpression, compile_item_facts
from kamrules.facts.records import FactRecord, FieldProblem, InvalidRecord, RecordValidator
from kamrules.facts.types import DATE, FactType, ListType, RecordType
from kamrules.rulebook.model import Criterion, Gate
from kamrules.rulebook.semantics import Rulebook
from kamrules.suggestions import did_you_mean

if TYPE_CHECKING:
    from kamrules.crm.profile import Profile, ProfiledValidator
    from kamrules.explanation.encoder import DecisionEncoder
    from kamrules.portfolio.placement import Placement

Evaluate = Callable[[Any, Mapping[str, Fraction] | None, dt.date], tuple[Any, tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class CompiledCriterion:
    spec: Criterion
    fact: str | None
    weight: int
    missing: str
    read: Callable[[Any], Any] | None
    scorer: Scorer | None
    expression: CompiledExpression | None


@dataclass(frozen=True, slots=True)
class CompiledScorecard:
    id: str
    title: str | None
    criteria: tuple[CompiledCriterion, ...]


@dataclass(frozen=True, slots=True)
class CompiledGate:
    spec: Gate
    expression: CompiledExpression
    ceiling: int
    """The index of the best tier the gate allows when it applies."""


@dataclass(frozen=True, slots=True)
class CompiledTier:
    name: str
    key_account: bool
    min_scores: tuple[tuple[str, Fraction, Decimal], ...]
    thresholds: tuple[tuple[str, int], ...]
    """The same minimums as integer hundredths, for the exact integer test in the hot path."""
    requirements: tuple[tuple[CompiledExpression, str | None], ...]


# Per-criterion results in the hot path: (value, centipoints, match, status, evidence).
# status: 0 scored, 1 missing scored zero, 2 missing dropped.
CriterionRow = tuple[Any, int, int, int, tuple[Any, ...] | None]
CardRow = tuple[int, int, tuple[CriterionRow, ...]]  # (weighted centi^2, total centiweight, rows)
GateRow = tuple[bool, bool, tuple[Any, ...]]  # (applied, unknown, evidence)
RequirementRow = tuple[bool | None, tuple[Any, ...]]
TierRow = tuple[bool, tuple[bool, ...], tuple[RequirementRow, ...]]  # eligible, score tests, requirements
PlacementRow = tuple[str, str]  # (kind: stability / override / capacity, what happened)
CapacityRow = tuple[bool, str | None, str]  # (applied, placement id, note)

NOT_PLACED = "capacity was not applied: the account was decided alone, not placed in a portfolio"


def _attribute_reader(fact: str) -> Callable[[Any], Any] | None:
    """A direct getter for a plain account fact; faster than a compiled expression call."""
    name = fact.split(".", 1)[1] if fact.startswith("account.") else fact
    return operator.attrgetter(name) if "." not in name else None


class Engine:
    """A rulebook compiled for evaluation. Thread-safe: it holds no per-call state, only memos
    of flat accounts' plan-check rows, which threads at worst fill twice."""

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        spec = rulebook.spec
        self.validator: RecordValidator | ProfiledValidator = RecordValidator(rulebook.schema)
        self.profile: ProfileRef | None = None
        """The CRM profile records are read through (:meth:`with_profile`), named in decisions."""
        self.ref = RulebookRef(id=rulebook.id, version=rulebook.version, content_hash=rulebook.content_hash)
        self.cards = tuple(self._compile_card(i, card) for i, card in enumerate(rulebook.scorecards))
        self.card_functions = tuple(compile_scorecard(card.criteria) for card in self.cards)
        self.primary = rulebook.primary_scorecard
        names = [t.name for t in spec.tiers]
        last = len(spec.tiers) - 1
        self.tiers = tuple(
            CompiledTier(
                name=t.name,
                key_account=t.key_account if t.key_account is not None else i != last,
                min_scores=tuple(
                    (card, Fraction(value), value)
                    for card, value in ([(self.primary, t.min_score)] if t.min_score is not None else [])
                    + list((t.min_scores or {}).items())
                ),
                thresholds=tuple(
                    (card, centi(value))
                    for card, value in ([(self.primary, t.min_score)] if t.min_score is not None else [])
                    + list((t.min_scores or {}).items())
                ),
                requirements=tuple(
                    (rulebook.expressions[("tiers", i, "requires", k, "when")], r.reason)
                    for k, r in enumerate(t.requires or [])
                ),
            )
            for i, t in enumerate(spec.tiers)
        )
        non_key = [i for i, t in enumerate(self.tiers) if not t.key_account]
        self.excluded_tier = non_key[0] if non_key else last
        self.excluded_name = spec.excluded.name if spec.excluded is not None else None
        """The policy's name for excluded accounts, which then hold no tier."""
        self.gates = tuple(
            CompiledGate(
                g,
                rulebook.expressions[("gates", i, "when")],
                self.excluded_tier if g.effect == "exclude" else names.index(g.at_most or ""),
            )
            for i, g in enumerate(spec.gates)
        )
        self.segments = tuple(
            (s.name, rulebook.expressions.get(("segments", i, "when"))) for i, s in enumerate(spec.segments)
        )
        self.derive_contact_facts = compile_item_facts(
            {name: rulebook.expressions[("relationship_map", name)].source for name in ("key_player", "supportive")},
            rulebook.schema,
            rulebook.schema.contact,
        )
        self.checks = compile_checks(rulebook, [t.key_account for t in self.tiers])
        # Derived contact facts cost a call per contact; compute them only when something
        # reads them: a rule's expression, or the map status of plan compliance.
        readers = [e.source for path, e in rulebook.expressions.items() if path[0] != "relationship_map"]
        self.derives = bool(self.checks) or any("key_player" in s or "supportive" in s for s in readers)
        sources = " ".join(e.source for e in rulebook.expressions.values())
        self.past_dates = _read_paths(_past_date_paths(rulebook.schema.account), sources)
        self.has_future_date = _future_date_finder(self.past_dates)
        self.tier_index = {t.name: i for i, t in enumerate(self.tiers)}
        self.margin = Fraction(spec.stability.margin) if spec.stability is not None else None
        self.tie_breakers = tuple(
            (rulebook.expressions[("tie_breakers", i, "by")], b.order) for i, b in enumerate(spec.tie_breakers)
        )
        self.card_index = {card.id: i for i, card in enumerate(self.cards)}
        self.decide_tiers = compile_tiers(self.tiers, self.card_index)
        """Every tier's tests in one generated function (``evaluation/codegen.py``)."""
        self.has_capacity = any(t.capacity is not None or t.capacity_per_manager is not None for t in spec.tiers)
        """Whether some tier has a capacity, so that a decision needs a portfolio to be final."""
        self._flat_rows: dict[tuple[Any, ...], tuple[CheckRow, ...]] = {}
        """The plan checks' rows of flat accounts, by what they follow from (:class:`FlatChecks`)."""

    def _compile_card(self, index: int, card: Any) -> CompiledScorecard:
        spec = self.rulebook.spec
        base = ("scorecards", index, "criteria") if spec.scorecards is not None else ("criteria",)
        criteria = []
        for j, c in enumerate(card.criteria):
            expression = self.rulebook.expressions[(*base, j, "expression" if c.expression else "fact")]
            fact = expression.evidence[0] if c.fact is not None else None
            criteria.append(
                CompiledCriterion(
                    spec=c,
                    fact=fact,
                    weight=centi(c.weight),
                    missing=c.missing or spec.defaults.missing,
                    read=_attribute_reader(fact) if fact else None,
                    scorer=scorer_for(c),
                    expression=expression,
                )
            )
        return CompiledScorecard(card.id, card.title, tuple(criteria))

    # -- the hot path -------------------------------------------------------------------

    def validate(self, raw: Mapping[str, Any]) -> FactRecord:
        return self.validator.validate(raw)

    def _prepare(self, record: FactRecord, as_of: dt.date, scan: Callable[[Any, dt.date], bool] | None = None) -> None:
        """Refuse dates in the future and compute the derived contact facts.

        A review dated after the as-of date is a data error, not a very recent review: left
        alone, it would pass every freshness check it touches. ``scan``: a scan of some
        facts only (:meth:`evaluate_after`), the whole record's by default.
        """
        if (scan or self.has_future_date)(record, as_of):
            future = [
                FieldProblem(label, f"{value.isoformat()} is after the as-of date {as_of.isoformat()}", value)
                for label, value in _dates(record, self.past_dates)
                if value > as_of
            ]
            raise InvalidRecord(record.id, future)  # type: ignore[attr-defined]
        if not self.derives:
            return
        self.derive_contact_facts(record.contacts, None, as_of)  # type: ignore[attr-defined]

    def evaluate(self, record: FactRecord, as_of: dt.date) -> Outcome:
        """Decide one validated record; raises :class:`InvalidRecord` when a rule refuses
        to decide without a fact (``missing: error``) or a date lies after ``as_of``."""
        return self._evaluate(record, as_of, None)

    @cached_property
    def dependencies(self) -> Dependencies:
        """What each rule reads, for :meth:`evaluate_after`; built on first use."""
        return Dependencies(self)

    def evaluate_after(self, previous: Outcome | None, record: FactRecord, as_of: dt.date) -> Outcome:
        """``evaluate(record, as_of)``, keeping ``previous``'s results of the rules that read
        nothing that changed since: the same outcome, at a fraction of the cost when a
        change touches few facts (a monitor re-deciding an account after each event).

        ``previous`` is an outcome of this engine for the same account (None: decide it
        afresh). Which rules are kept is in :mod:`kamrules.evaluation.incremental`; the
        rules that run are this engine's own. Without a previous outcome, with one decided
        as of a later date or placed by capacity, this is ``evaluate``."""
        dependencies = self.dependencies
        if previous is None or previous.engine is not self or previous.as_of > as_of or previous.capacity is not None:
            return self._evaluate(record, as_of, None, dependencies)
        return self._evaluate(record, as_of, reuse_for(dependencies, previous, record, as_of), dependencies)

    def _evaluate(
        self, record: FactRecord, as_of: dt.date, reuse: Reuse | None, track: Dependencies | None = None
    ) -> Outcome:
        """The one evaluation: with ``reuse``, rows of rules whose inputs did not change are
        taken from the previous outcome; with ``track``, the derived contact facts are kept
        in the outcome for the next :meth:`evaluate_after`."""
        dirty: frozenset[int] = frozenset()
        previous = None
        keeping: Dependencies | None = None  # set when rows are kept from a previous outcome
        if reuse is None:
            self._prepare(record, as_of)
        else:
            self._prepare(record, as_of, reuse.scan)
            previous, dirty, keeping = reuse.previous, reuse.dirty, track
        derived = track.derived_of(record) if track is not None else None
        if previous is not None and keeping is not None and derived != previous._derived:
            dirty = dirty | keeping.derived_dirty
        cards: list[CardRow] = []
        scores: dict[str, Fraction] = {}
        exact: dict[str, tuple[int, int]] = {}
        moved = False
        for number, (card, score_card) in enumerate(zip(self.cards, self.card_functions, strict=True)):
            if previous is not None and keeping is not None and keeping.card_base + number not in dirty:
                kept = previous._cards[number]
                cards.append(kept)
                scores[card.id] = previous.scores[card.id]
                exact[card.id] = (kept[0], kept[1])
                continue
            scored = score_card(record, as_of)
            if isinstance(scored, int):
                c = card.criteria[scored]
                raise InvalidRecord(
                    record.id,  # type: ignore[attr-defined]
                    [
                        FieldProblem(
                            c.fact or c.spec.id, f"is missing, and criterion '{c.spec.id}' cannot score without it"
                        )
                    ],
                )
            weighted, total, rows = scored
            if total == 0:
                raise InvalidRecord(
                    record.id,  # type: ignore[attr-defined]
                    [
                        FieldProblem(
                            f"scorecard {card.id}", "no criterion could be scored: every fact it reads is missing"
                        )
                    ],
                )
            cards.append((weighted, total, rows))
            scores[card.id] = Fraction(weighted, total * 100)
            exact[card.id] = (weighted, total)
            if previous is not None:
                before = previous._cards[number]
                moved = moved or (before[0], before[1]) != (weighted, total)
        if moved and keeping is not None:
            dirty = dirty | keeping.by_scores

        ceiling = 0
        gate_rows: list[GateRow] = []
        for number, gate in enumerate(self.gates):
            if previous is not None and number not in dirty:
                kept = previous._gates[number]
                if kept[0] and gate.ceiling > ceiling:
                    ceiling = gate.ceiling
                gate_rows.append(kept)
                continue
            result, evidence = gate.expression.evaluate(record, scores, as_of)
            unknown = result is None
            if unknown and gate.spec.missing == "error":
                missing = [label for label, v in zip(gate.expression.evidence, evidence, strict=True) if v is None]
                raise InvalidRecord(
                    record.id,  # type: ignore[attr-defined]
                    [
                        FieldProblem(
                            ", ".join(missing) or gate.spec.id,
                            f"is missing, and gate '{gate.spec.id}' cannot decide without it",
                        )
                    ],
                )
            applied = bool(result) if not unknown else gate.spec.missing == "apply"
            if applied and gate.ceiling > ceiling:
                ceiling = gate.ceiling
            gate_rows.append((applied, unknown, evidence))

        tier_rows: list[TierRow] | tuple[TierRow, ...]
        if previous is None or keeping is None:
            tier_rows, chosen = self.decide_tiers(record, scores, cards, as_of, ceiling)
        else:
            tier_rows, chosen = self._tiers_keeping(record, scores, exact, as_of, ceiling, previous, keeping, dirty)
        natural = chosen
        notes: tuple[PlacementRow, ...] = ()
        if self.margin is not None and record.current_tier is not None:  # type: ignore[attr-defined]
            chosen, stability_note = self._stable(record.current_tier, scores, tier_rows, ceiling, chosen)  # type: ignore[attr-defined]
            if stability_note is not None:
                notes += (stability_note,)
        if record.override_tier is not None:  # type: ignore[attr-defined]
            chosen, override_note = self._override(record, as_of, chosen)
            notes += (override_note,)

        segment = -1
        segment_rows: list[RequirementRow] = []
        for index, (_, expr) in enumerate(self.segments):
            if expr is None:
                segment = index
                break
            if (
                previous is not None
                and keeping is not None
                and keeping.segment_base + index not in dirty
                and index < len(previous._segment_rows)
            ):
                row = previous._segment_rows[index]
            else:
                row = expr.evaluate(record, scores, as_of)
            segment_rows.append(row)
            if row[0] is True:
                segment = index
                break
        keep = None
        if previous is not None and keeping is not None and self.checks:
            base = keeping.check_base
            keep = [None if base + i in dirty else row for i, row in enumerate(previous._check_rows)]
        if not self.checks:
            check_rows: tuple[CheckRow, ...] = ()
        elif keep is None:
            check_rows = self._check_rows(record, scores, chosen, as_of)
        else:
            check_rows = evaluate_checks(self.checks, record, scores, chosen, as_of, keep)
        return Outcome(
            self,
            record,
            as_of,
            tuple(cards),
            scores,
            tuple(gate_rows),
            ceiling,
            tuple(tier_rows),
            chosen,
            segment,
            tuple(segment_rows),
            check_rows,
            map_status(record) if self.checks else 0,
            natural,
            notes,
            _derived=derived,
        )

    @cached_property
    def flat_checks(self) -> FlatChecks | None:
        """What the plan checks of a flat account follow from (None: this rulebook's checks
        read something :class:`FlatChecks` cannot vouch for); built on first use."""
        return flat_checks(self)

    def _check_rows(
        self, record: FactRecord, scores: Mapping[str, Fraction], tier: int, as_of: dt.date
    ) -> tuple[CheckRow, ...]:
        """The plan checks' rows; a flat account's are remembered under what they follow from
        (every key account of a CRM export has thirty checks, and their rows repeat)."""
        flat = self.flat_checks
        if flat is not None:
            key = flat.key(record, tier, as_of, scores)
            if key is not None:
                memo = self._flat_rows
                rows = memo.get(key)
                if rows is None:
                    if len(memo) >= FLAT_MEMO_LIMIT:
                        memo.clear()
                    rows = memo[key] = evaluate_checks(self.checks, record, scores, tier, as_of)
                return rows
        return evaluate_checks(self.checks, record, scores, tier, as_of)

    def _tiers_keeping(
        self,
        record: FactRecord,
        scores: Mapping[str, Fraction],
        exact: Mapping[str, tuple[int, int]],
        as_of: dt.date,
        ceiling: int,
        previous: Outcome,
        keeping: Dependencies,
        dirty: frozenset[int],
    ) -> tuple[list[TierRow], int]:
        """The tier tests of :meth:`evaluate_after`: ``decide_tiers``'s, with the rows of
        requirements whose inputs did not change kept from ``previous``."""
        tier_rows: list[TierRow] = []
        chosen = -1
        for index, tier in enumerate(self.tiers):
            # score >= minimum, exactly: weighted / (total * 100) >= m / 100  <=>  weighted >= m * total
            score_tests = tuple(exact[card][0] >= minimum * exact[card][1] for card, minimum in tier.thresholds)
            base = keeping.requirement_offsets[index]
            kept_rows = previous._tier_rows[index][2]
            requirement_rows = tuple(
                expr.evaluate(record, scores, as_of) if base + k in dirty else kept_rows[k]
                for k, (expr, _) in enumerate(tier.requirements)
            )
            eligible = all(score_tests) and all(r[0] is True for r in requirement_rows)
            tier_rows.append((eligible, score_tests, requirement_rows))
            if chosen < 0 and eligible and index >= ceiling:
                chosen = index
        if chosen < 0:
            chosen = len(self.tiers) - 1
        return tier_rows, chosen

    def _eligible_with(
        self, index: int, scores: Mapping[str, Fraction], rows: Sequence[TierRow], delta: Fraction
    ) -> bool:
        """Would the account meet tier ``index`` with every score threshold moved by ``delta``?"""
        tier = self.tiers[index]
        requirements_met = all(r[0] is True for r in rows[index][2])
        return requirements_met and all(scores[card] >= minimum + delta for card, minimum, _ in tier.min_scores)

    def _stable(
        self, current: str, scores: Mapping[str, Fraction], rows: Sequence[TierRow], ceiling: int, natural: int
    ) -> tuple[int, PlacementRow | None]:
        """Apply the stability margin around the account's current tier."""
        held = self.tier_index.get(current)
        if held is None:
            hint = did_you_mean(current, self.tier_index)
            note = f"the current tier '{current}' is not a tier of this rulebook, so no stability margin applies"
            return natural, ("stability", note + (f" ({hint})" if hint else ""))
        if held == natural:
            return natural, None
        margin = self.margin
        assert margin is not None
        names = [t.name for t in self.tiers]
        if natural < held:  # the rules would promote the account
            for index in range(natural, held):
                if index >= ceiling and self._eligible_with(index, scores, rows, margin):
                    if index == natural:
                        return natural, None
                    return index, (
                        "stability",
                        f"moved up to {names[index]} only: {names[natural]} needs its "
                        f"thresholds passed by the stability margin of {margin} points",
                    )
            return held, (
                "stability",
                f"held at {current}: moving up to {names[natural]} needs its thresholds "
                f"passed by the stability margin of {margin} points",
            )
        if held >= ceiling and self._eligible_with(held, scores, rows, -margin):
            return held, (
                "stability",
                f"held at {current}: the score is below its thresholds by less than the "
                f"stability margin of {margin} points (the rules alone give {names[natural]})",
            )
        return natural, None

    def _override(self, record: Any, as_of: dt.date, chosen: int) -> tuple[int, PlacementRow]:
        """A tier pinned by a policy owner, while it has not expired."""
        name = record.override_tier
        index = self.tier_index.get(name)
        if index is None:
            hint = did_you_mean(name, self.tier_index)
            raise InvalidRecord(
                record.id,
                [
                    FieldProblem(
                        "override_tier",
                        f"'{name}' is not a tier of this rulebook" + (f"; {hint}" if hint else ""),
                        name,
                    )
                ],
            )
        absent = [f for f in ("override_reason", "override_approver", "override_expires") if getattr(record, f) is None]
        if absent:
            raise InvalidRecord(
                record.id,
                [FieldProblem(", ".join(absent), "an override needs a reason, an approver and an expiry date", None)],
            )
        expires = record.override_expires
        if expires < as_of:
            return chosen, ("override", f"the override to {name} expired on {expires.isoformat()}; the rules decide")
        note = (
            f"pinned to {name} by override until {expires.isoformat()}, approved by "
            f"{record.override_approver}: {record.override_reason}"
        )
        return index, ("override", note)

    def ref_dict(self) -> dict[str, str]:
        """The rulebook reference as plain data (saved placements and registers carry it)."""
        return {"id": self.ref.id, "version": self.ref.version, "content_hash": self.ref.content_hash}

    # -- convenience ------------------------------------------------------------------

    @cached_property
    def encoder(self) -> DecisionEncoder:
        """The JSON encoder of this rulebook's explained decisions, built on first use."""
        from kamrules.explanation.encoder import DecisionEncoder

        return DecisionEncoder(self)

    def with_profile(self, profile: Profile | str | Path | None) -> Engine:
        """This engine reading records through a CRM profile (a :class:`~kamrules.crm.Profile`,
        a shipped profile's name or a file), checked against the rulebook's facts.

        The compiled rules are shared, not rebuilt: only the validator differs, so that
        every path that validates a raw record (a batch, one account, the columnar path's
        per-account rows) converts it the same way, and decisions name the profile."""
        if profile is None:
            return self
        from kamrules.crm.profile import ProfiledValidator, load_profile

        loaded = load_profile(profile)
        engine = copy.copy(self)
        engine.__dict__.pop("encoder", None)  # a cached encoder belongs to the engine it was built for
        base = self.validator.base if isinstance(self.validator, ProfiledValidator) else self.validator
        engine.validator = ProfiledValidator(base, loaded.bind(self.rulebook.schema))
        engine.profile = loaded.ref
        return engine

    def decide(
        self,
        raw: Mapping[str, Any],
        as_of: dt.date,
        *,
        placement: Placement | None = None,
        profile: Profile | str | Path | None = None,
    ) -> Decision:
        """Validate and decide one raw record, read through the CRM ``profile`` when given;
        raises :class:`InvalidRecord` if it does not fit.

        When tiers have capacities, one account alone cannot know whether a tier is full:
        pass the ``placement`` of its portfolio (saved by a batch run) to place it against it;
        without one, the decision says that capacity was not applied."""
        engine = self.with_profile(profile)
        outcome = engine.evaluate(engine.validator.validate(raw), as_of)
        if placement is not None and engine.has_capacity:
            from kamrules.portfolio.capacity import place_outcome

            outcome = place_outcome(engine, outcome, placement)
        return outcome.decision()


FLAT_MEMO_LIMIT = 10_000
"""Flat accounts' check rows kept per engine before the memo is emptied: a key is a tier, a
stage, a date and a few facts, so this bounds it at a few megabytes."""


@dataclass(frozen=True, slots=True)
class FlatChecks:
    """What the plan checks of a flat account (no nested record and no list item: a row of a
    CRM export) follow from, found once per rulebook from what each check's condition reads
    (:func:`~kamrules.evaluation.incremental.reads_of`).

    In such an account everything a condition reads inside the plan or a list is absent or
    empty, so its row follows from the tier (applicability), the stage, the as-of date, the
    account's own facts the conditions read and, if one reads a score, the scores. Those are
    the key (the facts typed: ``1``, ``1.0`` and ``True`` are equal and not the same fact)."""

    records: tuple[str, ...]
    """The account's nested records (the plan): None in a flat account."""
    lists: tuple[str, ...]
    """The account's lists (contacts, team, ...): empty in a flat account."""
    facts: tuple[str, ...]
    """The account's own facts the conditions read."""
    cards: tuple[str, ...]
    """The scorecards whose scores the conditions may read (all of them, if one reads a score)."""

    def key(self, record: Any, tier: int, as_of: dt.date, scores: Mapping[str, Fraction]) -> tuple[Any, ...] | None:
        """What the checks' rows of ``record`` at ``tier`` follow from, or None when it is
        not flat or holds a value no key can stand for."""
        for name in self.records:
            if getattr(record, name) is not None:
                return None
        for name in self.lists:
            if getattr(record, name):
                return None
        if not self.facts and not self.cards:
            return (tier, record.stage, as_of)
        key: list[Any] = [tier, record.stage, as_of]
        try:
            for name in self.facts:
                key.append(typed(getattr(record, name)))
        except Unkeyable:
            return None
        for card in self.cards:
            key.append(scores[card])
        return tuple(key)


def flat_checks(engine: Engine) -> FlatChecks | None:
    """The :class:`FlatChecks` of an engine's plan checks, or None when a condition reads
    anything but the plan, the lists, the account's own facts and the scores."""
    if not engine.checks:
        return None
    account = engine.rulebook.schema.account
    records = tuple(name for name, f in account.fields.items() if isinstance(f.type, RecordType))
    lists = tuple(name for name, f in account.fields.items() if isinstance(f.type, ListType))
    dependencies = engine.dependencies
    facts: list[str] = []
    reads_scores = False
    for number in range(len(engine.checks)):
        reads = dependencies.reads[dependencies.check_base + number]
        reads_scores = reads_scores or reads.scores
        for fact in reads.facts:
            root = fact.partition(".")[0]
            if root in records or root in lists:
                continue
            if fact not in account.fields:
                return None
            facts.append(fact)
    cards = tuple(card.id for card in engine.cards) if reads_scores else ()
    return FlatChecks(records, lists, tuple(sorted(set(facts))), cards)


def account_error(number: int, exc: InvalidRecord, line: int | None = None) -> AccountError:
    return AccountError(
        record=number,
        line=line,
        account_id=exc.account_id,
        errors=[FieldError(field=p.field, message=p.message, value=_jsonable(p.value)) for p in exc.problems],
        message=str(exc),
    )


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.date, Decimal, Fraction)):
        return str(value)
    return repr(value)


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if type(value) is Fraction:
        return str(score2(value))
    if value is None:
        return "missing"
    if isinstance(value, str):
        return f"'{value}'"
    return str(value)


@dataclass(frozen=True, slots=True)
class Outcome:
    """The compact result of the hot path; :meth:`decision` builds the explained model."""

    engine: Engine
    record: FactRecord
    as_of: dt.date
    _cards: tuple[CardRow, ...]
    scores: dict[str, Fraction]
    _gates: tuple[GateRow, ...]
    ceiling: int
    _tier_rows: tuple[TierRow, ...]
    tier_index: int
    segment_index: int
    _segment_rows: tuple[RequirementRow, ...]
    _check_rows: tuple[CheckRow, ...]
    map_status: int
    rules_index: int
    """The tier the rules alone give, before stability, override and capacity."""
    placement: tuple[PlacementRow, ...]
    capacity: CapacityRow | None = None
    """Set when tier capacity was resolved for this outcome: by a batch over its portfolio,
    or against a saved placement. None means the account was decided alone."""
    _derived: tuple[Any, ...] | None = None
    """The contacts' derived facts as this evaluation computed them (by
    :meth:`Engine.evaluate_after`), so that the next one can tell whether they moved: they
    are computed in place on contacts that the next record may share."""

    @property
    def account_id(self) -> str:
        return self.record.id  # type: ignore[attr-defined, no-any-return]

    @property
    def tier(self) -> str:
        """The tier's name, or the rulebook's excluded outcome for an excluded account."""
        if self.engine.excluded_name is not None and self.excluded:
            return self.engine.excluded_name
        return self.engine.tiers[self.tier_index].name

    @property
    def key_account(self) -> bool:
        return self.engine.tiers[self.tier_index].key_account and not (
            self.engine.excluded_name is not None and self.excluded
        )

    @property
    def tier_rank(self) -> int:
        """1 for the best tier; an excluded outcome ranks after the last tier."""
        if self.engine.excluded_name is not None and self.excluded:
            return len(self.engine.tiers) + 1
        return self.tier_index + 1

    @property
    def compliance_status(self) -> str | None:
        """The plan's compliance status, or None when the rulebook has no plan checks."""
        return compliance_status(self.engine.checks, self._check_rows) if self.engine.checks else None

    @property
    def segment(self) -> str | None:
        return self.engine.segments[self.segment_index][0] if self.segment_index >= 0 else None

    @property
    def pinned(self) -> bool:
        """Whether an active override pins the account's tier (it then holds it in capacity)."""
        return any(kind == "override" and "pinned" in note for kind, note in self.placement)

    @property
    def excluded(self) -> bool:
        """Whether an ``exclude`` gate applies to the account."""
        return any(
            applied and gate.spec.effect == "exclude"
            for gate, (applied, _, _) in zip(self.engine.gates, self._gates, strict=True)
        )

    def with_capacity(self, applied: bool, placement: str | None, note: str) -> Outcome:
        """This outcome marked as placed (or knowingly not placed) by tier capacity."""
        return dataclasses.replace(self, capacity=(applied, placement, note))

    def placed(self, tier_index: int, capacity_notes: Iterable[str]) -> Outcome:
        """This outcome moved by tier capacity to ``tier_index``, with the notes that say
        why. Plan checks apply by tier, so at another tier they are checked again."""
        check_rows = self._check_rows
        if tier_index != self.tier_index and self.engine.checks:
            check_rows = evaluate_checks(self.engine.checks, self.record, self.scores, tier_index, self.as_of)
        return dataclasses.replace(
            self,
            tier_index=tier_index,
            placement=(*self.placement, *(("capacity", note) for note in capacity_notes)),
            _check_rows=check_rows,
        )

    def decision(self) -> Decision:
        """The explained :class:`Decision`. Its words come from the functions below, which the
        JSON encoder (:mod:`kamrules.explanation.encoder`) shares; this builds the model."""
        engine = self.engine
        missing: list[str] = []
        scores: dict[str, dict[str, Any]] = {}
        for card, (weighted, total, rows) in zip(engine.cards, self._cards, strict=True):
            results = []
            for c, (value, points, match, status, evidence) in zip(card.criteria, rows, strict=True):
                results.append(self._criterion(c, value, points, match, status, evidence, total, missing))
            scores[card.id] = {
                "id": card.id,
                "title": card.title,
                "score": score_ratio(weighted, total * 100),
                "weighted_points": Decimal(weighted) / 10_000,
                "total_weight": centi_decimal(total),
                "criteria": results,
            }
        gates = [self._gate(g, row, missing) for g, row in zip(engine.gates, self._gates, strict=True)]
        tier_tests = [
            self._tier_test(i, t, row, missing)
            for i, (t, row) in enumerate(zip(engine.tiers, self._tier_rows, strict=True))
        ]
        segment_tests = [
            {**self._condition("segment", expr, row, None, missing), "segment": name}
            for (name, expr), row in zip(engine.segments, self._segment_rows, strict=False)
            if expr is not None
        ]
        above = tier_tests[self.tier_index - 1]["checks"] if self.tier_index > 0 else []
        # The parts are plain dicts, validated once here: building each part as a model of
        # its own costs about twice as much.
        return Decision.model_validate(
            {
                "account_id": self.account_id,
                "account_name": getattr(self.record, "name", None),
                "as_of": self.as_of,
                "tier": self.tier,
                "tier_rank": self.tier_rank,
                "key_account": self.key_account,
                "excluded": self.excluded,
                "segment": self.segment,
                "summary": summary_text(
                    self,
                    scores[engine.primary]["score"],
                    [c["note"] or c["test"] for c in above if not c["passed"]],
                ),
                "tier_by_rules": engine.tiers[self.rules_index].name,
                "placement": [{"kind": kind, "note": note} for kind, note in self.placement],
                "capacity": self._capacity(),
                "scores": scores,
                "gates": gates,
                "tier_tests": tier_tests,
                "segment_tests": segment_tests,
                "compliance": compliance_model(
                    engine.checks, self._check_rows, self.record, self.scores, self.tier, self.map_status, self.as_of
                )
                if engine.checks
                else None,
                "missing_facts": sorted(set(missing)),
                "rulebook": engine.ref,
                "profile": engine.profile,
                "kamrules_version": __version__,
            }
        )

    def decision_json(self) -> str:
        """``self.decision().model_dump_json()``, byte for byte, written straight from this
        outcome without building the model (about ten times faster; for bulk output)."""
        return self.engine.encoder.encode(self)

    def _criterion(
        self,
        c: CompiledCriterion,
        value: Any,
        points: int,
        match: int,
        status: int,
        evidence: tuple[Any, ...] | None,
        total: int,
        missing: list[str],
    ) -> dict[str, Any]:
        spec = c.spec
        evidence_map = None
        if c.expression is not None and c.fact is None and evidence is not None:
            evidence_map = {label: shown(v) for label, v in zip(c.expression.evidence, evidence, strict=True)}
            missing.extend(label for label, v in evidence_map.items() if v is None)
        if status and c.fact is not None:
            missing.append(c.fact)
        return {
            "id": spec.id,
            "title": spec.title,
            "method": spec.method,
            "fact": c.fact,
            "value": shown(value),
            "evidence": evidence_map,
            "matched": criterion_matched(c, value, points, match, status),
            "points": centi_decimal(points),
            "weight": centi_decimal(c.weight),
            "contribution": Decimal("0.00") if status == 2 else round_ratio(c.weight * points, total * 100),
            "missing": status != 0 or (value is None),
            "dropped": status == 2,
        }

    def _gate(self, gate: CompiledGate, row: GateRow, missing: list[str]) -> dict[str, Any]:
        applied, unknown, evidence = row
        labels = gate.expression.evidence
        evidence_map = {label: shown(v) for label, v in zip(labels, evidence, strict=True)}
        spec = gate.spec
        if unknown:
            missing.extend(label for label, v in evidence_map.items() if v is None)
        return {
            "id": spec.id,
            "title": spec.title,
            "effect": spec.effect,
            "at_most": spec.at_most,
            "applied": applied,
            "unknown": unknown,
            "evidence": evidence_map,
            "reason": spec.reason,
            "note": gate_note(spec, applied, unknown),
        }

    def _condition(
        self,
        kind: Literal["requirement", "segment"],
        expr: CompiledExpression,
        row: RequirementRow,
        reason: str | None,
        missing: list[str],
    ) -> dict[str, Any]:
        """A requirement or segment test, with the facts it read and, if unmet, why."""
        result, evidence = row
        values = {label: shown(v) for label, v in zip(expr.evidence, evidence, strict=True)}
        if result is None:
            missing.extend(label for label, v in values.items() if v is None)
        note = condition_note(expr, result, reason)
        return {"kind": kind, "test": expr.source, "passed": result is True, "actual": values, "note": note}

    def _tier_test(self, index: int, tier: CompiledTier, row: TierRow, missing: list[str]) -> dict[str, Any]:
        eligible, score_tests, requirement_rows = row
        checks: list[dict[str, Any]] = []
        for (card, _, minimum), passed in zip(tier.min_scores, score_tests, strict=True):
            actual = score2(self.scores[card])
            note = None if passed else min_score_note(card, actual, minimum)
            test = f"score.{card} >= {minimum}"
            checks.append({"kind": "min_score", "test": test, "passed": passed, "actual": actual, "note": note})
        for (expr, reason), requirement in zip(tier.requirements, requirement_rows, strict=True):
            checks.append(self._condition("requirement", expr, requirement, reason, missing))
        for gate, (applied, _, _) in zip(self.engine.gates, self._gates, strict=True):
            if applied and gate.ceiling > index:
                checks.append({"kind": "gate", "test": gate.spec.id, "passed": False, "note": gate_block_note(gate)})
        return {"tier": tier.name, "eligible": eligible and index >= self.ceiling, "checks": checks}

    def _capacity(self) -> dict[str, Any] | None:
        if not self.engine.has_capacity:
            return None
        if self.capacity is None:
            return {"applied": False, "placement": None, "note": NOT_PLACED}
        applied, placement, note = self.capacity
        return {"applied": applied, "placement": placement, "note": note}


# -- the words of an explanation ------------------------------------------------------
# One implementation, shared by Outcome.decision() and the JSON encoder, so that the two
# cannot word a decision differently.


def criterion_matched(c: CompiledCriterion, value: Any, points: int, match: int, status: int) -> str:
    """What a criterion's value matched: a band, the scale, the map, or why it is missing."""
    spec = c.spec
    method = spec.method
    if status == 2:
        return f"missing: left out of the score (policy: drop, weight {centi_decimal(c.weight)} not counted)"
    if status == 1:
        return "missing: scored 0 points (policy: zero)"
    if method == "bands":
        assert spec.bands is not None
        if match < 0:
            return f"below every band (lowest: at least {_fmt(spec.bands[-1].at_least)})"
        band = spec.bands[match]
        return f"at least {_fmt(band.at_least)}" + (f" ({band.label})" if band.label else "")
    if method == "scale":
        assert spec.scale is not None
        s = spec.scale
        return (
            f"on the scale {_fmt(s.from_value)} -> {_fmt(s.to_value)} "
            f"({centi_decimal(centi(s.points_from))} -> {centi_decimal(centi(s.points_to))} points)"
        )
    if method == "map":
        if match < 0:
            return f"{_fmt(value)} is not in the map: otherwise {centi_decimal(points)} points"
        return f"{_fmt(value)} in the map"
    if method == "boolean":
        return f"{_fmt(value)}"
    return f"computed by {spec.expression}"


def gate_note(spec: Gate, applied: bool, unknown: bool) -> str:
    if unknown:
        return "could not be decided because a fact is missing; " + (
            "applied anyway (missing: apply)" if applied else "not applied (missing: skip)"
        )
    if applied:
        return (
            "applies: the account gets no key-account tier"
            if spec.effect == "exclude"
            else f"applies: the account can reach at most {spec.at_most}"
        )
    return "does not apply"


def condition_note(expr: CompiledExpression, result: bool | None, reason: str | None) -> str | None:
    """Why a requirement or segment test is not met (None when it is)."""
    if result is None:
        return ((reason + "; ") if reason else "") + "unknown: a fact it reads is missing"
    if result is not True:
        return reason or f"{expr.source} is not met"
    return None


def min_score_note(card: str, actual: Decimal | str, minimum: Decimal) -> str:
    """A failed minimum score; ``actual`` is the score shown (``score2``) or its text."""
    return f"the {card} score {actual} is below {minimum}"


def gate_block_note(gate: CompiledGate) -> str:
    """A tier test failed because a gate keeps the account below the tier."""
    return f"gate '{gate.spec.id}' applies: {gate.spec.reason}"


def summary_text(outcome: Outcome, primary_score: Decimal | str, above_failed: Iterable[str]) -> str:
    """One sentence: the tier, the score (shown, or its text), what kept the account from the
    tier above (the notes of the failed tests of the tier above, ``above_failed``), and that
    capacity was not applied when the account was decided alone."""
    engine = outcome.engine
    text = f"{outcome.tier}: {engine.primary} score {primary_score}"
    if outcome.placement:
        text = f"{text}; " + "; ".join(note for _, note in outcome.placement)
    else:
        for gate, (applied, _, _) in zip(engine.gates, outcome._gates, strict=True):
            if applied and gate.spec.effect == "exclude":
                text = f"{text}; excluded from key-account tiers by gate '{gate.spec.id}': {gate.spec.reason}"
                break
        else:
            if outcome.tier_index > 0:
                reasons = "; ".join(above_failed)
                if reasons:
                    text += f"; not {engine.tiers[outcome.tier_index - 1].name} because {reasons}"
    holds_no_tier = engine.excluded_name is not None and outcome.excluded
    if engine.has_capacity and outcome.capacity is None and not holds_no_tier:
        text += f"; {NOT_PLACED}"
    return text


# (label prefix, attribute path to a list or record, past-date fields of its items)
PastPaths = tuple[tuple[tuple[str, ...], bool, tuple[str, ...]], ...]


def _past_date_paths(root: RecordType) -> PastPaths:
    """Where the dates of past events live, found once from the schema."""
    found: list[tuple[tuple[str, ...], bool, tuple[str, ...]]] = []

    def walk(record: RecordType, path: tuple[str, ...], is_list: bool) -> None:
        names = tuple(f.name for f in record.fields.values() if f.past and f.type == DATE)
        if names:
            found.append((path, is_list, names))
        for f in record.fields.values():
            t: FactType = f.type
            if isinstance(t, RecordType):
                walk(t, (*path, f.name), False)
            elif isinstance(t, ListType):
                walk(t.item, (*path, f.name), True)

    walk(root, (), False)
    return tuple(found)


def _read_paths(paths: PastPaths, sources: str) -> PastPaths:
    """Only the past-event dates some rule reads: a future date nobody reads cannot make a
    check pass, and refusing the whole account for it would only lose a decision."""
    kept: list[tuple[tuple[str, ...], bool, tuple[str, ...]]] = []
    for path, is_list, names in paths:
        label = ".".join(path)
        if is_list:
            # Inside an aggregate an item's fact is written bare or after the item's name;
            # a date whose name no rule mentions is not read (a thousand relationships'
            # last_contact when the rules only count relationships).
            if re.search(rf"\b{re.escape(label)}\b", sources):
                read = tuple(n for n in names if re.search(rf"\b{n}\b", sources))
                if read:
                    kept.append((path, is_list, read))
            continue
        read = tuple(n for n in names if re.search(rf"\b{re.escape(label + '.' if label else '')}{n}\b", sources))
        if read:
            kept.append((path, is_list, read))
    return tuple(kept)


def _future_date_finder(paths: PastPaths) -> Callable[[Any, dt.date], bool]:
    """A function, generated once from the schema, that says whether any past-event date of
    a record lies after the as-of date.

    Every account pays for this check, so it is straight-line code rather than a walk over
    the schema: about a tenth of the cost. Names come from the validated schema only.
    """
    lines = ["def has_future_date(r, as_of):"]
    for number, (path, is_list, names) in enumerate(paths):
        target = "r" + "".join(f".{part}" for part in path)
        if len(path) > 1:  # a list inside the plan: the plan may be missing
            lines.append(f"    _p = r.{path[0]}")
            lines.append(f"    _t{number} = _p.{'.'.join(path[1:])} if _p is not None else ()")
            target = f"_t{number}"
        if is_list:
            # A comprehension, not a for loop: a third faster over a large relationship map.
            late = " or ".join(f"((_d := _x.{name}) is not None and _d > as_of)" for name in names)
            lines.append(f"    if [0 for _x in {target} if {late}]: return True")
        elif path:
            lines.append(f"    _x = {target}")
            lines.append("    if _x is not None:")
            for name in names:
                lines.append(f"        if _x.{name} is not None and _x.{name} > as_of: return True")
        else:
            for name in names:
                lines.append(f"    if r.{name} is not None and r.{name} > as_of: return True")
    lines.append("    return False")
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile("\n".join(lines), "<kamrules future dates>", "exec"), namespace)
    finder: Callable[[Any, dt.date], bool] = namespace["has_future_date"]
    return finder


def _dates(record: Any, paths: PastPaths) -> Iterator[tuple[str, dt.date]]:
    for path, is_list, names in paths:
        target = record
        for part in path:
            target = getattr(target, part) if target is not None else None
        if target is None:
            continue
        items = enumerate(target) if is_list else [(None, target)]
        prefix = ".".join(path)
        for index, item in items:
            for name in names:
                value = getattr(item, name)
                if value is not None:
                    where = f"{prefix}[{index}]" if index is not None else prefix
                    yield (f"{where}.{name}" if where else name), value
