"""The rulebook's ``alerts:`` section: validated with file:line like every other section."""

from __future__ import annotations

import pytest

from kamrules import RulebookError, load_rulebook_text
from tests.conftest import SMALL_RULEBOOK

CHECKS = """\
plan_checks:
  - id: mentor_review
    title: Reviewed.
    severity: major
    fresh: {date: plan.last_reviewed, within_days: 60}
    remediation: Review it.
  - id: has_owner
    title: Owned.
    severity: minor
    require: plan.owner != ''
    remediation: Name one.
"""


BASE = (SMALL_RULEBOOK + CHECKS).count("\n")
"""The line before the alerts section: positions below count from it."""


def problems(alerts: str) -> str:
    with pytest.raises(RulebookError) as caught:
        load_rulebook_text(SMALL_RULEBOOK + CHECKS + alerts, "r.yaml")
    return str(caught.value)


def test_a_valid_section_loads_and_changes_the_hash() -> None:
    alerts = """\
alerts:
  - kind: review_due_soon
    severity: info
    notify: [plan.owner, Key account director]
    lead_days: {Gold: 14, Silver: 7}
    checks: [mentor_review]
"""
    plain = load_rulebook_text(SMALL_RULEBOOK + CHECKS, "r.yaml")
    rulebook = load_rulebook_text(SMALL_RULEBOOK + CHECKS + alerts, "r.yaml")
    assert [a.kind for a in rulebook.spec.alerts] == ["review_due_soon"]
    assert rulebook.content_hash != plain.content_hash


def test_unknown_tier_and_check_are_named_at_their_line() -> None:
    text = problems(
        """\
alerts:
  - kind: review_due_soon
    severity: info
    notify: [plan.owner]
    lead_days: {Gold: 14, Silvr: 7}
    checks: [mentor_reviw]
"""
    )
    assert f"r.yaml:{BASE + 5}:27: alert review_due_soon: there is no tier 'Silvr' (did you mean 'Silver'?)" in text
    assert f"r.yaml:{BASE + 6}:14: alert review_due_soon: there is no plan check 'mentor_reviw'" in text


def test_a_review_alert_needs_a_fresh_check_and_notify_a_text_fact() -> None:
    text = problems(
        """\
alerts:
  - kind: review_overdue
    severity: warning
    notify: [plan.version]
    checks: [has_owner]
"""
    )
    assert "plan check 'has_owner' has no `fresh:` date" in text
    assert "`notify` must name a text fact such as plan.owner, but plan.version is" in text


def test_options_belong_to_their_kinds_and_kinds_are_listed_once() -> None:
    text = problems(
        """\
alerts:
  - kind: tier_changed
    severity: info
    notify: [Director]
    lead_days: 3
  - kind: override_expiring
    severity: info
    notify: [Director]
  - kind: illegal_stage_transition
    severity: info
    notify: [Director]
    regressions: [[pre_sales, review]]
  - kind: segment_changed
    severity: info
    notify: [Director]
  - kind: segment_changed
    severity: loud
    notify: [Director]
"""
    )
    assert "`lead_days` applies only to review_due_soon, override_expiring, not to tier_changed" in text
    assert "override_expiring needs `lead_days`" in text
    assert "[pre_sales, review] is not a regression" in text
    assert "severity" in text and "'critical', 'warning' or 'info'" in text


def test_a_kind_listed_twice_is_refused() -> None:
    text = problems(
        """\
alerts:
  - kind: segment_changed
    severity: info
    notify: [Director]
  - kind: segment_changed
    severity: info
    notify: [Director]
"""
    )
    assert f"r.yaml:{BASE + 5}:11: the alert segment_changed is listed twice (first as alert 1)" in text


ALERTS = """\
alerts:
  - kind: review_due_soon
    severity: info
    notify: [plan.owner]
    lead_days: {Gold: 14}
  - kind: tier_changed
    severity: warning
    notify: [Director]
"""


def test_lint_warns_when_a_key_tier_gets_no_lead_time() -> None:
    from kamrules.workbench.lint import lint

    rulebook = load_rulebook_text(SMALL_RULEBOOK + CHECKS + ALERTS, "r.yaml")
    findings = [f for f in lint(rulebook) if f.code == "KAM009"]
    assert [str(f) for f in findings] == [
        f"r.yaml:{BASE + 5}:16: warning KAM009: alert review_due_soon gives no lead time for Silver, Bronze, so "
        "those tiers are warned only on the day it falls due (add the tier to `lead_days`, or give one number "
        "for every tier)"
    ]


def test_the_rulebook_document_lists_the_alerts() -> None:
    from kamrules.explanation.rulebook_docs import render

    text = render(load_rulebook_text(SMALL_RULEBOOK + CHECKS + ALERTS, "r.yaml"), "markdown")
    assert "## Alerts" in text
    assert "| `review_due_soon` | info | plan.owner | warns Gold 14 days ahead |" in text


def test_rule_coverage_counts_each_alert_kind_raised() -> None:
    from kamrules import Engine
    from kamrules.testing.coverage import Case, CoverageCollector

    engine = Engine(load_rulebook_text(SMALL_RULEBOOK + CHECKS + ALERTS, "r.yaml"))
    collector = CoverageCollector()
    collector.record_alerts(engine, "rules", ["tier_changed"])
    coverage = collector.rulebooks[engine.rulebook.content_hash]
    alerts = [case for case in coverage.cases if case.kind == "alert"]
    assert alerts == [Case("alert", "review_due_soon", "raised"), Case("alert", "tier_changed", "raised")]
    assert [case for case in coverage.missed() if case.kind == "alert"] == [alerts[0]]
