"""Spark benchmark: a generated portfolio decided on Spark against the single-machine run.

For each size N of flat accounts (``bench_portfolio.generate``: the selection facts as a CRM
export names them) and of nested accounts (``nested_portfolio.generate``: plans, contacts,
team, relationships as ``array<struct>`` columns), with the default rulebook given tier
capacities (Gold 2%, Silver 10%, so the whole portfolio is ranked), the script measures in
the same run:

* **single machine**: the columnar engine, Parquet in to Parquet out, in a fresh subprocess
  (``bench_portfolio.run_kamrules``);
* **Spark**: ``kamrules.spark.write`` (what ``kamrules evaluate --engine spark`` runs) on
  ``--master`` (``local[2]`` by default), Parquet in to a Parquet directory out, capacity
  placed by Spark, the files written by the writer a user gets by default; wall time from
  reading to written, without the session's start-up (reported once);
* **time against partitions**: the first flat size repartitioned into each of
  ``--partitions`` (the round-robin shuffle of repartition is part of that time);
* **memory**: the peak resident memory of the Spark JVM and of the largest Python worker,
  sampled from ``/proc`` every 0.2 s while Spark runs, and the peak of what Spark keeps
  between the run's jobs (the first pass's keys and the placement state, memory and disk).

Both outputs are checked to give the same tier counts before any time is reported.

    python benchmarks/bench_spark.py                       # 100k flat: a few minutes
    python benchmarks/bench_spark.py --sizes 1000000 10000000 --nested 1000000 --partitions 2 8 32
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 1)


sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_portfolio as bench  # noqa: E402
import nested_portfolio as nested  # noqa: E402

# -- memory of the Spark processes ------------------------------------------------------------------


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (its own, not its waited-for children's)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[str, float]:
    """CPU seconds so far of the driver (this process), the JVM and the Python workers
    (Spark reuses its workers, so their counters run across a run's jobs)."""
    spent = {"driver": _cpu_seconds(os.getpid()), "jvm": 0.0, "workers": 0.0}
    for pid in _descendants(os.getpid()):
        name, _ = _rss_mb(pid)
        if name == "java":
            spent["jvm"] += _cpu_seconds(pid)
        elif name.startswith("python"):
            spent["workers"] += _cpu_seconds(pid)
    return spent


def _rss_mb(pid: int) -> tuple[str, float]:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            fields = dict(line.split(":", 1) for line in handle if ":" in line)
    except OSError:
        return "", 0.0
    return fields.get("Name", "").strip(), int(fields.get("VmRSS", "0 kB").split()[0]) / 1024


@contextmanager
def sampled(spark: Any) -> Iterator[dict[str, float]]:
    """Peak RSS (MB) of the JVM and of the largest Python worker while the block runs, and
    the peak of what Spark keeps between the run's jobs (``kept_mb``, every second)."""
    peaks = {"jvm_mb": 0.0, "python_worker_mb": 0.0, "kept_mb": 0.0}
    done = threading.Event()

    def sample() -> None:
        ticks = 0
        while not done.wait(0.2):
            ticks += 1
            if ticks % 5 == 0:
                peaks["kept_mb"] = max(peaks["kept_mb"], kept_mb(spark))
            for pid in _descendants(os.getpid()):
                name, mb = _rss_mb(pid)
                key = "jvm_mb" if name == "java" else "python_worker_mb" if name.startswith("python") else None
                if key is not None:
                    peaks[key] = max(peaks[key], mb)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peaks
    finally:
        done.set()
        thread.join()


# -- the runs --------------------------------------------------------------------------------------


def run_spark(spark: Any, rules: Path, source: Path, output: Path, partitions: int | None = None) -> dict[str, Any]:
    from kamrules.spark import write

    shutil.rmtree(output, ignore_errors=True)
    with sampled(spark) as peaks:
        before = cpu_by_process()
        started = time.perf_counter()
        df = spark.read.parquet(str(source))
        if partitions is not None:
            df = df.repartition(partitions)
        written_by = write(df, rules, AS_OF, output).writer
        wall = time.perf_counter() - started
        after = cpu_by_process()
    cpu = {k: round(after[k] - before[k], 1) for k in before}
    written = spark.read.parquet(str(output))
    tiers = {row["tier"]: row["count"] for row in written.groupBy("tier").count().collect()}
    parts = partitions or df.rdd.getNumPartitions()
    return {"wall": wall, "partitions": parts, "tiers": tiers, "writer": written_by, "cpu": cpu, **peaks}


def kept_mb(spark: Any) -> float:
    """What Spark's block managers hold between the jobs of a run (the first pass's ranking
    keys and the placement state, kept by ``localCheckpoint``), in memory and on disk, MB:
    the part of executor memory that grows with the portfolio."""
    infos = spark.sparkContext._jsc.sc().getRDDStorageInfo()
    return sum(info.memSize() + info.diskSize() for info in infos) / 2**20


def one(
    spark: Any, rules: Path, source: Path, work: Path, n: int, kind: str, single: bool, warm: bool
) -> dict[str, Any]:
    figure: dict[str, Any] = {"n": n, "kind": kind, "file_mb": os.path.getsize(source) / 2**20}
    if single:
        figure["single"] = bench.child("kamrules", str(rules), str(source), str(work / f"single-{kind}-{n}.parquet"))
    figure["spark"] = run_spark(spark, rules, source, work / f"spark-{kind}-{n}")
    if warm:
        figure["spark_warm"] = run_spark(spark, rules, source, work / f"spark-{kind}-{n}-again")
    if single:
        expected = {k: v for k, v in figure["single"]["tiers"].items() if v}
        assert figure["spark"]["tiers"] == expected, (figure["spark"]["tiers"], expected)
        figure["ratio"] = figure["spark"]["wall"] / figure["single"]["wall"]
        if warm:
            figure["ratio_warm"] = figure["spark_warm"]["wall"] / figure["single"]["wall"]
    for key, what in (("spark", "first run"), ("spark_warm", "run again")):
        if key not in figure:
            continue
        spark_wall = figure[key]["wall"]
        cpu = figure[key]["cpu"]
        line = (
            f"{kind} {n:>11,}: spark ({what}) {spark_wall:.1f} s ({n / spark_wall:,.0f} accounts/s; CPU s: "
            f"JVM {cpu['jvm']}, Python workers {cpu['workers']}, driver {cpu['driver']})"
        )
        if single:
            single_wall = figure["single"]["wall"]
            line += f", single machine {single_wall:.1f} s, ratio {spark_wall / single_wall:.2f}"
        print(line, file=sys.stderr)
    return figure


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000], help="flat portfolio sizes (100000)")
    parser.add_argument("--nested", type=int, nargs="*", default=[], help="nested portfolio sizes (none)")
    parser.add_argument("--partitions", type=int, nargs="*", default=[2, 8], help="partitions to time (2 8)")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--no-single", action="store_true", help="skip the single-machine run (very large N)")
    parser.add_argument(
        "--warm-up-to",
        type=int,
        default=2_000_000,
        help="run Spark a second time on the same data for sizes up to this (2000000): the first run of a size "
        "is the one a fresh session pays (cold JVM and Python workers), the second the warm figure",
    )
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--driver-memory", help="the local JVM's memory (spark.driver.memory; default a quarter of the machine's)"
    )
    args = parser.parse_args(argv)
    from kamrules.spark import session
    from kamrules.spark.local import default_driver_memory

    figures: dict[str, Any] = {"master": args.master, "runs": [], "partitions": [], "load": os.getloadavg()}
    figures["driver_memory"] = args.driver_memory or default_driver_memory()
    with tempfile.TemporaryDirectory(prefix="kamrules-bench-spark-") as tmp:
        work = Path(tmp)
        rules = bench.capacity_rulebook(work / "rules")
        started = time.perf_counter()
        spark = session(args.master, app="kamrules-bench", driver_memory=args.driver_memory)
        spark.range(1).count()
        figures["startup"] = time.perf_counter() - started
        for n in args.sizes:
            source = work / f"flat-{n}.parquet"
            bench.generate(n, source)
            warm = n <= args.warm_up_to
            figures["runs"].append(one(spark, rules, source, work, n, "flat", not args.no_single, warm))
            if n == args.sizes[0]:
                for p in args.partitions:
                    timed = run_spark(spark, rules, source, work / f"spark-p{p}", p)
                    figures["partitions"].append({"n": n, **timed})
                    print(f"flat {n:>11,} in {p} partitions: {timed['wall']:.1f} s", file=sys.stderr)
            source.unlink()
        for n in args.nested:
            source = work / f"nested-{n}.parquet"
            nested.generate(n, source)
            warm = n <= args.warm_up_to
            figures["runs"].append(one(spark, rules, source, work, n, "nested", not args.no_single, warm))
            source.unlink()
        spark.stop()
    figures["load_after"] = os.getloadavg()
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str), encoding="utf-8")


def report(figures: dict[str, Any]) -> str:
    lines = [
        f"Spark on {figures['master']} (driver memory {figures['driver_memory']}), "
        f"session start-up {figures['startup']:.1f} s (not in the times below; the first run of the first size is "
        "the session's first job, with a cold JVM and Python workers: what one `kamrules evaluate --engine spark` "
        "pays; 'again' is the same data decided again in the same session); "
        f"load average before {figures['load'][0]:.1f}, after {figures['load_after'][0]:.1f}.",
        "",
        "| accounts | kind | Spark run | Spark wall | accounts/s | single machine wall | ratio "
        "| CPU s: JVM / workers / driver | JVM peak | Python worker peak | kept by Spark |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures["runs"]:
        for key, what in (("spark", "first"), ("spark_warm", "again")):
            if key not in f:
                continue
            s = f[key]
            single = f"{f['single']['wall']:.1f} s" if "single" in f else "-"
            ratio = f"{s['wall'] / f['single']['wall']:.2f}x" if "single" in f else "-"
            lines.append(
                f"| {f['n']:,} | {f['kind']} | {what} | {s['wall']:.1f} s | {f['n'] / s['wall']:,.0f} | {single} "
                f"| {ratio} | {s['cpu']['jvm']} / {s['cpu']['workers']} / {s['cpu']['driver']} | "
                f"{s['jvm_mb']:,.0f} MB | {s['python_worker_mb']:,.0f} MB | {s['kept_mb']:,.0f} MB |"
            )
    if figures["partitions"]:
        lines += ["", "| accounts | partitions | Spark wall |", "|---:|---:|---:|"]
        for p in figures["partitions"]:
            lines.append(f"| {p['n']:,} | {p['partitions']} | {p['wall']:.1f} s |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
