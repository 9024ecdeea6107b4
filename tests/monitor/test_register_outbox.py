"""``kamrules watch --register``: the monitor's event log and alert outbox in the decision
register's tables (migration 0003), on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules.cli import exit_codes
from kamrules.monitor.monitor import Monitor
from kamrules.monitor.sinks import Outbox
from kamrules.register import Register, upgrade
from kamrules.register.outbox import RegisterOutbox
from kamrules.register.schema import monitor_alerts, monitor_cursors, monitor_events
from kamrules.rulebook import Rulebook
from tests.cli.test_cli import invoke
from tests.conftest import ROOT
from tests.monitor.test_watch import alert_ids, story, write_events


class Memory:
    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self.taken: list[str] = []

    def deliver(self, alert_id: str, body: str) -> None:
        self.taken.append(alert_id)

    def close(self) -> None:
        return


def test_the_register_keeps_what_the_monitors_own_outbox_keeps(
    rules: Rulebook, register_url: str, tmp_path: Path
) -> None:
    upgrade(register_url)
    own, memory = Outbox(tmp_path / "state.sqlite"), Memory()
    mirror = Memory()
    with Register(register_url) as register:
        outbox = RegisterOutbox(register)
        monitor, again = Monitor(rules), Monitor(rules)
        for e in story():
            body = json.dumps(e)
            assert not outbox.has_event(e["id"])
            outbox.record(e["id"], body, monitor.handle(e))
            own.record(e["id"], body, again.handle(e))
            assert outbox.has_event(e["id"])
        assert list(outbox.events()) == list(own.events()) == [json.dumps(e) for e in story()]
        assert outbox.pending("memory") == own.pending("memory")  # the same alerts, bytes and order
        outbox.deliver([memory])
        outbox.deliver([memory])  # the cursor moved: nothing twice
        own.deliver([mirror])
        assert memory.taken == mirror.taken
        assert len(memory.taken) == outbox.alert_count() == own.alert_count() > 3
        assert outbox.pending("memory") == []
        assert len(outbox.pending("another sink")) == outbox.alert_count()
    own.close()


def test_events_and_alerts_in_the_register_are_append_only(rules: Rulebook, register_url: str) -> None:
    upgrade(register_url)
    with Register(register_url) as register:
        outbox = RegisterOutbox(register)
        monitor = Monitor(rules)
        for e in story():
            outbox.record(e["id"], json.dumps(e), monitor.handle(e))
        outbox.deliver([Memory()])
        for statement in (
            sa.update(monitor_events).values(body="{}"),
            sa.delete(monitor_alerts),
            sa.update(monitor_alerts).values(kind="x"),
        ):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), register.engine.begin() as connection:
                connection.execute(statement)
        with register._connect() as connection:  # the cursors move by design
            assert connection.execute(sa.select(sa.func.count()).select_from(monitor_cursors)).scalar_one() == 1


def test_watch_with_the_register_takes_an_event_once_across_runs(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)
    source = write_events(tmp_path / "events.jsonl", story())
    out = tmp_path / "alerts.jsonl"
    args = ("watch", str(ROOT / "rules"), "--events", str(source), "-o", str(out), "--register", register_url)
    code, _, err = invoke(*args)
    assert code == exit_codes.OK, err
    first = out.read_text(encoding="utf-8")
    code, _, err = invoke(*args)
    assert code == exit_codes.OK
    assert f"{len(story())} replayed from the register" in err
    assert f"0 taken, {len(story())} already taken" in err
    assert out.read_text(encoding="utf-8") == first
    with Register(register_url) as register, register._connect() as connection:
        stored = [row[0] for row in connection.execute(sa.select(monitor_alerts.c.alert_id).order_by("seq"))]
    assert stored == alert_ids(out)
    assert "s1/illegal_stage_transition/exploitation to pre_sales" in stored


def test_the_event_log_lives_in_one_place(tmp_path: Path) -> None:
    source = write_events(tmp_path / "events.jsonl", story())
    code, _, err = invoke(
        "watch",
        str(ROOT / "rules"),
        "--events",
        str(source),
        "--state",
        str(tmp_path / "m.sqlite"),
        "--register",
        str(tmp_path / "r.db"),
    )
    assert code == exit_codes.USAGE
    assert "give --state or --register, not both" in err


def test_a_register_at_an_older_schema_is_refused_with_the_command_to_run(
    postgres_server: object, tmp_path: Path
) -> None:
    url = postgres_server.new_database()  # type: ignore[attr-defined]
    from alembic import command

    from kamrules.register.store import _alembic_config, make_engine

    engine = make_engine(url)
    with engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0002")
    engine.dispose()
    source = write_events(tmp_path / "events.jsonl", story())
    code, _, err = invoke("watch", str(ROOT / "rules"), "--events", str(source), "--register", url)
    assert code == exit_codes.INVALID_INPUT
    assert "is at schema revision 0002, this kamrules needs 0003: run `kamrules register upgrade" in err
