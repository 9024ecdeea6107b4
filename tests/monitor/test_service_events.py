"""``POST /v1/events``: the decision service feeds CRM events into the same monitor as
``kamrules watch``, keeping events and alerts in its register."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules.monitor.monitor import Monitor
from kamrules.rulebook import Rulebook
from tests.monitor.conftest import event
from tests.monitor.test_watch import story


def library_alerts(rules: Rulebook, events: list[dict[str, object]]) -> list[object]:
    monitor = Monitor(rules)
    return [json.loads(a.model_dump_json()) for e in events for a in monitor.handle(e)]


def test_events_posted_raise_the_alerts_watch_raises_once_and_survive_a_restart(
    rules: Rulebook, make_client: Callable[..., TestClient]
) -> None:
    events = story()
    first, rest = events[:-2], events[-2:]
    client = make_client()
    answer = client.post("/v1/events", json=first)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["taken"] == len(first) and body["duplicates"] == 0 and body["refused"] == []
    expected = library_alerts(rules, events)
    assert body["alerts"] == expected[: len(body["alerts"])]
    again = client.post("/v1/events", json=first).json()  # a client retrying after a lost answer
    assert (again["taken"], again["duplicates"]) == (0, len(first))
    assert again["alerts"] == body["alerts"]  # the stored alerts, the same ids: one alert in effect
    restarted = make_client()  # a new process on the same register replays its event log
    later = restarted.post("/v1/events", json=rest).json()
    assert later["taken"] == len(rest)
    assert body["alerts"] + later["alerts"] == expected
    assert any(a["kind"] == "illegal_stage_transition" for a in later["alerts"])


def test_a_bad_event_is_refused_with_its_field_and_the_others_go_on(make_client: Callable[..., TestClient]) -> None:
    client = make_client(register=None)
    bad = {**event("bad", "stage.changed", "2026-11-14"), "to": "finished"}
    single = client.post("/v1/events", json=bad)
    assert single.status_code == 422
    assert single.json()["error"] == "invalid_event"
    assert single.json()["errors"][0]["field"] == "to"
    good = event("g1", "stage.changed", "2026-11-14", to="pre_sales")
    batch = client.post("/v1/events", json=[bad, good]).json()
    assert batch["taken"] == 1
    assert [r["event_id"] for r in batch["refused"]] == ["bad"]
    assert client.post("/v1/events", json="an event").status_code == 400
