"""The pictures, as Vega-Lite specifications (Altair) rendered to SVG offline (vl-convert).

Why Vega-Lite rendered ahead of time rather than a chart drawn by a script in the page: the
report must open offline, print on A4 and be byte-for-byte the same for the same inputs.
SVG made here has no script, no font file and no random id; hovering works through the
``<title>`` each mark gets from its description (see :func:`svg`). Decision 25 in
``docs/decisions.md`` says why Altair and vl-convert rather than Plotly or Matplotlib.

Every mark layer has a name, so the SVG says what it is (``accounts_marks``,
``thresholds_marks``, ...): the browser tests count marks by these classes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import altair as alt
import vl_convert as vlc

from kamrules.report.model import STATUSES, Point, Portfolio, Threshold

WIDTH = 560
"""Chart width in pixels: with its axes and legend, a chart fits an A4 page's text width."""
AGGREGATE_ABOVE = 5_000
"""Above this many decided accounts the matrix draws density cells, not one mark per account
(an SVG mark costs about 250 bytes and the browser's time to lay it out)."""
NEAR = Decimal(1)
"""In an aggregated matrix, accounts this close (in points) to a line are still drawn one by one."""
MAX_NEAR = 3_000
"""At most this many near-line accounts are drawn individually (the nearest first)."""
CELL = 2
"""Density cell size, in score points."""

TIER_COLOURS = ("#c48f00", "#4c78a8", "#b5651d", "#54a24b", "#9d755d", "#b279a2", "#72b7b2", "#e45756")
DEFAULT_TIER_COLOUR = "#b0b0b0"
EXCLUDED_COLOUR = "#555555"
STATUS_COLOURS = {"compliant": "#54a24b", "at_risk": "#f2a900", "non_compliant": "#d62728", "not_applicable": "#cccccc"}
MARKERS = {
    "": ("by the rules", "circle"),
    "override": ("override", "diamond"),
    "capacity": ("moved by capacity", "triangle-down"),
    "stability": ("held by stability margin", "square"),
}
DASH = {"segment": [1, 0], "tier": [6, 3], "capacity": [2, 2]}

Spec = dict[str, Any]


def _data(rows: list[dict[str, Any]]) -> Any:
    """Inline data for a chart (Altair's constructor is not typed)."""
    return alt.Data(values=rows)  # type: ignore[no-untyped-call]


def tier_scale(tiers: Sequence[str], excluded: str | None = None) -> alt.Scale:
    """Tier colours by position (best first); the default tier is grey, and the excluded
    outcome (when the rulebook names one, last in ``tiers``) dark grey."""
    grades = [t for t in tiers if t != excluded]
    colours = [TIER_COLOURS[i % len(TIER_COLOURS)] for i in range(len(grades) - 1)] + [DEFAULT_TIER_COLOUR]
    if excluded is not None:
        colours.append(EXCLUDED_COLOUR)
    return alt.Scale(domain=list(tiers), range=colours)


def status_scale() -> alt.Scale:
    return alt.Scale(domain=list(STATUSES), range=[STATUS_COLOURS[s] for s in STATUSES])


def _num(value: Decimal | int) -> float | int:
    return int(value) if isinstance(value, int) or value == value.to_integral_value() else float(value)


def _rule_rows(lines: Sequence[Threshold], x_card: str | None, y_card: str) -> list[dict[str, Any]]:
    """One rule per line drawn; lines at the same place share one label (a segment boundary
    and a tier minimum at 60 read "Silver from 60; segment boundary")."""
    placed: dict[tuple[str, Decimal], dict[str, Any]] = {}
    for line in lines:
        v = _num(line.value)
        if line.card == y_card:
            row = {"x": 0, "x2": 100, "y": v, "y2": v, "lx": 100, "ly": v, "angle": 0, "align": "right"}
        elif line.card == x_card:
            row = {"x": v, "x2": v, "y": 0, "y2": 100, "lx": v, "ly": 100, "angle": 270, "align": "right"}
        else:
            continue
        key = (line.card, line.value)
        if key in placed:
            placed[key]["label"] += f"; {line.label}"
            continue
        placed[key] = row | {"kind": line.kind, "label": line.label}
    return list(placed.values())


def _threshold_layers(rows: list[dict[str, Any]], x: str, y: str) -> Any:
    data = _data(rows)
    rules = (
        alt.Chart(data, name="thresholds")
        .mark_rule(color="#333", strokeWidth=1.2)
        .encode(
            x=alt.X("x:Q", title=f"{x} score", scale=alt.Scale(domain=[0, 100])),
            x2="x2:Q",
            y=alt.Y("y:Q", title=f"{y} score", scale=alt.Scale(domain=[0, 100])),
            y2="y2:Q",
            strokeDash=alt.StrokeDash(
                "kind:N",
                scale=alt.Scale(domain=list(DASH), range=list(DASH.values())),
                legend=alt.Legend(title="line"),
            ),
            description="label:N",
        )
    )
    across = [r for r in rows if r["angle"] == 0]
    up = [r for r in rows if r["angle"] != 0]
    labels_across = (
        alt.Chart(_data(across), name="threshold_labels")
        .mark_text(align="right", baseline="bottom", dx=-2, dy=-2, fontSize=9, color="#333")
        .encode(x="lx:Q", y="ly:Q", text="label:N")
    )
    labels_up = (
        alt.Chart(_data(up), name="threshold_labels_up")
        .mark_text(align="right", baseline="bottom", angle=270, dx=-2, dy=-2, fontSize=9, color="#333")
        .encode(x="lx:Q", y="ly:Q", text="label:N")
    )
    return rules + labels_across + labels_up


def matrix(portfolio: Portfolio) -> Spec:
    """The portfolio matrix: one mark per account (or density cells past AGGREGATE_ABOVE),
    segment boundaries and tier minimums as lines, points coloured by tier and shaped by what
    moved them away from the rules' tier."""
    y_card, x_card = portfolio.y_card, portfolio.x_card
    tiers, excluded = portfolio.outcomes, portfolio.excluded
    lines = portfolio.thresholds()
    layers: list[Any] = []
    points = portfolio.points
    if x_card is None:
        return _strip(portfolio)
    if len(points) > AGGREGATE_ABOVE:
        layers.append(_density(points, x_card, y_card))
        points = near_lines(points, lines, x_card, y_card)
    layers.append(_points(points, tier_scale(tiers, excluded), x_card, y_card))
    layers.append(_threshold_layers(_rule_rows(lines, x_card, y_card), x_card, y_card))
    return _finish(alt.layer(*layers), WIDTH - 140, WIDTH - 140)


def _point_rows(points: Sequence[Point]) -> list[dict[str, Any]]:
    return [
        {
            "x": _num(p.x) if p.x is not None else None,
            "y": _num(p.y),
            "tier": p.tier,
            "placement": MARKERS[p.marker][0],
            "label": p.label,
        }
        for p in points
    ]


def _points(points: Sequence[Point], colours: alt.Scale, x_card: str, y_card: str) -> Any:
    return (
        alt.Chart(_data(_point_rows(points)), name="accounts")
        .mark_point(filled=True, size=36, opacity=0.85, stroke="#222", strokeWidth=0.4)
        .encode(
            x=alt.X("x:Q", title=f"{x_card} score", scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("y:Q", title=f"{y_card} score", scale=alt.Scale(domain=[0, 100])),
            color=alt.Color("tier:N", scale=colours, legend=alt.Legend(title="tier")),
            shape=alt.Shape(
                "placement:N",
                scale=alt.Scale(domain=[m[0] for m in MARKERS.values()], range=[m[1] for m in MARKERS.values()]),
                legend=alt.Legend(title="placement"),
            ),
            description="label:N",
        )
    )


def near_lines(points: Sequence[Point], lines: Sequence[Threshold], x_card: str | None, y_card: str) -> list[Point]:
    """The accounts within NEAR points of a line on their axis, nearest first (at most MAX_NEAR)."""
    xs = [t.value for t in lines if t.card == x_card]
    ys = [t.value for t in lines if t.card == y_card]
    near: list[tuple[Decimal, str, Point]] = []
    for p in points:
        gaps = [abs(p.y - v) for v in ys] + ([abs(p.x - v) for v in xs] if p.x is not None else [])
        gap = min(gaps, default=None)
        if gap is not None and gap <= NEAR:
            near.append((gap, p.account_id, p))
    near.sort(key=lambda item: (item[0], item[1]))
    return [p for _, _, p in near[:MAX_NEAR]]


def _density(points: Sequence[Point], x_card: str, y_card: str) -> Any:
    cells: dict[tuple[int, int], int] = {}
    for p in points:
        assert p.x is not None
        key = (min(int(p.x) // CELL, 100 // CELL - 1), min(int(p.y) // CELL, 100 // CELL - 1))
        cells[key] = cells.get(key, 0) + 1
    rows = [
        {
            "x": i * CELL,
            "x2": (i + 1) * CELL,
            "y": j * CELL,
            "y2": (j + 1) * CELL,
            "accounts": n,
            "label": f"{n:,} accounts with {x_card} {i * CELL}-{(i + 1) * CELL}, {y_card} {j * CELL}-{(j + 1) * CELL}",
        }
        for (i, j), n in sorted(cells.items())
    ]
    return (
        alt.Chart(_data(rows), name="density")
        .mark_rect()
        .encode(
            x=alt.X("x:Q", title=f"{x_card} score", scale=alt.Scale(domain=[0, 100])),
            x2="x2:Q",
            y=alt.Y("y:Q", title=f"{y_card} score", scale=alt.Scale(domain=[0, 100])),
            y2="y2:Q",
            color=alt.Color(
                "accounts:Q", scale=alt.Scale(scheme="greys", type="log"), legend=alt.Legend(title="accounts")
            ),
            description="label:N",
        )
    )


def _strip(portfolio: Portfolio) -> Spec:
    """A one-scorecard rulebook has no matrix: the score across, one row per tier."""
    tiers, excluded = portfolio.outcomes, portfolio.excluded
    rows = _point_rows(portfolio.points[:AGGREGATE_ABOVE])
    chart = (
        alt.Chart(_data(rows), name="accounts")
        .mark_tick()
        .encode(
            x=alt.X("y:Q", title=f"{portfolio.y_card} score", scale=alt.Scale(domain=[0, 100])),
            y=alt.Y("tier:N", sort=list(tiers)),
            color=alt.Color("tier:N", scale=tier_scale(tiers, excluded)),
            description="label:N",
        )
    )
    return _finish(chart, WIDTH - 140, 30 * len(tiers))


def tier_counts(portfolio: Portfolio) -> Spec:
    """Accounts per tier, with each tier's capacity as a tick."""
    tiers, excluded = portfolio.outcomes, portfolio.excluded
    capacities = portfolio.capacities()
    rows = [
        {
            "tier": t,
            "accounts": portfolio.tiers[t],
            "capacity": capacities[t],
            "label": f"{t}: {portfolio.tiers[t]:,} accounts"
            + (f" of a capacity of {capacities[t]:,}" if capacities[t] is not None else ""),
        }
        for t in tiers
    ]
    data = _data(rows)
    bars = (
        alt.Chart(data, name="tier_bars")
        .mark_bar()
        .encode(
            y=alt.Y("tier:N", sort=list(tiers), title=None),
            x=alt.X("accounts:Q", title="accounts"),
            color=alt.Color("tier:N", scale=tier_scale(tiers, excluded), legend=None),
            description="label:N",
        )
    )
    text = (
        bars.mark_text(align="left", dx=3)
        .encode(text="accounts:Q", color=alt.value("#222"))
        .properties(name="tier_labels")
    )
    caps = (
        alt.Chart(data, name="capacities")
        .transform_filter("datum.capacity != null")
        .mark_tick(color="#000", thickness=3, size=26)
        .encode(y=alt.Y("tier:N", sort=list(tiers)), x="capacity:Q", description="label:N")
    )
    return _finish(bars + text + caps, WIDTH - 120, 32 * len(tiers))


def score_distribution(portfolio: Portfolio) -> Spec:
    """The primary score's histogram by tier, with tier minimums and capacity cut-offs."""
    tiers, excluded = portfolio.outcomes, portfolio.excluded
    counts: dict[tuple[int, str], int] = {}
    for p in portfolio.points:
        start = min(int(p.y) // CELL, 100 // CELL - 1) * CELL
        counts[(start, p.tier)] = counts.get((start, p.tier), 0) + 1
    rows = [
        {"x": s, "x2": s + CELL, "tier": t, "accounts": n, "label": f"{n:,} {t} accounts scoring {s}-{s + CELL}"}
        for (s, t), n in sorted(counts.items(), key=lambda item: (item[0][0], tiers.index(item[0][1])))
    ]
    bars = (
        alt.Chart(_data(rows), name="distribution")
        .mark_bar()
        .encode(
            x=alt.X("x:Q", title=f"{portfolio.y_card} score", scale=alt.Scale(domain=[0, 100])),
            x2="x2:Q",
            y=alt.Y("sum(accounts):Q", title="accounts", stack="zero"),
            color=alt.Color("tier:N", scale=tier_scale(tiers, excluded), legend=alt.Legend(title="tier")),
            order=alt.Order("order:Q"),
            description="label:N",
        )
        .transform_calculate(order=f"indexof({list(tiers)!r}, datum.tier)")
    )
    lines = [t for t in portfolio.thresholds() if t.card == portfolio.y_card and t.kind != "segment"]
    rows_l = [{"x": _num(t.value), "kind": t.kind, "label": t.label, "top": 1} for t in lines]
    rules = (
        alt.Chart(_data(rows_l), name="tier_lines")
        .mark_rule(color="#333", strokeWidth=1.2)
        .encode(
            x=alt.X("x:Q", scale=alt.Scale(domain=[0, 100])),
            strokeDash=alt.StrokeDash(
                "kind:N", scale=alt.Scale(domain=list(DASH), range=list(DASH.values())), legend=None
            ),
            description="label:N",
        )
    )
    labels = (
        alt.Chart(_data(rows_l), name="tier_line_labels")
        .mark_text(angle=270, align="right", baseline="bottom", dx=-4, dy=-2, fontSize=9, color="#333", y=0)
        .encode(x="x:Q", text="label:N")
    )
    return _finish(bars + rules + labels, WIDTH - 140, 200)


def stacked_status(counts: Mapping[tuple[str, str], int], order: Sequence[str], what: str, name: str) -> Spec:
    """Plan status counts per tier or per account manager, as stacked bars."""
    rows = [
        {
            "group": g,
            "status": s,
            "accounts": counts[(g, s)],
            "label": f"{g}: {counts[(g, s)]:,} {s.replace('_', ' ')}",
            "order": STATUSES.index(s),
        }
        for g in order
        for s in STATUSES
        if counts.get((g, s))
    ]
    chart = (
        alt.Chart(_data(rows), name=name)
        .mark_bar()
        .encode(
            y=alt.Y("group:N", sort=list(order), title=what),
            x=alt.X("accounts:Q", title="accounts", stack="zero"),
            color=alt.Color("status:N", scale=status_scale(), legend=alt.Legend(title="plan")),
            order=alt.Order("order:Q"),
            description="label:N",
        )
    )
    return _finish(chart, WIDTH - 220, max(22 * len(order), 40))


def failing_checks(portfolio: Portfolio, top: int = 10) -> Spec:
    """The plan checks failing most often."""
    worst = most_failing(portfolio, top)
    rows = [
        {"check": f.check, "failed": f.failed, "severity": f.severity, "label": f"{f.check}: fails for {f.failed:,}"}
        for f in worst
    ]
    chart = (
        alt.Chart(_data(rows), name="failing_checks")
        .mark_bar()
        .encode(
            y=alt.Y("check:N", sort=[f.check for f in worst], title=None),
            x=alt.X("failed:Q", title="key accounts failing"),
            color=alt.Color(
                "severity:N",
                scale=alt.Scale(domain=["blocker", "major", "minor"], range=["#d62728", "#f2a900", "#9ecae9"]),
            ),
            description="label:N",
        )
    )
    return _finish(chart, WIDTH - 260, max(20 * len(rows), 40))


def most_failing(portfolio: Portfolio, top: int) -> list[Any]:
    return sorted(portfolio.failing.values(), key=lambda f: (-f.failed, f.check))[:top]


def criteria_spread(portfolio: Portfolio) -> Spec:
    """Each criterion's points across the portfolio: one circle per value, sized by how many
    accounts got it. A criterion with one circle weighs but separates no one."""
    rows = []
    order = []
    for spread in portfolio.criteria.values():
        name = f"{spread.criterion} (weight {spread.weight.normalize():f})"
        order.append(name)
        for points, n in sorted(spread.points.items()):
            rows.append(
                {
                    "criterion": name,
                    "points": _num(points),
                    "accounts": n,
                    "label": f"{spread.criterion}: {n:,} accounts at {points} points",
                }
            )
    chart = (
        alt.Chart(_data(rows), name="criteria")
        .mark_circle(color="#4c78a8", opacity=0.7)
        .encode(
            y=alt.Y("criterion:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
            x=alt.X("points:Q", title="points (0-100)", scale=alt.Scale(domain=[0, 100])),
            size=alt.Size("accounts:Q", scale=alt.Scale(range=[10, 400]), legend=alt.Legend(title="accounts")),
            description="label:N",
        )
    )
    return _finish(chart, WIDTH - 300, 20 * len(order))


def _finish(chart: Any, width: int, height: int) -> Spec:
    spec: Spec = chart.properties(width=width, height=height).configure_view(stroke="#ccc").to_dict(validate=False)
    return spec


_ID = re.compile(r'\bid="([^"]+)"')
_SYMBOL = re.compile(r'<(path|line|rect|text)( aria-label="([^"]*)" role="graphics-symbol"[^>]*?)/>')


def svg(spec: Spec, prefix: str) -> str:
    """A specification as inline SVG: ids made unique to the chart (several share a page),
    and each mark's description also its ``<title>``, which browsers show on hover."""
    text = vlc.vegalite_to_svg(spec)
    for found in sorted(set(_ID.findall(text))):
        text = text.replace(f'id="{found}"', f'id="{prefix}-{found}"').replace(f"#{found})", f"#{prefix}-{found})")
        text = text.replace(f'href="#{found}"', f'href="#{prefix}-{found}"')
    text = _SYMBOL.sub(lambda m: f"<{m[1]}{m[2]}><title>{m[3]}</title></{m[1]}>", text)
    return text.replace("<svg ", f'<svg id="chart-{prefix}" ', 1)
