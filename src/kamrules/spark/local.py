"""A SparkSession set up for kamrules (the CLI, the tests and the benchmark use it).

Spark's Python workers run ``python3`` from PATH unless ``PYSPARK_PYTHON`` says otherwise,
and then fail with "No module named 'pyarrow'" (or 'kamrules') when kamrules lives in a
virtual environment: the session points the workers at this interpreter unless the
environment already names one. On a cluster the session already exists (``spark-submit``,
Databricks) and this function only returns it.
"""

from __future__ import annotations

import os
import sys
from typing import Any


def session(master: str | None = None, *, app: str = "kamrules", partitions: int | None = None) -> Any:
    """The active SparkSession, or a new one on ``master`` (default ``local[2]``)."""
    import warnings

    # pyspark 4.x warns that pandas 3 is not fully supported; kamrules hands it Arrow, not pandas
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    master = master or "local[2]"
    builder = SparkSession.builder.master(master)
    if master.startswith("local"):
        # one machine: bind to the loopback, not to whatever address the host name resolves to
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    builder = (
        builder.appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", str(partitions or 8))
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "10000")
        .config("spark.driver.memory", os.environ.get("KAMRULES_SPARK_DRIVER_MEMORY", "2g"))
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
