"""kamrules on Spark decides exactly as on one machine.

Every test runs the same input through ``kamrules.spark.decide`` on a local Spark
(``local[2]``) and through the single-machine engine, and compares the results byte for
byte: the frames (after a sort by record, which numbers the rows in the DataFrame's order)
and the CSV ``kamrules evaluate --format csv`` would write. The portfolios have tier
capacities (counts, shares, per manager), tie-breakers, a stability margin, overrides,
repeated ids, bad records and nested plans; the global-capacity test decides the same
portfolio spread over 16 partitions.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("pyspark")

from kamrules.portfolio import evaluate_frame, read_accounts  # noqa: E402
from kamrules.portfolio.frames import write_frame  # noqa: E402
from kamrules.spark import decide  # noqa: E402
from tests.benchmark_modules import load_benchmark  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

AS_OF = dt.date(2026, 11, 1)


bench = load_benchmark("bench_portfolio")


def capacity_rules(target: Path) -> Path:
    """The default rulebook with Gold capped at 2% and 2 per manager, Silver at 40 accounts,
    two tie-breakers and a stability margin."""
    shutil.copytree(ROOT / "rules", target)
    tiers = target / "tiers.yaml"
    text = tiers.read_text(encoding="utf-8")
    text = text.replace("    min_score: 75\n", "    min_score: 75\n    capacity: 2%\n    capacity_per_manager: 2\n", 1)
    text = text.replace("    min_score: 60\n", "    min_score: 60\n    capacity: 40\n", 1)
    text += (
        "\ntie_breakers:\n  - by: account.annual_revenue\n  - by: score.strength\n    order: ascending\n"
        "\nstability:\n  margin: 2.5\n"
    )
    tiers.write_text(text, encoding="utf-8")
    return target


def as_text(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).cast(pl.String) for c, d in frame.schema.items() if isinstance(d, pl.Enum))


def csv_bytes(frame: pl.DataFrame) -> bytes:
    handle = io.StringIO()
    write_frame(frame, None, "csv", handle)
    return handle.getvalue().encode()


def spark_frame(result: Any) -> pl.DataFrame:
    frame = pl.from_arrow(result.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return frame.sort("record")


def assert_same(spark_result: Any, expected: pl.DataFrame) -> pl.DataFrame:
    got = spark_frame(spark_result)
    expected = as_text(expected).sort("record")
    assert got.columns == expected.columns
    assert got.schema == expected.schema
    for column in expected.columns:
        assert got.get_column(column).equals(expected.get_column(column)), column
    assert csv_bytes(got) == csv_bytes(expected)
    return got


def ordered(spark: Any, df: Any) -> tuple[Any, pl.DataFrame]:
    """``df`` pinned (its order fixed for every job) and its rows in that order."""
    pinned = df.localCheckpoint()
    frame = pl.from_arrow(pinned.toArrow())
    assert isinstance(frame, pl.DataFrame)
    return pinned, frame


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capacity_rules(tmp_path_factory.mktemp("spark-rules") / "rules")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """2,000 generated accounts with overrides (active, expired, without approver), a
    repeated id and bad values."""
    path = tmp_path_factory.mktemp("spark-portfolio") / "accounts.parquet"
    bench.generate(2_000, path, seed=7)
    frame = pl.read_parquet(path).with_columns(pl.col(pl.Categorical).cast(pl.String))
    n = frame.height
    override = [None] * n
    reason = [None] * n
    approver = [None] * n
    expires = [None] * n
    for i in range(5, n, 97):
        override[i] = "Gold" if i % 2 else "Silver"
        reason[i] = "Board decision"
        approver[i] = None if i % 5 == 0 else "CSO"
        expires[i] = dt.date(2027, 1, 1) if i % 3 else dt.date(2026, 6, 30)
    ids = frame.get_column("Account ID").to_list()
    ids[40] = ids[10]  # the same account given twice: the repeat is an error
    ids[41] = None  # no id
    revenue = frame.get_column("AnnualRevenue").to_list()
    revenue[50] = -5  # out of range
    return frame.with_columns(
        pl.Series("Account ID", ids),
        pl.Series("AnnualRevenue", revenue),
        pl.Series("override_tier", override, dtype=pl.String),
        pl.Series("override_reason", reason, dtype=pl.String),
        pl.Series("override_approver", approver, dtype=pl.String),
        pl.Series("override_expires", expires, dtype=pl.Date),
    )


def test_example_accounts_decide_as_on_one_machine(spark: Any, tmp_path: Path) -> None:
    frame = read_accounts(ROOT / "examples" / "accounts.csv").frame
    path = tmp_path / "accounts.parquet"
    frame.write_parquet(path)
    expected = evaluate_frame(ROOT / "rules", pl.read_parquet(path), AS_OF)
    got = assert_same(decide(spark.read.parquet(str(path)), ROOT / "rules", AS_OF), expected)
    assert got.height == 300
    assert got.get_column("status").to_list().count("decided") == 300


@pytest.fixture(params=["driver", "spark"])
def placed_by(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Where capacity is placed: on the driver (the single machine's placement, for a
    portfolio of up to half a million contenders) or by Spark's window functions (above); the
    test's runs must have placed it there."""
    from kamrules.spark import placement

    calls: list[int] = []
    on_the_driver = placement._on_the_driver

    def spy(*args: Any) -> Any:
        calls.append(1)
        return on_the_driver(*args)

    monkeypatch.setattr(placement, "_on_the_driver", spy)
    if request.param == "spark":
        monkeypatch.setattr(placement, "DRIVER_CONTENDERS", 0)
    yield str(request.param)
    assert bool(calls) == (request.param == "driver")


def test_generated_portfolio_with_capacity_overrides_and_stability(
    spark: Any, rules: Path, generated: pl.DataFrame, placed_by: str
) -> None:
    df, frame = ordered(spark, spark.createDataFrame(generated.to_arrow()).repartition(3))
    expected = evaluate_frame(rules, frame, AS_OF)
    got = assert_same(decide(df, rules, AS_OF), expected)
    placement = got.get_column("placement").drop_nulls()
    # the portfolio exercises what it is meant to: a full tier, a manager's limit, overrides, stability
    assert placement.str.contains("the tier is full").any()
    assert placement.str.contains("the most per manager").any()
    assert placement.str.contains("pinned").any()
    assert placement.str.contains("stability margin").any()
    errors = got.filter(pl.col("status") == "error").get_column("error").to_list()
    assert any("appears more than once" in e for e in errors)
    assert got.height == generated.height  # decisions + errors == rows


def test_capacity_is_global_whatever_the_partitioning(
    spark: Any, rules: Path, generated: pl.DataFrame, placed_by: str
) -> None:
    # without the repeated id (which of two records keeps an id depends on their order)
    unique = generated.filter(pl.int_range(pl.len()) != 40)
    one = spark.createDataFrame(unique.to_arrow()).coalesce(1)
    many, frame = ordered(spark, spark.createDataFrame(unique.to_arrow()).repartition(16))
    assert many.rdd.getNumPartitions() == 16
    got_many = assert_same(decide(many, rules, AS_OF), evaluate_frame(rules, frame, AS_OF))
    got_one = spark_frame(decide(one, rules, AS_OF))

    def by_account(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.drop("record").sort("account_id", nulls_last=True)

    # the same tiers and notes ("ranked 3rd of 61 eligible for Gold ...") in 16 partitions as in one
    assert by_account(got_many).equals(by_account(got_one))
    assert got_many.get_column("placement").str.contains("the tier is full").any()


def test_nested_records_as_array_of_struct(spark: Any, rules: Path) -> None:
    df, frame = ordered(spark, spark.read.json(str(ROOT / "examples" / "accounts.jsonl")))
    assert "array<struct" in df.schema["contacts"].dataType.simpleString()
    expected = evaluate_frame(rules, frame, AS_OF)
    got = assert_same(decide(df, rules, AS_OF), expected)
    # and the same as the per-account batch reading the JSON Lines file itself
    per_account = evaluate_frame(rules, read_accounts(ROOT / "examples" / "accounts.jsonl"), AS_OF)
    assert csv_bytes(got.sort("account_id").drop("record")) == csv_bytes(
        as_text(per_account).sort("account_id").drop("record")
    )


def test_bad_records_become_the_same_error_rows(spark: Any) -> None:
    rows = pl.DataFrame(
        {
            "id": ["A-1", "A-2", None, "A-4", "A-2", "A-6"],
            "annual_revenue": [5_000_000.0, -1.0, 1.0, 2_000_000.0, 3.0, None],
            "strategic_fit": [4, 9, 3, 5, 2, 1],
            "stage": ["review", "review", None, "nowhere", "review", "pre_sales"],
        }
    )
    df, frame = ordered(spark, spark.createDataFrame(rows.to_arrow()))
    expected = evaluate_frame(ROOT / "rules", frame, AS_OF)
    got = assert_same(decide(df, ROOT / "rules", AS_OF), expected)
    statuses = got.get_column("status").to_list()
    assert statuses.count("error") >= 3
    assert statuses.count("decided") + statuses.count("error") == rows.height
