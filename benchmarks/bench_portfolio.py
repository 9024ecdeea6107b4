"""Portfolio benchmark: Parquet in, tiers with capacity, Parquet out, at 10k, 100k and 1M.

For each size N the script writes a Parquet file of N accounts (selection facts only, drawn
as ``examples/generate.py`` draws them, vectorised with NumPy and a fixed seed), then runs,
each in a fresh subprocess so that peak memory (``ru_maxrss``) is the run's own:

* **kamrules**: ``kamrules.portfolio`` reads the file, decides every account in columns
  with a copy of the default rulebook given tier capacities (Gold 2%, Silver 10%): fact
  validation, 12 criteria into exact points, gates, tiers, capacity ranking, segments and
  the 30 plan checks' compliance status; and writes one flat row per account (tier,
  segment, scores, exact weighted sums, points per criterion, gates, compliance, placement)
  to Parquet;
* **NumPy**: a hand-written implementation of the same scoring, gates, tier thresholds and
  capacity for this rulebook only, over NumPy arrays read from the same file; its tiers are
  checked against kamrules' before its time is reported.

Run ``python benchmarks/bench_portfolio.py`` (about two minutes), or ``--sizes 10000`` for
a quick look. Figures go to stdout as a Markdown table (``--json`` to also write them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 1)
SEED = 2026

INDUSTRIES = (
    "Automotive",
    "Chemicals",
    "Construction",
    "Consumer Goods",
    "Energy",
    "Financial Services",
    "Food & Beverage",
    "Healthcare",
    "Industrial Machinery",
    "Logistics",
    "Pharmaceuticals",
    "Retail",
    "Technology",
    "Telecommunications",
)
REGIONS = (
    "DACH",
    "France",
    "Benelux",
    "Nordics",
    "UK & Ireland",
    "Iberia",
    "Italy",
    "Central & Eastern Europe",
    "North America",
)
MANAGERS = (
    "Thomas Becker",
    "Anna Kowalska",
    "James O'Connor",
    "Sofía Martínez",
    "Lars Nilsson",
    "Claire Dubois",
    "Marco Rossi",
    "Emma Janssen",
    "Priya Shah",
    "Jonas Weber",
)
STAGES = ("pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation")


# -- data ----------------------------------------------------------------------------------


def generate(n: int, path: Path, seed: int = SEED) -> None:
    """N accounts with the selection facts of examples/generate.py, as a CRM export would
    name them (the default rulebook's column mapping), categories dictionary-encoded."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    attract = rng.beta(1.5, 1.8, n)
    strength = np.clip(0.25 * attract + 0.75 * rng.beta(2.0, 2.0, n), 0.0, 1.0)

    def rating(trait: Any, noise: float) -> Any:
        return np.clip(np.round(1 + 4 * (trait + rng.normal(0, noise, n))), 1, 5).astype(np.int64)

    wallet = np.exp(rng.normal(math.log(4_000_000) + 1.6 * attract, 1.0))
    wallet = np.maximum(150_000.0, np.round(wallet, -4))
    share = np.round(np.clip(4 + 55 * strength + rng.normal(0, 9, n), 1.0, 90.0), 1)
    revenue = np.round(wallet * share / 100, -3).astype(np.int64)
    years = np.round(np.clip(rng.normal(1 + 14 * strength, 4, n), 0.2, 45.0), 1)
    risk = rng.choice(np.array(["low", "medium", "high", "severe"]), n, p=[0.62, 0.32, 0.05, 0.01])
    early = years < 1.0
    middle = (years >= 1.0) & (years < 3.0)
    weights = np.where(
        early[:, None],
        [0.40, 0.35, 0.25, 0, 0],
        np.where(middle[:, None], [0.08, 0.15, 0.40, 0.25, 0.12], [0.03, 0.07, 0.15, 0.25, 0.50]),
    )
    stage = np.array(STAGES)[(rng.random(n)[:, None] > np.cumsum(weights, axis=1)).sum(axis=1).clip(0, 4)]
    q = 0.7 * attract + 0.3 * strength + rng.normal(0, 0.07, n)
    current = np.select([q > 0.72, q > 0.6, q > 0.5], ["Gold", "Silver", "Bronze"], "Standard")
    nps = np.clip(np.round(rng.normal(-15 + 70 * strength, 18, n)), -100, 100).astype(np.int64)

    def missing(rate: float) -> Any:
        return rng.random(n) < rate

    frame = pl.DataFrame(
        {
            "Account ID": [f"ACC-{i:07d}" for i in range(1, n + 1)],
            "Account Name": [f"Customer {i}" for i in range(1, n + 1)],
            "Industry": pl.Series(np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), n)]).set(
                pl.Series(missing(0.01)), None
            ),
            "Sales_Region__c": np.array(REGIONS)[rng.integers(0, len(REGIONS), n)],
            "Account Owner": np.array(MANAGERS)[rng.integers(0, len(MANAGERS), n)],
            "AnnualRevenue": revenue,
            "Gross_Margin_Pct__c": pl.Series(np.round(np.clip(rng.normal(15 + 20 * attract, 6), -8.0, 60.0), 1)).set(
                pl.Series(missing(0.03)), None
            ),
            "Revenue_Growth_Pct__c": pl.Series(
                np.round(np.clip(rng.normal(-3 + 20 * attract, 9), -60.0, 120.0), 1)
            ).set(pl.Series(early), None),
            "Wallet_Size__c": wallet.astype(np.int64),
            "Share_of_Wallet_Pct__c": share,
            "Growth_Potential__c": rating(attract, 0.2),
            "Strategic_Fit__c": rating(attract, 0.3),
            "Relationship_Strength__c": rating(strength, 0.18),
            "Competitive_Position__c": rating(strength, 0.22),
            "Reference_Value__c": rating((attract + strength) / 2, 0.25),
            "Years_as_Customer__c": years,
            "Credit_Risk__c": risk,
            "Wants_Key_Account__c": pl.Series(rng.random(n) >= 0.05).set(pl.Series(missing(0.01)), None),
            "stage": stage,
            "current_tier": pl.Series(current).set(pl.Series(missing(0.15)), None),
            "NPS__c": pl.Series(nps).set(pl.Series(missing(0.10)), None),
            "Shares_Business_Plans__c": pl.Series(rng.random(n) < 0.1 + 0.6 * strength).set(
                pl.Series(missing(0.05)), None
            ),
        }
    )
    categorical = ["Industry", "Sales_Region__c", "Account Owner", "Credit_Risk__c", "stage", "current_tier"]
    frame = frame.with_columns(pl.col(c).cast(pl.Categorical) for c in categorical)
    frame.write_parquet(path)


def capacity_rulebook(target: Path) -> Path:
    """The default rulebook with tier capacities: Gold 2% of the portfolio, Silver 10%."""
    shutil.copytree(ROOT / "rules", target)
    tiers = target / "tiers.yaml"
    text = tiers.read_text(encoding="utf-8")
    text = text.replace("    min_score: 75\n", "    min_score: 75\n    capacity: 2%\n", 1)
    text = text.replace("    min_score: 60\n", "    min_score: 60\n    capacity: 10%\n", 1)
    tiers.write_text(text, encoding="utf-8")
    return target


# -- the runs (each in its own process) ----------------------------------------------------------


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_kamrules(rules: Path, source: Path, output: Path) -> dict[str, Any]:
    started = time.perf_counter()
    from kamrules import Engine, load_rulebook
    from kamrules.portfolio import columnar_engine
    from kamrules.portfolio.frames import read_table, write_frame

    compiled = columnar_engine(Engine(load_rulebook(rules)))
    loaded = time.perf_counter()
    table = read_table(source, "parquet", compiled.nested)
    read = time.perf_counter()
    result = compiled.evaluate(table, AS_OF)
    evaluated = time.perf_counter()
    write_frame(result.frame, output, "parquet")
    written = time.perf_counter()
    assert result.per_account_rows == 0, result.fallback
    return {
        "load": loaded - started,
        "read": read - loaded,
        "evaluate": evaluated - read,
        "write": written - evaluated,
        "pipeline": written - loaded,
        "wall": written - started,
        "peak_mb": peak_mb(),
        "engine": result.engine,
        "phases": result.timings,
        "tiers": dict(result.summary.tiers),
    }


def run_numpy(source: Path, decisions: Path) -> dict[str, Any]:
    """The default rulebook's selection with capacity, hand-written for NumPy arrays."""
    import numpy as np
    import polars as pl

    started = time.perf_counter()
    frame = pl.read_parquet(source)
    cols = {name: frame.get_column(name) for name in frame.columns}

    def num(name: str) -> tuple[Any, Any]:
        series = cols[name].cast(pl.Float64)
        return series.fill_null(0).to_numpy(), series.is_null().to_numpy()

    def codes(name: str, values: list[str]) -> Any:
        return cols[name].cast(pl.String).replace_strict(values, list(range(len(values))), default=-1).to_numpy()

    revenue, _ = num("AnnualRevenue")
    wallet, _ = num("Wallet_Size__c")
    margin, margin_missing = num("Gross_Margin_Pct__c")
    growth, _ = num("Growth_Potential__c")
    fit, _ = num("Strategic_Fit__c")
    relationship, _ = num("Relationship_Strength__c")
    position, _ = num("Competitive_Position__c")
    share, _ = num("Share_of_Wallet_Pct__c")
    nps, nps_missing = num("NPS__c")
    joint = cols["Shares_Business_Plans__c"].fill_null(False).to_numpy()
    wants = cols["Wants_Key_Account__c"].to_numpy()
    risk = codes("Credit_Risk__c", ["low", "medium", "high", "severe"])
    ids = cols["Account ID"].to_numpy().astype("U")
    loaded = time.perf_counter()

    def bands(value: Any, thresholds: list[float], points: list[int]) -> Any:
        return np.select([value >= t for t in thresholds], points, 0)

    def scale(value: Any, low: float, high: float) -> Any:
        t = np.clip((value - low) / (high - low), 0.0, 1.0)
        return np.floor(t * 10_000 + 0.5).astype(np.int64)

    # attractiveness: centipoints x centiweights, exact integers
    a = 1500 * bands(revenue, [20e6, 10e6, 5e6, 2e6, 5e5], [10000, 8000, 6000, 4000, 2000])
    a += 1000 * bands(wallet, [50e6, 20e6, 8e6, 3e6], [10000, 7500, 5000, 2500])
    a += 1500 * np.where(margin_missing, 0, scale(margin, 10, 40))
    a += 2500 * bands(growth, [5, 4, 3, 2], [10000, 7500, 5000, 2500])
    a += 2500 * bands(fit, [5, 4, 3, 2], [10000, 7500, 4500, 1500])
    a += 1000 * np.array([10000, 6000, 2000, 0])[risk]
    a_total = 10000
    # strength: NPS dropped when missing; relationship breadth is 0 without contacts
    s = 2500 * bands(relationship, [5, 4, 3, 2], [10000, 8000, 5500, 2500])
    s += 2000 * scale(share, 0, 60)
    s += 1500 * bands(position, [5, 4, 3, 2], [10000, 7500, 5000, 2500])
    s += 1000 * np.where(nps_missing, 0, scale(nps, -20, 60))
    s += 1000 * np.where(joint, 10000, 0)
    s_total = np.where(nps_missing, 9000, 10000)
    # gates: declines or severe risk exclude (to Standard, 3); high risk caps at Silver (1)
    ceiling = np.where((wants == False) | (risk == 3), 3, np.where(risk == 2, 1, 0))  # noqa: E712
    # a score is weighted / (100 * total): score >= 75 is weighted >= 7500 * total
    gold = (a >= 7500 * a_total) & (s >= 4000 * s_total) & (fit >= 4)
    silver = a >= 6000 * a_total
    bronze = a >= 4500 * a_total
    tier = np.select([gold & (ceiling <= 0), silver & (ceiling <= 1), bronze & (ceiling <= 2)], [0, 1, 2], 3)
    # capacity: best primary score first, then account id; overflow to the next eligible tier
    n = len(tier)
    order = np.lexsort((ids, -a))
    eligible = [gold, silver, bronze]
    for index, share_pct in ((0, 2), (1, 10)):
        capacity = math.floor(share_pct * n / 100)
        ranked = order[tier[order] == index]
        over = ranked[capacity:]
        target = np.full(len(over), 3)
        for candidate in (2, 1):
            if candidate > index:
                target = np.where(eligible[candidate][over] & (ceiling[over] <= candidate), candidate, target)
        tier[over] = target
    computed = time.perf_counter()
    expected = pl.read_parquet(decisions, columns=["tier"]).get_column("tier").to_numpy()
    names = np.array(["Gold", "Silver", "Bronze", "Standard"])
    mismatches = int((names[tier] != expected).sum())
    return {
        "read": loaded - started,
        "compute": computed - loaded,
        "peak_mb": peak_mb(),
        "mismatches": mismatches,
    }


def run_kernels(source: Path, repeat: int = 5) -> dict[str, float]:
    """One kernel (the attractiveness score: four band criteria, a scale with a missing
    policy, a category map; exact integer sums; the tier thresholds) in polars, pyarrow.compute
    and NumPy, each over data already in its own memory format: the choice of engine."""
    import numpy as np
    import polars as pl
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    frame = pl.read_parquet(source)
    table = pq.read_table(source)
    arrays = {
        c: frame.get_column(c).cast(pl.Float64).to_numpy()
        for c in ("AnnualRevenue", "Wallet_Size__c", "Growth_Potential__c", "Strategic_Fit__c")
    }
    margin = frame.get_column("Gross_Margin_Pct__c")
    arrays["margin"], arrays["missing"] = margin.fill_null(0).to_numpy(), margin.is_null().to_numpy()
    arrays["risk"] = (
        frame.get_column("Credit_Risk__c")
        .cast(pl.String)
        .replace_strict(["low", "medium", "high", "severe"], [0, 1, 2, 3])
        .to_numpy()
    )
    bands = [
        ("AnnualRevenue", 1500, [20e6, 10e6, 5e6, 2e6, 5e5], [10000, 8000, 6000, 4000, 2000]),
        ("Wallet_Size__c", 1000, [50e6, 20e6, 8e6, 3e6], [10000, 7500, 5000, 2500]),
        ("Growth_Potential__c", 2500, [5, 4, 3, 2], [10000, 7500, 5000, 2500]),
        ("Strategic_Fit__c", 2500, [5, 4, 3, 2], [10000, 7500, 4500, 1500]),
    ]

    def with_numpy() -> Any:
        total = sum(w * np.select([arrays[c] >= t for t in ts], ps, 0) for c, w, ts, ps in bands)
        t = np.clip((arrays["margin"] - 10) / 30, 0.0, 1.0)
        total = total + 1500 * np.where(arrays["missing"], 0, np.floor(t * 10000 + 0.5).astype(np.int64))
        total = total + 1000 * np.array([10000, 6000, 2000, 0])[arrays["risk"]]
        return np.select(
            [total >= 75 * 100 * 10000, total >= 60 * 100 * 10000, total >= 45 * 100 * 10000], [0, 1, 2], 3
        )

    def with_polars() -> Any:
        def band(c: str, w: int, ts: list[float], ps: list[int]) -> pl.Expr:
            e: pl.Expr = pl.lit(0)
            for t, p_ in zip(reversed(ts), reversed(ps), strict=True):
                e = pl.when(pl.col(c) >= t).then(p_).otherwise(e)
            return e * w

        t = ((pl.col("Gross_Margin_Pct__c") - 10) / (pl.lit(30.0) + pl.int_range(pl.len()) * 0.0)).clip(0.0, 1.0)
        margin_points = (t * 10000 + 0.5).floor().cast(pl.Int64).fill_null(0) * 1500
        risk = (
            pl.col("Credit_Risk__c")
            .cast(pl.String)
            .replace_strict(["low", "medium", "high", "severe"], [10000, 6000, 2000, 0], return_dtype=pl.Int64)
            * 1000
        )
        total = pl.sum_horizontal([band(*b) for b in bands] + [margin_points, risk])
        tier = pl.when(total >= 75 * 100 * 10000).then(0).when(total >= 60 * 100 * 10000).then(1)
        return frame.select(tier.when(total >= 45 * 100 * 10000).then(2).otherwise(3))

    def with_arrow() -> Any:
        def band(c: str, w: int, ts: list[float], ps: list[int]) -> Any:
            column = table.column(c)
            e = pc.multiply(pc.if_else(pc.greater_equal(column, ts[-1]), ps[-1], 0), 1)
            for t, p_ in zip(reversed(ts[:-1]), reversed(ps[:-1]), strict=True):
                e = pc.if_else(pc.greater_equal(column, t), p_, e)
            return pc.multiply(e, w)

        total = band(*bands[0])
        for b in bands[1:]:
            total = pc.add(total, band(*b))
        shifted = pc.divide(pc.subtract(table.column("Gross_Margin_Pct__c"), 10.0), 30.0)
        t = pc.max_element_wise(pc.min_element_wise(shifted, 1.0, skip_nulls=False), 0.0, skip_nulls=False)
        points = pc.cast(pc.floor(pc.add(pc.multiply(t, 10000.0), 0.5)), "int64")
        total = pc.add(total, pc.multiply(pc.fill_null(points, 0), 1500))
        risk = pc.cast(table.column("Credit_Risk__c"), "string")
        risk_points = pc.if_else(
            pc.equal(risk, "low"),
            10000,
            pc.if_else(pc.equal(risk, "medium"), 6000, pc.if_else(pc.equal(risk, "high"), 2000, 0)),
        )
        total = pc.add(total, pc.multiply(risk_points, 1000))
        return pc.if_else(
            pc.greater_equal(total, 75 * 100 * 10000),
            0,
            pc.if_else(
                pc.greater_equal(total, 60 * 100 * 10000),
                1,
                pc.if_else(pc.greater_equal(total, 45 * 100 * 10000), 2, 3),
            ),
        )

    timings = {}
    results = {}
    for name, kernel in (("numpy", with_numpy), ("polars", with_polars), ("pyarrow", with_arrow)):
        best = math.inf
        for _ in range(repeat):
            started = time.perf_counter()
            results[name] = kernel()
            best = min(best, time.perf_counter() - started)
        timings[name] = best
    reference = np.asarray(results["numpy"])
    for name in ("polars", "pyarrow"):
        got = np.asarray(results[name].to_series() if name == "polars" else results[name])
        assert (got == reference).all(), f"{name} disagrees with numpy"
    return timings


def child(kind: str, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, *args], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


# -- the report --------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size; the fastest is reported (3)")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--kernels", action="store_true", help="only time one scoring kernel in three engines")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.kernels:
        with tempfile.TemporaryDirectory(prefix="kamrules-bench-") as tmp:
            source = Path(tmp) / "accounts.parquet"
            generate(args.sizes[-1], source)
            for name, seconds in run_kernels(source).items():
                print(f"{name:8s} {seconds:.3f} s for {args.sizes[-1]:,} accounts")
        return
    if args.child:
        kind, *rest = args.child
        result = (
            run_kamrules(Path(rest[0]), Path(rest[1]), Path(rest[2]))
            if kind == "kamrules"
            else run_numpy(Path(rest[0]), Path(rest[1]))
        )
        print(json.dumps(result))
        return
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kamrules-bench-") as tmp:
        work = Path(tmp)
        rules = capacity_rulebook(work / "rules")
        for n in args.sizes:
            source = work / f"accounts-{n}.parquet"
            started = time.perf_counter()
            generate(n, source)
            generated = time.perf_counter() - started
            output = work / f"decisions-{n}.parquet"
            ours = min(
                (child("kamrules", str(rules), str(source), str(output)) for _ in range(args.repeat)),
                key=lambda r: r["wall"],
            )
            theirs = min(
                (child("numpy", str(source), str(output)) for _ in range(args.repeat)), key=lambda r: r["compute"]
            )
            figures.append(
                {
                    "n": n,
                    "generate": generated,
                    "file_mb": os.path.getsize(source) / 2**20,
                    "kamrules": ours,
                    "numpy": theirs,
                }
            )
            print(
                f"{n:>9,}: kamrules {ours['wall']:.2f} s wall ({ours['evaluate']:.2f} s evaluate), "
                f"{ours['peak_mb']:.0f} MB; numpy {theirs['compute']:.3f} s compute, "
                f"{theirs['mismatches']} tier mismatches",
                file=sys.stderr,
            )
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


def report(figures: list[dict[str, Any]]) -> str:
    lines = [
        "| accounts | file | kamrules wall | load rulebook | read | evaluate | write | peak RSS "
        "| NumPy compute | NumPy peak RSS | evaluate / NumPy | accounts/s (evaluate) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for f in figures:
        k, np_ = f["kamrules"], f["numpy"]
        lines.append(
            f"| {f['n']:,} | {f['file_mb']:.1f} MB | {k['wall']:.2f} s | {k['load']:.2f} s | {k['read']:.2f} s "
            f"| {k['evaluate']:.2f} s | {k['write']:.2f} s | {k['peak_mb']:,.0f} MB | {np_['compute']:.3f} s "
            f"| {np_['peak_mb']:,.0f} MB | {k['evaluate'] / np_['compute']:.1f}x | {f['n'] / k['evaluate']:,.0f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
