"""The monitor over one Gold account's events: each alert kind, refusals, idempotency, replay."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules import Engine
from kamrules.monitor.events import events_for_record
from kamrules.monitor.monitor import Alert, EventRefusedError, Monitor
from kamrules.rulebook import Rulebook
from tests.monitor.conftest import GOLD, account, event, tick


def seeded(rules: Rulebook, **options: Any) -> Monitor:
    monitor = Monitor(rules, **options)
    for seed in events_for_record(account(GOLD), "2026-11-01", "seed", "seed"):
        monitor.handle(seed)
    return monitor


def ids(alerts: list[Alert]) -> list[str]:
    return [a.alert_id for a in alerts]


def test_reviews_fall_due_soon_then_overdue_on_business_time(rules: Rulebook) -> None:
    monitor = seeded(rules)
    assert monitor.handle(tick("t0", "2026-11-09")) == []  # joint review due 2026-11-24: 15 days, lead 14
    soon = monitor.handle(tick("t1", "2026-11-10"))
    assert ids(soon) == ["t1/review_due_soon/joint_review_gold"]
    assert soon[0].message.endswith("Due by 2026-11-24.")
    assert soon[0].notify == ["Priya Raman", "Vikram Nair (Head of Strategy)"]  # plan.owner, plan.mentor
    assert [(c.fact, c.before, c.after) for c in soon[0].moved_by] == [("as_of", "2026-11-01", "2026-11-10")]
    assert monitor.handle(tick("t2", "2026-11-20")) == []  # still due soon: told once
    late = monitor.handle(tick("t3", "2026-11-25"))
    assert ids(late) == ["t3/review_overdue/joint_review_gold"]
    assert late[0].message.endswith("Overdue since 2026-11-24 (1 day).")
    assert late[0].details["remediation"].startswith("Schedule the quarterly business review")
    assert late[0].before is not None and late[0].before.failing_checks == []
    assert late[0].after is not None and late[0].after.failing_checks == ["joint_review_gold"]
    assert monitor.handle(event("r1", "plan.reviewed", "2026-11-26", kind="joint", date="2026-11-26")) == []
    escalated = monitor.handle(tick("t4", "2027-03-07"))  # the new joint review is due 2027-03-06
    assert "t4/review_overdue/joint_review_gold" in ids(escalated)


def test_a_review_overdue_long_enough_escalates(rules: Rulebook) -> None:
    monitor = seeded(rules)
    alerts = monitor.handle(tick("t1", "2026-12-24"))  # 30 days after 2026-11-24
    assert "t1/review_escalated/joint_review_gold" in ids(alerts)
    assert next(a for a in alerts if a.kind == "review_escalated").severity == "critical"


def test_a_key_player_leaving_is_told_with_the_checks_it_breaks(rules: Rulebook) -> None:
    monitor = seeded(rules)
    alerts = monitor.handle(event("l1", "contact.left", "2026-11-02", contact_id="ACC-00021-C08"))
    assert ids(alerts) == [
        "l1/plan_check_failing/decision_makers_covered",
        "l1/key_player_left/ACC-00021-C08",
    ]
    left = alerts[1]
    assert left.message == "key player David Berg (decision_maker) left"
    assert left.severity == "critical"
    failing = alerts[0]
    assert failing.details["owner"] == "Priya Raman (plan.owner)"
    assert failing.details["remediation"]
    assert failing.before is not None and failing.before.compliance == "compliant"
    assert failing.after is not None and failing.after.compliance == "at_risk"  # the check is major
    assert [c.fact for c in failing.moved_by] == ["contacts[ACC-00021-C08]"]


def test_single_threaded_when_one_key_player_is_left(rules: Rulebook) -> None:
    monitor = seeded(rules)
    players = [c.id for c in monitor.accounts[GOLD].outcome.record.contacts if c.key_player]  # type: ignore[union-attr]
    alerts: list[Alert] = []
    for n, contact_id in enumerate(players[:-1]):
        alerts = monitor.handle(event(f"l{n}", "contact.left", "2026-11-02", contact_id=contact_id))
    assert f"l{len(players) - 2}/single_threaded" in ids(alerts)
    single = next(a for a in alerts if a.kind == "single_threaded")
    assert single.details["key_players_left"] == [
        next(c["name"] for c in account(GOLD)["contacts"] if c["id"] == players[-1])
    ]


def test_stage_moves_follow_the_statechart(rules: Rulebook) -> None:
    monitor = seeded(rules)
    assert monitor.stage_of(GOLD) == "exploitation"
    assert monitor.handle(event("s1", "stage.changed", "2026-11-02", to="review")) == []  # an allowed regression
    illegal = monitor.handle(event("s2", "stage.changed", "2026-11-03", to="pre_sales"))
    assert ids(illegal) == ["s2/illegal_stage_transition/review to pre_sales"]
    assert illegal[0].details == {"from": "review", "to": "pre_sales"}
    assert monitor.stage_of(GOLD) == "pre_sales"  # the CRM's word stands; the alert says it was not allowed
    assert monitor.handle(event("s3", "stage.changed", "2026-11-04", to="contract_negotiation")) == []


def test_interleaved_accounts_are_restored_from_their_facts(rules: Rulebook) -> None:
    monitor = Monitor(rules)
    accounts = [f"A{n}" for n in range(5)]
    for n, account_id in enumerate(accounts):
        monitor.handle(event(f"a{n}", "stage.changed", "2026-11-01", account_id, to="pre_sales"))
    for n, account_id in enumerate(accounts):  # the chart is restored to each one's stage in turn
        assert (
            monitor.handle(event(f"b{n}", "stage.changed", "2026-11-02", account_id, to="contract_negotiation")) == []
        )
    skipped = monitor.handle(event("c0", "stage.changed", "2026-11-03", "A0", to="review"))
    assert ids(skipped) == ["c0/illegal_stage_transition/contract_negotiation to review"]
    assert monitor.chart._holds == "review"


def test_the_chart_is_restored_only_for_an_account_at_another_stage(
    rules: Rulebook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monitor = Monitor(rules)
    posted: list[tuple[str, str]] = []
    post = monitor.chart._post

    def counting(kind: str, to: str) -> tuple[str, str, bool]:
        posted.append((kind, to))
        return post(kind, to)

    monkeypatch.setattr(monitor.chart, "_post", counting)
    monitor.handle(event("a0", "stage.changed", "2026-11-01", "A0", to="pre_sales"))
    monitor.handle(event("a1", "stage.changed", "2026-11-01", "A1", to="review"))
    # A2 is at pre_sales, the chart at review (A1's): restored; A3 starts where A2 left it
    monitor.handle(event("a2", "stage.changed", "2026-11-01", "A2", to="pre_sales"))
    monitor.handle(event("b2", "stage.changed", "2026-11-02", "A2", to="contract_negotiation"))
    monitor.handle(event("b0", "stage.changed", "2026-11-02", "A0", to="contract_negotiation"))
    assert posted == [
        ("restore", "unknown"),
        ("stage", "pre_sales"),
        ("restore", "unknown"),
        ("stage", "review"),
        ("restore", "unknown"),
        ("stage", "pre_sales"),
        ("stage", "contract_negotiation"),
        ("restore", "pre_sales"),
        ("stage", "contract_negotiation"),
    ]


def test_an_override_pins_the_tier_warns_before_expiry_and_expires(rules: Rulebook) -> None:
    monitor = seeded(rules)
    granted = monitor.handle(
        event(
            "o1",
            "override.granted",
            "2026-11-02",
            tier="Silver",
            reason="Reorganisation",
            approver="Dir",
            expires="2026-11-30",
        )
    )
    assert ids(granted) == ["o1/tier_changed"]
    assert granted[0].message == "tier moved down from Gold to Silver"
    assert ids(monitor.handle(tick("t1", "2026-11-16"))) == ["t1/override_expiring"]  # 14 days ahead
    expired = monitor.handle(tick("t2", "2026-12-01"))
    assert ids(expired)[0] == "t2/tier_changed" and "t2/override_expired" in ids(expired)
    assert expired[0].message == "tier moved up from Silver to Gold"


def test_a_refused_event_names_id_and_field_and_changes_nothing(rules: Rulebook) -> None:
    monitor = seeded(rules)
    before = monitor.facts(GOLD)
    with pytest.raises(EventRefusedError, match=r"event 'x1' refused: contact_id: the account has no contact 'C-9'"):
        monitor.handle(event("x1", "contact.left", "2026-11-02", contact_id="C-9"))
    with pytest.raises(EventRefusedError, match=r"event 'x2' refused: annual_revenue: "):
        monitor.handle(event("x2", "account.updated", "2026-11-02", facts={"annual_revenue": "lots"}))
    with pytest.raises(EventRefusedError, match=r"event 'x3' refused: date: 2026-11-05 is after the event's own date"):
        monitor.handle(event("x3", "plan.reviewed", "2026-11-02", kind="mentor", date="2026-11-05"))
    assert monitor.facts(GOLD) is before
    assert monitor.today is not None and monitor.today.isoformat() == "2026-11-01"


def test_an_event_delivered_twice_is_taken_once(rules: Rulebook) -> None:
    monitor = seeded(rules)
    leave = event("l1", "contact.left", "2026-11-02", contact_id="ACC-00021-C08")
    assert monitor.handle(leave)
    assert monitor.handle(leave) == []


def test_the_monitor_decides_as_a_fresh_engine_does(rules: Rulebook) -> None:
    monitor = seeded(rules)
    monitor.handle(event("l1", "contact.left", "2026-11-02", contact_id="ACC-00021-C08"))
    monitor.handle(tick("t1", "2026-12-24"))
    decision = monitor.decision(GOLD)
    assert decision is not None
    assert decision == Engine(rules).decide(monitor.facts(GOLD), decision.as_of)


def test_the_core_never_imports_durable_rules() -> None:
    code = (
        "import sys, kamrules, kamrules.monitor, kamrules.monitor.events, kamrules.rulebook; "
        "assert 'durable' not in sys.modules, 'durable imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_wake_heap_holds_dates_per_account_not_per_event(rules: Rulebook, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rescheduled accounts leave stale dates on the heap; compacting it changes no alert."""
    story = [
        *events_for_record(account(GOLD), "2026-11-01", "seed", "seed"),
        *(  # an override renewed daily to expire that day: the account's wake moves each day
            event(
                f"o{n}",
                "override.granted",
                f"2026-11-{n:02d}",
                tier="Gold",
                reason="r",
                approver="a",
                expires=f"2026-11-{n:02d}",
            )
            for n in range(2, 29)
        ),
        tick("t1", "2027-02-01"),
        tick("t2", "2027-03-15"),
    ]
    roomy = Monitor(rules)
    expected, piled = [], []
    for e in story:
        expected.extend(a.model_dump_json() for a in roomy.handle(e))
        piled.append(len(roomy._wakes))
    monkeypatch.setattr(Monitor, "WAKES_SLACK", 0)
    tight = Monitor(rules)
    lengths = []
    alerts = []
    for e in story:
        alerts.extend(a.model_dump_json() for a in tight.handle(e))
        lengths.append(len(tight._wakes))
    assert alerts == expected
    assert any("review" in a for a in expected)  # time alone moved reviews, from the heap
    assert max(lengths) <= 2 * len(tight.accounts)
    assert max(piled) > 20 > max(lengths)  # without compaction the stale dates pile up


def test_an_account_holds_no_outcome_older_than_its_current_one(rules: Rulebook) -> None:
    """An alert's "before" is taken from the previous alert's "after" only while that is the
    current outcome; otherwise no older outcome (and its record) stays in memory."""
    monitor = seeded(rules)
    state = monitor.accounts[GOLD]
    alerts = monitor.handle(event("u1", "stage.changed", "2026-11-02", to="pre_sales"))  # not allowed: an alert
    assert alerts and state.snapshot is not None and state.snapshot[0] is state.outcome
    assert monitor.handle(event("u2", "account.updated", "2026-11-02", facts={"name": "Renamed"})) == []
    assert state.snapshot is None
    again = monitor.handle(event("u3", "stage.changed", "2026-11-02", to="review"))
    assert again[0].before == alerts[0].after  # the same decision, shown again from the current outcome
