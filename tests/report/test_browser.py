"""The reports in a real browser: Debian's Chromium driven by Playwright (never its own download).

Each page must load with no console message and no request but the file itself; the matrix
must show one mark per decided account and its lines where the rulebook's values put them.
Screenshots go to reports/screenshots/ (kept as CI artifacts).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from kamrules.report.model import Portfolio
from kamrules.workbench.impact import Impact
from kamrules.workbench.sensitivity import WeightEffect
from tests.conftest import AS_OF, ROOT
from tests.report.conftest import ACCOUNTS, SENSITIVITY_ACCOUNTS

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
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
SCREENSHOTS = ROOT / "reports" / "screenshots"

if not Path(CHROMIUM).exists() and not os.environ.get("CI"):  # CI installs it (.ci/run): there it must run
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Opened:
    """A page loaded from a file, with every console message and request it made."""

    def __init__(self, browser: Any, html: str, path: Path) -> None:
        path.write_text(html, encoding="utf-8")
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page = browser.new_page(viewport={"width": 860, "height": 1100})
        self.page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        self.page.on("pageerror", lambda error: self.console.append(f"error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url, wait_until="load")

    def assert_clean(self) -> None:
        assert self.console == []
        assert self.requests == [self.url]

    def screenshot(self, name: str, selector: str | None = None) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if selector:
            self.page.locator(selector).screenshot(path=str(SCREENSHOTS / name))
        else:
            self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def plot_box(opened: Opened, chart: str) -> dict[str, float]:
    """The plotting area of a chart, in page pixels (Vega draws it as the frame's background,
    half a pixel in: within the 2-pixel tolerance below)."""
    box: dict[str, float] = opened.page.locator(f"#{chart} .role-frame.root > g > path.background").bounding_box()
    return box


def test_portfolio_report_in_the_browser(browser: Any, portfolio: Portfolio, report_html: str, tmp_path: Path) -> None:
    opened = Opened(browser, report_html, tmp_path / "report.html")
    opened.assert_clean()
    marks = opened.page.locator("#chart-matrix [class*='accounts'][class$='_marks'] > path")
    assert marks.count() == portfolio.decided
    # hovering names the account: the first mark's title is its id and why
    first = portfolio.points[0]
    assert marks.first.locator("title").text_content() == first.label
    box = plot_box(opened, "chart-matrix")
    lines = opened.page.locator("#chart-matrix [class*='thresholds'][class$='_marks'] > line")
    found: dict[str, tuple[float, float]] = {}
    for i in range(lines.count()):
        line = lines.nth(i)
        rect = line.bounding_box()
        found[line.get_attribute("aria-label") or ""] = (rect["x"] + rect["width"] / 2, rect["y"] + rect["height"] / 2)
    expected = {t.label: t for t in portfolio.thresholds()}
    for label, (x, y) in found.items():
        threshold = expected[label.split("; ")[0]]
        share = float(threshold.value / Decimal(100))
        if threshold.card == portfolio.x_card:
            assert abs(x - (box["x"] + share * box["width"])) <= 2, label
        else:
            assert abs(y - (box["y"] + (1 - share) * box["height"])) <= 2, label
    assert len(found) == 5  # strength 50, attractiveness 60 (with Silver), Gold 75, Bronze 45, Gold's strength 40
    opened.screenshot("report-matrix.png", "#matrix")
    opened.screenshot("report.png")
    for section in ("tiers", "compliance", "criteria"):
        opened.screenshot(f"report-{section}.png", f"#{section}")


def test_capacity_report_in_the_browser(
    browser: Any, capacity_portfolio: Portfolio, capacity_html: str, tmp_path: Path
) -> None:
    opened = Opened(browser, capacity_html, tmp_path / "capacity.html")
    opened.assert_clean()
    moved = opened.page.locator(
        "#chart-matrix [class*='accounts'][class$='_marks'] > path[aria-label*='the tier is full']"
    )
    assert moved.count() == sum(1 for p in capacity_portfolio.points if p.marker == "capacity") > 0
    cut = opened.page.locator("#chart-distribution line[aria-label^='Gold full: cut-off']")
    assert cut.count() == 1
    opened.screenshot("report-capacity-tiers.png", "#tiers")


def test_explain_impact_and_sensitivity_pages_in_the_browser(
    browser: Any, moved_by_silver_55: Impact, effects: list[WeightEffect], tmp_path: Path
) -> None:
    from kamrules import load_rulebook
    from kamrules.portfolio import decisions
    from kamrules.report import account_report, workbench_report

    rulebook = load_rulebook(ROOT / "rules")
    (decision,) = decisions(rulebook, ACCOUNTS, AS_OF, accounts=["ACC-00003"])
    assert decision.kind == "decision"
    pages = {
        "explain": (account_report.render(decision, rulebook), "#chart-waterfall-attractiveness [class*='waterfall']"),
        "impact": (workbench_report.impact_page(moved_by_silver_55), "#chart-flow [class*='flows']"),
        "sensitivity": (
            workbench_report.sensitivity_page(
                effects, Decimal(5), SENSITIVITY_ACCOUNTS, "default_kam", AS_OF.isoformat()
            ),
            "#chart-sensitivity [class*='sensitivity']",
        ),
    }
    expected = {
        "explain": len(decision.scores["attractiveness"].criteria) + 1,
        "impact": len(moved_by_silver_55.tiers),
        "sensitivity": sum(1 + (e.down is not None) for e in effects),
    }
    for name, (html, layer) in pages.items():
        opened = Opened(browser, html, tmp_path / f"{name}.html")
        opened.assert_clean()
        assert opened.page.locator(f"{layer} > *").count() == expected[name], name
        opened.screenshot(f"{name}.png")
