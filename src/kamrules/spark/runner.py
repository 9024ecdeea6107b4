"""``decide``: a Spark DataFrame of account records in, the decisions out.

A run, as Spark jobs:

1. Every input row gets its record number (``__kam_row``, 0-based, in the DataFrame's order:
   partition by partition), from a count per partition.
2. Without tier capacity, and with no account id given twice, one ``mapInArrow`` decides
   every chunk of every partition with the columnar engine and writes the output rows: the
   whole decision is per account, so nothing is shuffled.
3. Otherwise a first ``mapInArrow`` decides the chunks up to capacity and keeps one compact
   ranking key per decided account; Spark finds the repeated account ids (the first record
   decided keeps the id, as in the batch) and places capacity
   (:mod:`kamrules.spark.placement`); the placement's final tier and notes are joined back to
   the records by record number, and a second ``mapInArrow`` decides each chunk again and
   finishes it at its final tier (as the single-machine batch decides twice around capacity).

The rulebook travels as the text of its files (:mod:`kamrules.spark.shipping`).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamrules.spark.shipping import Payload, engines, payload

if TYPE_CHECKING:
    import polars as pl
    from pyspark.sql import DataFrame
    from pyspark.sql.types import StructType

    from kamrules.rulebook import Rulebook

ROW = "__kam_row"
FINAL = "__kam_final"
NOTES = "__kam_notes"
FIRST = "__kam_first"
CHUNK_ROWS = 50_000
"""Arrow batches are gathered into chunks of about this many rows before deciding."""


def decide(
    df: DataFrame,
    rulebook: str | Path | Rulebook,
    as_of: dt.date | str,
    *,
    crm: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> DataFrame:
    """The decisions of every account record of ``df``, with the columns and types of
    ``kamrules evaluate --format parquet`` (one row per input row; ``record`` numbers the
    rows in the DataFrame's order, partition by partition).

    ``rulebook`` is a rule folder or file (or a :class:`Rulebook` loaded from files); ``crm``
    a CRM profile's name or file. Capacity and repeated account ids are resolved before this
    returns (Spark jobs run); the decisions themselves are computed when the result is
    written or collected."""
    frame, task, out = plan(df, rulebook, as_of, crm=crm, chunk_rows=chunk_rows)
    return frame.mapInArrow(task, out)


def plan(
    df: DataFrame,
    rulebook: str | Path | Rulebook,
    as_of: dt.date | str,
    *,
    crm: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[DataFrame, Callable[[Iterable[Any]], Iterator[Any]], StructType]:
    """What :func:`decide` maps with ``mapInArrow``: the numbered records (joined with their
    placement when there is one), the task that decides them into Arrow batches of the
    output, and the output's Spark schema. :func:`kamrules.spark.writing.write` maps the
    same task inside one that writes its batches as Parquet files on the worker."""
    from pyspark.sql import functions as F

    from kamrules.spark.schema import output_columns, spark_schema

    date = dt.date.fromisoformat(as_of) if isinstance(as_of, str) else as_of
    shipped = payload(rulebook, date, crm)
    engine, columnar = engines(shipped)
    out = spark_schema(output_columns(engine))
    for name in (ROW, FINAL, NOTES, FIRST):
        if name in df.columns:
            raise ValueError(f"the accounts DataFrame has a column '{name}', which kamrules uses for itself")
    timer = Timer()
    numbered, total, parts = numbered_rows(df)
    timer.lap("record numbers: one count per partition")
    if not engine.has_capacity and crm is None and not _repeats_an_id(df, engine):
        return numbered, functools.partial(decide_batches, shipped, chunk_rows), out
    from kamrules.spark.chunks import key_columns
    from kamrules.spark.placement import place

    key_schema = _key_schema(key_columns(columnar))
    # the keys are decided once and kept (localCheckpoint is eager): every later job reads them
    keys = numbered.mapInArrow(functools.partial(key_batches, shipped, chunk_rows), key_schema).localCheckpoint()
    timer.lap("keys: decide every record up to capacity")
    contenders = keys
    repeats = None
    repeated = repeated_ids(keys)
    if repeated is not None:
        # rare (a bad export): only the records of repeated ids are joined, not the portfolio
        marked = keys.join(repeated, on="account_id", how="left")
        is_repeat = F.col("_first").isNotNull() & (F.col("row") != F.col("_first"))
        repeats = marked.filter(is_repeat).select(F.col("row").alias("_r"), F.col("_first").alias(FIRST))
        contenders = marked.filter(~is_repeat).drop("_first")
    timer.lap("repeated account ids")
    placement = place(columnar, contenders, timer)
    if repeats is None:
        release(keys)  # placed: nothing reads the keys any more
    if not hasattr(placement, "toArrow") and _shares(df, parts):
        # placed on the driver: the placement travels to every task as Arrow, and the second
        # pass reads the records where they are, with no shuffle of the portfolio into a join
        shared = _broadcast(df, _driver_info(placement, repeats))
        timer.lap("placement broadcast")
        return numbered, functools.partial(finish_shared, shipped, chunk_rows, shared), out
    if not hasattr(placement, "toArrow"):
        placement = df.sparkSession.createDataFrame(placement)
    placed = placement.select(F.col("row").alias("_row"), F.col("final").alias(FINAL), F.col("notes").alias(NOTES))
    if repeats is None:
        info = placed.withColumn(FIRST, F.lit(None).cast("long"))
    else:
        info = placed.join(repeats, placed["_row"] == repeats["_r"], "full_outer").select(
            F.coalesce(F.col("_row"), F.col("_r")).alias("_row"), FINAL, NOTES, FIRST
        )
    # both sides hashed on the record number into as many partitions as the second pass wants
    # (Spark's session-wide shuffle partitions, and the coalescing of them, do not decide it)
    parts = finish_partitions(df, total)
    side = info.repartition(parts, "_row")
    joined = numbered.repartition(parts, ROW).join(side, numbered[ROW] == info["_row"], "left").drop("_row")
    return joined, functools.partial(finish_batches, shipped, chunk_rows), out


FINISH_ROWS = 250_000
"""The second pass aims at partitions of about this many rows (several chunks each)."""


def finish_partitions(df: DataFrame, total: int) -> int:
    """How many partitions the second pass decides in: at least two per core Spark has (so a
    slow partition does not leave a core idle at the end), more for a large portfolio, so
    that a partition holds about ``FINISH_ROWS`` records."""
    cores = max(1, int(df.sparkSession.sparkContext.defaultParallelism))
    return max(2 * cores, -(-total // FINISH_ROWS))


def _shares(df: DataFrame, parts: int) -> bool:
    """Whether the second pass takes a placement from a broadcast rather than a join: not on
    Spark Connect (no broadcast variables), nor when the records are in fewer partitions
    (``parts``, those the record numbers counted rows in) than Spark has cores (the join's
    shuffle spreads them over every core). Not ``df.rdd.getNumPartitions()``: with adaptive
    execution that runs a repartitioned input's shuffle."""
    try:
        cores = int(df.sparkSession.sparkContext.defaultParallelism)
    except Exception:  # Spark Connect
        return False
    return parts >= max(1, cores)


def _driver_info(placement: Any, repeats: DataFrame | None) -> Any:
    """A placement placed on the driver (an Arrow table: row, final, notes) with the first
    record of every repeated id (collected: a handful in a bad export), as the second pass
    reads it: ``_row``, final tier, notes, first record."""
    import polars as pl

    frame = pl.from_arrow(placement)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.rename({"row": "_row", "final": FINAL, "notes": NOTES})
    if repeats is None:
        return frame.with_columns(pl.lit(None, dtype=pl.Int64).alias(FIRST)).to_arrow()
    firsts = pl.from_arrow(repeats.toArrow())
    assert isinstance(firsts, pl.DataFrame)
    firsts = firsts.rename({"_r": "_row"}).cast({"_row": pl.Int64, FIRST: pl.Int64})
    return frame.join(firsts, on="_row", how="full", coalesce=True).to_arrow()


def _broadcast(df: DataFrame, table: Any) -> tuple[str, Any]:
    """An Arrow table as a broadcast of its IPC bytes, with a name a worker keeps it under."""
    import uuid

    import pyarrow as pa  # type: ignore[import-untyped]

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as stream:
        stream.write_table(table)
    return uuid.uuid4().hex, df.sparkSession.sparkContext.broadcast(sink.getvalue().to_pybytes())


class Timer:
    """Wall time of each Spark job ``decide`` runs, written to stderr when the environment
    variable ``KAMRULES_SPARK_TIMES`` is set (to see where a run's time goes)."""

    def __init__(self) -> None:
        import os
        import time

        self.enabled = bool(os.environ.get("KAMRULES_SPARK_TIMES"))
        self.clock = time.perf_counter
        self.last = self.clock()

    def lap(self, what: str) -> None:
        if not self.enabled:
            return
        import sys

        now = self.clock()
        print(f"kamrules.spark: {now - self.last:7.2f} s  {what}", file=sys.stderr)
        self.last = now


def numbered_rows(df: DataFrame) -> tuple[DataFrame, int, int]:
    """``df`` with its record numbers (0-based) in ``__kam_row``: partition offsets from one
    count per partition, plus each row's position in its partition; the number of rows, and
    of partitions that hold some."""
    from pyspark.sql import functions as F

    mid = F.monotonically_increasing_id()
    tagged = df.withColumn(ROW, mid)
    counts = sorted(
        (int(r[0]), int(r[1])) for r in tagged.groupBy(F.shiftright(F.col(ROW), 33).alias("p")).count().collect()
    )
    offsets: list[Any] = []
    total = 0
    for partition, count in counts:
        offsets += [F.lit(partition), F.lit(total)]
        total += count
    if not offsets:
        return tagged, 0, 0
    start = F.create_map(*offsets)[F.shiftright(F.col(ROW), 33)]
    return tagged.withColumn(ROW, start + F.col(ROW).bitwiseAND((1 << 33) - 1)), total, len(counts)


def repeated_ids(keys: DataFrame) -> DataFrame | None:
    """The account ids given more than once (``account_id``, and ``_first``: the record
    number of the first record decided under it), or None when every id is given once.

    Ids are counted by a 64-bit hash first: an aggregate over the portfolio's longs, not its
    strings (at 10M accounts the string aggregate was the heaviest job before the second
    pass). Only the keys whose hash is seen twice, none in a normal export, are then grouped
    by the id itself, so a hash collision never makes a repeat."""
    from pyspark.sql import functions as F

    hashed = F.xxhash64("account_id").alias("_h")
    twice = keys.groupBy(hashed).count().filter(F.col("count") > 1).select("_h").localCheckpoint()
    if not twice.limit(1).count():
        release(twice)
        return None
    suspects = keys.withColumn("_h", hashed).join(twice, on="_h", how="left_semi").drop("_h")
    repeated = (
        suspects.groupBy("account_id")
        .agg(F.min("row").alias("_first"), F.count("*").alias("_n"))
        .filter(F.col("_n") > 1)
        .drop("_n")
        .localCheckpoint()
    )
    release(twice)  # the repeated ids are kept: nothing reads the hashes any more
    if repeated.limit(1).count():
        return repeated
    release(repeated)  # the hashes collided, no id is repeated: nothing will read it
    return None


def release(kept: DataFrame) -> None:
    """Drop the blocks of a ``localCheckpoint`` that nothing reads any more (a later
    checkpoint does not read the earlier ones it was computed from). Kept until the run's
    end, the keys and the placement's states were 340 MB per million accounts of executor
    storage, most of it no longer needed by the second pass."""
    try:
        plan = kept._jdf.queryExecution().logical()
    except AttributeError:  # not a classic session's DataFrame (Spark Connect): nothing to drop
        return
    if plan.getClass().getSimpleName() == "LogicalRDD":
        plan.rdd().unpersist(False)


def _repeats_an_id(df: DataFrame, engine: Any) -> bool:
    """Whether some account id is given twice (under the fact's name or its CRM column)."""
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    column = engine.rulebook.schema.account.fields["id"].column
    sources = [
        f.name
        for f in df.schema.fields
        if f.name in ("id", column) and isinstance(f.dataType, T.StringType | T.IntegralType)
    ]
    if not sources:
        return False
    ids = df.select(F.coalesce(*[F.col(c).cast("string") for c in reversed(sources)]).alias("_id")).filter(
        F.col("_id").isNotNull()
    )
    # a 64-bit hash first (longs grouped, not strings, as repeated_ids does); the ids
    # themselves only for hashes seen twice, so that a collision never makes a repeat
    hashed = F.xxhash64("_id").alias("_h")
    twice = ids.groupBy(hashed).count().filter("count > 1").select("_h")
    if not twice.limit(1).count():
        return False
    suspects = ids.withColumn("_h", hashed).join(twice, on="_h", how="left_semi")
    return bool(suspects.groupBy("_id").count().filter("count > 1").limit(1).count())


def _key_schema(columns: list[tuple[str, str]]) -> Any:
    from pyspark.sql import types as T

    kinds: dict[str, T.DataType] = {
        "int": T.LongType(),
        "integer": T.LongType(),
        "number": T.DoubleType(),
        "bool": T.BooleanType(),
        "boolean": T.BooleanType(),
        "date": T.DateType(),
    }
    return T.StructType([T.StructField(name, kinds.get(kind, T.StringType())) for name, kind in columns])


# -- on the executors ---------------------------------------------------------------------


def _chunks(batches: Iterable[Any], rows: int) -> Iterator[Any]:
    """Arrow batches gathered into tables of about ``rows`` rows (the columnar engine pays a
    fixed cost per call, so a few large calls beat many small ones)."""
    import pyarrow as pa

    held: list[Any] = []
    count = 0
    for batch in batches:
        held.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(held)
            held, count = [], 0
    if held:
        yield pa.Table.from_batches(held)


def _frame(table: Any, drop: tuple[str, ...]) -> tuple[Any, Any]:
    """The chunk's accounts as a polars frame, and its record numbers."""
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    rows = frame.get_column(ROW)
    return frame.drop([c for c in drop if c in frame.columns]), rows


def _numbered(frame: Any, rows: Any) -> Any:
    """The output frame with its chunk record numbers turned into the portfolio's."""
    import polars as pl

    numbers = rows.to_numpy()[frame.get_column("record").to_numpy() - 1] + 1
    return frame.with_columns(pl.Series("record", numbers, dtype=pl.Int64))


def decide_batches(shipped: Payload, chunk_rows: int, batches: Iterable[Any]) -> Iterator[Any]:
    """Decide every row, each chunk on its own (rulebooks without capacity)."""
    import warnings

    from kamrules.columnar.engine import ColumnarFallbackWarning
    from kamrules.spark.schema import arrow_schema, output_columns, to_batches

    engine, columnar = engines(shipped)
    as_of = dt.date.fromisoformat(shipped["as_of"])
    schema = arrow_schema(output_columns(engine))
    for table in _chunks(batches, chunk_rows):
        frame, rows = _frame(table, (ROW,))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ColumnarFallbackWarning)
            from kamrules.portfolio.frames import from_frame

            result = columnar.evaluate(from_frame(frame), as_of)
        yield from to_batches(_numbered(result.frame, rows), schema)


def key_batches(shipped: Payload, chunk_rows: int, batches: Iterable[Any]) -> Iterator[Any]:
    """The compact ranking key of every decided row."""
    import polars as pl

    from kamrules.spark.chunks import decide_chunk, key_schema, keys
    from kamrules.spark.schema import arrow_schema, to_batches

    _, columnar = engines(shipped)
    schema = arrow_schema(key_schema(columnar))
    as_of = dt.date.fromisoformat(shipped["as_of"])
    for table in _chunks(batches, chunk_rows):
        frame, rows = _frame(table, (ROW,))
        chunk_keys = keys(decide_chunk(columnar, frame, as_of))
        numbers = rows.to_numpy()[chunk_keys.get_column("row").to_numpy()]
        chunk_keys = chunk_keys.with_columns(pl.Series("row", numbers, dtype=pl.Int64))
        yield from to_batches(chunk_keys, schema)


def finish_batches(shipped: Payload, chunk_rows: int, batches: Iterable[Any]) -> Iterator[Any]:
    """Decide every row again and finish it with its placement (and repeated ids as errors),
    the placement joined to the records by Spark."""
    return _finish(shipped, chunk_rows, batches, None)


_SHARED: dict[str, Any] = {}
"""The broadcast placement of the run a worker process last finished, as a polars frame."""


def finish_shared(
    shipped: Payload, chunk_rows: int, shared: tuple[str, Any], batches: Iterable[Any]
) -> Iterator[Any]:
    """:func:`finish_batches` with the placement read from a broadcast (``shared``: a name
    for the run's placement and the broadcast; loaded once per worker process) and looked up
    by record number per chunk."""
    import polars as pl

    name, variable = shared
    placement = _SHARED.get(name)
    if placement is None:
        import pyarrow as pa

        loaded = pl.from_arrow(pa.ipc.open_stream(variable.value).read_all())
        assert isinstance(loaded, pl.DataFrame)
        _SHARED.clear()
        placement = _SHARED[name] = loaded
    return _finish(shipped, chunk_rows, batches, placement)


def _finish(shipped: Payload, chunk_rows: int, batches: Iterable[Any], placement: Any) -> Iterator[Any]:
    from kamrules.spark.chunks import decide_chunk, finish
    from kamrules.spark.schema import arrow_schema, output_columns, to_batches

    engine, columnar = engines(shipped)
    as_of = dt.date.fromisoformat(shipped["as_of"])
    schema = arrow_schema(output_columns(engine))
    for table in _chunks(batches, chunk_rows):
        whole, rows = _frame(table, ())
        if placement is not None:
            # the chunk's rows in the placement (most have none: nulls), in the chunk's order
            whole = (
                whole.with_row_index("__kam_i")
                .join(placement, left_on=ROW, right_on="_row", how="left")
                .sort("__kam_i")
                .drop("__kam_i")
            )
        frame = whole.drop(ROW, FINAL, NOTES, FIRST)
        chunk = decide_chunk(columnar, frame, as_of)
        repeats = _repeats(chunk, rows, whole.get_column(FIRST))
        finished = finish(chunk, whole.get_column(FINAL), whole.get_column(NOTES), repeats)
        yield from to_batches(_numbered(finished, rows), schema)


def _repeats(chunk: Any, rows: pl.Series, firsts: pl.Series) -> Mapping[int, tuple[int, str, int]]:
    """The repeated account ids of a chunk: row -> (record number, id, line first given at);
    ``rows`` and ``firsts`` are the chunk's record numbers and first records (polars Series,
    ``firsts`` null where the id is not a repeat, which is nearly everywhere)."""
    from kamrules.spark.chunks import account_id

    result: dict[int, tuple[int, str, int]] = {}
    for local in firsts.is_not_null().arg_true().to_list():
        given = account_id(chunk, local)
        assert given is not None
        result[local] = (int(rows[local]) + 1, given, int(firsts[local]) + 1)
    return result


def summary(engine: Any, decided: DataFrame, columns: Iterable[str] = ()) -> Any:
    """The batch summary of a Spark result, counted by Spark (one small aggregate)."""
    from pyspark.sql import functions as F

    from kamrules.portfolio.batch import Summary

    result = Summary()
    for tier in engine.tiers:
        result.tiers[tier.name] += 0
    for name, _ in engine.segments:
        result.segments[name] += 0
    groups = decided.groupBy("status", "tier", "segment", "compliance", "key_account").agg(F.count("*").alias("n"))
    for status, tier, segment, compliance, key_account, n in groups.collect():
        result.read += n
        if status != "decided":
            result.errors += n
            continue
        result.decided += n
        for value, counter in ((tier, result.tiers), (segment, result.segments), (compliance, result.compliance)):
            if value is not None:
                counter[value] += n
        if key_account:
            result.key_accounts += n
    known = engine.validator.known_keys
    result.unknown_columns = [c for c in columns if c not in known]
    return result
