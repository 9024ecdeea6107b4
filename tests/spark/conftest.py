"""One local Spark (``local[2]``) for the whole test session: starting one costs seconds."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("pyspark")
pytest.importorskip("polars")


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    from kamrules.spark import session

    spark = session("local[2]", app="kamrules-tests", partitions=4)
    yield spark
    spark.stop()
