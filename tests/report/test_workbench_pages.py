"""``explain --html``, ``impact --html`` and ``sensitivity --html``: drawn from the decision and
the workbench's own results."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from kamrules import load_rulebook
from kamrules.cli.main import app
from kamrules.portfolio import decisions
from kamrules.report import account_report, workbench_report
from kamrules.workbench.impact import Impact
from kamrules.workbench.sensitivity import WeightEffect
from tests.conftest import AS_OF, ROOT
from tests.report.conftest import ACCOUNTS, SENSITIVITY_ACCOUNTS
from tests.report.test_portfolio_report import marks


def test_the_waterfall_steps_are_the_explanations_contributions() -> None:
    rulebook = load_rulebook(ROOT / "rules")
    (decision,) = decisions(rulebook, ACCOUNTS, AS_OF, accounts=["ACC-00042"])
    assert decision.kind == "decision"
    html = account_report.render(decision, rulebook)
    assert html == account_report.render(decision, rulebook)
    steps = marks(html, "waterfall")  # the first scorecard's
    card = decision.scores["attractiveness"]
    assert len(steps) == len(card.criteria) + 1
    for c in card.criteria:
        assert f"{c.id}: {c.points} points x weight {c.weight.normalize():f} adds {c.contribution}" in steps
    assert f"score {card.score}" in steps
    assert {"Gold from 75", "Silver from 60", "Bronze from 45"} <= set(marks(html, "tier_lines"))
    assert len(marks(html, "accounts")) == 1


def test_the_flow_is_the_impacts_tier_matrix(moved_by_silver_55: Impact) -> None:
    result = moved_by_silver_55
    assert result.moved
    html = workbench_report.impact_page(result)
    bands = marks(html, "flows")
    assert sorted(bands) == sorted(f"{a} to {b}: {n:,} accounts" for (a, b), n in result.tiers.items())
    for m in result.moved:
        assert m.account_id in html
        assert all(reason.split(" ")[0] in html for reason in m.reasons)


def test_the_sensitivity_bars_are_the_weight_effects(effects: list[WeightEffect]) -> None:
    html = workbench_report.sensitivity_page(
        effects, Decimal(5), SENSITIVITY_ACCOUNTS, "default_kam 2026.11", AS_OF.isoformat()
    )
    bars = marks(html, "sensitivity")
    for e in effects:
        assert f"{e.criterion} weight +5: {e.up:,} accounts change tier" in bars
        if e.down is not None:
            assert f"{e.criterion} weight -5: {e.down:,} accounts change tier" in bars


def test_html_options_on_the_commands(proposed: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    common = [str(ACCOUNTS), "--as-of", "2026-11-01"]
    page = tmp_path / "explain.html"
    result = runner.invoke(app, ["explain", "rules/", *common, "--account", "ACC-00042", "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "<title>Why ACC-00042" in page.read_text(encoding="utf-8")
    page = tmp_path / "impact.html"
    result = runner.invoke(app, ["impact", "rules/", str(proposed), *common, "--html", str(page)])
    assert result.exit_code == 0, result.output
    assert "Silver" in page.read_text(encoding="utf-8")
    unwritable = tmp_path / "no-such-folder" / "x.html"
    result = runner.invoke(app, ["sensitivity", "rules/", *common, "--step", "5", "--html", str(unwritable)])
    assert result.exit_code == 2 and "cannot write" in result.output
