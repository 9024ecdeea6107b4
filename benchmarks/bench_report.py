"""Report benchmark: a portfolio report of N accounts, its size and how fast Chromium opens it.

For each size N the script writes a Parquet file of N accounts (``bench_portfolio.generate``:
selection facts drawn as ``examples/generate.py`` draws them, fixed seed), then:

* decides them with ``kamrules.portfolio.decisions`` and reduces the decisions to what the
  report draws (``kamrules.report.portfolio_report.load_portfolio``): the time to decide;
* renders the page (``render``): the time to draw, and the file's size;
* opens the file in Debian's Chromium through Playwright, three times in fresh pages, and
  takes the time from navigation start to the end of the load event and to the first paint
  after it (``requestAnimationFrame``), as the page's own ``performance`` clock gives it.

Above ``kamrules.report.charts.AGGREGATE_ABOVE`` decided accounts the matrix is drawn as
density cells with the near-line accounts one by one; the targets are under 10 MB and under
3 s to open at 100k. Run ``python benchmarks/bench_report.py`` (several minutes at 100k,
deciding each account per account as ``decisions`` does), or ``--sizes 1000`` for a look.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
AS_OF = dt.date(2026, 11, 1)
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OPEN = """() => new Promise(done => requestAnimationFrame(() => {
  const t = performance.getEntriesByType('navigation')[0];
  done({load: t.loadEventEnd - t.startTime, painted: performance.now()});
}))"""


def open_times(path: Path, runs: int = 3) -> tuple[float, float]:
    """Median seconds to the end of the load event and to the first frame after it."""
    from playwright.sync_api import sync_playwright

    loads, paints = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(runs):
            page = browser.new_page(viewport={"width": 900, "height": 1200})
            page.goto(path.resolve().as_uri(), wait_until="load", timeout=120_000)
            timing = page.evaluate(OPEN)
            loads.append(timing["load"] / 1000)
            paints.append(timing["painted"] / 1000)
            page.close()
        browser.close()
    return statistics.median(loads), statistics.median(paints)


def measure(n: int, folder: Path) -> dict[str, float | int]:
    from bench_portfolio import generate
    from kamrules import load_rulebook
    from kamrules.report.portfolio_report import load_portfolio, render

    accounts = folder / f"accounts-{n}.parquet"
    generate(n, accounts)
    rulebook = load_rulebook(ROOT / "rules")
    start = time.perf_counter()
    portfolio = load_portfolio(rulebook, accounts, AS_OF)
    decided = time.perf_counter()
    html = render(portfolio)
    drawn = time.perf_counter()
    out = folder / f"report-{n}.html"
    out.write_text(html, encoding="utf-8")
    load, painted = open_times(out)
    return {
        "accounts": n,
        "decide_s": round(decided - start, 1),
        "render_s": round(drawn - decided, 1),
        "size_mb": round(out.stat().st_size / 1e6, 2),
        "load_s": round(load, 2),
        "painted_s": round(painted, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated portfolio sizes")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (int(s) for s in args.sizes.split(",")):
            rows.append(measure(n, Path(tmp)))
            print(rows[-1], file=sys.stderr, flush=True)
    print("| accounts | decide (s) | render (s) | file (MB) | load event (s) | first frame (s) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        cells = [f"{r['accounts']:,}", *(str(r[k]) for k in ("decide_s", "render_s", "size_mb", "load_s", "painted_s"))]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
