"""``write``: the decisions of a Spark DataFrame written as a Parquet directory.

On a local session (``local``, ``local[N]``) writing to a local path, the Python workers that
decide the accounts write the Parquet files themselves (pyarrow), and Spark only carries one
small row per task back to the driver: the decided output never becomes Spark rows and never
goes through Spark's Parquet writer, which were three quarters of the JVM's time in the
second pass (decision 52). Anywhere else (a cluster's master, ``s3a://``, ``abfss://``,
``gs://``, ``dbfs:/``...) Spark's own writer writes the result of
:func:`kamrules.spark.runner.decide`, with Spark's commit protocol: the workers of a cluster
need not see the driver's file system, and an object store's credentials live in the Hadoop
configuration, which pyarrow does not read.

The worker writer's commit, in place of Spark's:

* the driver makes the output directory (it must not exist, as for Spark's default mode) and
  ``_temporary`` in it;
* each task attempt writes one file, ``_temporary/attempt-<task attempt id>/part-NNNNN.parquet``
  (the attempt directory is made under ``_temporary`` without creating ``_temporary``: an
  attempt that outlives an aborted job fails instead of writing), and returns (partition,
  attempt id, path, rows);
* Spark hands the driver the rows of exactly one successful attempt per partition (a failed
  attempt's rows are dropped, a speculative duplicate's are not accepted), so after the job
  succeeded the driver moves exactly the files named in those rows to
  ``part-NNNNN-<job uuid>.parquet``, removes ``_temporary`` (with whatever other attempts
  left there) and writes ``_SUCCESS``; when the job fails it removes the directory it made.

Deciding is a pure function of the input rows and the shipped rulebook, so a retried attempt
writes the same rows again into a directory of its own; nothing is appended to or renamed in
place by a task, and only the driver renames, once, after the job's outcome is known.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from kamrules.spark.runner import CHUNK_ROWS, Timer, decide, plan

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from kamrules.rulebook import Rulebook

Writer = Literal["auto", "python", "spark"]
TEMPORARY = "_temporary"


@dataclass(frozen=True)
class Written:
    """What :func:`write` wrote: the directory, which writer wrote it (``python`` or
    ``spark``), and (for the workers' writer) the rows and part files committed."""

    path: str
    writer: str
    rows: int | None = None
    files: int | None = None


def write(
    df: DataFrame,
    rulebook: str | Path | Rulebook,
    as_of: dt.date | str,
    output: str | Path,
    *,
    crm: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    writer: Writer = "auto",
) -> Written:
    """Decide every account record of ``df`` (as :func:`~kamrules.spark.runner.decide`) and
    write the decisions to the Parquet directory ``output``, which must not exist.

    ``writer``: ``python`` writes the files from the Python workers (needs a local path the
    workers and the driver share), ``spark`` with Spark's writer, ``auto`` (the default)
    the first on a local session and a local path, the second otherwise."""
    if writer not in ("auto", "python", "spark"):
        raise ValueError(f"writer '{writer}' is not one of auto, python, spark")
    local = local_path(output)
    if writer == "auto":
        writer = "python" if local is not None and _local_session(df) else "spark"
    if writer == "spark":
        decide(df, rulebook, as_of, crm=crm, chunk_rows=chunk_rows).write.parquet(str(output))
        return Written(str(output), "spark")
    if local is None:
        raise ValueError(
            f"the Python workers write local paths only; '{output}' is not one (write it with writer='spark')"
        )
    if local.exists():
        raise FileExistsError(f"'{output}' exists: the decisions are written to a new directory")
    frame, task, out = plan(df, rulebook, as_of, crm=crm, chunk_rows=chunk_rows)
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    timer = Timer()
    temporary = local / TEMPORARY
    local.mkdir(parents=True)
    try:
        temporary.mkdir()
        files = frame.mapInArrow(
            functools.partial(write_batches, task, str(temporary), chunk_rows), from_arrow_schema(_written_schema())
        ).collect()
        timer.lap("second pass: decided and written by the Python workers")
        committed = commit(local, [(r[0], r[2], r[3]) for r in files], to_arrow_schema(out))
    except BaseException:
        shutil.rmtree(local, ignore_errors=True)
        raise
    return Written(str(output), "python", rows=committed[0], files=committed[1])


def local_path(output: str | Path) -> Path | None:
    """``output`` as a local path (a plain path or a ``file:`` URI), or None (another scheme)."""
    if isinstance(output, Path):
        return output.absolute()
    text = str(output)
    if text.startswith("file://"):
        return Path(text.removeprefix("file://") or "/").absolute()
    if text.startswith("file:"):
        return Path(text.removeprefix("file:")).absolute()
    scheme, sep, _ = text.partition("://")
    if sep and scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return None
    if ":" in text.split("/", 1)[0] and not (len(text) > 1 and text[1] == ":"):
        return None  # dbfs:/..., s3:bucket... (but not a Windows drive letter)
    return Path(text).absolute()


def _local_session(df: DataFrame) -> bool:
    """Whether Spark runs on this machine (its workers see the driver's files)."""
    try:
        master = str(df.sparkSession.sparkContext.master)
    except Exception:  # Spark Connect has no SparkContext: a remote cluster
        return False
    return master == "local" or master.startswith("local[")


def commit(output: Path, files: Iterable[tuple[int, str | None, int]], schema: Any) -> tuple[int, int]:
    """Move the files of the accepted task attempts (partition, path, rows) from
    ``output/_temporary`` into ``output`` as ``part-NNNNN-<uuid>.parquet``, remove
    ``_temporary`` and write ``_SUCCESS``; the rows and the files committed. A result with
    no rows at all is written as one empty file with the output's schema (as Spark's writer
    does), so that the directory reads back with its columns."""
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    temporary = (output / TEMPORARY).resolve()
    job = uuid.uuid4()
    seen: set[int] = set()
    rows = count = 0
    for partition, path, n in sorted(files, key=lambda f: f[0]):
        if partition in seen:
            raise RuntimeError(f"two task attempts reported partition {partition}; nothing is committed")
        seen.add(partition)
        rows += n
        if path is None:
            continue
        source = Path(path).resolve()
        if temporary not in source.parents or not source.is_file():
            raise RuntimeError(f"a task reported the file '{path}', which is not under '{temporary}'")
        os.replace(source, output / f"part-{partition:05d}-{job}.parquet")
        count += 1
    if count == 0:
        pq.write_table(schema.empty_table(), output / f"part-00000-{job}.parquet", **_options())
        count = 1
    shutil.rmtree(temporary)
    (output / "_SUCCESS").touch()
    return rows, count


def _options() -> dict[str, Any]:
    """pyarrow's Parquet options that write what Spark's writer writes: snappy, decimals of
    up to 18 digits as integers (pyarrow 18 and later; older ones write fixed-length bytes,
    which Spark and polars read as the same decimals)."""
    import inspect

    import pyarrow.parquet as pq

    options: dict[str, Any] = {"compression": "snappy"}
    if "store_decimal_as_integer" in inspect.signature(pq.ParquetWriter.__init__).parameters:
        options["store_decimal_as_integer"] = True
    return options


# -- on the executors ---------------------------------------------------------------------


def write_batches(
    task: Callable[[Iterable[Any]], Iterator[Any]],
    temporary: str,
    chunk_rows: int,
    batches: Iterable[Any],
) -> Iterator[Any]:
    """Run ``task`` over the partition's batches and write what it yields to this attempt's
    file (a row group per chunk); yield one row: partition, attempt id, path (None when the
    partition decided no rows) and rows."""
    import pyarrow as pa
    from pyspark import TaskContext

    context = TaskContext.get()
    assert context is not None, "write_batches runs in a Spark task"
    partition, attempt = context.partitionId(), context.taskAttemptId()
    directory = os.path.join(temporary, f"attempt-{attempt}")
    path = os.path.join(directory, f"part-{partition:05d}.parquet")
    out: Any = None
    rows = 0
    held: list[Any] = []
    held_rows = 0

    def write_held() -> None:
        nonlocal out, rows, held, held_rows
        table = pa.Table.from_batches(held)
        out = out or _open(directory, path, table.schema)
        out.write_table(table, row_group_size=table.num_rows)
        rows += table.num_rows
        held, held_rows = [], 0

    try:
        for batch in task(batches):
            held.append(batch)
            held_rows += batch.num_rows
            if held_rows >= chunk_rows:
                write_held()
        if held_rows:
            write_held()
    finally:
        if out is not None:
            out.close()
    yield pa.RecordBatch.from_pydict(
        {"partition": [partition], "attempt": [attempt], "path": [path if out is not None else None], "rows": [rows]},
        schema=_written_schema(),
    )


def _written_schema() -> Any:
    """The one row a task returns to the driver: partition, attempt id, path, rows."""
    import pyarrow as pa

    return pa.schema([("partition", pa.int64()), ("attempt", pa.int64()), ("path", pa.string()), ("rows", pa.int64())])


def _open(directory: str, path: str, schema: Any) -> Any:
    import pyarrow.parquet as pq

    # not makedirs: when the driver has removed _temporary (the job was aborted), a late
    # attempt fails here instead of writing a file nobody will remove
    os.mkdir(directory)
    return pq.ParquetWriter(path, schema, **_options())
