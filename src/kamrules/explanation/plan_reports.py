"""Plan compliance as the rows and documents that reports and CRM tasks are made of.

The command line, the HTTP service and the portfolio report all answer "what is missing in
this plan, who acts, by when" from one explained :class:`Decision`; the shapes live here so
that every surface says the same thing in the same columns.
"""

from __future__ import annotations

from typing import Any

from kamrules.explanation.decision import Decision

PLAN_COLUMNS = (
    "account_id",
    "account_name",
    "tier",
    "stage",
    "plan",
    "score",
    "blockers",
    "majors",
    "minors",
    "next_due",
    "map_status",
    "missing_facts",
)
"""One row per account: the plan's status, its failures by severity, when it next falls due."""

ACTION_COLUMNS = (
    "account_id",
    "account_name",
    "tier",
    "stage",
    "plan",
    "severity",
    "check",
    "title",
    "why",
    "what_to_do",
    "who",
    "due",
    "overdue_days",
    "items_at_fault",
)
"""One row per failed check: ready to become a task in the CRM."""

_SEVERITY_RANK = {"blocker": 0, "major": 1, "minor": 2}


def plan_row(d: Decision) -> dict[str, Any]:
    """The account's plan as one row of :data:`PLAN_COLUMNS` (text cells, empty for nothing)."""
    c = d.compliance
    assert c is not None, "plan rows need a rulebook with plan checks"
    return {
        "account_id": d.account_id,
        "account_name": d.account_name or "",
        "tier": d.tier,
        "stage": c.stage or "",
        "plan": c.status,
        "score": "" if c.score is None else str(c.score),
        "blockers": c.failed["blocker"],
        "majors": c.failed["major"],
        "minors": c.failed["minor"],
        "next_due": c.next_due.isoformat() if c.next_due else "",
        "map_status": c.map_status,
        "missing_facts": "; ".join(c.missing_facts),
    }


def action_rows(d: Decision) -> list[dict[str, Any]]:
    """One row of :data:`ACTION_COLUMNS` per failed check, the most severe and most overdue
    first; a check due now gets the decision date as its due date."""
    c = d.compliance
    assert c is not None, "action rows need a rulebook with plan checks"
    failed = [x for x in c.checks if x.applies and not x.passed]
    failed.sort(key=lambda x: (_SEVERITY_RANK[x.severity], x.due or d.as_of, x.id))
    return [
        {
            "account_id": d.account_id,
            "account_name": d.account_name or "",
            "tier": d.tier,
            "stage": c.stage or "",
            "plan": c.status,
            "severity": x.severity,
            "check": x.id,
            "title": x.title,
            "why": x.note,
            "what_to_do": x.remediation or "",
            "who": x.owner or "",
            "due": (x.due or d.as_of).isoformat(),
            "overdue_days": x.overdue_days or "",
            "items_at_fault": "; ".join(g.described() for g in x.at_fault),
        }
        for x in failed
    ]


def plan_document(decision: Decision) -> dict[str, Any]:
    """One account's plan compliance as JSON: the decision's compliance, with what names it."""
    return {
        "kind": "plan",
        "account_id": decision.account_id,
        "account_name": decision.account_name,
        "tier": decision.tier,
        "as_of": decision.as_of.isoformat(),
        "rulebook": decision.rulebook.model_dump(mode="json"),
        "compliance": decision.compliance.model_dump(mode="json") if decision.compliance else None,
    }
