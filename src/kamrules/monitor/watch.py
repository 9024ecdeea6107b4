"""Running the monitor over a JSON Lines event stream: ``kamrules watch`` without the CLI.

With an outbox the run survives a restart: the stored events are replayed first to rebuild
every account's state, input events already stored are skipped, and each sink gets the
alerts it has not taken yet (see :mod:`kamrules.monitor.sinks`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from kamrules.monitor.events import RefusedEvent, parse_event_line
from kamrules.monitor.monitor import EventRefusedError, Monitor
from kamrules.monitor.sinks import EventLog, Sink, alert_json

SETTLE_EVERY = 100_000
"""Events taken between two :func:`settle_heap` calls of a watch."""


def settle_heap() -> None:
    """Take the monitor's state out of the cyclic garbage collector's way (within
    :func:`collector_settled`).

    A monitor holds every account's folded facts, record and decision: millions of objects
    (a pydantic model and its set of fields per contact, review, sign-off...) that live as
    long as the process. CPython's collector walks them again and again, which cost about
    a quarter of the CPU time of a 3,000-account run (measured, benchmarks/README.md). So
    the state is collected once and frozen (``gc.freeze``: never scanned again), and young
    collections are made rarer. An event's garbage is freed by reference counting (the
    state holds no reference cycles), and the cycles durable_rules makes in each ``post``
    are collected before every freeze, so freezing leaks nothing; frozen objects are still
    freed when their last reference goes (memory stays flat: ``bench_monitor.py --events
    1000000``). Settling again every ``SETTLE_EVERY`` events freezes the state that
    replaced the old.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def settle_event() -> None:
    """After each event of a settled watch (within :func:`collector_settled`): collect the
    young objects, then freeze the survivors.

    Each event replaces part of an account's state with some fifty new long-lived objects.
    Left young, they are walked by every young collection until one moves them on, and
    walking a young generation of a few hundred thousand objects whose references point
    all over a large heap cost more than deciding the events that made them (a 10,000-account
    run measured 3,000 events per CPU second with the collector off against 1,500 settled
    every 100,000 events, on the loaded machine). Collected right after its event, a young
    generation is the event's own few hundred objects, still in the cache: what an event
    leaves in reference cycles (durable_rules' ``post`` makes some) is freed at once, and
    what survives is frozen, never walked again, and freed by reference counting when the
    state lets it go. A cycle that outlives its event would be kept frozen: the monitor's
    state holds none (entry 38 of docs/decisions.md)."""
    gc.collect(0)
    gc.freeze()


@contextmanager
def collector_settled() -> Iterator[Callable[[], None]]:
    """Run a watch with :func:`settle_heap` (given to call), and leave the collector as it
    was: a watch run inside a larger process (the tests, the service) changes nothing after."""
    thresholds = gc.get_threshold()
    try:
        settle_heap()
        yield settle_heap
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


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


__all__ = ["SETTLE_EVERY", "WatchSummary", "collector_settled", "replay", "settle_event", "settle_heap", "watch"]
