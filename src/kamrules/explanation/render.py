"""Renderings of a decision: plain text for a terminal, Markdown for a report, JSON for
machines. Each reads only the :class:`Decision` model, so the three always agree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kamrules.explanation import markdown
from kamrules.explanation.decision import AccountError, CriterionResult, Decision, PlanCheckResult
from kamrules.facts.records import summarise_problems


def show_value(value: Any) -> str:
    """A fact value as people read it: thousands separators, yes/no, "missing"."""
    if value is None:
        return "missing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,}"
    if isinstance(value, dict):
        return ", ".join(f"{k} = {show_value(v)}" for k, v in value.items())
    return str(value)


def _criterion_value(c: CriterionResult) -> str:
    """The value a criterion scored; an expression's own inputs are listed separately."""
    return show_value(c.value)


def to_json(decision: Decision | AccountError, indent: int | None = 2) -> str:
    return decision.model_dump_json(indent=indent)


def to_text(decision: Decision) -> str:
    """The explanation as an account manager reads it in a terminal."""
    d = decision
    lines = [
        f"Account {d.account_id}" + (f" ({d.account_name})" if d.account_name else ""),
        f"  Tier:    {d.tier}" + (" (key account)" if d.key_account else " (not a key account)"),
    ]
    if d.segment:
        lines.append(f"  Segment: {d.segment}")
    lines.append(f"  Why:     {d.summary}")
    for card in d.scores.values():
        lines.append("")
        lines.append(
            f"  Scorecard {card.title or card.id}: {card.score} "
            f"(= {card.weighted_points} weighted points / {card.total_weight} weight)"
        )
        for c in card.criteria:
            title = c.title or c.id
            flag = "  [dropped]" if c.dropped else "  [missing]" if c.missing else ""
            lines.append(
                f"    {title:<34} {_criterion_value(c):>18}  {c.points:>6} pts x {c.weight:>5}"
                f" = {c.contribution:>6}{flag}"
            )
            lines.append(f"      {c.matched}")
            if c.evidence:
                lines.append(f"      read: {show_value(c.evidence)}")
    if d.gates:
        lines.append("")
        lines.append("  Gates")
        width = max(34, *(len(g.title or g.id) for g in d.gates))
        for g in d.gates:
            mark = "APPLIES" if g.applied else "unknown" if g.unknown else "ok"
            lines.append(f"    {g.title or g.id:<{width}} {mark:<8} {g.note}")
            if g.evidence:
                lines.append(f"      read: {show_value(g.evidence)}")
            if g.applied:
                lines.append(f"      reason: {g.reason}")
    lines.append("")
    lines.append("  Tier tests")
    for t in d.tier_tests:
        default = " (the default tier)" if not t.checks else ""
        lines.append(f"    {t.tier:<12} {'eligible' if t.eligible else 'not eligible'}{default}")
        for check in t.checks:
            mark = "pass" if check.passed else "FAIL"
            actual = f" (is {show_value(check.actual)})" if check.actual not in (None, {}) else ""
            note = f" - {check.note}" if check.note else ""
            lines.append(f"      [{mark}] {check.test}{actual}{note}")
    if d.segment_tests:
        lines.append("")
        lines.append("  Segment tests")
        for check in d.segment_tests:
            lines.append(f"      [{'pass' if check.passed else 'fail'}] {check.segment}: {check.test}")
    if d.compliance is not None:
        lines.append("")
        lines.append("  Account plan")
        lines += ["    " + line for line in _compliance_lines(d)]
    if d.missing_facts:
        lines.append("")
        lines.append(f"  Missing evidence: {', '.join(d.missing_facts)}")
    lines.append("")
    lines.append(
        f"  Decided as of {d.as_of.isoformat()} by rulebook {d.rulebook.id} {d.rulebook.version} "
        f"({d.rulebook.content_hash[:19]}), kamrules {d.kamrules_version}"
    )
    return "\n".join(lines) + "\n"


_md = markdown.cell


def to_markdown(decision: Decision) -> str:
    """The explanation as a Markdown section, for reports and CRM notes."""
    d = decision
    out = [f"## {_md(d.account_name or d.account_id)} ({_md(d.account_id)})", ""]
    out.append(
        f"**Tier: {_md(d.tier)}**"
        + (" (key account)" if d.key_account else " (not a key account)")
        + (f" · Segment: **{_md(d.segment)}**" if d.segment else "")
    )
    out.append("")
    out.append(f"{_md(d.summary)}")
    for card in d.scores.values():
        out += [
            "",
            f"### {_md(card.title or card.id)}: {card.score}",
            "",
            "| Criterion | Value | Rule matched | Points | Weight | Contribution |",
            "|---|---|---|---:|---:|---:|",
        ]
        for c in card.criteria:
            out.append(
                f"| {_md(c.title or c.id)} | {_md(_criterion_value(c))} | {_md(c.matched)} | {c.points} | "
                f"{c.weight} | {c.contribution} |"
            )
        out.append(f"| **Score** | | {card.weighted_points} / {card.total_weight} | | | **{card.score}** |")
    if d.gates:
        out += ["", "### Gates", "", "| Gate | Result | Facts read | Note |", "|---|---|---|---|"]
        for g in d.gates:
            result = "**applies**" if g.applied else "unknown" if g.unknown else "does not apply"
            out.append(
                f"| {_md(g.title or g.id)} | {result} | {_md(show_value(g.evidence))} | "
                f"{_md(g.reason if g.applied else g.note)} |"
            )
    out += ["", "### Tier tests", "", "| Tier | Test | Result |", "|---|---|---|"]
    for t in d.tier_tests:
        for check in t.checks or []:
            actual = f" (is {show_value(check.actual)})" if check.actual not in (None, {}) else ""
            note = f": {check.note}" if check.note else ""
            out.append(
                f"| {_md(t.tier)} | `{_md(check.test)}`{_md(actual)} | "
                f"{'pass' if check.passed else 'fail'}{_md(note)} |"
            )
        if not t.checks:
            out.append(f"| {_md(t.tier)} | (default tier) | pass |")
    if d.compliance is not None:
        out += ["", "### Account plan", "", *_compliance_markdown_body(d, "####")]
    if d.missing_facts:
        out += ["", f"Missing evidence: {', '.join(f'`{m}`' for m in d.missing_facts)}"]
    out += [
        "",
        f"*As of {d.as_of.isoformat()}, rulebook {_md(d.rulebook.id)} {_md(d.rulebook.version)} "
        f"(`{d.rulebook.content_hash}`), kamrules {d.kamrules_version}.*",
        "",
    ]
    return "\n".join(out)


def error_text(error: AccountError) -> str:
    who = f"account {error.account_id}" if error.account_id else "a record without an account id"
    lines = [f"record {error.record} ({who}) could not be decided:"]
    lines += [f"  {line}" for line in summarise_problems([(e.field, e.message) for e in error.errors])]
    return "\n".join(lines)


_STATUS_WORDS = {
    "compliant": "Compliant",
    "at_risk": "At risk",
    "non_compliant": "Not compliant",
    "not_applicable": "No plan checks apply",
}
_SEVERITY_ORDER = {"blocker": 0, "major": 1, "minor": 2}


def _compliance_markdown_body(d: Decision, heading: str) -> list[str]:
    c = d.compliance
    assert c is not None
    stage = c.stage.replace("_", " ") if c.stage else "not recorded"
    score = f", score {c.score}" if c.score is not None else ""
    out = [
        f"**{_STATUS_WORDS[c.status]}**{score} · tier {_md(d.tier)} · stage {stage} · "
        f"relationship map: {c.map_status_label} ({c.map_status} of 3)"
    ]
    failed = sorted(
        (x for x in c.checks if x.applies and not x.passed),
        key=lambda x: (_SEVERITY_ORDER[x.severity], x.due or d.as_of, x.id),
    )
    if failed:
        out += [
            "",
            f"{heading} What is missing",
            "",
            "| Severity | Check | Why | What to do | Who | By when |",
            "|---|---|---|---|---|---|",
        ]
        for x in failed:
            when = _when(x, d.as_of)
            out.append(
                f"| {x.severity} | {_md(x.title)} | {_md(x.note)} | {_md(x.remediation or '')} | "
                f"{_md(x.owner or 'account manager')} | {when} |"
            )
    elif c.status != "not_applicable":
        out += ["", "Nothing is missing: every check that applies holds."]
    passing = [x for x in c.checks if x.applies and x.passed]
    if passing:
        out += ["", f"{heading} In place", "", "| Check | Next due |", "|---|---|"]
        for x in sorted(passing, key=lambda x: (x.due is None, x.due, x.id)):
            out.append(f"| {_md(x.title)} | {x.due.isoformat() if x.due else '—'} |")
    skipped = [x for x in c.checks if not x.applies]
    if skipped:
        out += ["", _count(len(skipped), "check does not apply now", "checks do not apply now") + ":", ""]
        by_reason: dict[str, list[str]] = {}
        for x in skipped:
            by_reason.setdefault(x.note, []).append(x.title)
        for reason, titles in by_reason.items():
            where = _md(_where_not(reason))
            if len(titles) == len(c.checks):
                out[-2:] = [f"None of the {len(titles):,} checks applies {where}."]
            else:
                out.append(f"- {where}: " + "; ".join(_md(t.rstrip(".")) for t in titles))
    return out


def _where_not(note: str) -> str:
    """"does not apply to tier Bronze" as "to tier Bronze", the heading of a group of checks
    that do not apply; "...; it applies from review on" as "(they apply from review on)"."""
    prefix = "does not apply "
    if not note.startswith(prefix):
        return note
    where, _, applies = note[len(prefix) :].partition("; it applies ")
    return f"{where} (they apply {applies})" if applies else where


def _when(check: PlanCheckResult, as_of: dt.date) -> str:
    """By when a failed check is to be fixed: overdue since its due date, by it, or now."""
    if check.overdue_days and check.due is not None:
        return f"overdue since {check.due.isoformat()} ({check.overdue_days} days)"
    if check.due is not None and check.due > as_of:
        return f"by {check.due.isoformat()}"
    return "now"


def _count(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def compliance_markdown(decision: Decision) -> str:
    """The plan report an account manager reads: what is missing, who acts, by when."""
    d = decision
    title = f"## Account plan: {_md(d.account_name or d.account_id)} ({_md(d.account_id)})"
    if d.compliance is None:
        return f"{title}\n\nThe rulebook has no plan checks.\n"
    footer = (
        f"*As of {d.as_of.isoformat()}, rulebook {_md(d.rulebook.id)} {_md(d.rulebook.version)} "
        f"(`{d.rulebook.content_hash}`).*"
    )
    return "\n".join([title, "", *_compliance_markdown_body(d, "###"), "", footer, ""])


def _compliance_lines(d: Decision) -> list[str]:
    c = d.compliance
    assert c is not None
    lines = [
        f"Plan:     {_STATUS_WORDS[c.status]}" + (f" (score {c.score})" if c.score is not None else ""),
        f"Stage:    {c.stage.replace('_', ' ') if c.stage else 'not recorded'}",
        f"Map:      {c.map_status_label} ({c.map_status} of 3)",
    ]
    if c.next_due:
        lines.append(f"Next due: {c.next_due.isoformat()}")
    if c.missing_facts:
        lines.append(f"Missing:  {', '.join(c.missing_facts)}")
    # What is missing first, most severe first, as in the Markdown report; then the rest in
    # the rulebook's order.
    failing = sorted((x for x in c.checks if x.applies and not x.passed), key=lambda x: _SEVERITY_ORDER[x.severity])
    for x in failing + [x for x in c.checks if not x.applies or x.passed]:
        mark = "n/a " if not x.applies else "pass" if x.passed else "FAIL"
        lines.append(f"  [{mark}] {x.severity:<7} {x.title}")
        lines.append(f"           {x.note}")
        if x.applies and not x.passed:
            who = f" ({x.owner})" if x.owner else ""
            lines.append(f"           to do{who}, {_when(x, d.as_of)}: {x.remediation}")
    return lines


def compliance_text(decision: Decision) -> str:
    """The plan's compliance for a terminal."""
    d = decision
    head = f"Account {d.account_id}" + (f" ({d.account_name})" if d.account_name else "")
    if d.compliance is None:
        return f"{head}: the rulebook has no plan checks\n"
    return "\n".join([head, f"  Tier:     {d.tier}", *("  " + line for line in _compliance_lines(d))]) + "\n"
