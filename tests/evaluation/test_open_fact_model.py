"""An open fact model: custom facts inside records, custom lists, vocabularies, text maps (issue 10)."""

from __future__ import annotations

import pytest

from kamrules import Engine, InvalidRecord, RulebookError, load_rulebook_text
from tests.conftest import AS_OF

RULEBOOK = """\
rulebook: open
version: "1"
facts:
  records:
    plan:
      - {name: competitor_assessment, type: text, description: Our written view of the competition}
      - {name: profit_target, type: number, minimum: 0, description: The profit we aim for}
    contact:
      - {name: linkedin_connected, type: boolean, description: Whether we are connected on LinkedIn}
    member:
      - {name: signed_off, type: boolean, description: Whether the member signed the plan}
  lists:
    - name: site_visits
      item: visit
      description: Visits of our team to the customer's sites
      named_by: [site]
      fields:
        - {name: site, type: text, description: The site visited}
        - {name: date, type: date, past: true, description: When}
    - name: approvals
      item: approval
      on: plan
      description: Who approved the plan
      fields:
        - {name: approver, type: text, description: Who approved}
  vocabularies:
    stance:
      add: [opponent]
      synonyms: {ally: supporter}
    contact_level:
      synonyms: {management: senior_management}
criteria:
  - id: industry
    weight: 1
    fact: account.industry
    map: {Pharmaceuticals: 100, Chemicals: 80}
    otherwise: 30
  - id: visits
    weight: 1
    expression: 100 if count(site_visits, days_since(date) <= 90) >= 2 else 0
tiers:
  - {name: Gold, min_score: 60}
  - {name: Standard}
plan_checks:
  - id: profit_target_set
    title: The plan sets a profit target.
    severity: major
    require: present(plan.profit_target) and present(plan.competitor_assessment)
    remediation: Set the profit target.
  - id: team_signed
    title: Every member signed the plan.
    severity: major
    require: all(team, signed_off == true)
    remediation: Collect the signatures.
  - id: no_opponent_unmanaged
    title: Every opponent has a mitigation.
    severity: blocker
    require: none(contacts, stance == 'opponent' and not present(mitigation))
    remediation: Plan how to handle the opponent.
  - id: approved
    title: Someone approved the plan.
    severity: minor
    require: count(plan.approvals) >= 1
    remediation: Get the plan approved.
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(RULEBOOK))


def account(**extra: object) -> dict[str, object]:
    return {
        "id": "A",
        "industry": "Pharmaceuticals",
        "site_visits": [{"site": "Basel", "date": "2026-10-01"}, {"site": "Lyon", "date": "2026-09-15"}],
        "plan": {
            "status": "agreed",
            "profit_target": 1e6,
            "competitor_assessment": "Apex leads",
            "approvals": [{"approver": "CFO"}],
        },
        "team": [{"name": "Kim", "signed_off": True}],
        "contacts": [
            {"id": "C1", "name": "Ana", "stance": "opponent", "mitigation": "Weekly call", "level": "management"}
        ],
        **extra,
    }


def checks(decision: object) -> dict[str, bool]:
    compliance = decision.compliance  # type: ignore[attr-defined]
    return {c.id: c.passed for c in compliance.checks if c.applies}


def test_custom_record_facts_and_lists_are_read_by_rules(engine: Engine) -> None:
    decision = engine.decide(account(), AS_OF)
    assert decision.tier == "Gold"
    assert decision.scores["score"].criteria[1].points == 100  # two visits in 90 days
    assert checks(decision) == {
        "profit_target_set": True,
        "team_signed": True,
        "no_opponent_unmanaged": True,
        "approved": True,
    }


def test_extended_vocabulary_and_synonyms(engine: Engine) -> None:
    unmanaged = account(contacts=[{"id": "C1", "name": "Ana", "stance": "opponent"}, {"id": "C2", "stance": "ally"}])
    decision = engine.decide(unmanaged, AS_OF)
    assert checks(decision)["no_opponent_unmanaged"] is False
    record = engine.validate(unmanaged)
    assert record.contacts[1].stance == "supporter"  # type: ignore[attr-defined]
    assert engine.validate(account()).contacts[0].level == "senior_management"  # type: ignore[attr-defined]
    with pytest.raises(InvalidRecord, match="'rival' is not a stance value"):
        engine.validate(account(contacts=[{"id": "C9", "stance": "rival"}]))


def test_a_text_map_has_a_default_for_anything_else(engine: Engine) -> None:
    criterion = engine.decide(account(industry="Retail"), AS_OF).scores["score"].criteria[0]
    assert criterion.points == 30
    assert criterion.matched == "'Retail' is not in the map: otherwise 30 points"


def test_null_for_a_list_is_a_missing_list(engine: Engine) -> None:
    decision = engine.decide(account(contacts=None, site_visits=None), AS_OF)
    assert decision.scores["score"].criteria[1].points == 0
    record = engine.validate(account(contacts=None, site_visits=None))
    assert record.contacts == [] and record.site_visits == []  # type: ignore[attr-defined]


def test_unknown_keys_inside_records_are_reported_like_columns(engine: Engine) -> None:
    raw = account(plan={"status": "agreed", "competitor_assesment": "typo"}, team=[{"name": "Kim", "sign": 1}])
    assert engine.validator.unknown_keys(raw) == ["plan.competitor_assesment", "team[].sign"]


def test_a_future_date_in_a_custom_list_is_an_error(engine: Engine) -> None:
    with pytest.raises(InvalidRecord, match=r"site_visits\[0\]\.date: 2027-01-01 is after the as-of date"):
        engine.evaluate(engine.validate(account(site_visits=[{"site": "X", "date": "2027-01-01"}])), AS_OF)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("    plan:\\n", "    plann:\\n"), "there is no record 'plann' to add facts to"),
        (("      add: [opponent]", "      add: [supporter]"), "'supporter' is already a value of stance"),
        (
            ("{ally: supporter}", "{ally: friend}"),
            "the synonym 'ally' stands for 'friend', which is not a value of stance",
        ),
        (
            ("  vocabularies:\\n    stance:", "  vocabularies:\\n    stanse:"),
            "there is no built-in vocabulary 'stanse'",
        ),
        (("    otherwise: 30\\n", ""), "maps the text fact account.industry, whose values are open: give `otherwise`"),
        (("named_by: [site]", "named_by: [place]"), "'place' is not a fact of visit"),
        (("item: visit", "item: contact"), "'contact' already names a record"),
        (
            ("- {name: signed_off,", "- {name: name,"),
            "the custom fact 'name' of member has the name of a built-in fact",
        ),
    ],
)
def test_open_model_mistakes_are_named(change: tuple[str, str], message: str) -> None:
    old, new = (part.replace("\\\\n", "\\n").replace("\\n", "\n") for part in change)
    assert old in RULEBOOK, old
    with pytest.raises(RulebookError, match=message):
        load_rulebook_text(RULEBOOK.replace(old, new))


def test_stages_cannot_be_added_but_can_have_synonyms() -> None:
    text = RULEBOOK.replace("    contact_level:\n", "    stage:\n      add: [closing]\n    contact_level:\n")
    with pytest.raises(RulebookError, match="the relationship stages are fixed and ordered"):
        load_rulebook_text(text)
    text = RULEBOOK.replace(
        "    contact_level:\n", "    stage:\n      synonyms: {Prospecting: pre_sales}\n    contact_level:\n"
    )
    engine = Engine(load_rulebook_text(text))
    assert engine.validate(account(stage="Prospecting")).stage == "pre_sales"  # type: ignore[attr-defined]
