"""The policy owner's workbench: impact of a rule change on a large portfolio, and the time
to answer "what would it take" for one account.

    python benchmarks/bench_workbench.py --n 100000

The portfolio is the example accounts cycled to N (ids made unique); the change is the one
a policy owner makes every quarter: a weight moved and a threshold raised.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import kamrules
from kamrules.portfolio.sources import RawRecord
from kamrules.workbench.counterfactual import what_would_it_take
from kamrules.workbench.impact import impact

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 1)


def portfolio(n: int, accounts: Path, flat: bool) -> list[RawRecord]:
    """The examples cycled to ``n`` with unique ids; ``flat`` keeps the account facts only,
    the shape of a CRM export row (plans and contacts live in other tables there)."""
    rows = [json.loads(line) for line in accounts.read_text(encoding="utf-8").splitlines() if line.strip()]
    if flat:
        rows = [{k: v for k, v in r.items() if not isinstance(v, dict | list)} for r in rows]
    return [RawRecord(i + 1, {**rows[i % len(rows)], "id": f"ACC-{i:07d}"}) for i in range(n)]


def changed(rules: kamrules.Rulebook, folder: Path) -> kamrules.Rulebook:
    """The default rulebook with revenue's weight doubled and Bronze raised to 50."""
    for source in rules.sources:
        text = Path(source).read_text(encoding="utf-8")
        text = text.replace("        weight: 15\n        fact: account.annual_revenue",
                            "        weight: 30\n        fact: account.annual_revenue")
        (folder / Path(source).name).write_text(text.replace("min_score: 45", "min_score: 50"), encoding="utf-8")
    return kamrules.load_rulebook(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--accounts", type=Path, default=ROOT / "examples" / "accounts.jsonl")
    parser.add_argument("--nested", action="store_true", help="keep plans and contacts (per-account path)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    old = kamrules.load_rulebook(ROOT / "rules")
    with tempfile.TemporaryDirectory() as folder:
        new = changed(old, Path(folder))
    records = portfolio(args.n, args.accounts, flat=not args.nested)
    start = time.perf_counter()
    result = impact(old, new, records, AS_OF)
    impact_seconds = time.perf_counter() - start
    shape = "with plans and contacts" if args.nested else "account facts only"
    print(f"impact on {args.n:,} accounts ({args.accounts.name}, {shape}): {impact_seconds:.2f} s, "
          f"{len(result.moved):,} moved, {len(result.rule_changes)} rule changes (target < 5 s)")
    engine = kamrules.Engine(old)
    times: list[float] = []
    answered = 0
    for raw in records[:300]:
        assert raw.data is not None
        record = engine.validate(raw.data)
        for target in ("Gold", "Silver", "Bronze"):
            start = time.perf_counter()
            answer = what_would_it_take(engine, record, target, AS_OF)
            times.append(time.perf_counter() - start)
            answered += bool(answer.suggestions)
    times.sort()
    figures: dict[str, Any] = {
        "impact_seconds": impact_seconds,
        "counterfactual_median_ms": statistics.median(times) * 1000,
        "counterfactual_p95_ms": times[int(len(times) * 0.95)] * 1000,
        "counterfactual_max_ms": times[-1] * 1000,
    }
    print(f"what would it take, {len(times)} questions ({answered} with an answer): median "
          f"{figures['counterfactual_median_ms']:.1f} ms, p95 {figures['counterfactual_p95_ms']:.1f} ms, "
          f"max {figures['counterfactual_max_ms']:.1f} ms (target < 50 ms)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
