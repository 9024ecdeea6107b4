"""The collector settings of long-running processes leave the collector as they found it."""

from __future__ import annotations

import gc

from kamrules.collector import collector_paused, freeze_long_lived, long_lived_frozen


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
    import weakref

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
