"""Parts of a Spark run tested on their own: finding repeated account ids."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pyspark")

from kamrules.evaluation.engine import Engine
from kamrules.rulebook import load_rulebook
from kamrules.spark.runner import _repeats_an_id, repeated_ids
from tests.conftest import ROOT


def test_repeated_ids_name_each_repeated_id_and_its_first_record(spark: Any) -> None:
    rows = [(7, "A"), (3, "B"), (9, "A"), (1, "C"), (12, "B"), (4, "A"), (5, None), (6, None)]
    keys = spark.createDataFrame(rows, "row long, account_id string").repartition(3)
    found = repeated_ids(keys)
    assert found is not None
    # the first record decided keeps the id: the lowest record number, whatever the partitioning
    assert sorted(tuple(r) for r in found.select("account_id", "_first").collect() if r[0] is not None) == [
        ("A", 4),
        ("B", 3),
    ]


def test_no_repeated_ids_is_none(spark: Any) -> None:
    keys = spark.createDataFrame([(i, f"ACC-{i:07d}") for i in range(5_000)], "row long, account_id string")
    assert repeated_ids(keys) is None


def test_a_released_checkpoint_leaves_storage_and_later_ones_still_read(spark: Any) -> None:
    from kamrules.spark.runner import release

    def stored() -> set[int]:
        return {info.id() for info in spark.sparkContext._jsc.sc().getRDDStorageInfo()}

    before = stored()
    first = spark.range(10_000).selectExpr("id", "id * 2 AS twice").localCheckpoint()
    second = first.filter("id % 2 = 0").localCheckpoint()
    kept = stored() - before
    assert len(kept) == 2
    release(first)
    assert len(stored() - before) == 1
    assert second.count() == 5_000
    assert second.agg({"twice": "sum"}).collect()[0][0] == sum(range(0, 20_000, 4))
    release(second)
    assert stored() - before == set()


def test_a_raw_id_given_twice_is_found_whatever_the_partitioning(spark: Any) -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    unique = [(f"ACC-{i:05d}", float(i)) for i in range(3_000)]
    df = spark.createDataFrame(unique, "id string, annual_revenue double").repartition(4)
    assert not _repeats_an_id(df, engine)
    # the same id in two partitions (ints and strings alike), nulls never a repeat
    again = spark.createDataFrame([*unique, ("ACC-00017", 1.0), (None, 2.0), (None, 3.0)], "id string, x double")
    assert _repeats_an_id(again.repartition(5), engine)
    numbers = spark.createDataFrame([(i,) for i in [*range(100), 42]], "id long")
    assert _repeats_an_id(numbers.repartition(3), engine)
