"""The streamed columnar run on every core: chunks decided and finished in worker processes.

``kamrules evaluate RULES accounts.parquet -f parquet -o out.parquet --workers N`` runs
:mod:`kamrules.columnar.stream`'s three steps with the heavy two in N processes:

1. **Decide.** Chunk ``k`` goes to worker ``k mod N``. The worker builds the chunk itself (a
   Parquet slice is read by the worker; CSV and JSON Lines blocks are read by the parent, in
   order, and sent as plain values), decides it up to capacity, spills its pre-capacity frame
   to the run's temporary folder as Arrow IPC and keeps the rest of the
   :class:`~kamrules.columnar.chunks.DecidedChunk` (the rows decided per account, whose
   ``Outcome`` objects never cross a process). It returns only small things: the ranking
   keys, the ids and lines of the decided accounts, and the chunk's counts.
2. **Place.** The parent checks repeated ids in chunk order (the first record decided keeps
   an id, as in the serial run), drops the repeats' keys and places capacity once
   (:func:`~kamrules.columnar.chunks.place_keys`).
3. **Finish.** The worker that decided a chunk reads its spill back, makes the repeats error
   rows, finishes it with the chunk's part of the placement and returns the finished rows;
   the parent writes them in chunk order, with at most N + 1 chunks in flight.

Each worker builds its engine once from the rulebook's path and refuses to work if the
content hash is not the parent's (:class:`~kamrules.portfolio.parallel.EngineSource`). The
workers are started with ``spawn``: polars' thread pool does not survive ``fork``. The output,
summary and placement are the serial run's (tested byte for byte).
"""

from __future__ import annotations

import multiprocessing
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamrules.collector import collector_paused
from kamrules.columnar.chunks import DecidedChunk
from kamrules.columnar.output import unknown_columns
from kamrules.columnar.stream import (
    Repeat,
    Streamed,
    Tally,
    apply_repeats,
    build,
    decided_ids,
    find_repeats,
)
from kamrules.portfolio.parallel import EngineSource, WorkerError

if TYPE_CHECKING:
    import datetime as dt

    import polars as pl

    from kamrules.columnar.engine import ColumnarEngine

AHEAD = 2
"""Chunks in flight per worker while deciding (each returns only its keys and ids)."""


@dataclass
class Decided:
    """What a worker returns for a decided chunk: small next to the chunk itself."""

    number: int
    first_row: int
    rows: int
    keys: pl.DataFrame
    ids: pl.DataFrame
    unknown: list[str]
    reasons: dict[str, int]
    nested_problem: str | None
    slow: int
    timings: dict[str, float] = field(default_factory=dict)


# -- in the workers ------------------------------------------------------------------------

_compiled: ColumnarEngine | None = None
_chunks: dict[int, DecidedChunk] = {}


def _start(source: EngineSource, as_of: dt.date) -> None:
    """Build the engine once per worker (:func:`kamrules.portfolio.parallel._start`). A
    worker lives for one run, so the cyclic collector is off for its life, as the serial run
    pauses it for the run (decision 37): the chunks it keeps hold the outcomes of the rows
    decided per account, which a full collection would walk again and again."""
    import gc

    from kamrules.portfolio import parallel

    gc.disable()
    parallel._start(source, as_of)


def _ready() -> tuple[ColumnarEngine, dt.date]:
    global _compiled
    from kamrules.portfolio import parallel
    from kamrules.portfolio.api import columnar_engine

    engine, as_of = parallel._ready()
    if _compiled is None:
        _compiled = columnar_engine(engine)
    return _compiled, as_of


def _decide(number: int, recipe: tuple[Any, ...], folder: str) -> Decided:
    compiled, as_of = _ready()
    piece = build(recipe, compiled.nested)
    chunk = compiled.decide_chunk(piece.table, as_of, first_row=piece.first_row)
    clock = time.perf_counter()
    ids = decided_ids(chunk, piece)
    unknown = unknown_columns(compiled.engine, piece.table)
    keys = chunk.ranking_keys()
    chunk.frame.write_ipc(Path(folder) / f"chunk-{number}.arrow")
    chunk.release()
    chunk.frame = chunk.frame.clear()
    _chunks[number] = chunk
    timings = dict(chunk.timings)
    timings["spill"] = time.perf_counter() - clock
    run = chunk.run
    return Decided(
        number,
        chunk.first_row,
        chunk.rows,
        keys,
        ids,
        unknown,
        dict(run.reasons),
        run.nested_problem,
        len(chunk.slow_rows),
        timings,
    )


def _finish(number: int, folder: str, repeats: list[Repeat], placed: pl.DataFrame | None) -> pl.DataFrame:
    import polars as pl

    compiled, _ = _ready()
    chunk = _chunks.pop(number)
    path = Path(folder) / f"chunk-{number}.arrow"
    chunk.frame = pl.read_ipc(path)
    path.unlink()
    apply_repeats(chunk, repeats)
    return compiled.finish_chunk(chunk, placed)


# -- in the parent -------------------------------------------------------------------------

def stream_on_workers(
    compiled: ColumnarEngine,
    source: EngineSource,
    recipes: Iterator[tuple[Any, ...]],
    as_of: dt.date,
    write: Callable[[pl.DataFrame], None],
    workers: int,
    *,
    spill: Path | None = None,
) -> Streamed:
    """:func:`kamrules.columnar.stream.stream` with the chunks (``recipes``, from
    :func:`kamrules.columnar.stream.recipes`) decided and finished in ``workers``
    processes; ``write`` gets each chunk's finished rows in input order, as serially."""
    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory(dir=spill, prefix="kamrules-") as folder, collector_paused():
        pools = [
            ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start, initargs=(source, as_of))
            for _ in range(workers)
        ]
        try:
            return _run(compiled, pools, recipes, write, folder)
        except BrokenProcessPool:
            # a worker that died (out of memory, killed) takes its chunks with it: say so
            raise WorkerError(
                "a worker process stopped before finishing its chunks (out of memory, or killed); "
                "run again with fewer --workers or without --workers"
            ) from None
        finally:
            for pool in pools:
                pool.shutdown(wait=True, cancel_futures=True)


def _run(
    compiled: ColumnarEngine,
    pools: list[ProcessPoolExecutor],
    recipes: Iterator[tuple[Any, ...]],
    write: Callable[[pl.DataFrame], None],
    folder: str,
) -> Streamed:
    import polars as pl

    engine = compiled.engine
    workers = len(pools)
    tally = Tally()
    seen = pl.DataFrame(schema={"id": pl.String, "line": pl.Int64})
    chunks: list[tuple[int, int, list[Repeat]]] = []  # first row, rows, repeats; by chunk number
    pending: deque[Future[Decided]] = deque()

    def take(future: Future[Decided]) -> None:
        nonlocal seen
        decided = future.result()
        clock = time.perf_counter()
        seen, repeats = find_repeats(decided.ids, seen)
        chunk_keys = decided.keys
        if repeats:
            gone = [decided.first_row + r[1] for r in repeats]
            chunk_keys = chunk_keys.filter(~pl.col("row").is_in(gone))
        chunks.append((decided.first_row, decided.rows, repeats))
        tally.decided(
            decided.rows,
            chunk_keys,
            decided.unknown,
            decided.reasons,
            decided.nested_problem,
            decided.slow,
            decided.timings,
        )
        tally.timings["repeats"] += time.perf_counter() - clock

    for number, recipe in enumerate(recipes):
        pending.append(pools[number % workers].submit(_decide, number, recipe, folder))
        if len(pending) >= AHEAD * workers:
            take(pending.popleft())
    while pending:
        take(pending.popleft())
    del seen
    placed, portfolio = tally.place(engine)
    finishing: deque[Future[pl.DataFrame]] = deque()

    def written(future: Future[pl.DataFrame]) -> None:
        clock = time.perf_counter()
        rows = future.result()
        tally.timings["wait"] += time.perf_counter() - clock
        tally.write(engine, rows, write)

    for number, (first_row, rows, repeats) in enumerate(chunks):
        part = None
        if placed is not None and placed.height:
            part = placed.filter(pl.col("row").is_between(first_row, first_row + rows - 1))
        finishing.append(pools[number % workers].submit(_finish, number, folder, repeats, part))
        if len(finishing) > workers:
            written(finishing.popleft())
    while finishing:
        written(finishing.popleft())
    return tally.streamed(portfolio, len(chunks))
