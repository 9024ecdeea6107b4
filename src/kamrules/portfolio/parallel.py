"""Explained batches on every core: JSON Lines in, each account's explanation out, in order.

``kamrules evaluate RULES accounts.jsonl --format jsonl --workers N`` decides blocks of input
lines in N worker processes. Each worker compiles the rulebook once (checked against the
parent's content hash, so a rulebook edited mid-run is an error rather than a mix of two
policies), parses its lines as :mod:`kamrules.portfolio.sources` does, decides them and writes
each explanation with the encoder; the parent only moves bytes, keeps the account ids (an id
given twice is an error for the repeat, as in :func:`kamrules.portfolio.batch.run`) and the
summary, and writes the results in input order. The output is the same bytes as the serial
batch (tested).

**Capacity without deciding twice.** A tier with a capacity needs the whole portfolio, and
every decision placed with a portfolio names its size, known only at the end. The first pass
keeps, for each account that cannot move (its tier has no capacity), its explanation in two
pieces around the capacity value, spilled to a temporary file; for each contender, its
compact key (:class:`~kamrules.portfolio.placement.Contender`) and its input line. Capacity is
placed from the keys (:func:`~kamrules.portfolio.placement.place`, the one implementation),
and the second pass joins the pieces with the portfolio's note and decides only the
contenders again, in the workers, with their placement. Contenders are the accounts whose
tier has a capacity (30% of the generated benchmark portfolio, where Gold and Silver are
limited): the others, usually most of a portfolio, are decided once.

**Bytes, not strings, through the parent** (decision 51). A worker encodes its block's
explanations to UTF-8 once and sends them as one ``bytes`` object with each entry's length;
the parent writes slices of it (a whole block in one write when no record of it failed) and
spills it, with capacity, as one pickle per block. The parent never decodes, re-encodes or
concatenates an explanation, and never handles a contender's input line twice (it keeps the
block it sent). Unknown columns are looked for only in the first thousand records, as the
serial batch does: the parent counts the records of the first blocks and tells each worker
how many of its records to look in (the look costs as much as validating a nested record).
"""

from __future__ import annotations

import datetime as dt
import gc
import pickle
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from kamrules.evaluation.engine import Engine, Outcome, account_error
from kamrules.explanation.decision import AccountError, FieldError
from kamrules.explanation.encoder import capacity_json
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.batch import Summary, repeated_account
from kamrules.portfolio.capacity import has_capacity, portfolio_note
from kamrules.portfolio.placement import Contender, capacity_tiers, contender, notes_of, place
from kamrules.portfolio.sources import RawRecord, SourceError, _jsonl_line

BLOCK = 500
"""Input lines per task: large enough that a task's overhead (about a millisecond) is small
next to deciding it, small enough to keep the workers busy to the end."""

AHEAD = 3
"""Tasks in flight per worker: the parent reads ahead this far, and no further (bounded memory)."""

UNKNOWN_COLUMNS_OF = 1000
"""As in the serial batch: unknown columns are looked for in the first thousand records."""


@dataclass(frozen=True, slots=True)
class EngineSource:
    """How a worker builds the parent's engine: the rulebook's path, the CRM profile and the
    content hash it must have."""

    rules: str
    crm: str | None
    content_hash: str


# -- in the workers ------------------------------------------------------------------------


class WorkerError(Exception):
    """A worker could not build the parent's engine (the rulebook changed or became
    unreadable after the parent loaded it): the batch stops with this message."""


_engine: Engine | None = None
_as_of: dt.date | None = None
_failed: str | None = None


def _start(source: EngineSource, as_of: dt.date) -> None:
    """Build the engine once per worker. A failure is kept and raised by the first task, so
    that the parent sees its message (an initializer's exception only breaks the pool)."""
    global _engine, _as_of, _failed
    from kamrules.errors import RulebookError
    from kamrules.rulebook import load_rulebook

    try:
        engine = Engine(load_rulebook(Path(source.rules)))
    except (RulebookError, OSError) as exc:
        _failed = f"the rulebook at {source.rules} could not be read again by a worker process: {exc}"
        return
    if engine.rulebook.content_hash != source.content_hash:
        _failed = f"the rulebook at {source.rules} changed while the batch was starting; run it again"
        return
    _engine = engine.with_profile(source.crm)
    _as_of = as_of
    gc.freeze()  # the engine lives as long as the worker: collections need not walk it again


def _ready() -> tuple[Engine, dt.date]:
    if _engine is None or _as_of is None:
        raise WorkerError(_failed or "the worker process has no engine")
    return _engine, _as_of


# A result per input line: ("skip",) for a blank line; ("error", line, AccountError without its
# record number, unknown columns); ("decided", line, account id, counts, length, unknown
# columns), its text (with capacity: the two pieces around the capacity value, of ``length``
# = (before, after) bytes) next in the block's bytes; ("contender", line, account id,
# Contender, unknown columns).
Result = tuple[Any, ...]

Block = list[tuple[int, bytes]]
"""Input lines with their line numbers."""

Piece = bytes | memoryview
"""Output as the parent passes it on: slices of the workers' bytes are written, not joined
(joining a block's 10 MB anew costs as much in page faults as writing it)."""

Task = tuple[int, Block]
"""A block of input lines and how many of its first records to look for unknown columns in."""


def _decide_block(task: Task, capacity: bool) -> tuple[list[Result], bytes]:
    """The results of a block of lines, and the explanations of the decided ones as UTF-8 (each
    followed by a new line; with capacity, in two pieces), in input order."""
    engine, as_of = _ready()
    wanted, lines = task
    tiers = {t.index for t in capacity_tiers(engine, 0)} if capacity else set()
    results: list[Result] = []
    texts: list[bytes] = []
    records = 0
    no_columns: tuple[str, ...] = ()
    for number, raw_line in lines:
        raw = _parse(number, raw_line)
        if raw is None:
            results.append(("skip",))
            continue
        records += 1
        if raw.data is None:
            unreadable = AccountError(
                record=0,
                line=raw.line,
                account_id=None,
                errors=[FieldError(field="(record)", message=raw.problem or "unreadable")],
                message=raw.problem or "unreadable record",
            )
            results.append(("error", number, unreadable, no_columns))
            continue
        unknown = tuple(engine.validator.unknown_keys(raw.data)) if records <= wanted else no_columns
        try:
            outcome = engine.evaluate(engine.validate(raw.data), as_of)
        except InvalidRecord as exc:
            results.append(("error", number, account_error(0, exc, number), unknown))
            continue
        if outcome.tier_index in tiers:
            key = contender(engine, outcome, -1)
            if key.tier in tiers:  # not the rulebook's excluded outcome
                results.append(("contender", number, outcome.account_id, key, unknown))
                continue
        counts = _counts(outcome)
        if capacity:
            before, after = engine.encoder.encode_around_capacity(outcome.with_capacity(True, None, ""))
            first, second = before.encode(), (after + "\n").encode()
            texts += (first, second)
            length: Any = (len(first), len(second))
        else:
            text = (outcome.decision_json() + "\n").encode()
            texts.append(text)
            length = len(text)
        results.append(("decided", number, outcome.account_id, counts, length, unknown))
    return results, b"".join(texts)


def _place_block(items: list[tuple[int, bytes, int, list[str], str]]) -> list[tuple[bytes, tuple[Any, ...]]]:
    """Contenders decided again and placed: (line, raw line, placed tier, notes, portfolio
    note) in, each one's explanation (UTF-8, with its new line) and counts out."""
    engine, as_of = _ready()
    done = []
    for number, raw_line, tier, notes, note in items:
        raw = _parse(number, raw_line)
        assert raw is not None and raw.data is not None  # it was decided in the first pass
        outcome = engine.evaluate(engine.validate(raw.data), as_of)
        if notes:
            outcome = outcome.placed(tier, notes)
        outcome = outcome.with_capacity(True, None, note)
        done.append(((outcome.decision_json() + "\n").encode(), _counts(outcome)))
    return done


def _parse(number: int, raw_line: bytes) -> RawRecord | None:
    """One line as :func:`kamrules.portfolio.sources.read_records` reads it (None: blank)."""
    if number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
        raw_line = raw_line[3:]
    try:
        line = raw_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RawRecord(
            number,
            None,
            f"line {number} is not UTF-8 text: the byte 0x{raw_line[exc.start]:02X} at byte {exc.start + 1} "
            f"of the line ({exc.reason})",
        )
    return next(_jsonl_line(number, line), None)


def _counts(outcome: Outcome) -> tuple[str, str | None, bool, str | None]:
    return outcome.tier, outcome.segment, outcome.key_account, outcome.compliance_status


# -- in the parent -------------------------------------------------------------------------

T = TypeVar("T")
R = TypeVar("R")


def _ordered(
    pool: ProcessPoolExecutor, fn: Callable[[T], R], tasks: Iterable[T], ahead: int
) -> Iterator[tuple[T, R]]:
    """``map(fn, tasks)`` in the pool, in order, each result with its task, with at most
    ``ahead`` tasks in flight."""
    pending: deque[tuple[T, Future[R]]] = deque()
    for task in tasks:
        pending.append((task, pool.submit(fn, task)))
        if len(pending) >= ahead:
            done, future = pending.popleft()
            yield done, future.result()
    while pending:
        done, future = pending.popleft()
        yield done, future.result()


def _blocks(path: Path) -> Iterator[Block]:
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read '{path}': {exc.strerror}") from None
    with handle:
        block: Block = []
        for number, raw_line in enumerate(handle, start=1):
            block.append((number, raw_line))
            if len(block) >= BLOCK:
                yield block
                block = []
        if block:
            yield block


def _tasks(blocks: Iterator[Block]) -> Iterator[Task]:
    """Each block with how many of its first records still count for unknown columns: the
    records of the first blocks are counted here (a blank line is not a record), exactly as
    the workers judge them; after the first thousand records, none."""
    records = 0
    for block in blocks:
        wanted = UNKNOWN_COLUMNS_OF - records
        if wanted > 0:
            records += sum(1 for number, raw_line in block if not _blank(number, raw_line))
        yield max(wanted, 0), block


def _blank(number: int, raw_line: bytes) -> bool:
    """Whether :func:`_parse` skips the line (a line that is not UTF-8 is a record: an error)."""
    if number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
        raw_line = raw_line[3:]
    try:
        return not raw_line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False


def run_jsonl(
    engine: Engine,
    source: EngineSource,
    path: Path,
    as_of: dt.date,
    summary: Summary,
    workers: int,
) -> Iterator[Piece]:
    """The explained decisions (and error records) of a JSON Lines file as UTF-8 JSON Lines,
    in input order, in pieces to be written one after the other (lines, or parts of one),
    decided in ``workers`` processes; ``summary`` is kept as
    :func:`kamrules.portfolio.batch.run` keeps it. A file that cannot be read raises
    :class:`SourceError` before anything is decided."""
    summary.name_every_grade(engine)
    blocks = _blocks(path)
    first = next(blocks, None)  # an unreadable file fails here, before any worker starts
    capacity = has_capacity(engine)
    unknown: dict[str, None] = {}
    with ProcessPoolExecutor(max_workers=workers, initializer=_start, initargs=(source, as_of)) as pool:
        tasks = _tasks(_chain(first, blocks)) if first is not None else iter(())
        results = _ordered(pool, partial(_decide_block, capacity=capacity), tasks, AHEAD * workers)
        if capacity:
            yield from _placed(engine, pool, results, as_of, summary, unknown, workers)
        else:
            seen: dict[str, int | None] = {}
            for _, (block, texts) in results:
                yield from _first_pass(block, texts, summary, unknown, seen)
    summary.unknown_columns = list(unknown)


def _chain(first: Block, rest: Iterator[Block]) -> Iterator[Block]:
    yield first
    yield from rest


def _record(result: Result, summary: Summary, unknown: dict[str, None]) -> int:
    """Count a result that is a record (not a blank line): its record number."""
    summary.read += 1
    if summary.read <= UNKNOWN_COLUMNS_OF:
        for key in result[-1]:
            unknown.setdefault(key)
    return summary.read


def _error(result: Result, number: int, summary: Summary) -> bytes:
    summary.errors += 1
    error: AccountError = result[2].model_copy(update={"record": number})
    return (error.model_dump_json() + "\n").encode()


def _repeated(number: int, line: int, account_id: str, first_line: int | None, summary: Summary) -> bytes:
    summary.errors += 1
    return (repeated_account(number, line, account_id, first_line).model_dump_json() + "\n").encode()


def _first_pass(
    block: list[Result], texts: bytes, summary: Summary, unknown: dict[str, None], seen: dict[str, int | None]
) -> list[Piece]:
    """Account for a block's results without capacity: its lines of output, the decided
    accounts' texts in runs, so that a block without errors is its worker's bytes."""
    parts: list[Piece] = []
    view = memoryview(texts)
    start = end = 0  # the run of decided texts not yet in parts
    for result in block:
        kind = result[0]
        if kind == "skip":
            continue
        number = _record(result, summary, unknown)
        if kind == "error":
            parts += (view[start:end], _error(result, number, summary))
            start = end
            continue
        _, line, account_id, counts, length, _ = result
        first_line = seen.setdefault(account_id, line)
        if first_line != line:
            parts += (view[start:end], _repeated(number, line, account_id, first_line, summary))
            start = end = end + length
            continue
        _count(summary, counts)
        end += length
    if start == 0 and end == len(texts) and not parts:
        return [texts]
    parts.append(view[start:end])
    return parts


def _count(summary: Summary, counts: tuple[str, str | None, bool, str | None]) -> None:
    tier, segment, key_account, status = counts
    summary.decided += 1
    summary.tiers[tier] += 1
    if segment is not None:
        summary.segments[segment] += 1
    if key_account:
        summary.key_accounts += 1
    if status is not None:
        summary.compliance[status] += 1


# A spilled entry: ("text", bytes) for an error record; ("pieces", start, before, after): a
# decided account's two pieces in the block's bytes; ("contender", line, raw line, row, manager).
Entry = tuple[Any, ...]


def _placed(
    engine: Engine,
    pool: ProcessPoolExecutor,
    results: Iterator[tuple[Task, tuple[list[Result], bytes]]],
    as_of: dt.date,
    summary: Summary,
    unknown: dict[str, None],
    workers: int,
) -> Iterator[Piece]:
    """Two passes with capacity (see the module docstring); the first spills each block's
    entries and bytes as one pickle."""
    contenders: list[Contender] = []
    seen: dict[str, int | None] = {}
    decided = 0
    with tempfile.TemporaryFile(prefix="kamrules-parallel-") as spill:
        for (_, lines), (block, texts) in results:
            raw_lines = dict(lines)
            entries: list[Entry] = []
            position = 0
            for result in block:
                kind = result[0]
                if kind == "skip":
                    continue
                number = _record(result, summary, unknown)
                if kind == "error":
                    entries.append(("text", _error(result, number, summary)))
                    continue
                line, account_id = result[1], result[2]
                first_line = seen.setdefault(account_id, line)
                if kind == "decided":
                    start, (before, after) = position, result[4]
                    position += before + after
                if first_line != line:
                    entries.append(("text", _repeated(number, line, account_id, first_line, summary)))
                    continue
                if kind == "contender":
                    key: Contender = result[3]._replace(row=decided)
                    contenders.append(key)
                    entries.append(("contender", line, raw_lines[line], decided, key.manager))
                else:
                    _count(summary, result[3])
                    entries.append(("pieces", start, before, after))
                decided += 1
            pickle.dump((entries, texts), spill, protocol=pickle.HIGHEST_PROTOCOL)
        del seen
        placed = place(engine, contenders, decided)
        placed.placement.as_of = as_of
        summary.placement = placed.placement
        del contenders
        note = portfolio_note(decided)
        capacity = capacity_json(True, None, note).encode()
        spill.seek(0)
        for (entries, texts), redone in _ordered_second_pass(pool, _spilled(spill), placed, note, engine, workers):
            view = memoryview(texts)
            redone_iter = iter(redone)
            parts: list[Piece] = []
            for entry in entries:
                if entry[0] == "text":
                    parts.append(entry[1])
                elif entry[0] == "pieces":
                    _, start, before, after = entry
                    parts += (view[start : start + before], capacity, view[start + before : start + before + after])
                else:
                    text, counts = next(redone_iter)
                    _count(summary, counts)
                    parts.append(text)
            yield from parts


def _ordered_second_pass(
    pool: ProcessPoolExecutor,
    blocks: Iterator[tuple[list[Entry], bytes]],
    placed: Any,
    note: str,
    engine: Engine,
    workers: int,
) -> Iterator[tuple[tuple[list[Entry], bytes], list[tuple[bytes, tuple[Any, ...]]]]]:
    """The spilled blocks, each with its contenders decided again and placed (in the pool,
    at most a few blocks ahead)."""
    pending: deque[tuple[tuple[list[Entry], bytes], Future[list[tuple[bytes, tuple[Any, ...]]]] | None]] = deque()
    for spilled in blocks:
        work = [
            (e[1], e[2], placed.final[e[3]], notes_of(engine, placed, e[3], e[4]), note)
            for e in spilled[0]
            if e[0] == "contender"
        ]
        pending.append((spilled, pool.submit(_place_block, work) if work else None))
        if len(pending) >= AHEAD * workers:
            done, future = pending.popleft()
            yield done, future.result() if future is not None else []
    while pending:
        done, future = pending.popleft()
        yield done, future.result() if future is not None else []


def _spilled(spill: BinaryIO) -> Iterator[tuple[list[Entry], bytes]]:
    while True:
        try:
            yield pickle.load(spill)
        except EOFError:
            return
