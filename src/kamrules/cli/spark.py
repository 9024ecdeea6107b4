"""``kamrules evaluate --engine spark``: a Parquet portfolio decided on Spark.

Reads a Parquet file or directory (partitioned directories included: ``region=EMEA/...``) or
JSON Lines (nested plans and contacts as ``array<struct>`` columns), decides it with
:func:`kamrules.spark.decide` and writes a Parquet directory with the columns of
``--format parquet``. ``--master`` names the cluster (``local[2]`` by default, ``spark://...``,
``yarn``); under ``spark-submit`` the session that exists is used.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import err, fail, report
from kamrules.evaluation.engine import Engine


def _spark_input(
    accounts: str, input_format: str | None, master: str | None, driver_memory: str | None = None
) -> Any:
    """The accounts as a Spark DataFrame (after the checks every Spark command makes)."""
    try:
        from kamrules.spark import require_pyspark

        require_pyspark()
    except ImportError as exc:
        fail(f"--engine spark: {exc}", exit_codes.USAGE)
    kind = (input_format or _kind(accounts)).lower()
    if kind not in ("parquet", "jsonl"):
        fail(
            "--engine spark reads Parquet (a file or a directory) or JSON Lines; "
            f"convert '{accounts}' to Parquet first (for example with polars or Spark)",
            exit_codes.USAGE,
        )
    if not Path(accounts).exists():
        fail(f"no accounts file or directory at '{accounts}'", exit_codes.INVALID_INPUT)
    from kamrules.spark.local import check_memory, session

    if driver_memory is not None:
        try:
            check_memory(driver_memory)
        except ValueError as exc:
            fail(f"--driver-memory: {exc}", exit_codes.USAGE)
    try:
        spark = session(master, driver_memory=driver_memory)
    except Exception as exc:  # Spark reports a missing Java or a bad master in many ways
        fail(f"cannot start Spark (is Java 17 installed, and is the master right?): {exc}", exit_codes.USAGE)
    try:
        return spark.read.parquet(accounts) if kind == "parquet" else spark.read.json(accounts)
    except Exception as exc:
        fail(f"cannot read '{accounts}' with Spark: {_first_line(exc)}", exit_codes.INVALID_INPUT)


def impact_on_spark(
    old_rules: Path,
    new_rules: Path,
    accounts: str,
    input_format: str | None,
    crm: str | None,
    date: dt.date,
    master: str | None,
) -> Any:
    df = _spark_input(accounts, input_format, master)
    from kamrules.spark.impact import impact

    return impact(df, old_rules, new_rules, date, crm=crm)


def evaluate_on_spark(
    engine: Engine,
    rules: Path,
    accounts: str,
    output: Path | None,
    fmt: str,
    input_format: str | None,
    crm: str | None,
    date: dt.date,
    master: str | None,
    driver_memory: str | None = None,
) -> None:
    if fmt != "parquet" or output is None:
        fail("--engine spark writes a Parquet directory: give --format parquet -o DIRECTORY", exit_codes.USAGE)
    if output.exists():
        fail(f"'{output}' exists: Spark writes a new directory (remove it, or give another)", exit_codes.USAGE)
    df = _spark_input(accounts, input_format, master, driver_memory)
    spark = df.sparkSession
    from kamrules.spark.runner import summary
    from kamrules.spark.writing import write

    write(df, rules, date, output, crm=crm)
    written = spark.read.parquet(str(output))
    counts = summary(engine, written, df.columns)
    report(counts, True, output)
    err.print(f"decided on Spark ({spark.sparkContext.master}, {df.rdd.getNumPartitions()} partitions)", markup=False)
    if counts.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)


def _kind(accounts: str) -> str:
    path = Path(accounts)
    if path.is_dir() or path.suffix == ".parquet":
        return "parquet"
    if path.suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    return path.suffix.lstrip(".") or "unknown"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
