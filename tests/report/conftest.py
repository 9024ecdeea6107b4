"""Reports built once per session from the example accounts, with and without capacity."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from kamrules import load_rulebook
from kamrules.portfolio.sources import read_records
from kamrules.report.model import Portfolio
from kamrules.report.portfolio_report import load_portfolio, render
from kamrules.workbench.impact import Impact, impact
from kamrules.workbench.sensitivity import WeightEffect, sensitivity
from tests.conftest import AS_OF, ROOT, default_rules_with

ACCOUNTS = ROOT / "examples" / "accounts.jsonl"
GOLD_CAPACITY = 10
SENSITIVITY_ACCOUNTS = 80


@pytest.fixture(scope="session")
def capacity_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default rulebook with Gold limited to GOLD_CAPACITY accounts (26 qualify)."""
    return default_rules_with(
        tmp_path_factory.mktemp("capacity") / "rules",
        "tiers.yaml",
        ("    min_score: 75\n", f"    min_score: 75\n    capacity: {GOLD_CAPACITY}\n"),
    )


@pytest.fixture(scope="session")
def portfolio() -> Portfolio:
    return load_portfolio(load_rulebook(ROOT / "rules"), ACCOUNTS, AS_OF)


@pytest.fixture(scope="session")
def capacity_portfolio(capacity_rules: Path) -> Portfolio:
    return load_portfolio(load_rulebook(capacity_rules), ACCOUNTS, AS_OF)


@pytest.fixture(scope="session")
def report_html(portfolio: Portfolio) -> str:
    return render(portfolio)


@pytest.fixture(scope="session")
def capacity_html(capacity_portfolio: Portfolio) -> str:
    return render(capacity_portfolio)


@pytest.fixture(scope="session")
def proposed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default rulebook with Silver from 55 instead of 60."""
    return default_rules_with(
        tmp_path_factory.mktemp("proposed") / "rules", "tiers.yaml", ("    min_score: 60\n", "    min_score: 55\n")
    )


@pytest.fixture(scope="session")
def effects() -> list[WeightEffect]:
    """The default rulebook's weights moved by 5 over the first SENSITIVITY_ACCOUNTS example
    accounts (each weight step re-decides them: kept small, computed once)."""
    records = list(read_records(ACCOUNTS))[:SENSITIVITY_ACCOUNTS]
    return sensitivity(load_rulebook(ROOT / "rules"), records, AS_OF, Decimal(5))


@pytest.fixture(scope="session")
def moved_by_silver_55(proposed: Path) -> Impact:
    return impact(load_rulebook(ROOT / "rules"), load_rulebook(proposed), list(read_records(ACCOUNTS)), AS_OF)
