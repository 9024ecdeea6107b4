"""The local session's sizes: cores from the master, the driver's memory from the machine."""

from __future__ import annotations

import os

import pytest

from kamrules.spark.local import check_memory, default_driver_memory, local_cores


def test_cores_of_a_local_master() -> None:
    assert local_cores("local[2]") == 2
    assert local_cores("local[3,2]") == 3
    assert local_cores("local") == 1
    assert local_cores("local[*]") == (os.cpu_count() or 1)
    assert local_cores("spark://head:7077") == 1


def test_driver_memory_is_a_quarter_of_the_machine_within_bounds() -> None:
    total_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    given = default_driver_memory()
    assert given.endswith("g")
    assert int(given[:-1]) == min(16, max(2, int(total_gb // 4)))


@pytest.mark.parametrize("value", ["4g", "512m", " 8G "])
def test_memory_sizes_spark_reads(value: str) -> None:
    assert check_memory(value) == value.strip().lower()


@pytest.mark.parametrize("value", ["lots", "4", "0g", "4gb", "-1g", ""])
def test_other_memory_sizes_are_refused_in_words(value: str) -> None:
    with pytest.raises(ValueError, match="is not a size like 4g or 512m"):
        check_memory(value)
