"""kamrules on Apache Spark: the same decisions as on one machine, for a lakehouse portfolio.

``kamrules.spark.decide(df, rules, as_of)`` takes a Spark DataFrame of account records (flat
CRM rows, or records with nested plans and contacts as ``array<struct>`` columns) and returns
a DataFrame of decisions with the columns and types of ``kamrules evaluate --format parquet``;
``kamrules.spark.write(df, rules, as_of, directory)`` writes them as a Parquet directory.
Each partition runs through the columnar engine via ``mapInArrow``; tier capacity is placed
by Spark over the whole portfolio. Needs the ``spark`` extra (pyspark 4) and Java 17.
"""

from __future__ import annotations

from typing import Any

from kamrules.spark.local import require_pyspark, session

__all__ = ["decide", "require_pyspark", "session", "write"]


def decide(*args: Any, **kwargs: Any) -> Any:
    """See :func:`kamrules.spark.runner.decide`."""
    require_pyspark()
    from kamrules.spark.runner import decide as run

    return run(*args, **kwargs)


def write(*args: Any, **kwargs: Any) -> Any:
    """See :func:`kamrules.spark.writing.write`."""
    require_pyspark()
    from kamrules.spark.writing import write as run

    return run(*args, **kwargs)
