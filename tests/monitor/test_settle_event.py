"""A settled watch collects each event's young objects and freezes what survives
(``settle_event``): cycles the event left are freed at once, and the collector is as it
was once the watch ends."""

from __future__ import annotations

import gc
import weakref

import pytest

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules.monitor.watch import collector_settled, settle_event


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_an_events_cycles_are_freed_and_its_survivors_frozen() -> None:
    thresholds = gc.get_threshold()
    with collector_settled():
        a, b = _Node(), _Node()
        a.other, b.other = b, a  # garbage in a cycle once dropped, as a durable_rules post leaves
        gone = weakref.ref(a)
        kept = _Node()
        del a, b
        settle_event()
        assert gone() is None
        assert not any(o is kept for o in gc.get_objects()), "the event's survivor is not frozen"
        del kept
    assert gc.get_threshold() == thresholds and gc.get_freeze_count() == 0
