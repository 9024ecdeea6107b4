"""``kamrules report``: what the pictures are drawn from, determinism, and self-containment."""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules import load_rulebook
from kamrules.cli.main import app
from kamrules.portfolio import decisions
from kamrules.report import charts
from kamrules.report.model import Portfolio, segment_thresholds
from kamrules.report.portfolio_report import load_portfolio, render
from tests.conftest import AS_OF, ROOT, default_rules_with
from tests.report.conftest import ACCOUNTS, GOLD_CAPACITY


def marks(html: str, layer: str) -> list[str]:
    """The aria-labels of one named mark layer's items in the page's SVG."""
    match = re.search(rf'<g class="[^"]*\b{layer}(?:_\d+)?_marks"[^>]*>(.*?)</g>', html, re.S)
    assert match, f"no {layer} layer"
    return re.findall(r'aria-label="([^"]*)" role="graphics-symbol"', match[1])


def test_segment_thresholds_are_read_from_the_rulebook() -> None:
    found = {(t.card, t.value) for t in segment_thresholds(load_rulebook(ROOT / "rules"))}
    assert found == {("attractiveness", Decimal(60)), ("strength", Decimal(50))}


def test_the_matrix_has_one_mark_per_decided_account_named_with_its_why(portfolio: Portfolio, report_html: str) -> None:
    expected = [d for d in decisions(load_rulebook(ROOT / "rules"), ACCOUNTS, AS_OF)]
    labels = marks(report_html, "accounts")
    assert len(labels) == len(expected) == portfolio.decided == 300
    first = expected[0]
    assert labels[0].startswith(f"{first.account_id} ")
    assert first.summary.replace("&", "&amp;").replace("<", "&lt;") in labels[0]
    # hovering shows the same text: every account mark has it as its <title>
    assert report_html.count("</title></path>") >= 300


def test_counts_drawn_are_the_decisions_counts(portfolio: Portfolio) -> None:
    expected = [d for d in decisions(load_rulebook(ROOT / "rules"), ACCOUNTS, AS_OF)]
    assert portfolio.tiers == Counter(d.tier for d in expected)  # type: ignore[union-attr]
    by_status = Counter((d.tier, d.compliance.status if d.compliance else "not_applicable") for d in expected)  # type: ignore[union-attr]
    assert portfolio.compliance_by_tier == by_status


def test_threshold_lines_carry_the_rulebook_values(report_html: str) -> None:
    lines = marks(report_html, "thresholds")
    assert "segment boundary strength 50" in lines
    assert "Gold from 75" in lines and "Bronze from 45" in lines and "Gold needs strength 40" in lines
    assert "segment boundary attractiveness 60; Silver from 60" in lines


def test_same_inputs_same_bytes(portfolio: Portfolio, report_html: str) -> None:
    again = render(load_portfolio(portfolio.rulebook, ACCOUNTS, AS_OF))
    assert again == report_html


def test_the_page_is_self_contained(report_html: str) -> None:
    assert "<script" not in report_html
    assert not re.search(r"""(src|href)\s*=\s*["'](?!#)""", report_html)
    assert "@import" not in report_html and "@font-face" not in report_html
    assert not re.search(r"url\((?!#)", report_html)
    ids = re.findall(r'\bid="([^"]+)"', report_html)
    assert len(ids) == len(set(ids)), "several charts on one page must not share an id"


def test_capacity_moves_are_marked_and_the_cut_off_drawn(capacity_portfolio: Portfolio, capacity_html: str) -> None:
    assert capacity_portfolio.tiers["Gold"] == GOLD_CAPACITY
    moved = [p for p in capacity_portfolio.points if p.marker == "capacity"]
    assert len(moved) == 26 - GOLD_CAPACITY
    assert all(p.tier_by_rules == "Gold" and "capacity 10" in p.why for p in moved)
    lowest_gold = min(p.y for p in capacity_portfolio.points if p.tier == "Gold")
    assert f"Gold full: cut-off {lowest_gold}" in marks(capacity_html, "thresholds")
    assert any(p.y > lowest_gold for p in moved) is False  # nobody above the cut-off fell out
    assert f"Gold: {GOLD_CAPACITY} accounts of a capacity of {GOLD_CAPACITY}" in marks(capacity_html, "capacities")


def test_a_large_portfolio_is_drawn_as_density_with_the_accounts_near_lines(
    portfolio: Portfolio, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "AGGREGATE_ABOVE", 100)
    html = render(portfolio)
    cells = marks(html, "density")
    assert sum(int(label.split(" accounts")[0].replace(",", "")) for label in cells) == portfolio.decided
    near = marks(html, "accounts")
    drawn = charts.near_lines(portfolio.points, portfolio.thresholds(), portfolio.x_card, portfolio.y_card)
    assert 0 < len(near) == len(drawn) < portfolio.decided
    lines = [t.value for t in portfolio.thresholds()]
    for p in drawn:
        assert any(abs(p.y - v) <= 1 for v in lines) or (p.x is not None and any(abs(p.x - v) <= 1 for v in lines))


def test_failing_checks_and_criteria_come_with_remediation_and_lint(portfolio: Portfolio, report_html: str) -> None:
    worst = charts.most_failing(portfolio, 10)
    assert worst and worst[0].failed >= worst[-1].failed
    assert worst[0].remediation and worst[0].remediation.split()[0] in report_html
    assert set(portfolio.criteria) == {(card.id, c.id) for card in portfolio.rulebook.scorecards for c in card.criteria}
    assert all(s.accounts == portfolio.decided for s in portfolio.criteria.values())


def test_cli_writes_the_report_and_names_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "rules/", str(ACCOUNTS), "--as-of", "2026-11-01", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    missing = runner.invoke(app, ["report", "rules/", str(tmp_path / "none.jsonl"), "--as-of", "2026-11-01"])
    assert missing.exit_code == 4 and "no accounts file" in missing.output
    bad_date = runner.invoke(app, ["report", "rules/", str(ACCOUNTS), "--as-of", "01/11/2026"])
    assert bad_date.exit_code == 2 and "YYYY-MM-DD" in bad_date.output


def test_an_excluded_outcome_is_drawn_after_the_tiers(tmp_path: Path) -> None:

    rules = default_rules_with(tmp_path / "rules", "rulebook.yaml", append="\nexcluded:\n  name: Excluded\n")
    rulebook = load_rulebook(rules)
    portfolio = load_portfolio(rulebook, ACCOUNTS, AS_OF)
    expected = Counter(d.tier for d in decisions(rulebook, ACCOUNTS, AS_OF))  # type: ignore[union-attr]
    assert expected["Excluded"] > 0 and portfolio.tiers == expected
    assert portfolio.outcomes[-1] == "Excluded"
    html = render(portfolio)
    assert f"Excluded: {expected['Excluded']} accounts" in marks(html, "tier_bars")
    assert len(marks(html, "accounts")) == portfolio.decided


@pytest.mark.parametrize(
    ("crm", "export", "rows"),
    [("salesforce", "salesforce_accounts.csv", slice(0, 60)), ("hubspot", "hubspot_companies.jsonl", slice(60, 100))],
)
def test_a_crm_export_read_through_its_profile_draws_the_same_portfolio(
    tmp_path: Path, crm: str, export: str, rows: slice
) -> None:
    """The shipped exports hold example accounts in the CRM's own columns and values: read
    through their profile, tiers, plan status and the account managers' bars are those of the
    same accounts in kamrules' own fields."""
    from kamrules.evaluation.engine import Engine

    rulebook = load_rulebook(ROOT / "rules")
    originals = tmp_path / "originals.jsonl"
    lines = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    originals.write_text("".join(lines[rows]), encoding="utf-8")
    expected = load_portfolio(rulebook, originals, AS_OF)
    through_crm = load_portfolio(Engine(rulebook).with_profile(crm), ROOT / "examples" / "crm" / export, AS_OF)
    assert through_crm.decided == expected.decided == rows.stop - rows.start
    assert through_crm.tiers == expected.tiers
    assert through_crm.compliance_by_tier == expected.compliance_by_tier
    assert through_crm.compliance_by_manager == expected.compliance_by_manager
    assert len({m for m, _ in through_crm.compliance_by_manager}) > 1


def test_report_command_reads_through_a_crm_profile(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report",
            str(ROOT / "rules"),
            str(ROOT / "examples/crm/salesforce_accounts.csv"),
            "--crm",
            "salesforce",
            "--as-of",
            AS_OF.isoformat(),
            "-o",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.stderr
    assert "60 records read: 60 decided" in out.read_text(encoding="utf-8")
    unknown = CliRunner().invoke(app, ["report", str(ROOT / "rules"), str(ACCOUNTS), "--crm", "nosuchcrm"])
    assert unknown.exit_code == 2
    assert "nosuchcrm" in unknown.stderr
