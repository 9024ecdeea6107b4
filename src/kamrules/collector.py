"""How long-running kamrules processes use CPython's cyclic garbage collector.

Reference counting frees almost everything a decision allocates; the cyclic collector is
for the rest, and it walks every tracked object of a generation each time it runs. A batch
allocates millions of short-lived objects and a server holds a large long-lived heap (the
compiled rulebook, FastAPI's routes, pydantic's validators, SQLAlchemy's caches), so both
pay for walks that find nothing: a batch in throughput, a server in pauses of 100 ms or more
that every request waiting behind them feels, and the monitor, whose state of every account
lives as long as the process, in events per second (docs/decisions.md, entries 37, 38, 42
and 45).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a run, as it was after (decision 37): a run
    creates millions of objects that die by reference counting (contenders, placement
    steps, notes), and every full collection walks all of them again."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze_long_lived() -> None:
    """Collect once, then move every surviving object to the permanent generation, which
    later collections do not walk (``gc.freeze``). Called when a server has loaded what it
    serves, and again after a rulebook reload: unfreezing first lets the collection free
    the replaced rulebook's reference cycles, which a frozen heap would keep for good."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


@contextlib.contextmanager
def long_lived_frozen() -> Iterator[None]:
    """:func:`freeze_long_lived` for the life of a server, and the heap as it was after: a
    server run inside a larger process (the tests) leaves nothing frozen behind."""
    freeze_long_lived()
    try:
        yield
    finally:
        gc.unfreeze()


# -- the monitor: a large state that lives as long as the process -------------------------


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
    1000000``). Settling again every ``kamrules.monitor.watch.SETTLE_EVERY`` events freezes the state that
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


@contextlib.contextmanager
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


__all__ = [
    "collector_paused",
    "collector_settled",
    "freeze_long_lived",
    "long_lived_frozen",
    "settle_event",
    "settle_heap",
]
