"""``kamrules explain --account ... --html``: one account's decision in pictures.

Each scorecard as a waterfall from 0 to the account's score, criterion by criterion (the
contributions the explanation lists), with the tier minimums on that scorecard drawn; and
the account's place in the portfolio matrix. Read from the :class:`Decision` alone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import altair as alt

from kamrules.explanation.decision import Decision, TierCheck
from kamrules.report import charts
from kamrules.report.model import gather
from kamrules.report.page import figure, heading, page, para, section, table
from kamrules.rulebook.semantics import Rulebook


def waterfall(decision: Decision, rulebook: Rulebook, card_id: str) -> charts.Spec:
    """The scorecard's criteria as steps from 0 to the score, then the score itself."""
    card = decision.scores[card_id]
    rows: list[dict[str, Any]] = []
    running = Decimal(0)
    order = []
    for c in card.criteria:
        step = f"{c.id}"
        order.append(step)
        start, running = running, running + c.contribution
        note = " (dropped: missing)" if c.dropped else (" (missing)" if c.missing else "")
        rows.append(
            {
                "step": step,
                "start": charts._num(start),
                "end": charts._num(running),
                "kind": "criterion",
                "label": f"{c.id}: {c.points} points x weight {c.weight.normalize():f} adds {c.contribution}{note}",
            }
        )
    order.append("score")
    rows.append(
        {"step": "score", "start": 0, "end": charts._num(card.score), "kind": "score", "label": f"score {card.score}"}
    )
    bars = (
        alt.Chart(charts._data(rows), name="waterfall")
        .mark_bar()
        .encode(
            x=alt.X("step:N", sort=order, title=None, axis=alt.Axis(labelAngle=-35, labelLimit=160)),
            y=alt.Y("start:Q", title=f"{card_id} score", scale=alt.Scale(domain=[0, 100])),
            y2="end:Q",
            color=alt.Color(
                "kind:N", scale=alt.Scale(domain=["criterion", "score"], range=["#4c78a8", "#222"]), legend=None
            ),
            description="label:N",
        )
    )
    lines = []
    for tier in rulebook.spec.tiers:
        if card_id == rulebook.primary_scorecard and tier.min_score is not None:
            lines.append({"y": charts._num(tier.min_score), "label": f"{tier.name} from {tier.min_score}"})
        value = (tier.min_scores or {}).get(card_id)
        if value is not None:
            lines.append({"y": charts._num(value), "label": f"{tier.name} needs {card_id} {value}"})
    rules = (
        alt.Chart(charts._data(lines), name="tier_lines")
        .mark_rule(strokeDash=[6, 3], color="#333")
        .encode(y="y:Q", description="label:N")
    )
    labels = (
        alt.Chart(charts._data(lines), name="tier_line_labels")
        .mark_text(align="left", baseline="bottom", dx=2, dy=-2, fontSize=9, x=0)
        .encode(y="y:Q", text="label:N")
    )
    return charts._finish(bars + rules + labels, max(36 * len(order), 240), 260)


def render(decision: Decision, rulebook: Rulebook) -> str:
    """One account's explanation page."""
    who = decision.account_id + (f" {decision.account_name}" if decision.account_name else "")
    meta = (
        f"As of {decision.as_of.isoformat()}. Rulebook {decision.rulebook.id} {decision.rulebook.version} "
        f"({decision.rulebook.content_hash[:19]})."
    )
    parts = [para(decision.summary, "lead")]
    for step in decision.placement:
        parts.append(para(f"{step.kind}: {step.note}"))
    sections = [section("decision", f"{decision.tier}" + (f", {decision.segment}" if decision.segment else ""), *parts)]
    for card_id, card in decision.scores.items():
        rows = [
            (c.id, "" if c.value is None else c.value, c.matched, c.points, f"{c.weight.normalize():f}", c.contribution)
            for c in card.criteria
        ]
        sections.append(
            section(
                f"score-{card_id}",
                f"{card_id}: {card.score}",
                figure(
                    charts.svg(waterfall(decision, rulebook, card_id), f"waterfall-{card_id}"),
                    "Each criterion adds its contribution (points x weight / total weight); the black bar is the "
                    "score. Dashed lines: tier minimums on this scorecard.",
                ),
                table(["criterion", "value", "matched", "points", "weight", "contribution"], rows, numeric=[3, 4, 5]),
            )
        )
    one = gather(rulebook, [(decision, None)], decision.as_of)
    if one.x_card is not None:
        sections.append(
            section(
                "matrix",
                "Place in the portfolio matrix",
                figure(
                    charts.svg(charts.matrix(one), "matrix"),
                    "The account at its two scores; solid lines: segment boundaries, dashed: tier minimums.",
                ),
            )
        )
    tests = [(t.tier, "eligible" if t.eligible else "not eligible", _failed(t.checks)) for t in decision.tier_tests]
    sections.append(section("tiers", "Tier tests", table(["tier", "result", "failed"], tests)))
    if decision.compliance and decision.compliance.status != "not_applicable":
        failed = [c for c in decision.compliance.checks if c.applies and not c.passed]
        sections.append(
            section(
                "plan",
                f"Plan: {decision.compliance.status.replace('_', ' ')}",
                heading(f"{len(failed)} plan checks fail") if failed else para("Every plan check passes."),
                table(
                    ["check", "severity", "note", "remediation", "owner", "due"],
                    [(c.id, c.severity, c.note, c.remediation or "", c.owner or "", c.due or "") for c in failed],
                )
                if failed
                else "",
            )
        )
    return page(f"Why {who} is {decision.tier}", meta, sections)


def _failed(checks: list[TierCheck]) -> str:
    return "; ".join(c.note or c.test for c in checks if not c.passed)
