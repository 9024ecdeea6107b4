"""CRM events: the published schema, and refusals that name the event and the field."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from kamrules.cli import exit_codes
from kamrules.monitor.events import (
    EVENT_TYPES,
    AccountUpdated,
    ClockTick,
    RefusedEvent,
    StageChanged,
    parse_event,
    parse_event_line,
)
from tests.cli.test_cli import invoke

BASE = {"id": "ev-1", "account_id": "ACC-1", "occurred_at": "2026-03-02T09:30:00Z", "source": "salesforce-cdc"}


def test_an_event_parses_into_its_type_with_its_business_date() -> None:
    event = parse_event({**BASE, "type": "stage.changed", "to": "review"})
    assert isinstance(event, StageChanged)
    assert event.to == "review"
    assert event.business_date == dt.date(2026, 3, 2)


def test_a_bare_date_is_midnight_and_a_tick_carries_its_own_date() -> None:
    tick = {"id": "t", "type": "clock.tick", "occurred_at": "2026-03-02", "source": "cron", "date": "2026-03-03"}
    event = parse_event(tick)
    assert isinstance(event, ClockTick)
    assert event.business_date == dt.date(2026, 3, 3)


def test_a_bad_field_is_refused_naming_event_id_and_field() -> None:
    refused = parse_event({**BASE, "type": "stage.changed", "to": "revue"})
    assert isinstance(refused, RefusedEvent)
    assert refused.event_id == "ev-1"
    assert [field for field, _ in refused.problems] == ["to"]
    assert "event 'ev-1' refused: to: Input should be 'pre_sales'" in str(refused)


def test_an_unknown_type_gets_a_suggestion() -> None:
    refused = parse_event({**BASE, "type": "plan.reviewd"})
    assert isinstance(refused, RefusedEvent)
    assert str(refused) == (
        "event 'ev-1' refused: type: 'plan.reviewd' is not an event type (did you mean 'plan.reviewed'?)"
    )


def test_every_problem_is_listed_at_once() -> None:
    refused = parse_event({"id": "ev-2", "type": "override.granted", "account_id": "A", "source": "s", "extra": 1})
    assert isinstance(refused, RefusedEvent)
    fields = sorted(field for field, _ in refused.problems)
    assert fields == ["approver", "expires", "extra", "occurred_at", "reason", "tier"]
    assert ("extra", "unknown field for override.granted") in refused.problems


def test_a_patch_cannot_bypass_the_stage_statechart_or_the_contact_events() -> None:
    refused = parse_event({**BASE, "type": "account.updated", "facts": {"stage": "review", "annual_revenue": 1}})
    assert isinstance(refused, RefusedEvent)
    assert refused.problems[0][0] == "facts"
    assert "stage cannot be patched here" in refused.problems[0][1]
    ok = parse_event({**BASE, "type": "account.updated", "facts": {"annual_revenue": 1, "nps": None}})
    assert isinstance(ok, AccountUpdated)


def test_a_line_that_is_not_json_is_refused_with_its_line_number() -> None:
    refused = parse_event_line('{"id": "x", ', 7)
    assert isinstance(refused, RefusedEvent)
    assert str(refused).startswith("line 7: event without an id refused: not JSON")
    assert parse_event_line("   \n", 8) is None


def test_schema_events_publishes_every_event_type() -> None:
    code, out, _ = invoke("schema", "--events")
    assert code == exit_codes.OK
    document = json.loads(out)
    assert document["title"] == "kamrules CRM event"
    assert document["discriminator"]["propertyName"] == "type"
    assert sorted(document["discriminator"]["mapping"]) == sorted(EVENT_TYPES)
    assert document["$defs"]["StageChanged"]["properties"]["to"]["enum"][0] == "pre_sales"


@pytest.mark.parametrize("kind", EVENT_TYPES)
def test_every_type_needs_id_time_and_source(kind: str) -> None:
    refused = parse_event({"type": kind})
    assert isinstance(refused, RefusedEvent)
    fields = {field for field, _ in refused.problems}
    assert {"id", "occurred_at", "source"} <= fields
    assert ("account_id" in fields) == (kind != "clock.tick")
