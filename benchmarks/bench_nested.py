"""Nested portfolio benchmark: real KAM data shapes, kamrules' batch paths against a hand-written reference.

For each size N the script generates N nested accounts with ``nested_portfolio.generate``
(plans, team, about ten contacts and twelve relationships each, restrictions, missing facts
and plans; Parquet with struct and list columns, and JSON Lines), and a copy of ``rules/``
with tier capacities (Gold 2%, Silver 10%). Then each path runs as its own process, so that
its peak resident memory is its own (``VmHWM`` in ``/proc``, polled); a watchdog kills a run
whose resident memory passes ``--max-rss`` (the machine is shared) and reports how far it got:

* ``reference``: ``nested_portfolio.reference`` in polars/NumPy (selection, capacity, the
  30 plan checks and compliance), read from the Parquet file; *compute* leaves out the read;
* ``cli-parquet``: ``kamrules evaluate rules/ accounts.parquet --format parquet -o ...``
  (flat rows with capacity and compliance);
* ``cli-jsonl``: ``kamrules evaluate rules/ accounts.jsonl --format jsonl -o ...``, every
  account's full explanation (JSON parsing and writing included);
* ``api-decisions``: ``kamrules.portfolio.batch.run`` over the JSONL records and
  ``Outcome.decision()`` for each (the explained pydantic ``Decision``), in Python.

Every kamrules output is compared with the reference (tier, and compliance where the output
has it; each plan check where it has ``check.<id>`` columns); a disagreement is printed and
the script exits with status 1. Figures go to stdout as a Markdown table, with the load
average before each run (``--json`` writes every figure).

    .venv/bin/python benchmarks/bench_nested.py --sizes 10000 100000
    .venv/bin/python benchmarks/bench_nested.py --sizes 1000000 --paths reference cli-parquet
    .venv/bin/python benchmarks/bench_nested.py --sizes 1000000 --paths cli-parquet --keep /tmp/nested
    .venv/bin/python benchmarks/bench_nested.py --sizes 1000000 --paths cli-parquet --keep /tmp/nested --workers 2

``--workers N`` passes ``--workers N`` to the CLI paths (the columnar stream's chunks, or the
explained JSON Lines, decided in N worker processes); without it the CLI's default applies,
which decides a Parquet file of several chunks (decision 46) and a JSON Lines file of 16 MB or
more (decision 51) on every core; ``--workers 1`` for the serial run. The peak RSS is the
largest sum over the run's processes (the command and its workers, polled together); CPU time
includes the workers'.

The last form runs only the Parquet path when ``/tmp/nested`` keeps the data and the
reference's output from an earlier run (the reference runs first otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import nested_portfolio as nested

ROOT = Path(__file__).resolve().parents[1]
PATHS = ("reference", "cli-parquet", "cli-jsonl", "api-decisions")
KAMRULES = str(Path(sys.executable).with_name("kamrules"))


# -- the runs, each in a process of its own -------------------------------------------------------


def child_reference(source: str, out: str) -> dict[str, Any]:
    import polars as pl

    started = time.perf_counter()
    frame = pl.read_parquet(source)
    read = time.perf_counter()
    result = nested.reference(frame)
    computed = time.perf_counter()
    result.write_parquet(out)
    return {"read": read - started, "compute": computed - read}


def child_api(rules: str, source: str) -> dict[str, Any]:
    import gc

    from kamrules import Engine, load_rulebook
    from kamrules.evaluation.engine import Outcome
    from kamrules.portfolio.batch import Summary, run
    from kamrules.portfolio.sources import read_records

    engine = Engine(load_rulebook(rules))
    started = time.perf_counter()
    tiers = []
    for item in run(engine, read_records(Path(source)), nested.AS_OF, Summary()):
        if isinstance(item, Outcome):
            tiers.append(item.decision().tier)
    elapsed = time.perf_counter() - started
    return {"decide": elapsed, "decided": len(tiers), "gc_collections": sum(s["collections"] for s in gc.get_stats())}


def _tree_rss_kb(pid: int) -> int:
    """The resident memory of a process and all its descendants (worker processes), in kB."""
    total = 0
    stack = [pid]
    while stack:
        current = stack.pop()
        try:
            fields = dict(line.split(":", 1) for line in Path(f"/proc/{current}/status").read_text().splitlines())
            total += int(fields["VmRSS"].split()[0])
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except (OSError, KeyError, ValueError):
            continue
        stack.extend(int(c) for c in children)
    return total


def run_child(command: list[str], max_rss_mb: float, timeout: float | None = None) -> dict[str, Any]:
    """Run a command, watching its resident memory: its own peak (VmHWM), the peak of the sum
    over it and its worker processes, and wall time."""
    load = os.getloadavg()[0]
    done = threading.Event()
    killed: dict[str, float] = {}
    peak = [0.0]
    tree = [0.0]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, stdout=out, stderr=err, cwd=ROOT)

        def watch() -> None:
            status = Path(f"/proc/{proc.pid}/status")
            while not done.is_set():
                try:
                    fields = dict(line.split(":", 1) for line in status.read_text().splitlines())
                    rss, hwm = int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])
                except (OSError, KeyError, ValueError):
                    return
                peak[0] = max(peak[0], hwm / 1024)
                rss = _tree_rss_kb(proc.pid)
                tree[0] = max(tree[0], rss / 1024)
                elapsed = time.perf_counter() - started
                if rss / 1024 > max_rss_mb or (timeout is not None and elapsed > timeout):
                    killed.update(rss_mb=rss / 1024, after=elapsed)
                    proc.kill()
                    return
                time.sleep(0.02)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        done.set()
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace").strip().splitlines()
        stderr = err.read().decode("utf-8", "replace")
    result: dict[str, Any] = {"wall": wall, "load_before": load, "returncode": proc.returncode}
    # CPU seconds (user + system) of the run itself: on a shared machine the wall time
    # depends on the others' load, the CPU time much less.
    result["cpu"] = usage.ru_utime + usage.ru_stime
    # The process's own high-water mark (VmHWM, polled): a child's ru_maxrss starts from the
    # parent's resident size at fork, so it cannot show a peak below this script's own.
    # With worker processes the sum over the process tree (polled) is the run's footprint.
    result["peak_mb"] = max(peak[0] or usage.ru_maxrss / 1024, tree[0])
    if killed:
        result["killed"] = killed
    if stdout and stdout[-1].startswith("{"):
        result.update(json.loads(stdout[-1]))
    result["stderr"] = stderr[-2000:]
    return result


# -- agreement with the reference -------------------------------------------------------------------


def _same_status(ours: Any, theirs: Any) -> bool:
    """Compliance as a flat row or an explanation gives it: nothing or not_applicable alike."""
    return ours == theirs or {ours, theirs} <= {None, "not_applicable"}


CHECK_RESULT = {"passed": "pass", "failed": "fail", "evidence_missing": "fail", "not_applicable": None}
"""A flat output's per-check column in the reference's terms (missing evidence fails a check)."""


def compare_parquet(reference: Path, output: Path) -> list[str]:
    import polars as pl

    expected = pl.read_parquet(reference)
    got = pl.read_parquet(output)
    problems = []
    if got.height != expected.height:
        return [f"{got.height} rows written for {expected.height} accounts"]
    columns = ["tier", "segment", "compliance"] + [c for c in got.columns if c.startswith("check.")]
    for column in columns:
        if column not in got.columns or column not in expected.columns:
            continue
        a, b = expected.get_column(column).to_list(), got.get_column(column).to_list()
        if column.startswith("check."):
            b = [CHECK_RESULT.get(value, value) for value in b]
        wrong = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if not _same_status(y, x)]
        if wrong:
            i = wrong[0]
            problems.append(
                f"{column}: {len(wrong)} rows differ, first {expected['account_id'][i]}: {a[i]!r} != {b[i]!r}"
            )
    return problems


def compare_jsonl(reference: Path, output: Path) -> list[str]:
    import polars as pl

    expected = pl.read_parquet(reference).iter_rows(named=True)
    problems: list[str] = []
    count = 0
    with output.open(encoding="utf-8") as lines:
        for line, row in zip(lines, expected, strict=False):
            count += 1
            decision = json.loads(line)
            compliance = decision.get("compliance") or {}
            ours = {"tier": decision.get("tier"), "segment": decision.get("segment")}
            theirs = {"tier": row["tier"], "segment": row["segment"]}
            checks = {
                c["id"]: (("pass" if c["passed"] else "fail") if c["applies"] else None)
                for c in compliance.get("checks", [])
            }
            for check_id, *_ in nested.CHECKS:
                if checks:
                    ours[check_id] = checks.get(check_id)
                    theirs[check_id] = row[f"check.{check_id}"]
            differ = [k for k in ours if ours[k] != theirs[k]]
            if not _same_status(compliance.get("status"), row["compliance"]):
                differ.append("compliance")
            if differ and len(problems) < 5:
                problems.append(f"{row['account_id']}: {', '.join(differ)} differ")
    total = pl.read_parquet(reference, columns=["tier"]).height
    if count != total:
        problems.append(f"{count} lines written for {total} accounts")
    return problems


# -- the report ---------------------------------------------------------------------------------------


def measure(
    path: str, n: int, work: Path, rules: Path, max_rss_mb: float, timeout: float | None, workers: int | None = None
) -> dict[str, Any]:
    parquet, jsonl = work / f"accounts-{n}.parquet", work / f"accounts-{n}.jsonl"
    reference = work / f"reference-{n}.parquet"
    me = [sys.executable, __file__]
    if path == "reference":
        return run_child([*me, "--child", "reference", str(parquet), str(reference)], max_rss_mb, timeout)
    if path == "api-decisions":
        return run_child([*me, "--child", "api", str(rules), str(jsonl)], max_rss_mb, timeout)
    as_of = ["--as-of", nested.AS_OF.isoformat()]
    if workers is not None:
        as_of += ["--workers", str(workers)]
    if path == "cli-parquet":
        out = work / f"decisions-{n}.parquet"
        result = run_child(
            [KAMRULES, "evaluate", str(rules), str(parquet), *as_of, "-f", "parquet", "-o", str(out)],
            max_rss_mb,
            timeout,
        )
        if result["returncode"] == 0:
            result["disagreements"] = compare_parquet(reference, out)
        return result
    out = work / f"decisions-{n}.jsonl"
    result = run_child(
        [KAMRULES, "evaluate", str(rules), str(jsonl), *as_of, "-f", "jsonl", "-o", str(out)],
        max_rss_mb,
        timeout,
    )
    if result["returncode"] == 0:
        result["disagreements"] = compare_jsonl(reference, out)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--max-rss", type=float, default=8_000, help="kill a run above this many MB (8000)")
    parser.add_argument("--timeout", type=float, help="stop a run after this many seconds (no limit)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--keep", type=Path, help="generate into (and keep) this folder")
    parser.add_argument("--workers", type=int, help="pass --workers N to the CLI paths (default: leave it out)")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        result = child_reference(*rest) if kind == "reference" else child_api(*rest)
        print(json.dumps(result))
        return 0
    figures: list[dict[str, Any]] = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="kamrules-nested-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        rules = work / "rules"
        if not rules.exists():
            nested.capacity_rulebook(rules, ROOT)
        for n in args.sizes:
            parquet, jsonl = work / f"accounts-{n}.parquet", work / f"accounts-{n}.jsonl"
            wants_jsonl = any(p in args.paths for p in ("cli-jsonl", "api-decisions"))
            started = time.perf_counter()
            if not parquet.exists() or (wants_jsonl and not jsonl.exists()):
                nested.generate(n, parquet, jsonl if wants_jsonl else None)
            generated = time.perf_counter() - started
            # every output is compared with the reference's: it runs unless left out of
            # --paths with its output kept from an earlier run (--keep)
            kept = "reference" not in args.paths and (work / f"reference-{n}.parquet").exists()
            paths = ([] if kept else ["reference"]) + [p for p in args.paths if p != "reference"]
            for path in paths:
                result = measure(path, n, work, rules, args.max_rss, args.timeout, args.workers)
                if args.workers is not None and path.startswith("cli-"):
                    path = f"{path} --workers {args.workers}"
                result.update(path=path, n=n, generate=generated, file_mb=os.path.getsize(parquet) / 2**20)
                figures.append(result)
                if result["returncode"] != 0 and "killed" not in result:
                    failed = True
                    print(f"{path} at {n:,} failed:\n{result['stderr']}", file=sys.stderr)
                if result.get("disagreements"):
                    failed = True
                    print(
                        f"{path} at {n:,} disagrees with the reference:",
                        *result["disagreements"],
                        sep="\n  ",
                        file=sys.stderr,
                    )
                print(summary_line(result), file=sys.stderr)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 1 if failed else 0


def summary_line(r: dict[str, Any]) -> str:
    if "killed" in r:
        stop = r["killed"]
        return f"{r['n']:>9,} {r['path']:14s} stopped at {stop['rss_mb']:,.0f} MB after {stop['after']:.1f} s"
    extra = f" (compute {r['compute']:.3f} s)" if "compute" in r else ""
    rate = r["n"] / r["wall"]
    return (
        f"{r['n']:>9,} {r['path']:14s} {r['wall']:8.2f} s{extra} {rate:>10,.0f} accounts/s "
        f"cpu {r['cpu']:.1f} s {r['peak_mb']:8,.0f} MB"
    )


def report(figures: list[dict[str, Any]]) -> str:
    lines = [
        "| accounts | path | wall | accounts/s | CPU | accounts/CPU s | peak RSS | agrees | load before |",
        "|---:|---|---:|---:|---:|---:|---:|---|---:|",
    ]
    for r in figures:
        if "killed" in r:
            wall, rate = f"stopped at {r['killed']['rss_mb']:,.0f} MB after {r['killed']['after']:.1f} s", ""
        else:
            wall = f"{r['wall']:.2f} s" + (f" (compute {r['compute']:.3f} s)" if "compute" in r else "")
            rate = f"{r['n'] / r['wall']:,.0f}"
        agrees = (
            "reference"
            if r["path"] == "reference"
            else ("no" if r.get("disagreements") else "yes" if "disagreements" in r else "n/a")
        )
        lines.append(
            f"| {r['n']:,} | {r['path']} | {wall} | {rate} | {r['cpu']:.1f} s | {r['n'] / max(r['cpu'], 1e-9):,.0f} "
            f"| {r['peak_mb']:,.0f} MB | {agrees} "
            f"| {r['load_before']:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
