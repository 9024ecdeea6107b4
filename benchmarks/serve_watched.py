"""``kamrules serve`` with an event-loop watchdog, for ``bench_service.py --watchdog``.

    python benchmarks/serve_watched.py COUNTS.json serve rules/ --register r.db ...

A task on the server's own event loop sleeps ``TICK`` seconds again and again and counts how
late each wake-up is: a late wake-up is a stall that every request waiting on the loop felt
(a decision made inline, a collector pause, the loop waiting for the GIL held by another
thread). The counts are rewritten to COUNTS.json twice a second, so the benchmark reads them
before and after each rate. The watchdog itself costs about a thousand short wake-ups a
second; it is a measuring instrument, off by default.
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


async def watch(out: Path) -> None:
    counts: dict[str, Any] = {"ticks": 0, "late_ms_total": 0.0, "max_ms": 0.0}
    counts.update({f"over_{limit}ms": 0 for limit in LIMITS_MS})
    written = time.perf_counter()
    while True:
        started = time.perf_counter()
        await asyncio.sleep(TICK)
        now = time.perf_counter()
        late = (now - started - TICK) * 1000
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
