"""Explained decisions per second on one core: the JSON encoder against the pydantic model.

Run from the repository root::

    .venv/bin/python benchmarks/bench_explain.py                 # N = 20,000 accounts, 3 passes
    .venv/bin/python benchmarks/bench_explain.py --n 5000 --repeat 3 --json /tmp/explain.json
    .venv/bin/python benchmarks/bench_explain.py --n 5000 --inputs flat --rulebooks full   # the target's row only

With the default rulebook ``rules/`` (``[full]``) and the same rulebook without its plan checks
(``[selection]``), on two inputs made from ``examples/accounts.jsonl`` repeated to N records
(each its own object): **nested** (as shipped: plan, team, contacts, relationships) and
**flat** (the account facts only, the shape of one row of a CRM export). For each it times,
as of 2026-11-01:

- validated records (validated beforehand): ``evaluate(record).decision_json()`` (the
  encoder) and ``evaluate(record).decision().model_dump_json()`` (the model), and
  ``evaluate(record)`` alone (no explanation, for reference);
- raw dicts: the same with ``engine.validate(raw)`` first.

Before anything is timed, the encoder's text is compared with the model's for every
distinct example account of every input and rulebook; a difference ends the run with exit
status 1. Each figure is the median of ``--repeat`` passes over all N records after a
warm-up, in explained decisions per second of **CPU time** of this process
(``time.process_time``: the machine is shared, and CPU time does not count the time others
hold the core) and, beside it, of wall time. The explanations are written to nowhere: their
lengths are summed so that none is skipped. Standard library and kamrules only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import kamrules
from kamrules.facts.records import FactRecord

ROOT = Path(__file__).resolve().parent.parent
NESTED = ("plan", "contacts", "team", "relationships", "restrictions")
TARGET = 20_000
"""Explained decisions per second the issue asks of the per-account engine on flat rows."""


def pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return f"pinned to CPU {cpus[-1]} of {len(cpus)} available"


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def selection_only(rules: Path, dest: Path) -> Path:
    """A copy of the rulebook without its top-level ``plan_checks:`` and ``alerts:`` blocks.

    Alerts name plan checks, so they go with them.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for file in sorted(p for p in rules.iterdir() if p.suffix in (".yaml", ".yml")):
        kept, skipping = [], False
        for line in file.read_text(encoding="utf-8").splitlines(keepends=True):
            if line[:1].isalpha() or line[:1] == "_":
                skipping = line.startswith(("plan_checks:", "alerts:"))
            if not skipping:
                kept.append(line)
        (dest / file.name).write_text("".join(kept), encoding="utf-8")
    return dest


def timed(loop: Callable[[], int], n: int, repeat: int) -> tuple[float, float]:
    """Median explained decisions per second over ``repeat`` passes: (CPU time, wall time)."""
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(repeat):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        loop()
        cpu.append(n / (time.process_time() - c0))
        wall.append(n / (time.perf_counter() - w0))
    return statistics.median(cpu), statistics.median(wall)


def check_equal(engine: kamrules.Engine, raws: list[dict[str, Any]], as_of: dt.date, label: str) -> int:
    """Compare the encoder with the model on each distinct account; the number compared."""
    compared = 0
    for raw in raws:
        try:
            outcome = engine.evaluate(engine.validate(raw), as_of)
        except kamrules.InvalidRecord:
            continue
        if outcome.decision_json() != outcome.decision().model_dump_json():
            print(f"FAIL {label}: the encoder and the model differ for account {outcome.account_id}")
            raise SystemExit(1)
        compared += 1
    return compared


def timed_loops(
    engine: kamrules.Engine, records: list[FactRecord], raws: list[dict[str, Any]], as_of: dt.date
) -> dict[str, Callable[[], int]]:
    evaluate, validate = engine.evaluate, engine.validate
    return {
        "validated: evaluate()": lambda: sum(1 for r in records if evaluate(r, as_of)),
        "validated: evaluate().decision_json()": lambda: sum(len(evaluate(r, as_of).decision_json()) for r in records),
        "validated: evaluate().decision().model_dump_json()": lambda: sum(
            len(evaluate(r, as_of).decision().model_dump_json()) for r in records
        ),
        "raw dicts: evaluate(validate()).decision_json()": lambda: sum(
            len(evaluate(validate(r), as_of).decision_json()) for r in raws
        ),
        "raw dicts: evaluate(validate()).decision().model_dump_json()": lambda: sum(
            len(evaluate(validate(r), as_of).decision().model_dump_json()) for r in raws
        ),
    }


def flat_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k not in NESTED} for r in rows]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rules", type=Path, default=ROOT / "rules")
    parser.add_argument("--accounts", type=Path, default=ROOT / "examples" / "accounts.jsonl")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 1))
    parser.add_argument("--no-pin", action="store_true")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--inputs", nargs="+", choices=("nested", "flat"), default=["nested", "flat"], help="which inputs to time"
    )
    parser.add_argument(
        "--rulebooks",
        nargs="+",
        choices=("full", "selection"),
        default=["full", "selection"],
        help="the default rulebook, and/or the same without plan checks",
    )
    args = parser.parse_args()

    pinned = "not pinned (--no-pin)" if args.no_pin else pin_to_one_cpu()
    load_before = os.getloadavg()
    lines = [line for line in args.accounts.read_text(encoding="utf-8").splitlines() if line.strip()]
    examples = [json.loads(line) for line in lines]
    inputs = {
        "nested": lambda: [json.loads(lines[i % len(lines)]) for i in range(args.n)],
        "flat": lambda: [
            {k: v for k, v in json.loads(lines[i % len(lines)]).items() if k not in NESTED} for i in range(args.n)
        ],
    }
    print(f"bench_explain: N = {args.n:,}, median of {args.repeat} passes, as of {args.as_of}")
    print(
        f"{platform.python_implementation()} {platform.python_version()} on {platform.system()} {platform.machine()},"
    )
    print(f"{os.cpu_count()} CPUs, {pinned}; commit {git_commit()}; load average {load_before[0]:.2f}")
    figures: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        rulebooks = {"full": args.rules, "selection": selection_only(args.rules, Path(tmp) / "selection")}
        for rules_key, rules in rulebooks.items():
            if rules_key not in args.rulebooks:
                continue
            engine = kamrules.Engine(kamrules.load_rulebook(rules))
            for input_key, make in inputs.items():
                if input_key not in args.inputs:
                    continue
                label = f"{input_key} [{rules_key}]"
                distinct = (
                    examples
                    if input_key == "nested"
                    else [{k: v for k, v in r.items() if k not in NESTED} for r in examples]
                )
                compared = check_equal(engine, distinct, args.as_of, label)
                raws = make()
                records: list[FactRecord] = []
                valid_raws: list[dict[str, Any]] = []
                for raw in raws:
                    try:
                        records.append(engine.validate(raw))
                        valid_raws.append(raw)
                    except kamrules.InvalidRecord:
                        pass
                n = len(records)
                loops = timed_loops(engine, records, valid_raws, args.as_of)
                figures[label] = {}
                for name, loop in loops.items():
                    head = records[:2000]
                    if name.startswith("validated"):
                        for r in head:  # warm the memos and caches
                            engine.evaluate(r, args.as_of).decision_json()
                    cpu, wall = timed(loop, n, args.repeat)
                    figures[label][name] = cpu
                    figures[label][name + " (wall)"] = wall
                    print(f"  {label:<20} {name:<62} {cpu:>9,.0f} /s CPU ({1e6 / cpu:6.1f} µs)  {wall:>9,.0f} /s wall")
                print(f"  {label}: encoder equal to the model on all {compared} distinct accounts")
    load_after = os.getloadavg()
    print(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    if "flat [full]" in figures:
        flat = figures["flat [full]"]["validated: evaluate().decision_json()"]
        print(f"target: at least {TARGET:,} explained decisions/s on flat rows [full]: {flat:,.0f} /s")
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "commit": git_commit(),
                    "python": sys.version,
                    "pinned": pinned,
                    "load": [load_before[0], load_after[0]],
                    "n": args.n,
                    "figures": figures,
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
