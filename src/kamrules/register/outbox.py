"""The account monitor's event log and alert outbox in the decision register.

``kamrules watch --register URL`` keeps what ``--state FILE`` keeps in the monitor's own
SQLite file (see :mod:`kamrules.monitor.sinks`) in the register's tables instead
(migration 0003): ``monitor_events``, ``monitor_alerts`` and ``monitor_cursors``. So the
alerts sit beside the decisions they are about, on SQLite or PostgreSQL, and the same
guarantees hold: an event and its alerts are committed in one transaction, a restarted
watch replays the stored events and skips the input events already taken, and each sink's
cursor moves only after the sink took the alert. Events and alerts are append-only, like
decisions (triggers refuse updates and deletes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from kamrules.monitor.monitor import Alert
from kamrules.monitor.sinks import EventLog, alert_json
from kamrules.register.schema import monitor_alerts, monitor_cursors, monitor_events
from kamrules.register.store import Register

REPLAY_PAGE = 1_000
"""Stored events read per query while replaying: no transaction stays open for the whole log."""


class RegisterOutbox(EventLog):
    """The event log and alert outbox of a watch, in an open :class:`Register`."""

    def __init__(self, register: Register) -> None:
        self.register = register
        dialect = register.engine.dialect.name
        self._insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the register runs on these two
            raise NotImplementedError(f"the monitor's outbox needs SQLite or PostgreSQL, not {dialect}")

    def has_event(self, event_id: str) -> bool:
        query = sa.select(monitor_events.c.seq).where(monitor_events.c.event_id == event_id)
        with self.register._connect() as connection:
            return connection.execute(query).first() is not None

    def events(self) -> Iterator[str]:
        after = 0
        while True:
            query = (
                sa.select(monitor_events.c.seq, monitor_events.c.body)
                .where(monitor_events.c.seq > after)
                .order_by(monitor_events.c.seq)
                .limit(REPLAY_PAGE)
            )
            with self.register._connect() as connection:
                rows = connection.execute(query).all()
            if not rows:
                return
            for seq, body in rows:
                yield body
                after = seq

    def record(self, event_id: str, body: str, alerts: Sequence[Alert]) -> None:
        row = {"event_id": event_id, "body": body, "taken_at": dt.datetime.now(dt.UTC)}
        with self.register._write() as connection:
            seq = connection.execute(sa.insert(monitor_events).returning(monitor_events.c.seq), [row]).scalar_one()
            if alerts:
                statement = self._insert(monitor_alerts).on_conflict_do_nothing(index_elements=["alert_id"])
                connection.execute(
                    statement,
                    [
                        {
                            "alert_id": a.alert_id,
                            "event_seq": seq,
                            "account_id": a.account_id,
                            "kind": a.kind,
                            "body": alert_json(a),
                        }
                        for a in alerts
                    ],
                )

    def pending(self, sink: str) -> list[tuple[int, str, str]]:
        cursor = sa.select(monitor_cursors.c.seq).where(monitor_cursors.c.sink == sink).scalar_subquery()
        query = (
            sa.select(monitor_alerts.c.seq, monitor_alerts.c.alert_id, monitor_alerts.c.body)
            .where(monitor_alerts.c.seq > sa.func.coalesce(cursor, 0))
            .order_by(monitor_alerts.c.seq)
        )
        with self.register._connect() as connection:
            return [(int(seq), alert_id, body) for seq, alert_id, body in connection.execute(query)]

    def delivered(self, sink: str, seq: int) -> None:
        statement = self._insert(monitor_cursors).values(sink=sink, seq=seq)
        statement = statement.on_conflict_do_update(index_elements=["sink"], set_={"seq": statement.excluded.seq})
        with self.register._write() as connection:
            connection.execute(statement)

    def alerts_of(self, event_id: str) -> list[str]:
        """The alerts an event already in the log raised, in order (answered again to a retry)."""
        query = (
            sa.select(monitor_alerts.c.body)
            .join(monitor_events, monitor_alerts.c.event_seq == monitor_events.c.seq)
            .where(monitor_events.c.event_id == event_id)
            .order_by(monitor_alerts.c.seq)
        )
        with self.register._connect() as connection:
            return [body for (body,) in connection.execute(query)]

    def alert_count(self) -> int:
        with self.register._connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(monitor_alerts)).scalar_one())

    def close(self) -> None:
        """The register is the caller's to close."""
        return


__all__ = ["RegisterOutbox"]
