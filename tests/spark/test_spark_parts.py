"""Parts of a Spark run tested on their own: finding repeated account ids."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("pyspark")

from kamrules.spark.runner import repeated_ids


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
