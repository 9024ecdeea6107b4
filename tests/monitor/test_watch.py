"""Delivery: the outbox, the JSON Lines and webhook sinks, ``kamrules watch``, and kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules.cli import exit_codes
from kamrules.monitor.events import events_for_record
from kamrules.monitor.monitor import Monitor
from kamrules.monitor.sinks import JsonLinesSink, Outbox, SinkError, WebhookSink
from kamrules.register import upgrade
from kamrules.rulebook import Rulebook
from tests.cli.test_cli import invoke
from tests.conftest import ROOT
from tests.monitor.conftest import GOLD, account, event, tick

KAMRULES = Path(sys.executable).with_name("kamrules")


def story() -> list[dict[str, Any]]:
    return [
        *events_for_record(account(GOLD), "2026-11-01", "seed", "seed"),
        tick("t1", "2026-11-10"),
        event("l1", "contact.left", "2026-11-12", contact_id="ACC-00021-C08"),
        event("s1", "stage.changed", "2026-11-13", to="pre_sales"),
        tick("t2", "2026-11-25"),
    ]


def write_events(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events), encoding="utf-8")
    return path


def alert_ids(path: Path) -> list[str]:
    return [json.loads(line)["alert_id"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_watch_writes_the_alerts_the_library_raises_and_reports_bad_events(rules: Rulebook, tmp_path: Path) -> None:
    events = story()
    monitor = Monitor(rules)
    expected = [a.model_dump_json() for e in events for a in monitor.handle(e)]
    bad = {**event("bad", "stage.changed", "2026-11-14"), "to": "finished"}
    source = write_events(tmp_path / "events.jsonl", [*events[:-1], bad, events[-1]])
    out = tmp_path / "alerts.jsonl"
    code, _, err = invoke("watch", str(ROOT / "rules"), "--events", str(source), "-o", str(out))
    assert code == exit_codes.RECORDS_FAILED
    assert f"refused: line {len(events)}: event 'bad' refused: to: Input should be" in err
    assert f"{len(events) + 1} events read: {len(events)} taken, 0 already taken, 1 refused" in err
    assert out.read_text(encoding="utf-8").splitlines() == expected
    assert "s1/illegal_stage_transition/exploitation to pre_sales" in alert_ids(out)


def test_watch_with_state_takes_an_event_once_across_runs(tmp_path: Path) -> None:
    source = write_events(tmp_path / "events.jsonl", story())
    out, state = tmp_path / "alerts.jsonl", tmp_path / "monitor.sqlite"
    args = ("watch", str(ROOT / "rules"), "--events", str(source), "-o", str(out), "--state", str(state))
    code, _, _ = invoke(*args)
    assert code == exit_codes.OK
    first = out.read_text(encoding="utf-8")
    code, _, err = invoke(*args)
    assert code == exit_codes.OK
    assert f"{len(story())} replayed from {state}" in err
    assert f"0 taken, {len(story())} already taken" in err
    assert out.read_text(encoding="utf-8") == first


def test_the_jsonl_sink_skips_what_a_crash_left_written_and_drops_a_cut_line(tmp_path: Path) -> None:
    path = tmp_path / "alerts.jsonl"
    path.write_text('{"alert_id": "a/1"}\n{"alert_id": "a/', encoding="utf-8")
    sink = JsonLinesSink(path)
    sink.deliver("a/1", '{"alert_id": "a/1"}')
    sink.deliver("a/2", '{"alert_id": "a/2"}')
    sink.close()
    assert alert_ids(path) == ["a/1", "a/2"]


def test_the_outbox_delivers_each_alert_once_per_sink(rules: Rulebook, tmp_path: Path) -> None:
    monitor = Monitor(rules)
    outbox = Outbox(tmp_path / "state.sqlite")
    for e in story():
        outbox.record(e["id"], json.dumps(e), monitor.handle(e))
    taken: list[str] = []

    class Memory:
        name = "memory"

        def deliver(self, alert_id: str, body: str) -> None:
            taken.append(alert_id)

        def close(self) -> None:
            return

    outbox.deliver([Memory()])
    outbox.deliver([Memory()])
    assert len(taken) == outbox.alert_count() > 0
    assert len(set(taken)) == len(taken)


class _Receiver(BaseHTTPRequestHandler):
    answers: ClassVar[list[int]] = []
    keys: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        type(self).keys.append(self.headers["Idempotency-Key"])
        self.send_response(type(self).answers.pop(0) if type(self).answers else 200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[str]:
    _Receiver.answers, _Receiver.keys = [], []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


def test_the_webhook_retries_with_the_same_idempotency_key(receiver: str) -> None:
    _Receiver.answers = [503, 500]
    waits: list[float] = []
    WebhookSink(receiver, attempts=3, backoff=0.5, sleep=waits.append).deliver("e1/tier_changed", "{}")
    assert _Receiver.keys == ["e1/tier_changed"] * 3
    assert waits == [0.5, 1.0]


def test_the_webhook_gives_up_at_once_on_a_client_error(receiver: str) -> None:
    _Receiver.answers = [400]
    with pytest.raises(SinkError, match=r"did not take alert e1/x: HTTP 400"):
        WebhookSink(receiver, attempts=5, sleep=lambda _: None).deliver("e1/x", "{}")
    assert len(_Receiver.keys) == 1


def test_the_webhook_gives_up_after_its_attempts(receiver: str) -> None:
    _Receiver.answers = [503] * 3
    with pytest.raises(SinkError, match="HTTP 503"):
        WebhookSink(receiver, attempts=3, sleep=lambda _: None).deliver("e1/x", "{}")


def portfolio_events(accounts: int) -> list[dict[str, Any]]:
    """Many accounts' first loads and a year of monthly ticks: thousands of events and alerts."""
    events: list[dict[str, Any]] = []
    with (ROOT / "examples" / "accounts.jsonl").open(encoding="utf-8") as handle:
        records = [json.loads(line) for line, _ in zip(handle, range(accounts), strict=False)]
    for record in records:
        events.extend(events_for_record(record, "2026-11-01", "seed", f"seed-{record['id']}"))
    for month in range(1, 13):
        day = f"2027-{month:02d}-01"
        events.append(tick(f"tick-{day}", day))
        for record in records[month::12]:
            events.append(event(f"st-{record['id']}-{month}", "stage.changed", day, record["id"], to="review"))
    return events


@pytest.mark.skipif(not KAMRULES.exists(), reason="the kamrules script is not installed next to this Python")
@pytest.mark.parametrize("kept_in", ["state", "register-sqlite", "register-postgresql"])
def test_a_monitor_killed_with_sigkill_and_restarted_neither_loses_nor_repeats(
    kept_in: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """The event log in the monitor's own SQLite file, or in the register on SQLite and on
    PostgreSQL: the same guarantee."""
    source = write_events(tmp_path / "events.jsonl", portfolio_events(120))
    reference = tmp_path / "reference.jsonl"
    subprocess.run(
        [str(KAMRULES), "watch", str(ROOT / "rules"), "--events", str(source), "-o", str(reference)],
        check=True,
        capture_output=True,
    )
    expected = alert_ids(reference)
    out = tmp_path / "alerts.jsonl"
    command = [str(KAMRULES), "watch", str(ROOT / "rules"), "--events", str(source), "-o", str(out)]
    if kept_in == "state":
        command += ["--state", str(tmp_path / "monitor.sqlite")]
    elif kept_in == "register-sqlite":
        command += ["--register", str(tmp_path / "register.db")]
    else:
        url = request.getfixturevalue("postgres_server").new_database()
        upgrade(url)
        command += ["--register", url]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (not out.exists() or out.stat().st_size < 20_000):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    written = len(alert_ids(out)) if out.exists() else 0
    assert 0 < written < len(expected), "the kill did not land mid-stream"
    subprocess.run(command, check=True, capture_output=True)
    assert alert_ids(out) == expected
    assert len(expected) > 100
