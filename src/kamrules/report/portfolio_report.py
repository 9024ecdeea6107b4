"""``kamrules report``: the portfolio in pictures, one HTML file.

The decisions come from :func:`kamrules.portfolio.decisions` (capacity placed over the
whole portfolio, exactly as every other output); the report only counts and draws them.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from pathlib import Path

from kamrules.evaluation.engine import Engine
from kamrules.explanation.decision import AccountError, Decision
from kamrules.report import charts
from kamrules.report.model import STATUSES, Portfolio, gather
from kamrules.report.page import figure, heading, page, para, section, table
from kamrules.rulebook.semantics import Rulebook


def load_portfolio(source: Rulebook | Engine, accounts: Path, as_of: dt.date, fmt: str | None = None) -> Portfolio:
    """Decide every account of a file and reduce the decisions to what the report draws.

    ``source`` is a rulebook, or an :class:`Engine` when the export is read through a CRM
    profile (``Engine(rulebook).with_profile("salesforce")``): the report then groups by the
    column the profile reads the account manager from, as every decision reads its facts."""
    from kamrules.portfolio import ColumnarFallbackWarning, decisions, read_accounts

    engine = source if isinstance(source, Engine) else Engine(source)
    table = read_accounts(accounts, fmt, rulebook=engine)
    managers = _managers(engine, table)
    with warnings.catch_warnings():
        # Which rows were decided per account is a matter of speed here, not of the result.
        warnings.simplefilter("ignore", ColumnarFallbackWarning)
        paired = zip(decisions(engine, table, as_of), managers, strict=True)
        return gather(engine.rulebook, paired, as_of)


def _managers(engine: Engine, table: object) -> Iterator[str | None]:
    """Each row's account manager (under the fact's name, its CRM column, or the column a CRM
    profile reads it from), for grouping."""
    import polars as pl

    frame: pl.DataFrame = table.frame  # type: ignore[attr-defined]
    renames = engine.validator.renames
    sources = [c for c in frame.columns if c == "account_manager" or renames.get(c) == "account_manager"]
    if not sources:
        yield from (None for _ in range(frame.height))
        return
    values = frame.select(pl.coalesce([pl.col(c).cast(pl.String) for c in sources])).to_series()
    yield from values.to_list()


def render(portfolio: Portfolio) -> str:
    """The report's HTML."""
    rb = portfolio.rulebook
    title = f"Portfolio report: {rb.id} {rb.version}"
    meta = (
        f"As of {portfolio.as_of.isoformat()}. {portfolio.decided + portfolio.errors:,} records read: "
        f"{portfolio.decided:,} decided, {portfolio.errors:,} could not be decided. "
        f"Rulebook {rb.id} {rb.version} ({rb.content_hash[:19]})."
    )
    sections = [_matrix(portfolio), _tiers(portfolio), _compliance(portfolio), _criteria(portfolio)]
    sections.append(_accounts(portfolio))
    return page(title, meta, sections)


def _matrix(p: Portfolio) -> str:
    aggregated = len(p.points) > charts.AGGREGATE_ABOVE and p.x_card is not None
    caption = (
        f"Each account at its {p.x_card} score (across) and {p.y_card} score (up); colour: tier; "
        "shape: what moved it off the rules' tier. Solid lines: segment boundaries; dashed: tier minimums; "
        "dotted: capacity cut-offs. Hover a mark for the account and why."
        if p.x_card
        else f"Each account's {p.y_card} score, one row per tier."
    )
    if aggregated:
        caption += (
            f" {len(p.points):,} accounts are more than {charts.AGGREGATE_ABOVE:,}: grey cells count the accounts "
            f"in each {charts.CELL}x{charts.CELL}-point square, and only accounts within {charts.NEAR} point of a line "
            f"are drawn one by one (at most {charts.MAX_NEAR:,}, nearest first)."
        )
    segments = table(
        ["segment", "accounts"],
        [(s.name, f"{p.segments[s.name]:,}") for s in p.rulebook.spec.segments],
        numeric=[1],
    )
    moved = sum(1 for pt in p.points if pt.marker)
    notes = para(f"{moved:,} accounts were moved by an override, capacity or the stability margin.")
    return section(
        "matrix", "Portfolio matrix", figure(charts.svg(charts.matrix(p), "matrix"), caption), segments, notes
    )


def _tiers(p: Portfolio) -> str:
    capacities = p.capacities()
    lines = {t.label for t in p.thresholds() if t.kind == "capacity"}
    rows = []
    for tier in p.rulebook.spec.tiers:
        cap = capacities[tier.name]
        cutoff = next(
            (label.split("cut-off ")[1] for label in sorted(lines) if label.startswith(f"{tier.name} full")), ""
        )
        rows.append(
            (
                tier.name,
                f"{p.tiers[tier.name]:,}",
                "" if cap is None else f"{cap:,}",
                "" if tier.min_score is None else str(tier.min_score),
                cutoff,
            )
        )
    if p.excluded:
        rows.append((p.excluded, f"{p.tiers[p.excluded]:,}", "", "", ""))
    return section(
        "tiers",
        "Tiers",
        figure(
            charts.svg(charts.tier_counts(p), "tier-counts"), "Accounts per tier; a black tick marks a tier's capacity."
        ),
        table(["tier", "accounts", "capacity", f"minimum {p.y_card}", "capacity cut-off"], rows, numeric=[1, 2, 3, 4]),
        figure(
            charts.svg(charts.score_distribution(p), "distribution"),
            f"How the {p.y_card} score is distributed, coloured by final tier; dashed lines: each tier's minimum, "
            "dotted: the score of the last account a full tier took.",
        ),
    )


def _compliance(p: Portfolio) -> str:
    tiers = [t for t in p.outcomes if any(p.compliance_by_tier.get((t, s)) for s in STATUSES)]
    managers = sorted({m for m, _ in p.compliance_by_manager})
    worst = charts.most_failing(p, 10)
    parts = [
        figure(
            charts.svg(charts.stacked_status(p.compliance_by_tier, tiers, "tier", "by_tier"), "by-tier"),
            "Plan status per tier (not applicable: the tier has no plan checks).",
        ),
    ]
    if managers:
        parts.append(
            figure(
                charts.svg(
                    charts.stacked_status(p.compliance_by_manager, managers, "account manager", "by_manager"),
                    "by-manager",
                ),
                "Plan status of each account manager's key accounts.",
            )
        )
    if worst:
        parts.append(figure(charts.svg(charts.failing_checks(p), "failing"), "The plan checks failing most often."))
        parts.append(
            table(
                ["check", "severity", "accounts failing", "title", "remediation"],
                [(f.check, f.severity, f"{f.failed:,}", f.title, f.remediation or "") for f in worst],
                numeric=[2],
            )
        )
    else:
        parts.append(para("No plan check fails."))
    return section("compliance", "Plan compliance", *parts)


def _criteria(p: Portfolio) -> str:
    from kamrules.workbench.lint import lint

    findings = lint(p.rulebook, p.decided)
    rows = []
    for spread in p.criteria.values():
        linked = [f.code for f in findings if f"'{spread.criterion}'" in f.message]
        low, high = min(spread.points), max(spread.points)
        rows.append(
            (
                spread.criterion,
                spread.card,
                f"{spread.weight.normalize():f}",
                f"{len(spread.points):,}",
                f"{low}-{high}" if spread.separates else f"{low} for every account",
                f"{spread.mean_contribution}",
                f"{spread.missing:,}",
                ", ".join(linked),
            )
        )
    parts = [
        figure(
            charts.svg(charts.criteria_spread(p), "criteria"),
            "Each criterion's points across the portfolio; circle size: how many accounts got those points. "
            "A criterion drawn as one circle weighs in the score but separates no one.",
        ),
        table(
            ["criterion", "scorecard", "weight", "point values", "points", "mean contribution", "missing", "lint"],
            rows,
            numeric=[2, 3, 5, 6],
        ),
    ]
    if findings:
        parts.append(heading("Lint findings"))
        parts.append(
            table(["code", "finding", "where"], [(f.code, f.message, str(f.location or "")) for f in findings])
        )
    else:
        parts.append(para("kamrules lint finds nothing to warn about in this rulebook."))
    return section("criteria", "Criteria", *parts)


def _accounts(p: Portfolio) -> str:
    drawn = p.points
    lead = "Every account in the matrix, as hovering names it (for print)."
    if len(drawn) > charts.AGGREGATE_ABOVE:
        drawn = charts.near_lines(p.points, p.thresholds(), p.x_card, p.y_card)
        drawn += [pt for pt in p.points if pt.marker and pt not in set(drawn)]
        lead = "The accounts drawn one by one (near a line, or moved by placement), as hovering names them."
    cards = [p.y_card] + ([p.x_card] if p.x_card else [])
    rows = [
        (pt.account_id, pt.name or "", pt.tier, pt.segment or "", str(pt.y), *([str(pt.x)] if p.x_card else []), pt.why)
        for pt in drawn
    ]
    return section(
        "accounts",
        "Accounts",
        para(lead),
        table(["id", "name", "tier", "segment", *cards, "why"], rows, numeric=[4, 5], cls="accounts"),
    )


def portfolio_report(source: Rulebook | Engine, accounts: Path, as_of: dt.date, fmt: str | None = None) -> str:
    """Decide a portfolio file and return its report as one self-contained HTML page."""
    return render(load_portfolio(source, accounts, as_of, fmt))


__all__ = ["AccountError", "Decision", "load_portfolio", "portfolio_report", "render"]
