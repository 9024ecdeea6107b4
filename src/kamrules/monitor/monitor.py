"""The account monitor: each event folded into its account's facts, the account re-decided
by the same :class:`~kamrules.Engine`, and what changed raised as explained alerts.

Business time only: the monitor's date is the latest event date or ``clock.tick`` it has
seen, and every decision is made as of that date, so replaying an event log gives the same
alerts byte for byte. A tick re-decides only the accounts with something falling due by
then (a review, an override, a fresh-check date): a heap of wake dates, not a scan of the
portfolio.

Library use (the service plugs in here)::

    monitor = Monitor(load_rulebook("rules/"))
    alerts = monitor.handle({"id": "e1", "type": "stage.changed", ...})
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from kamrules.errors import KamrulesError
from kamrules.evaluation.compliance import APPLIES, MAP_STATUS, explain_checks
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.evaluation.exact import score2
from kamrules.explanation.decision import Decision, RulebookRef
from kamrules.facts.records import FactRecord, InvalidRecord, RecordValidator
from kamrules.facts.types import ListType, RecordType
from kamrules.monitor.events import (
    RESERVED_ACCOUNT_FACTS,
    AccountEvent,
    AccountUpdated,
    ClockTick,
    ContactLeft,
    Event,
    RefusedEvent,
    StageChanged,
    parse_event,
)
from kamrules.monitor.folding import Change, Facts, FoldError, fold, fold_patch
from kamrules.monitor.statechart import INITIAL, StageChart, allowed_transitions
from kamrules.rulebook.alerts import AlertRule
from kamrules.rulebook.semantics import Rulebook

if TYPE_CHECKING:
    from kamrules.crm.profile import BoundProfile, Profile

SEEN_PER_ACCOUNT = 32
"""How many recent event ids each account remembers to ignore a redelivery. Bounded so that
memory stays flat however long the stream; a sink deduplicates alerts by their id as well."""

_DAY = dt.timedelta(days=1)
_REVIEW_RANK = {"none": 0, "ok": 0, "due_soon": 1, "overdue": 2, "escalated": 3}
_REVIEW_KIND = {"due_soon": "review_due_soon", "overdue": "review_overdue", "escalated": "review_escalated"}


class EventRefusedError(KamrulesError):
    """An event the monitor did not take; the account is unchanged and the stream goes on."""

    def __init__(self, refused: RefusedEvent) -> None:
        self.refused = refused
        super().__init__(str(refused))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class DecisionSnapshot(_Model):
    """The parts of a decision an alert is about, as of a date."""

    as_of: dt.date
    tier: str
    tier_by_rules: str
    segment: str | None
    scores: dict[str, str]
    """Each scorecard's score, exact to two decimals."""
    compliance: str | None
    map_status: str
    failing_checks: list[str]


class FactChange(_Model):
    fact: str
    before: Any = None
    after: Any = None


class Alert(_Model):
    """One change worth telling someone about, with why: before, after, and what moved it."""

    alert_id: str
    """``<event id>/<kind>[/<subject>]``: the same in every replay, the idempotency key of every sink."""
    kind: str
    severity: str
    account_id: str
    account_name: str | None
    date: dt.date
    event_id: str
    title: str
    message: str
    notify: list[str]
    subject: str | None = None
    details: dict[str, Any] = {}
    before: DecisionSnapshot | None
    after: DecisionSnapshot | None
    moved_by: list[FactChange]
    rulebook: RulebookRef


@dataclass(slots=True)
class _Account:
    facts: Facts
    record: FactRecord | None = None
    """``facts`` validated: the next event validates only what it changed (see :func:`reusing`)."""
    outcome: Outcome | None = None
    snapshot: tuple[Outcome, DecisionSnapshot] | None = None
    """The current outcome as an alert showed it, for the next alert's "before"; None when
    no alert showed it (holding an older outcome would keep its record alive)."""
    seen: deque[str] = field(default_factory=lambda: deque(maxlen=SEEN_PER_ACCOUNT))
    reviews: dict[str, str] = field(default_factory=dict)
    override: tuple[str, str, str] | None = None
    """(tier, expires, state) of the override the alerts were last raised for."""
    wake: dt.date | None = None


def _key_players(outcome: Outcome) -> list[Any]:
    return [c for c in outcome.record.contacts if c.key_player]  # type: ignore[attr-defined]


def _snapshot(outcome: Outcome) -> DecisionSnapshot:
    engine = outcome.engine
    failing = [
        check.spec.id
        for check, row in zip(engine.checks, outcome._check_rows, strict=True)
        if row[0] == APPLIES and row[1] is False
    ]
    return DecisionSnapshot(
        as_of=outcome.as_of,
        tier=outcome.tier,
        tier_by_rules=engine.tiers[outcome.rules_index].name,
        segment=outcome.segment,
        scores={card: str(score2(value)) for card, value in outcome.scores.items()},
        compliance=outcome.compliance_status,
        map_status=MAP_STATUS[outcome.map_status],
        failing_checks=failing,
    )


def reusing(new: Facts, old: Facts, record: FactRecord, nested: Iterable[str]) -> Facts:
    """``new`` (the facts after a fold) for validation, with every nested record and list item
    the fold left untouched replaced by its value in ``record`` (``old`` validated).

    A fold copies only along the path it changes, so an untouched plan or contact is the
    same object in ``old`` and ``new``; pydantic takes an instance of the model where it
    expects one as it is, without validating it again. So an event costs the validation of
    what it changed (the patch, the one contact, the plan), not of the whole account, and
    the result is the record a full validation of ``new`` gives. Top-level values that are
    not records or lists are always validated again: they are cheap, and a value the monitor
    set itself (``current_tier``) may differ from the one in ``record``. ``nested``: the
    account's facts that are records or lists.
    """
    data = dict(new)
    for key in nested:
        value = new.get(key)
        if isinstance(value, dict | list):
            data[key] = _reuse(value, old.get(key), getattr(record, key))
    return data


def _reuse(value: Any, before: Any, validated: Any) -> Any:
    if value is before:
        return validated
    if isinstance(value, dict) and isinstance(before, dict) and isinstance(validated, FactRecord):
        fields = type(validated).model_fields
        return {
            k: _reuse(v, before.get(k), getattr(validated, k)) if isinstance(v, dict | list) and k in fields else v
            for k, v in value.items()
        }
    if isinstance(value, list) and isinstance(before, list) and isinstance(validated, list):
        if len(before) != len(validated):
            return value
        # ``before`` is alive, so no other object can have the id of one of its items
        known = {id(item): done for item, done in zip(before, validated, strict=True)}
        return [known.get(id(item), item) for item in value]
    return value


def _as_json(value: Any) -> Any:
    """Converted values as the folded facts keep them: JSON values, dates as ISO text."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _as_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_as_json(inner) for inner in value]
    return value


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


class Monitor:
    """Keeps every account's folded facts and decision; ``handle`` one event at a time.

    Not thread-safe: feed it from one thread (the service serialises into it)."""

    WAKES_SLACK = 1024
    """Stale wake dates the heap may hold beyond two per account before it is compacted."""

    def __init__(self, rulebook: Rulebook, profile: Profile | str | Path | None = None) -> None:
        self.engine = Engine(rulebook)
        self.rulebook = rulebook
        self.profile: BoundProfile | None = None
        """A CRM profile ``account.updated`` patches are read through (``watch --crm``): a
        Salesforce change event's fields as they are. Raises ``ProfileError`` when the profile
        does not fit the rulebook's facts."""
        if profile is not None:
            from kamrules.crm.profile import load_profile

            self.profile = load_profile(profile).bind(rulebook.schema)
        spec = rulebook.spec
        self.rules: dict[str, tuple[int, AlertRule]] = {r.kind: (i, r) for i, r in enumerate(spec.alerts)}
        illegal = self.rules.get("illegal_stage_transition")
        self.chart = StageChart(allowed_transitions(illegal[1].regressions or [] if illegal else []))
        self.accounts: dict[str, _Account] = {}
        self.today: dt.date | None = None
        self._wakes: list[tuple[dt.date, str]] = []
        self._ticks: deque[str] = deque(maxlen=SEEN_PER_ACCOUNT)
        self._stability = spec.stability is not None
        checks = self.engine.checks
        fresh = [i for i, c in enumerate(checks) if c.within_days is not None]
        self._fresh = fresh
        self._review_checks = self._check_indexes(("review_due_soon", "review_overdue", "review_escalated"), fresh)
        plan_rule = [k for k in ("plan_check_failing", "plan_check_passing") if k in self.rules]
        plan_checks = self._check_indexes(tuple(plan_rule), list(range(len(checks))))
        if "review_overdue" in self.rules:  # a late review is told once, as a review
            plan_checks = [i for i in plan_checks if i not in self._review_checks]
        self._plan_checks = plan_checks
        self._leads: dict[tuple[str, str], int] = {}
        """Lead days by alert kind and tier, as the rules give them (read once)."""
        self._review_plan = tuple(
            (i, checks[i].spec.id, dt.timedelta(days=d) if (d := checks[i].within_days) is not None else None)
            for i in self._review_checks
        )
        review_set = set(self._review_checks)
        self._wake_plan = tuple(
            (i, dt.timedelta(days=d), i in review_set) for i in fresh if (d := checks[i].within_days) is not None
        )
        fields = rulebook.schema.account.fields.values()
        self._nested = tuple(f.name for f in fields if isinstance(f.type, RecordType | ListType))
        validator = self.engine.validator
        self._model = validator.model if type(validator) is RecordValidator else None
        """Folded facts are under fact names already: valid ones need pydantic's model alone."""

    def _check_indexes(self, kinds: tuple[str, ...], default: list[int]) -> list[int]:
        ids = {c.spec.id: i for i, c in enumerate(self.engine.checks)}
        chosen: set[int] = set()
        for kind in kinds:
            if kind in self.rules:
                named = self.rules[kind][1].checks
                chosen |= {ids[c] for c in named} if named is not None else set(default)
        return sorted(chosen)

    # -- the stream ------------------------------------------------------------------------

    def handle(self, event: Event | Mapping[str, Any]) -> list[Alert]:
        """Take one event; the alerts it raises, in a fixed order. A refused event raises
        :class:`EventRefusedError` and changes nothing."""
        if isinstance(event, Mapping):
            parsed = parse_event(dict(event))
            if isinstance(parsed, RefusedEvent):
                raise EventRefusedError(parsed)
            event = parsed
        if isinstance(event, ClockTick):
            return self._tick(event)
        return self._account_event(event)

    def _advance(self, day: dt.date) -> dt.date:
        if self.today is None or day > self.today:
            self.today = day
        return self.today

    def _tick(self, tick: ClockTick) -> list[Alert]:
        if tick.id in self._ticks:
            return []
        self._ticks.append(tick.id)
        today = self._advance(tick.date)
        alerts: list[Alert] = []
        due: list[str] = []
        while self._wakes and self._wakes[0][0] <= today:
            day, account_id = heapq.heappop(self._wakes)
            account = self.accounts.get(account_id)
            if account is not None and account.wake == day:
                account.wake = None
                due.append(account_id)
        for account_id in sorted(set(due)):
            account = self.accounts[account_id]
            alerts.extend(self._decide(account, account.facts, tick.id, [], None, None, account.record))
        return alerts

    def _refuse(self, event: AccountEvent, field: str, message: str) -> EventRefusedError:
        return EventRefusedError(RefusedEvent(event.id, None, ((field, message),)))

    def _account_event(self, event: AccountEvent) -> list[Alert]:
        account = self.accounts.get(event.account_id)
        if account is not None and event.id in account.seen:
            return []
        facts: Facts = account.facts if account is not None else {"id": event.account_id}
        try:
            if self.profile is not None and isinstance(event, AccountUpdated):
                new_facts, changes = fold_patch(facts, self._through_profile(event, self.profile))
            else:
                new_facts, changes = fold(facts, event, self.engine.validator.renames)
        except FoldError as exc:
            raise self._refuse(event, exc.field, str(exc)) from None
        try:
            if account is not None and account.record is not None:
                record = self._validate(reusing(new_facts, account.facts, account.record, self._nested))
            else:
                record = self._validate(new_facts)
        except InvalidRecord as exc:
            raise EventRefusedError(
                RefusedEvent(event.id, None, tuple((p.field, p.message) for p in exc.problems))
            ) from None
        if account is None:
            account = self.accounts[event.account_id] = _Account(facts=facts)
        account.seen.append(event.id)
        self._advance(event.business_date)
        stage_move = None
        if isinstance(event, StageChanged):
            current = facts.get("stage")
            frm, legal = self.chart.move(event.account_id, current if isinstance(current, str) else None, event.to)
            stage_move = (frm, event.to, legal)
        left = event.contact_id if isinstance(event, ContactLeft) else None
        return self._decide(account, new_facts, event.id, changes, stage_move, left, record)

    def _validate(self, data: Facts) -> FactRecord:
        if self._model is not None:
            try:
                return self._model.model_validate(data)
            except ValidationError:
                pass  # the validator names each bad field, in its own words
        return self.engine.validate(data)

    def _through_profile(self, event: AccountUpdated, profile: BoundProfile) -> Facts:
        """A patch in the CRM's columns and values, as facts (JSON values, dates as ISO text).

        A column the profile does not read is refused, unless the profile keeps unmapped
        columns; a missing value (``null``, or one of the profile's ``missing_values``)
        removes the fact, as ``null`` does without a profile; facts that change by an event
        of their own (the stage, contacts) are refused, naming the column."""
        raw = event.facts
        level = profile.account
        if not level.keep_unmapped:
            unknown = [k for k in raw if k not in level.known()]
            if unknown:
                name = profile.profile.name
                raise FoldError(f"facts.{unknown[0]}", f"is not a column the CRM profile '{name}' reads")
        converted, problems = profile.convert_partial(raw)
        if problems:
            raise EventRefusedError(
                RefusedEvent(event.id, None, tuple((f"facts.{p.field}", p.message) for p in problems))
            )
        for key, value in raw.items():
            column = level.columns.get(key)
            if column is not None and profile.is_missing(value):
                holder = converted
                for part in column.target[:-1]:
                    holder = holder.setdefault(part, {})
                holder[column.target[-1]] = None
        given = converted.pop("id", None)
        if given is not None and str(given) != event.account_id:
            raise FoldError("facts.id", f"names account '{given}', the event '{event.account_id}'")
        for fact in sorted(RESERVED_ACCOUNT_FACTS & converted.keys() - {"plan"}):
            columns = [c.column for c in level.columns.values() if c.target[0] == fact] or [fact]
            kind = "stage.changed" if fact == "stage" else "contact.added, contact.updated or contact.left"
            raise FoldError(f"facts.{columns[0]}", f"gives {fact}, which changes by an event of its own ({kind})")
        as_json: Facts = _as_json(converted)
        return as_json

    # -- deciding and comparing ------------------------------------------------------------

    def _decide(
        self,
        account: _Account,
        facts: Facts,
        event_id: str,
        changes: list[Change],
        stage_move: tuple[str, str, bool] | None,
        left: str | None,
        record: FactRecord | None,
    ) -> list[Alert]:
        today = self.today
        assert today is not None
        old = account.outcome
        if record is None:
            record = self._validate(facts)
        # Contacts the fold left alone are shared with the old record, whose derived facts
        # (key_player) the new decision computes again: read who was a key player first.
        players = _key_players(old) if left is not None and old is not None else []
        try:
            # the rules whose facts this event left alone keep their results (decision 45)
            outcome: Outcome | None = self.engine.evaluate_after(old, record, today)
        except InvalidRecord:  # not decidable yet (a required fact missing): folded, not decided
            outcome = None
        if outcome is not None and self._stability and facts.get("current_tier") != outcome.tier:
            old_facts = facts
            facts = {**facts, "current_tier": outcome.tier}  # the tier the account now holds
            record = self._validate(reusing(facts, old_facts, record, self._nested))
        account.facts = facts
        account.record = record
        account.outcome = outcome
        raised = _Raised(self, account, old, outcome, event_id, changes, today)
        if stage_move is not None:
            frm, to, legal = stage_move
            if not legal:
                raised.add(
                    "illegal_stage_transition",
                    f"{frm} to {to}",
                    f"stage moved from {frm.replace('_', ' ')} to {to.replace('_', ' ')}, "
                    "which the rulebook does not allow",
                    {"from": frm, "to": to},
                )
        if outcome is not None:
            self._compare(raised, old, outcome, left, players)
        if raised.shown is None:  # kept only while it shows the current outcome: no older one is held
            account.snapshot = None
        self._schedule(account, outcome, today)
        return raised.alerts

    def _compare(
        self, raised: _Raised, old: Outcome | None, new: Outcome, left: str | None, before_players: list[Any]
    ) -> None:
        engine = self.engine
        today = new.as_of
        if old is not None:
            if old.tier != new.tier:  # by name: an excluded outcome holds no tier of the list
                direction = "up" if new.tier_rank < old.tier_rank else "down"
                raised.add(
                    "tier_changed",
                    None,
                    f"tier moved {direction} from {old.tier} to {new.tier}",
                    {"from": old.tier, "to": new.tier},
                )
            if old.segment_index != new.segment_index:
                raised.add(
                    "segment_changed",
                    None,
                    f"segment changed from {old.segment} to {new.segment}",
                    {"from": old.segment, "to": new.segment},
                )
            old_rows, new_rows = old._check_rows, new._check_rows
            for i in self._plan_checks:
                before, after = old_rows[i], new_rows[i]
                if before is after:  # kept by evaluate_after: unchanged
                    continue
                failed_before = before[0] == APPLIES and before[1] is False
                if after[0] == APPLIES and after[1] is False and not failed_before:
                    raised.add("plan_check_failing", engine.checks[i].spec.id, None, None, check=i)
                elif failed_before and after[0] == APPLIES and after[1] is True:
                    raised.add("plan_check_passing", engine.checks[i].spec.id, None, None, check=i)
            if new.map_status < old.map_status:
                raised.add(
                    "map_status_dropped",
                    None,
                    f"relationship map dropped from '{MAP_STATUS[old.map_status]}' to '{MAP_STATUS[new.map_status]}'",
                    {"from": MAP_STATUS[old.map_status], "to": MAP_STATUS[new.map_status]},
                )
            if left is not None:
                gone = next((c for c in before_players if c.id == left), None)
                if gone is not None:
                    raised.add(
                        "key_player_left",
                        left,
                        f"key player {gone.name or left} ({gone.role or 'role unknown'}) left",
                        {"contact": left, "name": gone.name, "role": gone.role, "stance": gone.stance},
                    )
                    remaining = _key_players(new)
                    if len(before_players) >= 2 and len(remaining) <= 1:
                        names = [c.name or c.id for c in remaining]
                        raised.add(
                            "single_threaded",
                            None,
                            "single-threaded: "
                            + (f"{names[0]} is the only key player left" if names else "no key player is left"),
                            {"key_players_left": names},
                        )
        self._reviews(raised, new, today)
        self._override(raised, new, today)

    def _lead(self, kind: str, tier: str) -> int:
        found = self._leads.get((kind, tier))
        if found is None:
            lead = self.rules[kind][1].lead_days
            found = self._leads[(kind, tier)] = lead.get(tier, 0) if isinstance(lead, dict) else lead or 0
        return found

    def _reviews(self, raised: _Raised, new: Outcome, today: dt.date) -> None:
        account = raised.account
        states: dict[str, str] = {}
        rows = new._check_rows
        soon_rule = "review_due_soon" in self.rules
        escalate = self.rules.get("review_escalated")
        before_states = account.reviews
        for i, check_id, within in self._review_plan:
            kind, passed, value, _ = rows[i]
            state = "none"
            if kind == APPLIES and isinstance(value, dt.date) and within is not None:
                due = value + within
                if passed:
                    soon = soon_rule and (due - today).days <= self._lead("review_due_soon", new.tier)
                    state = "due_soon" if soon else "ok"
                else:
                    late = (today - due).days
                    state = "escalated" if escalate and late >= (escalate[1].after_days or 0) else "overdue"
            states[check_id] = state
            worse = _REVIEW_RANK[state] > _REVIEW_RANK[before_states.get(check_id, "none")]
            if worse and _REVIEW_KIND[state] in self.rules:
                raised.add(_REVIEW_KIND[state], check_id, None, None, check=i)
        account.reviews = states

    def _override(self, raised: _Raised, new: Outcome, today: dt.date) -> None:
        account = raised.account
        record: Any = new.record
        expires, tier = record.override_expires, record.override_tier
        if expires is None or tier is None:
            account.override = None
            return
        if today > expires:
            state = "expired"
        elif "override_expiring" in self.rules and (expires - today).days <= self._lead("override_expiring", tier):
            state = "expiring"
        else:
            state = "active"
        previous = account.override
        key = (tier, expires.isoformat())
        before = previous[2] if previous is not None and previous[:2] == key else "active"
        rank = {"active": 0, "expiring": 1, "expired": 2}
        if rank[state] > rank[before]:
            kind = "override_expired" if state == "expired" else "override_expiring"
            if kind in self.rules:
                days = (expires - today).days
                message = (
                    f"the override to {tier} expired on {expires.isoformat()}; the rules decide again"
                    if state == "expired"
                    else f"the override to {tier} expires on {expires.isoformat()} (in {days} days)"
                )
                raised.add(kind, None, message, {"tier": tier, "expires": expires.isoformat()})
        account.override = (*key, state)

    def _schedule(self, account: _Account, outcome: Outcome | None, today: dt.date) -> None:
        """The next date time alone may change this account's alerts or plan checks."""
        if outcome is None:
            return
        candidates: list[dt.date] = []
        rows = outcome._check_rows
        soon_rule = "review_due_soon" in self.rules
        escalate = self.rules.get("review_escalated")
        for i, within, review in self._wake_plan:
            kind, _, value, _ = rows[i]
            if kind != APPLIES or not isinstance(value, dt.date):
                continue
            due = value + within
            candidates.append(due + _DAY)
            if review:
                if soon_rule:
                    candidates.append(due - dt.timedelta(days=self._lead("review_due_soon", outcome.tier)))
                if escalate is not None:
                    candidates.append(due + dt.timedelta(days=(escalate[1].after_days or 0)))
        record: Any = outcome.record
        if record.override_expires is not None and record.override_tier is not None:
            expires = record.override_expires
            candidates.append(expires + dt.timedelta(days=1))
            if "override_expiring" in self.rules:
                candidates.append(expires - dt.timedelta(days=self._lead("override_expiring", record.override_tier)))
        future = [d for d in candidates if d > today]
        wake = min(future) if future else None
        if wake is not None and wake != account.wake:
            heapq.heappush(self._wakes, (wake, str(record.id)))
            if len(self._wakes) > 2 * len(self.accounts) + self.WAKES_SLACK:
                account.wake = wake
                self._compact_wakes()
        account.wake = wake

    def _compact_wakes(self) -> None:
        """Drop the wake dates that no longer hold (an account rescheduled since): the heap
        then holds one date per account, so its memory follows the accounts, not the events."""
        self._wakes = [(a.wake, account_id) for account_id, a in self.accounts.items() if a.wake is not None]
        heapq.heapify(self._wakes)

    # -- reading the state -----------------------------------------------------------------

    def facts(self, account_id: str) -> Facts:
        """The account's folded facts, as a record a fresh ``Engine`` can decide."""
        return self.accounts[account_id].facts

    def decision(self, account_id: str) -> Decision | None:
        """The account's current decision, explained (None while it cannot be decided)."""
        outcome = self.accounts[account_id].outcome
        return outcome.decision() if outcome is not None else None

    def stage_of(self, account_id: str) -> str:
        stage = self.accounts[account_id].facts.get("stage")
        return stage if isinstance(stage, str) else INITIAL

    def close(self) -> None:
        """Nothing to free today (the chart holds one state); kept so callers can release a monitor."""
        return


_TITLES = {
    "tier_changed": "Tier changed",
    "segment_changed": "Segment changed",
    "plan_check_failing": "Plan check newly failing",
    "plan_check_passing": "Plan check passing again",
    "review_due_soon": "Review due soon",
    "review_overdue": "Review overdue",
    "review_escalated": "Review overdue: escalated",
    "key_player_left": "Key player left",
    "map_status_dropped": "Relationship map weakened",
    "single_threaded": "Single-threaded after a departure",
    "override_expiring": "Override expiring soon",
    "override_expired": "Override expired",
    "illegal_stage_transition": "Stage transition not allowed",
}


class _Raised:
    """The alerts of one decision, built with their explanation only when one is raised."""

    def __init__(
        self,
        monitor: Monitor,
        account: _Account,
        old: Outcome | None,
        new: Outcome | None,
        event_id: str,
        changes: list[Change],
        today: dt.date,
    ) -> None:
        self.monitor = monitor
        self.account = account
        self.old = old
        self.new = new
        self.event_id = event_id
        self.changes = changes
        self.today = today
        self.alerts: list[Alert] = []
        self._before: DecisionSnapshot | None = None
        self._after: DecisionSnapshot | None = None

    def _notify(self, index: int, rule: AlertRule) -> list[str]:
        names = []
        expressions = self.monitor.rulebook.expressions
        record = self.new.record if self.new is not None else None
        for k, target in enumerate(rule.notify):
            if "." not in target:
                names.append(target)
                continue
            value = None
            if record is not None and self.new is not None:
                value = expressions[("alerts", index, "notify", k)].evaluate(record, self.new.scores, self.today)[0]
            names.append(str(value) if value is not None else f"{target} (missing)")
        return names

    @property
    def shown(self) -> DecisionSnapshot | None:
        """The new outcome's snapshot, if an alert showed it."""
        return self._after

    def add(
        self,
        kind: str,
        subject: str | None,
        message: str | None,
        details: dict[str, Any] | None,
        *,
        check: int | None = None,
    ) -> None:
        entry = self.monitor.rules.get(kind)
        if entry is None:
            return
        index, rule = entry
        details = dict(details or {})
        if check is not None:
            message, details = self._check_details(kind, check)
        if self._before is None and self.old is not None:
            shown = self.account.snapshot
            self._before = shown[1] if shown is not None and shown[0] is self.old else _snapshot(self.old)
        if self._after is None and self.new is not None:
            self._after = _snapshot(self.new)
            self.account.snapshot = (self.new, self._after)
        facts = self.account.facts
        name = facts.get("name")
        self.alerts.append(
            Alert(
                alert_id=f"{self.event_id}/{kind}" + (f"/{subject}" if subject else ""),
                kind=kind,
                severity=rule.severity,
                account_id=str(facts["id"]),
                account_name=name if isinstance(name, str) else None,
                date=self.today,
                event_id=self.event_id,
                title=rule.title or _TITLES[kind],
                message=message or "",
                notify=self._notify(index, rule),
                subject=subject,
                details=details,
                before=self._before,
                after=self._after,
                moved_by=[FactChange(fact=f, before=b, after=a) for f, b, a in self.changes]
                or (
                    [FactChange(fact="as_of", before=self.old.as_of.isoformat(), after=self.today.isoformat())]
                    if self.old is not None and self.old.as_of != self.today
                    else []
                ),
                rulebook=self.monitor.engine.ref,
            )
        )

    def _check_details(self, kind: str, index: int) -> tuple[str, dict[str, Any]]:
        # One check explained from the compact outcome, in the words of the full Decision
        # (the same function builds both): the whole Decision would cost ten times more.
        new = self.new
        assert new is not None
        check = self.monitor.engine.checks[index]
        spec = check.spec
        _, _, _, _, [result], _ = explain_checks(
            [check], [new._check_rows[index]], new.record, new.scores, new.tier, new.as_of
        )
        _, _, _, _, note, remediation, owner, due, overdue_days, _ = result
        details: dict[str, Any] = {
            "check": spec.id,
            "severity": spec.severity,
            "note": note,
            "remediation": remediation,
            "owner": owner,
            "due": due.isoformat() if due else None,
        }
        if kind == "plan_check_failing":
            message = f"{spec.title} Now failing: {note}."
        elif kind == "plan_check_passing":
            message = f"{spec.title} Holds again."
        else:
            shown_due = due.isoformat() if due else "unknown"
            if kind == "review_due_soon":
                message = f"{spec.title} Due by {shown_due}."
            else:
                overdue = f" ({overdue_days} day{'s' if overdue_days != 1 else ''})" if overdue_days else ""
                message = f"{spec.title} Overdue since {shown_due}{overdue}."
        return message, details


def fresh_decision(rulebook: Rulebook, facts: Facts, as_of: dt.date) -> Decision:
    """A fresh Engine's decision of folded facts: what the monitor's decision must equal."""
    return Engine(rulebook).decide(facts, as_of)


__all__ = ["Alert", "DecisionSnapshot", "EventRefusedError", "FactChange", "Monitor", "fresh_decision"]
