"""``kamrules.spark.write``: the Python workers write the Parquet files, the driver commits them.

The files the workers write must read back (with Spark and with polars) as the same rows and
types as Spark's own writer's files, and as the single machine's decisions; only the files of
the task attempts Spark accepted are committed; a failed job leaves no directory behind; other
file systems fall back to Spark's writer.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("pyspark")

from kamrules.portfolio import evaluate_frame  # noqa: E402
from kamrules.spark import write  # noqa: E402
from kamrules.spark.writing import TEMPORARY, commit, local_path  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.spark.test_spark_decide import as_text, bench, capacity_rules, csv_bytes, ordered  # noqa: E402

AS_OF = dt.date(2026, 11, 1)
PART = re.compile(r"part-[0-9]{5}-[0-9a-f-]{36}\.parquet")


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capacity_rules(tmp_path_factory.mktemp("spark-write-rules") / "rules")


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    path = tmp_path_factory.mktemp("spark-write") / "accounts.parquet"
    bench.generate(3_000, path, seed=11)
    return pl.read_parquet(path).with_columns(pl.col(pl.Categorical).cast(pl.String))


def read_polars(directory: Path) -> pl.DataFrame:
    return pl.read_parquet(directory / "*.parquet").sort("record")


def read_spark(spark: Any, directory: Path) -> tuple[Any, pl.DataFrame]:
    df = spark.read.parquet(str(directory))
    frame = pl.from_arrow(df.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return df.schema, frame.sort("record")


def test_workers_write_what_spark_writes(spark: Any, rules: Path, accounts: pl.DataFrame, tmp_path: Path) -> None:
    df, frame = ordered(spark, spark.createDataFrame(accounts.to_arrow()).repartition(5))
    ours, theirs = tmp_path / "python", tmp_path / "spark"
    written = write(df, rules, AS_OF, ours)
    assert written.writer == "python" and written.rows == accounts.height
    assert write(df, rules, AS_OF, theirs, writer="spark").writer == "spark"
    # committed: one part file per partition that decided rows, _SUCCESS, no _temporary
    names = sorted(p.name for p in ours.iterdir())
    assert names[0] == "_SUCCESS" and TEMPORARY not in names
    assert all(PART.fullmatch(n) for n in names[1:]) and len(names) - 1 == written.files
    # the same rows and types whoever reads them, and those of the single machine
    spark_schema, by_spark = read_spark(spark, ours)
    their_schema, by_spark_theirs = read_spark(spark, theirs)
    assert spark_schema == their_schema
    assert by_spark.equals(by_spark_theirs)
    by_polars, by_polars_theirs = read_polars(ours), read_polars(theirs)
    assert by_polars.schema == by_polars_theirs.schema
    assert by_polars.equals(by_polars_theirs)
    assert dict(by_polars.schema)["score.attractiveness"] == pl.Decimal(5, 2)
    expected = as_text(evaluate_frame(rules, frame, AS_OF)).sort("record")
    assert by_polars.schema == expected.schema
    assert csv_bytes(by_polars) == csv_bytes(expected)
    assert by_polars.get_column("placement").str.contains("the tier is full").any()


def test_without_capacity_one_pass_writes_too(spark: Any, accounts: pl.DataFrame, tmp_path: Path) -> None:
    df, frame = ordered(spark, spark.createDataFrame(accounts.head(500).to_arrow()).repartition(3))
    written = write(df, ROOT / "rules", AS_OF, f"file://{tmp_path / 'out'}")
    assert written.writer == "python" and written.rows == 500
    expected = as_text(evaluate_frame(ROOT / "rules", frame, AS_OF)).sort("record")
    assert csv_bytes(read_polars(tmp_path / "out")) == csv_bytes(expected)


def test_an_empty_portfolio_is_one_empty_file_with_the_columns(spark: Any, rules: Path, tmp_path: Path) -> None:
    empty = spark.createDataFrame([], "id string, annual_revenue double")
    written = write(empty, ROOT / "rules", AS_OF, tmp_path / "out")
    assert (written.rows, written.files) == (0, 1)
    schema, frame = read_spark(spark, tmp_path / "out")
    assert frame.height == 0 and "failed_checks" in schema.fieldNames()
    assert read_polars(tmp_path / "out").columns == frame.columns


def test_a_failed_task_leaves_no_directory_behind(spark: Any, accounts: pl.DataFrame, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    df = spark.createDataFrame(accounts.head(400).to_arrow()).repartition(4)
    # one record makes its task fail while the other partitions' tasks write their files
    bad = df.withColumn(
        "note",
        F.when(F.col("Account ID") == accounts.get_column("Account ID")[123], F.raise_error("boom")).otherwise(
            F.lit("x")
        ),
    )
    with pytest.raises(Exception, match="boom"):
        write(bad, ROOT / "rules", AS_OF, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_existing_directory_is_refused(spark: Any, tmp_path: Path) -> None:
    df = spark.createDataFrame([("A-1", 1.0)], "id string, annual_revenue double")
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="exists"):
        write(df, ROOT / "rules", AS_OF, tmp_path / "out")
    with pytest.raises(ValueError, match="writer 'fast'"):
        write(df, ROOT / "rules", AS_OF, tmp_path / "other", writer="fast")  # type: ignore[arg-type]


def test_commit_moves_only_the_accepted_attempts_files(tmp_path: Path) -> None:
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    schema = pa.schema([("record", pa.int64())])
    temporary = tmp_path / TEMPORARY
    files = {}
    for attempt, partition, rows in ((7, 0, [1, 2]), (8, 1, [3]), (9, 0, [1, 2])):  # 9: a retry of partition 0
        directory = temporary / f"attempt-{attempt}"
        directory.mkdir(parents=True)
        files[attempt] = directory / f"part-{partition:05d}.parquet"
        pq.write_table(pa.table({"record": rows}, schema=schema), files[attempt])
    # Spark accepted attempt 9 for partition 0 (7 failed after writing) and 8 for partition 1
    assert commit(tmp_path, [(1, str(files[8]), 1), (0, str(files[9]), 2)], schema) == (3, 2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names[0] == "_SUCCESS" and len(names) == 3 and not temporary.exists()
    assert names[1].startswith("part-00000-") and names[2].startswith("part-00001-")
    assert sorted(pl.read_parquet(tmp_path / "*.parquet").get_column("record").to_list()) == [1, 2, 3]


def test_commit_refuses_a_file_outside_its_temporary_directory(tmp_path: Path) -> None:
    import pyarrow as pa

    (tmp_path / TEMPORARY).mkdir()
    stray = tmp_path / "elsewhere.parquet"
    stray.write_bytes(b"")
    with pytest.raises(RuntimeError, match="not under"):
        commit(tmp_path, [(0, str(stray), 1)], pa.schema([("record", pa.int64())]))
    with pytest.raises(RuntimeError, match="two task attempts"):
        commit(tmp_path, [(0, None, 0), (0, None, 0)], pa.schema([("record", pa.int64())]))


@pytest.mark.parametrize(
    ("output", "local"),
    [
        ("s3a://bucket/decisions", None),
        ("abfss://container@account.dfs.core.windows.net/decisions", None),
        ("gs://bucket/decisions", None),
        ("hdfs://namenode/decisions", None),
        ("dbfs:/decisions", None),
        ("file:///tmp/decisions", Path("/tmp/decisions")),
        ("file:/tmp/decisions", Path("/tmp/decisions")),
        ("/tmp/decisions", Path("/tmp/decisions")),
    ],
)
def test_which_outputs_the_workers_write(output: str, local: Path | None) -> None:
    assert local_path(output) == local


def test_other_file_systems_fall_back_to_sparks_writer(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyspark.sql import DataFrameWriter

    df = spark.createDataFrame([("A-1", 1.0)], "id string, annual_revenue double")
    with pytest.raises(ValueError, match="local paths only"):
        write(df, ROOT / "rules", AS_OF, "s3a://bucket/decisions", writer="python")
    seen: list[str] = []
    monkeypatch.setattr(DataFrameWriter, "parquet", lambda self, path, *a, **k: seen.append(path))
    written = write(df, ROOT / "rules", AS_OF, "s3a://bucket/decisions")
    assert written.writer == "spark" and seen == ["s3a://bucket/decisions"]
