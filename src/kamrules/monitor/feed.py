"""The monitor behind the decision service: ``POST /v1/events`` into one :class:`Monitor`.

Requests arrive on many threads; the monitor takes one event at a time, so a feed
serialises them under a lock, in the order the requests take it. With the service's
register, the feed keeps its event log and alerts in the register's tables exactly as
``kamrules watch --register`` does (:class:`~kamrules.register.outbox.RegisterOutbox`): the
first request replays the stored events to rebuild every account's state, an event id
already in the log is not taken again and its stored alerts are answered again (a client
that retries after a lost response gets the same alerts, with the same alert ids), and an
event is committed with its alerts before the response is sent. Without a register the
state lives in the process only.

A reloaded rulebook gets a new monitor: its state is rebuilt from the register's log (or,
without a register, starts empty), since alerts are decided by the rulebook's ``alerts:``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from kamrules.monitor.events import RefusedEvent, parse_event
from kamrules.monitor.monitor import EventRefusedError, Monitor
from kamrules.monitor.sinks import EventLog, alert_json
from kamrules.monitor.watch import replay
from kamrules.rulebook.semantics import Rulebook


@dataclass(slots=True)
class Taken:
    """What one request's events did: each alert's JSON, in order, and the events refused."""

    alerts: list[str] = field(default_factory=list)
    taken: int = 0
    duplicates: int = 0
    refused: list[RefusedEvent] = field(default_factory=list)


class MonitorFeed:
    """One monitor for a process, fed by many threads; ``log`` is the register's outbox or None."""

    def __init__(self, log: EventLog | None, stored_alerts: Callable[[str], list[str]] | None = None) -> None:
        self.log = log
        self.stored_alerts = stored_alerts
        """The stored alerts of an event already in the log (answered again to a retry)."""
        self._lock = threading.Lock()
        self._monitor: Monitor | None = None
        self._hash: str | None = None

    def _for(self, rulebook: Rulebook) -> Monitor:
        if self._monitor is None or self._hash != rulebook.content_hash:
            if self._monitor is not None:
                self._monitor.close()
            monitor = Monitor(rulebook)
            if self.log is not None:
                replay(monitor, self.log)
            self._monitor, self._hash = monitor, rulebook.content_hash
        return self._monitor

    def take(self, rulebook: Rulebook, bodies: Sequence[Any]) -> Taken:
        """Take decoded events in order; a refused one is reported and the others go on."""
        result = Taken()
        with self._lock:
            monitor = self._for(rulebook)
            for number, body in enumerate(bodies, start=1):
                event = parse_event(body, number)
                if isinstance(event, RefusedEvent):
                    result.refused.append(event)
                    continue
                if self.log is not None and self.log.has_event(event.id):
                    result.duplicates += 1
                    if self.stored_alerts is not None:
                        result.alerts.extend(self.stored_alerts(event.id))
                    continue
                try:
                    alerts = monitor.handle(event)
                except EventRefusedError as exc:
                    result.refused.append(RefusedEvent(exc.refused.event_id, number, exc.refused.problems))
                    continue
                if self.log is not None:
                    self.log.record(event.id, event.model_dump_json(), alerts)
                result.taken += 1
                result.alerts.extend(alert_json(a) for a in alerts)
        return result

    def close(self) -> None:
        with self._lock:
            if self._monitor is not None:
                self._monitor.close()


__all__ = ["MonitorFeed", "Taken"]
