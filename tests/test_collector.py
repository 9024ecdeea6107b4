"""The collector settings of long-running processes leave the collector as they found it."""

from __future__ import annotations

import gc
import weakref

from kamrules.collector import (
    collector_paused,
    collector_settled,
    freeze_long_lived,
    long_lived_frozen,
    settle_event,
)


def test_the_collector_is_paused_for_a_run_and_restored() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled(), "a collector the program turned off stays off"
    finally:
        gc.enable()


def test_a_server_freezes_what_it_loaded_and_unfreezes_after() -> None:
    assert gc.get_freeze_count() == 0
    with long_lived_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        later = [[i] for i in range(1000)]  # allocated after the freeze: walked by the collector
        assert any(o is later for o in gc.get_objects())
        freeze_long_lived()  # after a reload: what survives now is frozen too
        assert not any(o is later for o in gc.get_objects())
    assert gc.get_freeze_count() == 0


def test_a_reload_lets_the_replaced_rulebook_s_cycles_go() -> None:
    """A frozen cycle is never collected; refreezing unfreezes and collects first."""

    class Node:
        pass

    with long_lived_frozen():
        old = Node()
        old.self = old  # type: ignore[attr-defined]
        gone = weakref.ref(old)
        freeze_long_lived()
        del old
        gc.collect()
        assert gone() is not None, "frozen: the collector does not walk it"
        freeze_long_lived()
        assert gone() is None


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
