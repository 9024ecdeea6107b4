"""A SparkSession set up for kamrules (the CLI, the tests and the benchmark use it).

Spark's Python workers run ``python3`` from PATH unless ``PYSPARK_PYTHON`` says otherwise,
and then fail with "No module named 'pyarrow'" (or 'kamrules') when kamrules lives in a
virtual environment: the session points the workers at this interpreter unless the
environment already names one. On a cluster the session already exists (``spark-submit``,
Databricks) and this function only returns it. Nothing here imports pyspark until a
session is asked for, so ``import kamrules.spark`` works without the extra.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

MEMORY = re.compile(r"[1-9][0-9]*[kmgt]", re.IGNORECASE)


def require_pyspark() -> Any:
    """pyspark, or a message naming the extra that installs it."""
    try:
        import pyspark
    except ImportError:
        raise ImportError("kamrules on Spark needs pyspark: pip install 'kamrules[spark]' (and Java 17)") from None
    return pyspark


def default_driver_memory() -> str:
    """A quarter of the machine's memory, between 2 and 16 GB: a local session's one JVM is
    the driver and the executor, and the Python workers and the OS need the rest (5g on the
    23 GB benchmark machine; 10M flat accounts with capacity ran in 5g)."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "2g"
    return f"{min(16, max(2, total // 4 // 2**30))}g"


def local_cores(master: str) -> int:
    """The cores of a ``local``, ``local[N]`` or ``local[*]`` master (1 for anything else:
    a cluster's session keeps Spark's own shuffle partitions)."""
    match = re.fullmatch(r"local(?:\[(\*|[0-9]+)(?:,[0-9]+)?\])?", master)
    if match is None:
        return 1
    given = match.group(1)
    if given is None:
        return 1
    return os.cpu_count() or 1 if given == "*" else max(1, int(given))


def check_memory(value: str) -> str:
    """``value`` if it is a JVM memory size Spark reads (``4g``, ``512m``), else a clear error."""
    if not MEMORY.fullmatch(value.strip()):
        raise ValueError(f"driver memory '{value}' is not a size like 4g or 512m")
    return value.strip().lower()


def session(
    master: str | None = None,
    *,
    app: str = "kamrules",
    partitions: int | None = None,
    driver_memory: str | None = None,
) -> Any:
    """The active SparkSession, or a new one on ``master`` (default ``local[2]``).

    ``driver_memory`` (``spark.driver.memory``, default :func:`default_driver_memory`, or
    the environment's ``KAMRULES_SPARK_DRIVER_MEMORY``) only takes effect when this starts
    the JVM: a session that already runs keeps its memory."""
    import warnings

    require_pyspark()
    # pyspark 4.x warns that pandas 3 is not fully supported; kamrules hands it Arrow, not pandas
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        return active
    master = master or "local[2]"
    memory = driver_memory or os.environ.get("KAMRULES_SPARK_DRIVER_MEMORY") or default_driver_memory()
    builder = SparkSession.builder.master(master)
    if master.startswith("local"):
        # one machine: bind to the loopback, not to whatever address the host name resolves to
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
    builder = (
        builder.appName(app)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        # the Python side gathers chunks of 50,000 rows: batches of that size cost fewer calls
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "50000")
        # no byte limit on a batch (the row limit above bounds it): with one, Spark measures
        # the batch after every row it adds, a third of the JVM's cost of handing rows to Python
        .config("spark.sql.execution.arrow.maxBytesPerBatch", str(2**31 - 1))
        .config("spark.driver.memory", check_memory(memory))
    )
    if partitions is not None or master.startswith("local"):
        # Spark's 200 shuffle partitions are 200 tasks per shuffle on two cores: four per core
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions or 4 * local_cores(master)))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
