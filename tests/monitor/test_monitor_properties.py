"""Properties of the monitor over random event sequences: it decides as a fresh Engine does,
and replaying the same events gives the same alerts, byte for byte."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules import Engine
from kamrules.monitor.events import events_for_record
from kamrules.monitor.monitor import EventRefusedError, Monitor
from kamrules.rulebook import Rulebook
from tests.monitor.conftest import GOLD, account

STAGES = ["pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation"]
START = dt.date(2026, 11, 1)
OTHER = "ACC-00040"


@st.composite
def steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A random sequence of events on two real accounts, dates never going back."""
    events: list[dict[str, Any]] = []
    day = START
    contacts = {
        GOLD: [c["id"] for c in account(GOLD)["contacts"]],
        OTHER: [c["id"] for c in account(OTHER)["contacts"]],
    }
    for n in range(draw(st.integers(1, 25))):
        day += dt.timedelta(days=draw(st.integers(0, 45)))
        when = day.isoformat()
        target = draw(st.sampled_from([GOLD, OTHER]))
        common = {"id": f"p{n}", "account_id": target, "occurred_at": when, "source": "prop"}
        kind = draw(
            st.sampled_from(
                [
                    "tick",
                    "revenue",
                    "fit",
                    "review",
                    "left",
                    "added",
                    "stage",
                    "override",
                    "revoke",
                    "met",
                    "contact",
                    "plan",
                    "unset",
                ]
            )
        )
        if kind == "tick":
            events.append({"id": f"p{n}", "type": "clock.tick", "occurred_at": when, "source": "prop", "date": when})
        elif kind == "revenue":
            value = draw(st.integers(0, 20_000_000))
            events.append({**common, "type": "account.updated", "facts": {"annual_revenue": value}})
        elif kind == "fit":
            value = draw(st.integers(1, 5))
            events.append({**common, "type": "account.updated", "facts": {"strategic_fit": value}})
        elif kind == "review":
            kind_of = draw(st.sampled_from(["mentor", "joint", "team"]))
            events.append({**common, "type": "plan.reviewed", "kind": kind_of, "date": when})
        elif kind == "left" and contacts[target]:
            gone = contacts[target].pop(draw(st.integers(0, len(contacts[target]) - 1)))
            events.append({**common, "type": "contact.left", "contact_id": gone})
        elif kind == "added":
            new = f"{target}-N{n}"
            contacts[target].append(new)
            role = draw(st.sampled_from(["decision_maker", "influencer", "user"]))
            stance = draw(st.sampled_from(["supporter", "neutral", "enemy"]))
            contact = {"id": new, "name": f"New {n}", "role": role, "stance": stance}
            events.append({**common, "type": "contact.added", "contact": contact})
        elif kind == "stage":
            events.append({**common, "type": "stage.changed", "to": draw(st.sampled_from(STAGES))})
        elif kind == "override":
            expires = (day + dt.timedelta(days=draw(st.integers(0, 60)))).isoformat()
            tier = draw(st.sampled_from(["Gold", "Silver", "Bronze"]))
            events.append(
                {**common, "type": "override.granted", "tier": tier, "reason": "r", "approver": "a", "expires": expires}
            )
        elif kind == "revoke":
            events.append({**common, "type": "override.revoked"})
        elif kind == "met" and contacts[target]:
            events.append({**common, "type": "meeting.logged", "date": when, "contact_ids": contacts[target][:2]})
        elif kind == "contact" and contacts[target]:
            changes = draw(
                st.sampled_from(
                    [
                        {"stance": "enemy"},
                        {"stance": "supporter", "role": "decision_maker"},
                        {"influence": 9},  # out of range: refused, the account unchanged
                        {"last_contacted": when},
                        {"role": None},
                    ]
                )
            )
            contact_id = draw(st.sampled_from(contacts[target]))
            events.append({**common, "type": "contact.updated", "contact_id": contact_id, "changes": changes})
        elif kind == "plan":
            patch = draw(
                st.sampled_from(
                    [{"revenue_actual": 1_000_000, "actuals_updated": when}, {"objectives": None}, {"version": 0}]
                )
            )
            events.append({**common, "type": "plan.updated", "plan": patch})
        elif kind == "unset":
            events.append({**common, "type": "account.updated", "facts": {"strategic_fit": None}})
    return events


def without_derived(record: Any) -> dict[str, Any]:
    """A record's facts without the derived contact facts, which only a decision computes."""
    facts: dict[str, Any] = record.model_dump()
    for contact in facts["contacts"]:
        contact.pop("key_player")
        contact.pop("supportive")
    return facts


def run(rules: Rulebook, events: list[dict[str, Any]], check: Engine | None = None) -> tuple[Monitor, list[str]]:
    """The alerts of ``events`` after two seeded accounts; with ``check``, each event's record
    (validated only where the event changed it) is held to a full validation of the facts."""
    monitor = Monitor(rules)
    alerts: list[str] = []
    seeds = events_for_record(account(GOLD), "2026-11-01", "seed", "g") + events_for_record(
        account(OTHER), "2026-11-01", "seed", "o"
    )
    for e in [*seeds, *events]:
        try:
            alerts.extend(a.model_dump_json() for a in monitor.handle(e))
        except EventRefusedError as exc:  # e.g. a contact removed twice; the stream goes on
            alerts.append(f"refused {exc}")
        if check is not None and e.get("account_id") in monitor.accounts:
            state = monitor.accounts[e["account_id"]]
            assert state.record is not None
            assert without_derived(state.record) == without_derived(check.validate(state.facts))
    return monitor, alerts


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=steps())
def test_the_monitor_decides_as_a_fresh_engine_and_replays_identically(rules: Rulebook, events: list[Any]) -> None:
    engine = Engine(rules)
    monitor, alerts = run(rules, events, check=engine)
    for account_id in (GOLD, OTHER):
        decision = monitor.decision(account_id)
        assert decision is not None
        assert decision == engine.decide(monitor.facts(account_id), decision.as_of)
    again, replayed = run(rules, events)
    assert replayed == alerts
    monitor.close()
    again.close()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=steps())
def test_after_every_event_the_kept_results_equal_a_full_evaluation(rules: Rulebook, events: list[Any]) -> None:
    """The monitor decides an account again keeping the rule results an event cannot move
    (``Engine.evaluate_after``); after every event, its outcome is a full evaluation's by a
    fresh engine, byte for byte, and its decision a fresh ``Engine.decide`` of the facts."""
    reference = Engine(rules)
    monitor = Monitor(rules)
    seeds = events_for_record(account(GOLD), "2026-11-01", "seed", "g") + events_for_record(
        account(OTHER), "2026-11-01", "seed", "o"
    )
    compared = 0
    for e in [*seeds, *events]:
        try:
            monitor.handle(e)
        except EventRefusedError:
            continue
        for account_id in (GOLD, OTHER) if e["type"] == "clock.tick" else (e["account_id"],):
            state = monitor.accounts.get(account_id)
            if state is None or state.outcome is None:
                continue
            outcome = state.outcome
            full = reference.evaluate(reference.validate(without_derived(outcome.record)), outcome.as_of)
            assert outcome.decision_json() == full.decision_json()
            decided = reference.decide(monitor.facts(account_id), outcome.as_of)
            assert outcome.decision().model_dump_json() == decided.model_dump_json()
            compared += 1
    assert compared > len(seeds) // 2  # every seed event decided an account once both were seen
