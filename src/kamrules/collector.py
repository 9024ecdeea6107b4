"""How long-running kamrules processes use CPython's cyclic garbage collector.

Reference counting frees almost everything a decision allocates; the cyclic collector is
for the rest, and it walks every tracked object of a generation each time it runs. A batch
allocates millions of short-lived objects and a server holds a large long-lived heap (the
compiled rulebook, FastAPI's routes, pydantic's validators, SQLAlchemy's caches), so both
pay for walks that find nothing: a batch in throughput, a server in pauses of 100 ms or more
that every request waiting behind them feels (docs/decisions.md, entries 37 and 42).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


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


__all__ = ["collector_paused", "freeze_long_lived", "long_lived_frozen"]
