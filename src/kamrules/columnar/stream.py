"""A portfolio file decided in columns in bounded memory: read a chunk, decide it, keep its
ranking keys, spill it; place capacity once; finish and write each chunk.

The whole portfolio is never held: a chunk of input (a Parquet batch of rows, a block of JSON
Lines or CSV records) is decided up to capacity
(:meth:`~kamrules.columnar.engine.ColumnarEngine.decide_chunk`), its compact ranking keys are
kept (a few dozen bytes an account), and its pre-capacity frame, the columns the output is
built from, is spilled to a temporary Arrow IPC file. The input chunk is then dropped. Once
every chunk is decided, :func:`~kamrules.columnar.chunks.place_keys` places the portfolio
with the one shared placement, and each spilled chunk is read back, finished
(:meth:`~kamrules.columnar.engine.ColumnarEngine.finish_chunk`) and written before the next.

An account id given again is an error row for the repeat, as in the per-account batch: the
first record decided keeps the id (a record that could not be decided claims none).
"""

from __future__ import annotations

import csv
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamrules.collector import collector_paused
from kamrules.columnar.chunks import DecidedChunk, place_keys
from kamrules.columnar.output import summarise, unknown_columns
from kamrules.portfolio.batch import Summary, repeated_account
from kamrules.portfolio.frames import Table, from_frame, from_records, text_table
from kamrules.portfolio.placement import Placed
from kamrules.portfolio.sources import CSV_FIELD_LIMIT, SourceError, open_text, read_records

if TYPE_CHECKING:
    import datetime as dt

    import polars as pl

    from kamrules.columnar.engine import ColumnarEngine
    from kamrules.evaluation.engine import Engine

CHUNK_ROWS = 50_000
"""Records decided at once: large enough that polars' per-call costs vanish, small enough
that a chunk of nested accounts (plans, ten contacts, a dozen relationships) stays a few
hundred MB while it is decided."""


@dataclass
class Piece:
    """One chunk of input: its records as a table, the portfolio row of its first record,
    and the input line of each row (None: the row number, as for Parquet and frames)."""

    table: Table
    first_row: int
    lines: Callable[[Sequence[int]], list[int | None]] | None = None
    recipe: tuple[Any, ...] | None = None
    """What another process needs to build this piece again (:func:`build`): plain values
    that pickle, unlike the table's raw-record callable."""


@dataclass
class Streamed:
    """What a streamed run leaves besides the rows it wrote."""

    summary: Summary
    fallback: str | None
    per_account_rows: int
    chunks: int
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Tally:
    """What a streamed run counts as its chunks pass, serial or on workers: one account of
    the run, so that both end in the same summary, placement and fallback note."""

    timings: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))
    reasons: Counter[str] = field(default_factory=Counter)
    nested_problem: str | None = None
    unknown: dict[str, None] = field(default_factory=dict)
    keys: list[pl.DataFrame] = field(default_factory=list)
    slow: int = 0
    read: int = 0
    summary: Summary = field(default_factory=Summary)

    def decided(
        self,
        rows: int,
        keys: pl.DataFrame,
        unknown: Sequence[str],
        reasons: Mapping[str, int],
        nested_problem: str | None,
        slow: int,
        timings: Mapping[str, float],
    ) -> None:
        """A chunk decided up to capacity (its repeated ids already left out of ``keys``)."""
        for name, seconds in timings.items():
            self.timings[name] += seconds
        for column in unknown:
            self.unknown.setdefault(column)
        self.reasons.update(reasons)
        self.nested_problem = self.nested_problem or nested_problem
        self.slow += slow
        self.read += rows
        self.keys.append(keys)

    def place(self, engine: Engine) -> tuple[pl.DataFrame | None, Placed | None]:
        """Every decided chunk's keys placed at once; the keys are let go after."""
        import polars as pl

        clock = time.perf_counter()
        all_keys = pl.concat(self.keys) if self.keys else None
        self.keys.clear()
        placed = place_keys(engine, all_keys, all_keys.height) if all_keys is not None else (None, None)
        self.timings["capacity"] += time.perf_counter() - clock
        return placed

    def write(self, engine: Engine, rows: pl.DataFrame, write: Callable[[pl.DataFrame], None]) -> None:
        """A finished chunk counted in the summary, then written."""
        clock = time.perf_counter()
        _add(self.summary, summarise(engine, rows, []))
        self.timings["output"] += time.perf_counter() - clock
        clock = time.perf_counter()
        write(rows)
        self.timings["write"] += time.perf_counter() - clock

    def streamed(self, portfolio: Placed | None, chunks: int) -> Streamed:
        """The run's end: its summary, placement and the note on rows decided per account."""
        self.summary.unknown_columns = list(self.unknown)
        if portfolio is not None and portfolio.placement.tiers:
            self.summary.placement = portfolio.placement
        fallback = None
        if self.slow:
            parts = [f"{count} {reason}" for reason, count in self.reasons.items()]
            fallback = f"{self.slow} of {self.read} rows were decided per account: " + "; ".join(parts)
            if self.nested_problem is not None:
                fallback += f" (nested facts are not read in columns: {self.nested_problem})"
        return Streamed(self.summary, fallback, self.slow, chunks, dict(self.timings))


def pieces(path: Path, kind: str, nested: Sequence[str], rows: int | None = None) -> Iterator[Piece]:
    """The chunks of an accounts file: Parquet a batch of rows at a time (struct and list
    columns as they are stored), other formats a block of records at a time as the
    per-account reader reads them. ``rows`` per chunk, :data:`CHUNK_ROWS` by default."""
    rows = rows or CHUNK_ROWS
    if not path.is_file():
        raise SourceError(f"no accounts file at '{path}'")
    if kind == "parquet":
        yield from _parquet(path, rows)
        return
    if kind == "csv":
        yield from _csv(path, nested, rows)
        return
    yield from _record_blocks(path, kind, nested, rows)


def _record_blocks(path: Path, kind: str, nested: Sequence[str], rows: int) -> Iterator[Piece]:
    block: list[Any] = []
    start = 0
    for record in read_records(path, kind):
        block.append(record)
        if len(block) == rows:
            yield _records_piece(block, start, nested)
            start += len(block)
            block = []
    if block or start == 0:
        yield _records_piece(block, start, nested)


def _csv(path: Path, nested: Sequence[str], rows: int) -> Iterator[Piece]:
    """CSV a block of rows at a time as text columns, read as the per-account reader reads it
    (the same ``csv`` module, cells stripped, empty cells missing, blank rows skipped, a row of
    the wrong width or that the ``csv`` module refuses an error record), transposed into
    columns instead of one dict per row. A header the columns cannot take (a name given
    twice, a nested fact as JSON cells, an unnamed column) goes to the per-account reader,
    which says what is wrong."""
    import polars as pl

    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with open_text(path) as handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError):
            header = []
        names = [h.strip() for h in header] if header is not None else []
        if header is None or not names or len(set(names)) != len(names) or any(n in nested or not n for n in names):
            handle.close()
            yield from _record_blocks(path, "csv", nested, rows)
            return
        width, empty = len(names), [""] * len(names)
        block: list[list[str]] = []
        unreadable: dict[int, str] = {}
        lines: list[int] = []
        start = 0

        def piece() -> Piece:
            columns = list(zip(*block, strict=True)) if block else [() for _ in names]
            frame = pl.DataFrame(
                [pl.Series(name, column, dtype=pl.String) for name, column in zip(names, columns, strict=True)],
                height=len(block),
            ).with_columns(pl.col(n).str.strip_chars().replace("", None) for n in names)
            return _text_piece(frame, dict(unreadable), list(lines), start)

        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                unreadable[len(block)] = f"line {reader.line_num} cannot be read as CSV: {exc}"
                block.append(empty)
                lines.append(reader.line_num)
            except UnicodeDecodeError as exc:
                raise SourceError(f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
            else:
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != width:
                    unreadable[len(block)] = f"line {reader.line_num} has {len(row)} cells but the header has {width}"
                    block.append(empty)
                else:
                    block.append(row)
                lines.append(reader.line_num)
            if len(block) == rows:
                yield piece()
                start += len(block)
                block, unreadable, lines = [], {}, []
        if block or start == 0:
            yield piece()


def _text_piece(frame: pl.DataFrame, unreadable: dict[int, str], numbers: list[int], start: int) -> Piece:
    table = text_table(frame, unreadable, numbers)
    return Piece(table, start, lambda asked: [numbers[r] for r in asked], ("csv", frame, unreadable, numbers, start))


def _records_piece(block: list[Any], start: int, nested: Sequence[str]) -> Piece:
    table = from_records(block, nested)
    return Piece(table, start, lambda rows: [r.line for r in table.raw(rows)], ("records", block, start))


def recipes(path: Path, kind: str, nested: Sequence[str], rows: int | None = None) -> Iterator[tuple[Any, ...]]:
    """The chunks of an accounts file as recipes another process builds (:func:`build`):
    a Parquet file is not read here (a recipe names the slice, and the worker reads it);
    CSV and JSON Lines are read here, in order, as :func:`pieces` reads them."""
    rows = rows or CHUNK_ROWS
    if kind != "parquet":
        for piece in pieces(path, kind, nested, rows):
            assert piece.recipe is not None
            yield piece.recipe
        return
    if not path.is_file():
        raise SourceError(f"no accounts file at '{path}'")
    import polars as pl

    try:
        total = int(pl.scan_parquet(path).select(pl.len()).collect().item())
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"cannot read '{path}' as Parquet: {exc}") from None
    for start in range(0, max(total, 1), rows):
        yield ("parquet", str(path), start, rows, total)


def build(recipe: tuple[Any, ...], nested: Sequence[str]) -> Piece:
    """The piece a recipe of :func:`recipes` names (in a worker process)."""
    kind = recipe[0]
    if kind == "csv":
        _, frame, unreadable, numbers, start = recipe
        return _text_piece(frame, unreadable, numbers, start)
    if kind == "records":
        _, block, start = recipe
        return _records_piece(block, start, nested)
    _, path, start, rows, total = recipe
    import polars as pl

    try:
        if total == 0:
            return Piece(from_frame(pl.read_parquet(path)), 0)
        frame = pl.scan_parquet(path).slice(start, rows).collect()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"cannot read '{path}' as Parquet: {exc}") from None
    return Piece(from_frame(frame, first_line=start + 1), start)


def _parquet(path: Path, rows: int) -> Iterator[Piece]:
    """Slices of ``rows`` rows read by polars' own Parquet reader (the slice is pushed into
    the scan, so only the row groups it covers are read): four times less CPU than Arrow's
    batch reader with a conversion to polars, measured on nested accounts."""
    import polars as pl

    try:
        total = int(pl.scan_parquet(path).select(pl.len()).collect().item())
        for start in range(0, total, rows):
            frame = pl.scan_parquet(path).slice(start, rows).collect()
            yield Piece(from_frame(frame, first_line=start + 1), start)
        if total == 0:
            yield Piece(from_frame(pl.read_parquet(path)), 0)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"cannot read '{path}' as Parquet: {exc}") from None


def stream(
    compiled: ColumnarEngine,
    chunks: Iterator[Piece],
    as_of: dt.date,
    write: Callable[[pl.DataFrame], None],
    *,
    spill: Path | None = None,
) -> Streamed:
    """Decide the pieces in columns and hand each chunk's finished rows to ``write`` in
    input order. ``spill`` is a folder for the pre-capacity frames (a temporary one by
    default, removed after)."""
    with tempfile.TemporaryDirectory(dir=spill, prefix="kamrules-") as folder, collector_paused():
        return _stream(compiled, chunks, as_of, write, Path(folder))


@dataclass
class _Spilled:
    chunk: DecidedChunk
    path: Path


def _stream(
    compiled: ColumnarEngine,
    chunks: Iterator[Piece],
    as_of: dt.date,
    write: Callable[[pl.DataFrame], None],
    folder: Path,
) -> Streamed:
    import polars as pl

    engine = compiled.engine
    tally = Tally()
    seen = pl.DataFrame(schema={"id": pl.String, "line": pl.Int64})
    spilled: list[_Spilled] = []
    for number, piece in enumerate(chunks):
        chunk = compiled.decide_chunk(piece.table, as_of, first_row=piece.first_row)
        clock = time.perf_counter()
        seen = _repeats(chunk, piece, seen)
        tally.decided(
            chunk.rows,
            chunk.ranking_keys(),
            unknown_columns(engine, piece.table),
            chunk.run.reasons,
            chunk.run.nested_problem,
            len(chunk.slow_rows),
            chunk.timings,
        )
        path = folder / f"chunk-{number}.arrow"
        chunk.frame.write_ipc(path)
        chunk.release()
        spilled.append(_Spilled(chunk, path))
        tally.timings["spill"] += time.perf_counter() - clock
    placed, portfolio = tally.place(engine)
    for item in spilled:
        clock = time.perf_counter()
        item.chunk.frame = pl.read_ipc(item.path)
        item.path.unlink()
        rows = compiled.finish_chunk(item.chunk, placed)
        item.chunk.frame = item.chunk.frame.clear()
        tally.timings["output"] += time.perf_counter() - clock
        tally.write(engine, rows, write)
    return tally.streamed(portfolio, len(spilled))


def _repeats(chunk: DecidedChunk, piece: Piece, seen: pl.DataFrame) -> pl.DataFrame:
    """Make each decided account whose id an earlier decided account holds (in an earlier
    chunk or earlier in this one) an error row; the ids and lines seen so far, with this
    chunk's."""
    known, repeats = find_repeats(decided_ids(chunk, piece), seen)
    apply_repeats(chunk, repeats)
    return known


Repeat = tuple[str, int, int | None, int | None]
"""An account id given again: the id, the chunk row of the repeat, its input line, and the
input line of the record that keeps the id."""


def decided_ids(chunk: DecidedChunk, piece: Piece) -> pl.DataFrame:
    """The id, chunk row and input line of each account the chunk decided (columns ``id``,
    ``@row``, ``line``): what the repeated-id check reads, small enough to send between
    processes."""
    import polars as pl

    frame = chunk.frame
    rows = frame.get_column("@row")
    if piece.lines is None:
        lines = pl.Series("line", rows + piece.first_row + 1, dtype=pl.Int64)
    else:
        lines = pl.Series("line", piece.lines(rows.to_list()), dtype=pl.Int64)
    return frame.select(pl.col("id").cast(pl.String), pl.col("@row")).with_columns(lines)


def find_repeats(ids: pl.DataFrame, seen: pl.DataFrame) -> tuple[pl.DataFrame, list[Repeat]]:
    """The ids and lines decided so far with this chunk's (``ids``, from :func:`decided_ids`),
    and this chunk's repeats: decided accounts whose id an earlier decided account holds, in
    an earlier chunk or earlier in this one. Chunks must be given in input order."""
    import polars as pl

    repeat = ids.select(~pl.col("id").is_first_distinct() | pl.col("id").is_in(seen.get_column("id").implode()))
    repeat_mask = repeat.to_series()
    if not repeat_mask.any():
        return pl.concat([seen, ids.select("id", "line")]), []
    fresh = ids.filter(~repeat_mask)
    known = pl.concat([seen, fresh.select("id", "line")])
    first = dict(known.filter(pl.col("id").is_in(ids.filter(repeat_mask).get_column("id").implode())).iter_rows())
    repeats = [(account, row, line, first[account]) for account, row, line in ids.filter(repeat_mask).iter_rows()]
    return known, repeats


def apply_repeats(chunk: DecidedChunk, repeats: Sequence[Repeat]) -> None:
    """Make each repeat an error row of the chunk (``repeated_account``): out of its frame
    and its per-account outcomes."""
    if not repeats:
        return
    import polars as pl

    for account, row, line, first in repeats:
        chunk.outcomes.pop(row, None)
        chunk.errors[row] = repeated_account(row + chunk.first_row + 1, line, account, first)
    chunk.frame = chunk.frame.filter(~pl.col("@row").is_in([r[1] for r in repeats]))


def _add(total: Summary, part: Summary) -> None:
    total.read += part.read
    total.decided += part.decided
    total.errors += part.errors
    total.key_accounts += part.key_accounts
    total.tiers.update(part.tiers)
    total.segments.update(part.segments)
    total.compliance.update(part.compliance)
