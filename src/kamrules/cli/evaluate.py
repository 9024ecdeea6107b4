"""``kamrules evaluate``: decide every account of a CRM export."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO, Literal, TextIO

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kamrules.cli import exit_codes
from kamrules.cli.app import (
    AccountsArg,
    AsOfOpt,
    CrmOpt,
    InputFormatOpt,
    OutputOpt,
    RulesArg,
    app,
    as_of_date,
    cells,
    err,
    fail,
    load,
    open_output,
    report,
    stream_records,
    with_crm,
)
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.explanation.render import error_text
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.batch import run as run_batch
from kamrules.portfolio.sources import RawRecord, SourceError
from kamrules.portfolio.writers import write_decisions

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar import ColumnarEngine


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    parquet = "parquet"


class EngineChoice(StrEnum):
    auto = "auto"
    columnar = "columnar"
    per_account = "per-account"
    spark = "spark"


COLUMNAR_ROWS = 20_000
"""With --engine auto, flat output of an input larger than this is decided in columns."""


@app.command()
def evaluate(
    rules: RulesArg,
    accounts: AccountsArg,
    as_of: AsOfOpt = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    output: OutputOpt = None,
    input_format: InputFormatOpt = None,
    crm: CrmOpt = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Pinned tiers: a CSV/JSONL of account, tier, reason, approver, expires."),
    ] = None,
    engine_choice: Annotated[
        EngineChoice,
        typer.Option(
            "--engine",
            help=(
                "auto: the columnar evaluator for flat output (csv, parquet) when the input is Parquet or has "
                f"more than {COLUMNAR_ROWS:,} rows and the rulebook compiles to columns; columnar; per-account; "
                "spark (a Parquet file or directory decided on Spark, written as a Parquet directory)."
            ),
        ),
    ] = EngineChoice.auto,
    save_placement: Annotated[
        Path | None,
        typer.Option(
            "--save-placement",
            help="With tier capacities: save the portfolio's placement to this file, so that a later "
            "`explain`/`check-plan --placement FILE` or `Engine.decide(..., placement=...)` places single "
            "accounts against this portfolio.",
        ),
    ] = None,
    register: Annotated[
        str | None,
        typer.Option("--register", help="Record every decision in this decision register (a SQLite file or a URL)."),
    ] = None,
    master: Annotated[
        str | None,
        typer.Option(
            "--master", help="With --engine spark: the Spark master (default local[2], or spark-submit's session)."
        ),
    ] = None,
    driver_memory: Annotated[
        str | None,
        typer.Option(
            "--driver-memory",
            help="With --engine spark on a local master: the JVM's memory (spark.driver.memory, e.g. 8g; "
            "default a quarter of the machine's, 2g to 16g).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            help="Processes deciding the batch: a JSON Lines file explained into --format jsonl, or any input "
            "decided in columns into csv, jsonl or parquet (the output is the same, in input order). Default: "
            "every core for a Parquet file of more than one chunk (50,000 accounts) decided in columns, and "
            "for a JSON Lines file of 16 MB or more explained into --format jsonl; otherwise 1 "
            "(docs/decisions.md).",
        ),
    ] = None,
) -> None:
    """Decide every account: tier, segment, scores, and the explanation.

    Examples:

    `kamrules evaluate rules/ examples/accounts.jsonl --as-of 2026-11-01`

    `kamrules evaluate rules/ examples/accounts.csv --format csv -o decisions.csv`

    `kamrules evaluate rules/ accounts.parquet --format parquet -o decisions.parquet`

    `kamrules evaluate rules/ examples/crm/salesforce_accounts.csv --crm salesforce`
    """
    rulebook = load(rules)
    engine = with_crm(Engine(rulebook), crm)
    date = as_of_date(as_of)
    if overrides is not None and engine_choice is EngineChoice.columnar:
        fail("--overrides needs the per-account engine; leave out --engine columnar", exit_codes.USAGE)
    if save_placement is not None and not engine.has_capacity:
        fail("--save-placement: the rulebook's tiers have no capacity, so there is nothing to place", exit_codes.USAGE)
    if save_placement is not None and engine_choice is EngineChoice.columnar:
        fail("--save-placement needs the per-account engine for now; leave out --engine columnar", exit_codes.USAGE)
    if register is not None and engine_choice is EngineChoice.columnar:
        fail("--register records explained decisions: leave out --engine columnar", exit_codes.USAGE)
    if master is not None and engine_choice is not EngineChoice.spark:
        fail("--master names a Spark cluster: use it with --engine spark", exit_codes.USAGE)
    if driver_memory is not None and engine_choice is not EngineChoice.spark:
        fail("--driver-memory sizes Spark's JVM: use it with --engine spark", exit_codes.USAGE)
    if engine_choice is EngineChoice.spark:
        unavailable = (overrides, "--overrides"), (save_placement, "--save-placement"), (register, "--register")
        for given, option in unavailable:
            if given is not None:
                fail(f"{option} is not available with --engine spark", exit_codes.USAGE)
        from kamrules.cli.spark import evaluate_on_spark

        evaluate_on_spark(
            engine, rules, str(accounts), output, output_format.value, input_format, crm, date, master, driver_memory
        )
        return
    if (
        overrides is None
        and save_placement is None
        and register is None
        and _evaluate_columnar(
            engine, accounts, input_format, output_format, output, date, engine_choice, (rules, crm, workers)
        )
    ):
        return
    if _evaluate_parallel(
        engine,
        rules,
        crm,
        accounts,
        input_format,
        output_format,
        output,
        date,
        workers,
        overrides,
        register,
        save_placement,
    ):
        return
    unknown_overrides: set[str] = set()
    records: Iterable[RawRecord] = with_overrides(
        engine, stream_records(accounts, input_format), overrides, unknown_overrides
    )
    summary = Summary()
    results = run_batch(engine, _progress(records), date, summary)
    if register is not None:
        from kamrules.cli.register import recorded

        results = recorded(register, engine, results, summary)
    handle = open_output(output)
    try:
        if output_format is OutputFormat.table:
            _table(engine, results, handle)
        else:
            write_decisions(engine, results, output_format.value, handle, summary)
    finally:
        if output:
            handle.close()
    if unknown_overrides:
        err.print(f"overrides for accounts not in the input: {', '.join(sorted(unknown_overrides))}", markup=False)
    _finish(summary, output_format is not OutputFormat.table, output, save_placement)


def _finish(summary: Summary, errors_in_output: bool, output: Path | None, save_placement: Path | None) -> None:
    """The end of every per-account run, serial or on workers: the summary on stderr, the
    placement saved where asked, and exit code 3 when any record failed."""
    report(summary, errors_in_output, output)
    if save_placement is not None and summary.placement is not None:
        try:
            summary.placement.save(save_placement)
        except OSError as exc:
            fail(f"cannot write '{save_placement}': {exc.strerror}", exit_codes.USAGE)
        err.print(f"placement {summary.placement.id} saved to {save_placement}", markup=False)
    if summary.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)


# -- explained JSON Lines on every core (kamrules.portfolio.parallel) ---------------


def _evaluate_parallel(
    engine: Engine,
    rules: Path,
    crm: str | None,
    accounts: Path,
    input_format: str | None,
    fmt: OutputFormat,
    output: Path | None,
    date: dt.date,
    workers: int | None,
    overrides: Path | None,
    register: str | None,
    save_placement: Path | None,
) -> bool:
    """Decide and write the batch in worker processes when it applies; False to leave the
    run to the serial per-account path."""
    from kamrules.portfolio import parallel
    from kamrules.portfolio.sources import detect_format

    readable = accounts.is_file() and _is_jsonl(accounts, input_format, detect_format)
    if workers is None and fmt is OutputFormat.jsonl and readable and not overrides and not register:
        workers = _cores_for_jsonl(accounts)
    if workers is None or workers == 1:
        return False
    if fmt is not OutputFormat.jsonl or not readable or overrides or register:
        fail(
            "--workers decides a JSON Lines file (not stdin) into --format jsonl, or a file decided in columns "
            "into csv, jsonl or parquet, without --overrides or --register; leave out --workers for this run",
            exit_codes.USAGE,
        )
    summary = Summary()
    source = parallel.EngineSource(str(rules), crm, engine.rulebook.content_hash)
    pieces = parallel.run_jsonl(engine, source, accounts, date, summary, workers)
    handle = _open_binary(output)
    try:
        for piece in pieces:
            handle.write(piece)
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    except parallel.WorkerError as exc:
        fail(str(exc), exit_codes.INVALID_RULES)
    finally:
        if output:
            handle.close()
        else:
            handle.flush()  # before the summary on stderr
    _finish(summary, True, output, save_placement)
    return True


PARALLEL_JSONL_BYTES = 16 * 1024 * 1024
"""The size from which an explained JSON Lines file is decided on every core by default
(decision 51): about 2,000 nested accounts, where two workers already beat the serial batch
on the idle two-core machine; flat rows without capacity neither gain nor lose there."""


def _usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's limit, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _cores_for_jsonl(accounts: Path) -> int | None:
    """The default worker count of an explained JSON Lines file: every core the process may
    run on once the file is large enough for the workers' start (about half a second of CPU
    each) to pay; None (serial) below that or on one core."""
    try:
        size = accounts.stat().st_size
    except OSError:
        return None
    if size < PARALLEL_JSONL_BYTES:
        return None
    cores = _usable_cores()
    return cores if cores > 1 else None


WRITE_BUFFER = 1 << 20
"""The output's buffer: the workers' explanations arrive as slices of a few kilobytes each."""


def _open_binary(output: Path | None) -> BinaryIO:
    """The output as bytes: the workers' explanations are UTF-8 already (written as they come)."""
    if output is None:
        sys.stdout.flush()
        return sys.stdout.buffer
    try:
        return output.open("wb", buffering=WRITE_BUFFER)
    except OSError as exc:
        fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)


def _is_jsonl(accounts: Path, input_format: str | None, detect: Callable[[Path, str | None], str]) -> bool:
    try:
        return detect(accounts, input_format) == "jsonl"
    except SourceError:
        return False


# -- the columnar batch path (kamrules.columnar) ------------------------------------

FLAT_FORMATS = (OutputFormat.csv, OutputFormat.parquet, OutputFormat.jsonl)


def _evaluate_columnar(
    engine: Engine,
    accounts: Path,
    input_format: str | None,
    fmt: OutputFormat,
    output: Path | None,
    date: dt.date,
    choice: EngineChoice,
    parallel: tuple[Path, str | None, int | None],
) -> bool:
    """Decide and write the batch through the columnar evaluator when it applies; False to
    leave the run to the per-account path (explanations, or a small input under auto).

    The columnar evaluator writes flat rows (kamrules.portfolio.evaluate_frame's columns);
    Parquet output is always written that way, by either engine."""
    if fmt is OutputFormat.parquet and output is None:
        fail("--format parquet writes a binary file: give the file with -o/--output", exit_codes.USAGE)
    if choice is EngineChoice.columnar and fmt not in FLAT_FORMATS:
        fail("the columnar engine writes flat rows: use --format csv, jsonl or parquet", exit_codes.USAGE)
    if choice is EngineChoice.per_account and fmt is not OutputFormat.parquet:
        return False
    if choice is EngineChoice.auto and fmt not in (OutputFormat.csv, OutputFormat.parquet):
        return False
    try:
        from kamrules.portfolio.api import columnar_engine
        from kamrules.portfolio.frames import as_text_columns, read_table, write_frame
        from kamrules.portfolio.sources import detect_format
    except ImportError:  # pragma: no cover - exercised only without the extra
        if fmt is OutputFormat.parquet or choice is EngineChoice.columnar:
            fail("the columnar evaluator needs polars: pip install 'kamrules[dataframes]'", exit_codes.USAGE)
        return False
    compiled = columnar_engine(engine)
    try:
        kind = detect_format(accounts, input_format)
        if choice is EngineChoice.auto and fmt is OutputFormat.csv and not compiled.compiles:
            return False  # the rulebook has no exact columnar form: the per-account CSV
        if compiled.compiles and choice is not EngineChoice.per_account:
            return _stream_columnar(compiled, accounts, kind, fmt, output, date, choice, parallel)
        table = read_table(accounts, kind, compiled.nested)
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    if choice is EngineChoice.auto and fmt is OutputFormat.csv and kind != "parquet" and table.rows <= COLUMNAR_ROWS:
        return False
    use: Literal["per-account", "auto"] = "per-account" if choice is EngineChoice.per_account else "auto"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback is reported below, once
        result = compiled.evaluate(table, date, engine=use)
    if output is not None:
        try:
            write_frame(result.frame, output, fmt.value)
        except OSError as exc:
            fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)
    elif fmt is OutputFormat.csv:
        sys.stdout.write(as_text_columns(result.frame).write_csv())
    else:
        sys.stdout.write(as_text_columns(result.frame).write_ndjson())
    if result.fallback and choice is not EngineChoice.per_account:
        err.print(f"note: {result.fallback}", markup=False)
    report(result.summary, True, output)
    if result.summary.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)
    return True


def _cores_for(accounts: Path) -> int | None:
    """The default worker count of a Parquet file decided in columns: every core the process
    may run on, at most one per chunk, so a file of one chunk stays in this process (spawning
    a worker costs about a second). Measured on the idle 2-core machine, 1M nested accounts
    Parquet to Parquet: 24.7 s on two workers, 32.4 s serial, same bytes (decision 46).
    None (serial) when the count cannot be read: the serial reader then says why."""
    import math

    import polars as pl

    from kamrules.columnar.stream import CHUNK_ROWS

    try:
        rows = int(pl.scan_parquet(accounts).select(pl.len()).collect().item())
    except (OSError, pl.exceptions.PolarsError):
        return None
    cores = _usable_cores()
    workers = min(cores, math.ceil(rows / CHUNK_ROWS))
    return workers if workers > 1 else None


def _stream_columnar(
    compiled: ColumnarEngine,
    accounts: Path,
    kind: str,
    fmt: OutputFormat,
    output: Path | None,
    date: dt.date,
    choice: EngineChoice,
    parallel: tuple[Path, str | None, int | None],
) -> bool:
    """The columnar batch in bounded memory (kamrules.columnar.stream): chunks decided and
    spilled, capacity placed once, each chunk's rows written as it is finished; with
    ``--workers N`` (``parallel``: the rulebook's path, the CRM profile, N) decided and
    finished in N processes (kamrules.columnar.workers). False to leave a small CSV-to-CSV
    run to the per-account path under auto."""
    import itertools

    from kamrules.columnar.stream import pieces, recipes, stream
    from kamrules.portfolio.frames import as_text_columns
    from kamrules.portfolio.parallel import EngineSource, WorkerError

    rules, crm, workers = parallel
    if workers is None and kind == "parquet":
        workers = _cores_for(accounts)
    on_workers = workers is not None and workers > 1
    chunks: Any = recipes(accounts, kind, compiled.nested) if on_workers else pieces(accounts, kind, compiled.nested)
    try:
        first = list(itertools.islice(chunks, 2))
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    if (
        not on_workers
        and choice is EngineChoice.auto
        and fmt is OutputFormat.csv
        and kind != "parquet"
        and len(first) == 1
        and first[0].table.rows <= COLUMNAR_ROWS
    ):
        return False
    writer: Any = None
    handle: Any = None
    try:
        if fmt is OutputFormat.parquet:
            assert output is not None

            def write(rows: pl.DataFrame) -> None:
                nonlocal writer
                table = rows.to_arrow()
                if writer is None:
                    import pyarrow.parquet as pq  # type: ignore[import-untyped]

                    writer = pq.ParquetWriter(output, table.schema)
                writer.write_table(table)

        else:
            handle = output.open("w", encoding="utf-8", newline="") if output is not None else sys.stdout
            started = [False]

            def write(rows: pl.DataFrame) -> None:
                text = as_text_columns(rows)
                if fmt is OutputFormat.csv:
                    handle.write(text.write_csv(include_header=not started[0]))
                else:
                    handle.write(text.write_ndjson())
                started[0] = True

        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback is reported below, once
            if on_workers:
                from kamrules.columnar.workers import stream_on_workers

                assert workers is not None
                source = EngineSource(str(rules), crm, compiled.engine.rulebook.content_hash)
                result = stream_on_workers(compiled, source, itertools.chain(first, chunks), date, write, workers)
            else:
                result = stream(compiled, itertools.chain(first, chunks), date, write)
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    except WorkerError as exc:
        fail(str(exc), exit_codes.INVALID_RULES)
    except OSError as exc:
        fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)
    finally:
        if writer is not None:
            writer.close()
        if handle is not None and output is not None:
            handle.close()
    if result.fallback and choice is not EngineChoice.per_account:
        err.print(f"note: {result.fallback}", markup=False)
    report(result.summary, True, output)
    if result.summary.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)
    return True


def _progress(records: Iterable[RawRecord]) -> Iterable[RawRecord]:
    """A progress indicator on a terminal while a per-account batch is decided (the count
    of records is not known in advance: the input is streamed)."""
    if not err.is_terminal:
        return records
    from rich.progress import track

    return track(records, description="Deciding accounts", console=err, transient=True)


def _table(engine: Engine, items: Iterator[Outcome | AccountError], handle: TextIO) -> None:
    console = Console(file=handle, highlight=False, width=160 if not handle.isatty() else None)
    table = Table(title=Text(f"{engine.rulebook.id} {engine.rulebook.version}"), show_lines=False)
    table.add_column("account")
    table.add_column("name", max_width=30, overflow="ellipsis", no_wrap=True)
    table.add_column("tier")
    table.add_column("segment")
    for card in engine.cards:
        table.add_column(card.id, justify="right")
    table.add_column("why", max_width=70, overflow="fold")
    errors: list[AccountError] = []
    for item in items:
        if isinstance(item, AccountError):
            errors.append(item)
            continue
        decision = item.decision()
        table.add_row(
            *cells(
                decision.account_id,
                decision.account_name or "",
                decision.tier,
                decision.segment or "",
                *[str(decision.scores[c.id].score) for c in engine.cards],
                decision.summary.split("; ", 1)[1] if "; " in decision.summary else "",
            )
        )
    console.print(table)
    for error in errors:
        console.print(error_text(error), markup=False)


def with_overrides(
    engine: Engine, records: Iterable[RawRecord], path: Path | None, unknown: set[str]
) -> Iterable[RawRecord]:
    """Merge a policy owner's overrides file into the records as they stream past (the file
    wins); ``unknown`` is filled, once the records are consumed, with the overridden ids no
    record has."""
    if path is None:
        return records
    from kamrules.portfolio.overrides import OverridesError, merge_overrides, read_overrides

    try:
        pinned = read_overrides(path)
    except OverridesError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    seen: set[str] = set()

    def merged() -> Iterator[RawRecord]:
        yield from merge_overrides(records, pinned, engine.validator.renames, seen)
        unknown.update(set(pinned) - seen)

    return merged()
