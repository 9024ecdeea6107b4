"""``kamrules serve`` with an event-loop watchdog, for ``bench_service.py --watchdog``.

    python benchmarks/serve_watched.py COUNTS.json serve rules/ --register r.db ...

A task on the server's own event loop sleeps ``TICK`` seconds again and again and counts how
late each wake-up is: a late wake-up is a stall that every request waiting on the loop felt
(a decision made inline, a collector pause, the loop waiting for the GIL held by another
thread). The counts are rewritten to COUNTS.json twice a second, so the benchmark reads them
before and after each rate.

Each tick also reads the loop thread's own ``/proc/thread-self/schedstat`` (time on a CPU,
time waiting on the run queue), so the wall time of a tick splits into: running, waiting
for a CPU (the machine is busy: other processes, the register writer process included),
and the rest, off the run queue without running: the timer's own sleep and any wait on a
lock, above all the GIL while another thread of the process holds it. ``blocked_ms_total``
sums that rest beyond the tick's sleep (with 1 ms of slack for the timer's granularity), so it
measures what a second Python thread costs the loop, whatever the machine's load.

The watchdog itself costs about a thousand short wake-ups a second; it is a measuring
instrument, off by default.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

TICK = 0.001
LIMITS_MS = (2, 5, 10, 20)


def schedstat() -> tuple[float, float]:
    """(ms on a CPU, ms waiting on the run queue) of the calling thread, since it started."""
    with open("/proc/thread-self/schedstat", "rb") as file:
        running, waiting, _ = file.read().split()
    return int(running) / 1e6, int(waiting) / 1e6


async def watch(out: Path) -> None:
    counts: dict[str, Any] = {"ticks": 0, "late_ms_total": 0.0, "max_ms": 0.0}
    counts.update({f"over_{limit}ms": 0 for limit in LIMITS_MS})
    counts.update({"running_ms_total": 0.0, "runqueue_ms_total": 0.0, "blocked_ms_total": 0.0, "blocked_over_2ms": 0})
    written = time.perf_counter()
    while True:
        started = time.perf_counter()
        running, waiting = schedstat()
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        running_after, waiting_after = schedstat()
        late = (now - started - TICK) * 1000
        blocked = (now - started) * 1000 - (running_after - running) - (waiting_after - waiting) - TICK * 1000 - 1
        counts["running_ms_total"] += running_after - running
        counts["runqueue_ms_total"] += waiting_after - waiting
        counts["blocked_ms_total"] += max(blocked, 0.0)
        counts["blocked_over_2ms"] += blocked > 2
        counts["ticks"] += 1
        counts["late_ms_total"] += max(late, 0.0)
        counts["max_ms"] = max(counts["max_ms"], late)
        for limit in LIMITS_MS:
            if late > limit:
                counts[f"over_{limit}ms"] += 1
        if now - written > 0.5:
            written = now
            temporary = out.with_suffix(".tmp")
            temporary.write_text(json.dumps(counts), encoding="utf-8")
            os.replace(temporary, out)


def main() -> None:
    out = Path(sys.argv.pop(1))
    import kamrules.service.app as app_module

    create = app_module.create_app

    def create_watched(config: Any) -> Any:
        app = create(config)
        inner = app.router.lifespan_context

        @contextlib.asynccontextmanager
        async def lifespan(application: Any) -> AsyncIterator[Any]:
            task = asyncio.get_running_loop().create_task(watch(out))
            try:
                async with inner(application) as state:
                    yield state
            finally:
                task.cancel()

        app.router.lifespan_context = lifespan
        return app

    app_module.create_app = create_watched
    from kamrules.cli.main import run

    run()


if __name__ == "__main__":
    main()
