"""``kamrules watch --crm``: ``account.updated`` patches read through a CRM profile, so a
Salesforce change event's fields go in as they are (issue 10 for the monitor)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")

from kamrules.cli import exit_codes
from kamrules.monitor.events import events_for_record
from kamrules.monitor.monitor import EventRefusedError, Monitor
from kamrules.rulebook import Rulebook
from tests.cli.test_cli import invoke
from tests.conftest import ROOT
from tests.monitor.conftest import GOLD, account, event
from tests.monitor.test_watch import write_events

SALESFORCE_PATCH = {  # a Salesforce AccountChangeEvent's changed fields, in the org's API names and formats
    "AnnualRevenue": "USD 1,200,000",
    "Growth_Potential__c": "very low",
    "Gross_Margin__c": "12%",
    "Plan_Last_Reviewed__c": "15/11/2026",
    "Credit_Risk__c": "#N/A",
}
IN_FACTS = {  # the same change, as facts
    "annual_revenue": 1_200_000,
    "growth_potential": 1,
    "gross_margin_pct": 12,
    "credit_risk": None,
}


def seeded(rules: Rulebook, profile: str | None) -> Monitor:
    monitor = Monitor(rules, profile=profile)
    for e in events_for_record(account(GOLD), "2026-11-01", "seed", "seed"):
        monitor.handle(e)
    return monitor


def test_a_salesforce_patch_decides_as_the_same_change_in_facts(rules: Rulebook) -> None:
    through, plain = seeded(rules, "salesforce"), seeded(rules, None)
    assert through.facts(GOLD)["credit_risk"] is not None
    alerts = through.handle(event("sf1", "account.updated", "2026-11-20", facts=SALESFORCE_PATCH))
    expected = plain.handle(event("sf1", "account.updated", "2026-11-20", facts=IN_FACTS))
    plain.handle(event("sf1p", "plan.updated", "2026-11-20", plan={"last_reviewed": "2026-11-15"}))
    facts = through.facts(GOLD)
    assert facts["annual_revenue"] == 1_200_000.0 and facts["growth_potential"] == 1
    assert "credit_risk" not in facts  # '#N/A' is the profile's missing value: the fact is removed
    assert facts["plan"]["last_reviewed"] == "2026-11-15"  # a plan fact, merged into the plan, as ISO text
    assert facts == plain.facts(GOLD)
    assert through.decision(GOLD) == plain.decision(GOLD)
    assert [a.kind for a in alerts] == [a.kind for a in expected]
    assert "tier_changed" in [a.kind for a in alerts]
    moved = {c.fact: c.after for c in alerts[0].moved_by}
    assert moved["annual_revenue"] == 1_200_000.0 and moved["plan.last_reviewed"] == "2026-11-15"


@pytest.mark.parametrize(
    ("facts", "field", "message"),
    [
        ({"Growth_Potential__c": "Huge"}, "facts.growth_potential", "'Huge' has no mapping"),
        ({"AnnualRevenue": "lots"}, "facts.annual_revenue", "column 'AnnualRevenue'"),
        ({"KAM_Stage__c": "Review"}, "facts.KAM_Stage__c", "gives stage, which changes by an event of its own"),
        ({"Id": "ACC-99999"}, "facts.id", "names account 'ACC-99999', the event 'ACC-00021'"),
    ],
)
def test_a_patch_the_profile_cannot_read_is_refused_naming_the_field(
    rules: Rulebook, facts: dict[str, Any], field: str, message: str
) -> None:
    monitor = seeded(rules, "salesforce")
    before = monitor.facts(GOLD)
    with pytest.raises(EventRefusedError) as refused:
        monitor.handle(event("bad", "account.updated", "2026-11-20", facts=facts))
    assert refused.value.refused.problems[0][0] == field
    assert message in refused.value.refused.problems[0][1]
    assert monitor.facts(GOLD) is before  # the account is unchanged


def test_watch_reads_patches_through_the_crm_profile(rules: Rulebook, tmp_path: Path) -> None:
    events = [
        *events_for_record(account(GOLD), "2026-11-01", "seed", "seed"),
        event("sf1", "account.updated", "2026-11-20", facts=SALESFORCE_PATCH),
    ]
    source = write_events(tmp_path / "events.jsonl", events)
    out = tmp_path / "alerts.jsonl"
    code, _, err = invoke("watch", str(ROOT / "rules"), "--events", str(source), "-o", str(out), "--crm", "salesforce")
    assert code == exit_codes.OK, err
    monitor = Monitor(rules, profile="salesforce")
    expected = [a.model_dump_json() for e in events for a in monitor.handle(e)]
    assert out.read_text(encoding="utf-8").splitlines() == expected
    assert any(json.loads(line)["kind"] == "tier_changed" for line in expected)
    code, _, err = invoke("watch", str(ROOT / "rules"), "--events", str(source), "--crm", "no-such-profile")
    assert code == exit_codes.USAGE
    assert "no-such-profile" in err
