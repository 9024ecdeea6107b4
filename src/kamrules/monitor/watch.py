"""Running the monitor over a JSON Lines event stream: ``kamrules watch`` without the CLI.

With an outbox the run survives a restart: the stored events are replayed first to rebuild
every account's state, input events already stored are skipped, and each sink gets the
alerts it has not taken yet (see :mod:`kamrules.monitor.sinks`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from kamrules.collector import collector_settled, settle_event
from kamrules.monitor.events import RefusedEvent, parse_event_line
from kamrules.monitor.monitor import EventRefusedError, Monitor
from kamrules.monitor.sinks import EventLog, Sink, alert_json

SETTLE_EVERY = 100_000
"""Events taken between two :func:`~kamrules.collector.settle_heap` calls of a watch."""


@dataclass(slots=True)
class WatchSummary:
    replayed: int = 0
    read: int = 0
    taken: int = 0
    duplicates: int = 0
    refused: int = 0
    alerts: int = 0


def replay(monitor: Monitor, outbox: EventLog) -> int:
    """Rebuild the monitor's state from the stored events; their alerts are already stored."""
    count = 0
    for body in outbox.events():
        event = parse_event_line(body)
        assert event is not None and not isinstance(event, RefusedEvent), "a stored event no longer parses"
        monitor.handle(event)
        count += 1
    return count


def watch(
    monitor: Monitor,
    lines: Iterable[str],
    *,
    outbox: EventLog | None,
    sinks: Sequence[Sink],
    on_refused: Callable[[RefusedEvent], None],
) -> WatchSummary:
    summary = WatchSummary()
    with collector_settled() as settle:
        if outbox is not None:
            summary.replayed = replay(monitor, outbox)
            outbox.deliver(sinks)  # alerts stored before a crash and not yet delivered
            settle()
        _take(monitor, lines, outbox, sinks, on_refused, summary, settle)
    return summary


def _take(
    monitor: Monitor,
    lines: Iterable[str],
    outbox: EventLog | None,
    sinks: Sequence[Sink],
    on_refused: Callable[[RefusedEvent], None],
    summary: WatchSummary,
    settle: Callable[[], None],
) -> None:
    for number, text in enumerate(lines, start=1):
        event = parse_event_line(text, number)
        if event is None:
            continue
        summary.read += 1
        if isinstance(event, RefusedEvent):
            summary.refused += 1
            on_refused(event)
            continue
        if outbox is not None and outbox.has_event(event.id):
            summary.duplicates += 1
            continue
        try:
            alerts = monitor.handle(event)
        except EventRefusedError as exc:
            summary.refused += 1
            on_refused(RefusedEvent(exc.refused.event_id, number, exc.refused.problems))
            continue
        summary.taken += 1
        summary.alerts += len(alerts)
        if summary.taken % SETTLE_EVERY == 0:
            settle()
        if outbox is not None:
            outbox.record(event.id, event.model_dump_json(), alerts)
            outbox.deliver(sinks)
        else:
            for alert in alerts:
                for sink in sinks:
                    sink.deliver(alert.alert_id, alert_json(alert))
        settle_event()


__all__ = ["SETTLE_EVERY", "WatchSummary", "replay", "watch"]
