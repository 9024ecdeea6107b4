"""``kamrules impact ... --html`` and ``kamrules sensitivity ... --html``: the workbench's
answers in pictures, drawn from its own results (:class:`~kamrules.workbench.impact.Impact`,
:class:`~kamrules.workbench.sensitivity.WeightEffect`), never recomputed."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import altair as alt

from kamrules.report import charts
from kamrules.report.page import figure, heading, page, para, section, table
from kamrules.workbench.impact import Impact, Movement
from kamrules.workbench.sensitivity import WeightEffect


def _order(impact: Impact) -> list[str]:
    ordered: list[str] = []
    for rulebook in (impact.old, impact.new):
        ordered += [t for t in rulebook.tier_names if t not in ordered]
    return ordered + sorted({n for pair in impact.tiers for n in pair} - set(ordered))


def flow(impact: Impact) -> charts.Spec:
    """Old tier (left) to new tier (right): one band per pair, as wide as its accounts."""
    tiers = _order(impact)
    position = {t: len(tiers) - i for i, t in enumerate(tiers)}
    rows = [
        {
            "x": 0,
            "x2": 1,
            "y": position[old],
            "y2": position[new],
            "accounts": n,
            "moved": "stays" if old == new else "moves",
            "label": f"{old} to {new}: {n:,} accounts",
        }
        for (old, new), n in sorted(
            impact.tiers.items(), key=lambda item: (tiers.index(item[0][0]), tiers.index(item[0][1]))
        )
    ]
    before = Counter[str]()
    after = Counter[str]()
    for (old, new), n in impact.tiers.items():
        before[old] += n
        after[new] += n
    ends = [{"x": 0, "y": position[t], "text": f"{t} {before[t]:,}", "align": "right"} for t in tiers] + [
        {"x": 1, "y": position[t], "text": f"{after[t]:,} {t}", "align": "left"} for t in tiers
    ]
    axis_x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[-0.35, 1.35]))
    axis_y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[0.5, len(tiers) + 0.5]))
    bands = (
        alt.Chart(charts._data(rows), name="flows")
        .mark_rule(strokeCap="butt")
        .encode(
            x=axis_x,
            x2="x2:Q",
            y=axis_y,
            y2="y2:Q",
            strokeWidth=alt.StrokeWidth("accounts:Q", scale=alt.Scale(range=[1, 28]), legend=None),
            color=alt.Color(
                "moved:N", scale=alt.Scale(domain=["stays", "moves"], range=["#c8c8c8", "#e45756"]), legend=None
            ),
            opacity=alt.value(0.75),
            description="label:N",
        )
    )
    left = (
        alt.Chart(charts._data([e for e in ends if e["x"] == 0]), name="before")
        .mark_text(align="right", dx=-6, fontWeight="bold")
        .encode(x=axis_x, y=axis_y, text="text:N")
    )
    right = (
        alt.Chart(charts._data([e for e in ends if e["x"] == 1]), name="after")
        .mark_text(align="left", dx=6, fontWeight="bold")
        .encode(x=axis_x, y=axis_y, text="text:N")
    )
    return charts._finish(bands + left + right, charts.WIDTH - 80, 60 * len(tiers))


def _groups(moved: Sequence[Movement]) -> list[tuple[tuple[str, str], list[Movement], list[tuple[str, int]]]]:
    groups: dict[tuple[str, str], list[Movement]] = defaultdict(list)
    for m in moved:
        groups[(m.old_tier, m.new_tier)].append(m)
    out = []
    for pair, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        reasons = Counter(r for m in members for r in m.reasons)
        out.append((pair, members, sorted(reasons.items(), key=lambda item: (-item[1], item[0]))))
    return out


def impact_page(impact: Impact) -> str:
    old, new = impact.old, impact.new
    title = f"Impact of {new.id} {new.version} against {old.id} {old.version}"
    meta = (
        f"As of {impact.as_of.isoformat()}. {impact.accounts:,} accounts; {len(impact.moved):,} change tier, "
        f"{len(impact.segment_changes):,} change segment, {len(impact.compliance_changes):,} change plan compliance."
        + (f" {len(impact.errors):,} could not be decided." if impact.errors else "")
    )
    changes = [str(c) for c in impact.rule_changes]
    sections = [
        section(
            "rules",
            "What changed in the rules",
            table(["change"], [(c,) for c in changes])
            if changes
            else para("Nothing: the two rulebooks have the same rules."),
        ),
        section(
            "flow",
            "Tier movement",
            figure(
                charts.svg(flow(impact), "flow"),
                "Each band runs from an account's tier under the rules in force (left) to its tier under the "
                "proposal (right), as wide as the accounts taking it; red bands move.",
            ),
        ),
    ]
    parts = []
    for (a, b), members, reasons in _groups(impact.moved):
        parts.append(heading(f"{a} to {b}: {len(members):,} accounts"))
        parts.append(table(["why", "accounts"], [(r, f"{n:,}") for r, n in reasons], numeric=[1]))
        parts.append(
            table(
                ["account", "score before", "score after"],
                [
                    (m.account_id + (f" {m.account_name}" if m.account_name else ""), m.old_score, m.new_score)
                    for m in members
                ],
                numeric=[1, 2],
                cls="accounts",
            )
        )
    sections.append(section("moved", "Why they move", *(parts or [para("No account changes tier.")])))
    return page(title, meta, sections)


def sensitivity_chart(effects: Sequence[WeightEffect], step: Decimal) -> charts.Spec:
    """Accounts that change tier with each weight moved down and up by ``step``."""
    rows: list[dict[str, Any]] = []
    order = []
    for e in sorted(effects, key=lambda e: (-max(e.up, e.down or 0), e.scorecard, e.criterion)):
        name = f"{e.criterion} ({e.weight.normalize():f})"
        order.append(name)
        if e.down is not None:
            rows.append(
                {
                    "criterion": name,
                    "move": f"-{step}",
                    "accounts": e.down,
                    "label": f"{e.criterion} weight -{step}: {e.down:,} accounts change tier",
                }
            )
        rows.append(
            {
                "criterion": name,
                "move": f"+{step}",
                "accounts": e.up,
                "label": f"{e.criterion} weight +{step}: {e.up:,} accounts change tier",
            }
        )
    chart = (
        alt.Chart(charts._data(rows), name="sensitivity")
        .mark_bar()
        .encode(
            y=alt.Y("criterion:N", sort=order, title=None, axis=alt.Axis(labelLimit=260)),
            yOffset=alt.YOffset("move:N", sort=[f"-{step}", f"+{step}"]),
            x=alt.X("accounts:Q", title="accounts that change tier"),
            color=alt.Color(
                "move:N",
                scale=alt.Scale(domain=[f"-{step}", f"+{step}"], range=["#4c78a8", "#f58518"]),
                legend=alt.Legend(title="weight moved by"),
            ),
            description="label:N",
        )
    )
    return charts._finish(chart, charts.WIDTH - 260, 30 * len(order))


def sensitivity_page(
    effects: Sequence[WeightEffect], step: Decimal, accounts: int, rulebook_name: str, as_of: str
) -> str:
    title = f"Which weights matter: {rulebook_name}"
    meta = f"As of {as_of}. {accounts:,} accounts; each weight moved by {step} points down and up, one at a time."
    rows = [
        (e.criterion, e.scorecard, f"{e.weight.normalize():f}", "-" if e.down is None else f"{e.down:,}", f"{e.up:,}")
        for e in sorted(effects, key=lambda e: (-max(e.up, e.down or 0), e.scorecard, e.criterion))
    ]
    return page(
        title,
        meta,
        [
            section(
                "weights",
                "Accounts that change tier per weight step",
                figure(
                    charts.svg(sensitivity_chart(effects, step), "sensitivity"),
                    "A long bar: the portfolio's tiers hang on this weight; no bar: moving it changes no one's tier.",
                ),
                table(["criterion", "scorecard", "weight", f"-{step}", f"+{step}"], rows, numeric=[2, 3, 4]),
            )
        ],
    )
