"""Steps for the account monitor (``kamrules watch``): events in, alerts out, by the date.

Needs the ``reactive`` extra (durable-rules); a scenario using these steps without it fails
saying so. The vocabulary::

    When the monitor loads account "A-1" on 2026-11-01          its record (described in the
                                                                scenario or read from a file)
                                                                arrives as events; alerts of the
                                                                load itself are not counted
    When the monitor loads account "A-1" on 2026-11-01 at stage "contract negotiation"
    When these events arrive:                 | date | event | details |  one event a row, for the
                                              loaded account (or an | account | column); details
                                              are "key: value; key: value" (contact.id: C1 for a
                                              nested fact; a value in JSON when it reads as JSON)
    Then the monitor raises these alerts:     | date | alert | about |  every alert since the load,
                                              in order; about is the plan check, contact or move
    Then the monitor raises no alert
    Then alert "review_overdue" of 2027-03-01 says "Overdue since"
    Then alert "key_player_left" of 2027-05-03 notifies "Priya Raman"
    Then the monitor decides account "A-1" as the engine decides its facts
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import then, when

from kamrules.testing.steps import PolicyWorld, _date, _fail, _words, phrase


@dataclass
class MonitorWorld:
    monitor: Any = None
    account: str | None = None
    alerts: list[Any] = field(default_factory=list)
    """Every alert since the load, and refusals as ("refused", date, message)."""


@pytest.fixture
def monitor_world() -> MonitorWorld:
    return MonitorWorld()


def _find(policy: PolicyWorld, account: str) -> dict[str, Any]:
    for record in policy.records:
        if str(record.get("id")) == account:
            return dict(record)
    _fail(f'no account "{account}": describe it, or read it with \'Given the accounts in "<file>"\'')


def _load(policy: PolicyWorld, world: MonitorWorld, account: str, date: str, stage: str | None) -> None:
    try:
        from kamrules.monitor.events import events_for_record
        from kamrules.monitor.monitor import Monitor
    except ImportError as exc:
        _fail(f"the monitor steps need the reactive extra (pip install 'kamrules[reactive]'): {exc}")
    engine = policy.load()
    if engine is None:
        _fail(f"the rulebook does not load: {policy.load_error}")
    record = _find(policy, account)
    if stage is not None:
        record["stage"] = _words(stage).replace(" ", "_")
    world.monitor = Monitor(engine.rulebook)
    world.account = account
    for event in events_for_record(record, _date(date).isoformat(), "feature", f"load-{account}"):
        world.monitor.handle(event)


@when(phrase('the monitor loads account "{account}" on {date:text} at stage "{stage}"'))
def load_at_stage(policy: PolicyWorld, monitor_world: MonitorWorld, account: str, date: str, stage: str) -> None:
    """Bring the monitor to an account's record, at another stage than the record's."""
    _load(policy, monitor_world, account, date, stage)


@when(phrase('the monitor loads account "{account}" on {date:text}', date=r"[^\"]+?(?= at stage|$)"))
def load(policy: PolicyWorld, monitor_world: MonitorWorld, account: str, date: str) -> None:
    """Bring the monitor to an account's record; what the load itself raises is not counted."""
    _load(policy, monitor_world, account, date, None)


def _value(text: str) -> Any:
    text = text.strip()
    try:
        return json.loads(text)
    except ValueError:
        return text


def _details(text: str) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        key, sep, value = part.partition(":")
        if not sep:
            _fail(f'event details are "key: value; key: value", not "{part}"')
        target = details
        *parents, last = key.strip().split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[last] = _value(value)
    return details


@when("these events arrive:")
def events_arrive(policy: PolicyWorld, monitor_world: MonitorWorld, datatable: Sequence[Sequence[object]]) -> None:
    """One CRM event a row: | date | event | details | (and an optional | account | column)."""
    from kamrules.monitor.monitor import EventRefusedError

    world = monitor_world
    if world.monitor is None:
        _fail("load an account first: 'When the monitor loads account \"A-1\" on 2026-11-01'")
    header = [_words(str(h)) for h in datatable[0]]
    for needed in ("date", "event"):
        if needed not in header:
            _fail(f'a table of events needs a "{needed}" column (it has {", ".join(header)})')
    for number, row in enumerate(datatable[1:], start=1):
        cells = dict(zip(header, (str(c) for c in row), strict=True))
        day = _date(cells["date"]).isoformat()
        kind = cells["event"].strip()
        body = _details(cells.get("details", ""))
        event: dict[str, Any] = {"id": f"row-{number}", "type": kind, "occurred_at": day, "source": "feature"}
        if kind == "clock.tick":
            event["date"] = day
        else:
            event["account_id"] = cells.get("account") or world.account
        event.update(body)
        try:
            raised = world.monitor.handle(event)
        except EventRefusedError as exc:
            world.alerts.append(("refused", day, str(exc)))
            continue
        world.alerts.extend(raised)
        if policy.coverage is not None and policy.engine is not None and raised:
            source = policy.label(policy.rulebook_source) if isinstance(policy.rulebook_source, Path) else None
            policy.coverage.record_alerts(policy.engine, source, [a.kind for a in raised])


def _rows(world: MonitorWorld) -> list[list[str]]:
    rows = []
    for alert in world.alerts:
        if isinstance(alert, tuple):
            rows.append([alert[1], "refused", alert[2]])
        else:
            rows.append([alert.date.isoformat(), alert.kind, alert.subject or ""])
    return rows


@then("the monitor raises these alerts:")
def alerts_are(monitor_world: MonitorWorld, datatable: Sequence[Sequence[object]]) -> None:
    """Every alert since the load, in order: | date | alert | about |."""
    expected = [
        [_date(str(r[0])).isoformat(), str(r[1]).strip(), str(r[2]).strip() if len(r) > 2 else ""]
        for r in datatable[1:]
    ]
    actual = _rows(monitor_world)
    if actual != expected:
        shown = "\n".join(f"  | {' | '.join(r)} |" for r in actual) or "  (none)"
        _fail(f"the monitor raised other alerts than expected; it raised:\n{shown}")


@then("the monitor raises no alert")
def no_alert(monitor_world: MonitorWorld) -> None:
    if monitor_world.alerts:
        _fail("the monitor raised: " + "; ".join(" ".join(r) for r in _rows(monitor_world)))


def _alert(world: MonitorWorld, kind: str, date: str) -> Any:
    day = _date(date)
    for alert in world.alerts:
        if not isinstance(alert, tuple) and alert.kind == kind and alert.date == day:
            return alert
    _fail(f'no alert "{kind}" on {day.isoformat()}; raised: ' + "; ".join(" ".join(r) for r in _rows(world)))


@then(phrase('alert "{kind}" of {date:text} says "{text:text}"'))
def alert_says(monitor_world: MonitorWorld, kind: str, date: str, text: str) -> None:
    alert = _alert(monitor_world, kind, date)
    if text not in alert.message:
        _fail(f'alert "{kind}" says "{alert.message}", not "{text}"')


@then(phrase('alert "{kind}" of {date:text} notifies "{who:text}"'))
def alert_notifies(monitor_world: MonitorWorld, kind: str, date: str, who: str) -> None:
    alert = _alert(monitor_world, kind, date)
    if who not in alert.notify:
        _fail(f'alert "{kind}" notifies {", ".join(alert.notify)}, not "{who}"')


@then(phrase('the monitor decides account "{account}" as the engine decides its facts'))
def decides_as_engine(monitor_world: MonitorWorld, account: str) -> None:
    from kamrules import Engine

    monitor = monitor_world.monitor
    decision = monitor.decision(account)
    if decision is None:
        _fail(f'the monitor could not decide account "{account}"')
    fresh = Engine(monitor.rulebook).decide(monitor.facts(account), decision.as_of)
    if fresh != decision:
        _fail(f'the monitor decides account "{account}" {decision.tier}, a fresh engine {fresh.tier}')
