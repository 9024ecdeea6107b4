"""Plan compliance: checks by stage and tier, freshness and due dates, status and map status."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kamrules import Engine, InvalidRecord, RulebookError, load_rulebook_text
from kamrules.explanation.decision import Compliance
from tests.conftest import AS_OF, SMALL_RULEBOOK

PLAN_CHECKS = """
plan_checks:
  - id: mentor_review
    title: The mentor reviewed the plan in the last 60 days
    severity: major
    fresh: {date: plan.last_reviewed, within_days: 60}
    owner: plan.mentor
    remediation: Book the plan review with the account mentor.
  - id: decision_maker_supporter
    title: At least one decision maker supports us
    from_stage: contract_negotiation
    severity: blocker
    require: count(contacts, role == 'decision_maker' and stance in ['mentor', 'supporter']) >= 1
    owner: plan.owner
    remediation: Build a supporter among the decision makers.
  - id: gold_only
    title: Gold accounts have an agreed plan
    tiers: [Gold]
    severity: minor
    require: plan.status in ['agreed', 'active']
    remediation: Agree the plan with the account team.
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(SMALL_RULEBOOK + PLAN_CHECKS))


def account(**facts: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "A-1",
        "annual_revenue": 5_000_000,
        "strategic_fit": 4,
        "relationship_strength": 4,
        "wants_key_account": True,
        "credit_risk": "low",
        "stage": "contract_negotiation",
        "plan": {"owner": "Kim", "mentor": "Lee", "status": "agreed", "last_reviewed": "2026-10-01"},
        "contacts": [{"name": "Ada", "role": "decision_maker", "stance": "supporter"}],
    }
    base.update(facts)
    return {k: v for k, v in base.items() if v is not None}


def compliance(engine: Engine, **facts: Any) -> Compliance:
    result = engine.decide(account(**facts), AS_OF).compliance
    assert result is not None
    return result


def by_id(result: Compliance) -> dict[str, Any]:
    return {c.id: c for c in result.checks}


def test_compliant_plan_with_next_due_date(engine: Engine) -> None:
    result = compliance(engine)
    assert result.status == "compliant"
    assert result.score == 100
    checks = by_id(result)
    review = checks["mentor_review"]
    assert review.passed and review.due == dt.date(2026, 11, 30)
    assert review.note == "last done 2026-10-01, 31 days ago; must be within 60 days"
    assert result.next_due == dt.date(2026, 11, 30)
    assert not checks["gold_only"].applies
    assert checks["gold_only"].note == "does not apply to tier Silver"


def test_stale_review_puts_the_plan_at_risk_and_says_who_acts(engine: Engine) -> None:
    result = compliance(engine, plan={"owner": "Kim", "mentor": "Lee", "last_reviewed": "2026-08-01"})
    review = by_id(result)["mentor_review"]
    assert result.status == "at_risk"
    assert not review.passed and review.overdue_days == 32
    assert review.due == dt.date(2026, 9, 30)
    assert review.owner == "Lee (plan.mentor)"
    assert review.remediation == "Book the plan review with the account mentor."
    assert result.score == pytest.approx(60)  # blocker 3 passed of 3 + major 2 = 5


def test_blocker_failure_is_non_compliant(engine: Engine) -> None:
    result = compliance(engine, contacts=[{"role": "decision_maker", "stance": "neutral"}])
    assert result.status == "non_compliant"
    check = by_id(result)["decision_maker_supporter"]
    assert check.evidence == {"count(contacts, role == 'decision_maker' and stance in ['mentor', 'supporter'])": 0}
    assert check.owner == "Kim (plan.owner)"


def test_checks_appear_and_disappear_with_the_stage(engine: Engine) -> None:
    early = by_id(compliance(engine, stage="pre_sales", contacts=[]))
    assert not early["decision_maker_supporter"].applies
    assert early["decision_maker_supporter"].note == (
        "does not apply at stage pre sales; it applies from contract negotiation on"
    )
    later = by_id(compliance(engine, stage="review", contacts=[]))
    assert later["decision_maker_supporter"].applies and not later["decision_maker_supporter"].passed


def test_missing_plan_is_missing_evidence(engine: Engine) -> None:
    decision = engine.decide(account(plan=None), AS_OF)
    assert decision.compliance is not None
    review = by_id(decision.compliance)["mentor_review"]
    assert review.unknown and not review.passed
    # the account manager is told why; the facts stay listed for the policy owner
    assert review.note == "evidence missing: there is no plan"
    assert review.evidence == {"plan.last_reviewed": None}
    assert decision.compliance.missing_facts == ["plan.last_reviewed"]
    # with a plan, the fact it lacks is named
    dated = by_id(compliance(engine, plan={"owner": "Kim"}))["mentor_review"]
    assert dated.note == "evidence missing: plan.last_reviewed"


def test_an_aggregate_without_a_value_says_why() -> None:
    """The oldest review of a plan with no reviews: the list is empty, or no item has it."""
    engine = Engine(load_rulebook_text(SMALL_RULEBOOK + FRESH_FROM_A_LIST))
    empty = by_id(compliance(engine, plan={"owner": "Kim", "reviews": []}))["joint_review"]
    assert empty.note == (
        "evidence missing: max(plan.reviews, date, kind == 'joint'), as no plan.reviews are recorded"
    )
    reviews = [{"kind": "mentor", "date": "2026-10-01"}]
    mentor_only = by_id(compliance(engine, plan={"owner": "Kim", "reviews": reviews}))
    assert mentor_only["joint_review"].note == (
        "evidence missing: max(plan.reviews, date, kind == 'joint'), as no item of plan.reviews has a value for it"
    )
    assert by_id(compliance(engine, plan=None))["joint_review"].note == "evidence missing: there is no plan"


FRESH_FROM_A_LIST = """
plan_checks:
  - id: joint_review
    title: A joint review in the last 100 days
    severity: major
    fresh: {date: "max(plan.reviews, date, kind == 'joint')", within_days: 100}
    remediation: Hold the joint review.
"""


def test_unknown_stage_skips_stage_checks_and_flags_it(engine: Engine) -> None:
    decision = engine.decide(account(stage=None), AS_OF)
    assert decision.compliance is not None
    check = by_id(decision.compliance)["decision_maker_supporter"]
    assert not check.applies and check.note.startswith("not checked: the account's stage is missing")
    assert "account.stage" in decision.compliance.missing_facts


def test_non_key_accounts_have_no_checks_by_default(engine: Engine) -> None:
    result = compliance(engine, wants_key_account=False)
    assert result.status == "not_applicable" and result.score is None


def test_future_dates_are_record_errors(engine: Engine) -> None:
    with pytest.raises(InvalidRecord) as info:
        engine.decide(account(plan={"last_reviewed": "2027-01-02"}), AS_OF)
    assert str(info.value) == "account 'A-1': plan.last_reviewed: 2027-01-02 is after the as-of date 2026-11-01"


def test_unknown_stage_name_is_a_record_error(engine: Engine) -> None:
    with pytest.raises(InvalidRecord) as info:
        engine.decide(account(stage="contract_negotiaton"), AS_OF)
    assert "did you mean 'contract_negotiation'?" in str(info.value)


@pytest.mark.parametrize(
    ("contacts", "status"),
    [
        ([], 0),
        ([{"role": "user", "influence": 2}], 1),
        ([{"role": "decision_maker", "stance": "neutral"}], 2),
        ([{"role": "user", "influence": 5, "stance": "mentor"}], 3),
    ],
)
def test_map_status(engine: Engine, contacts: list[dict[str, Any]], status: int) -> None:
    assert compliance(engine, contacts=contacts).map_status == status


def test_rule_errors_in_plan_checks() -> None:
    bad = PLAN_CHECKS.replace("tiers: [Gold]", "tiers: [Gould]").replace(
        "from_stage: contract_negotiation", "from_stage: review\n    to_stage: pre_sales"
    )
    with pytest.raises(RulebookError) as info:
        load_rulebook_text(SMALL_RULEBOOK + bad)
    messages = [p.message for p in info.value.problems]
    assert "plan check 'gold_only' names the tier 'Gould', which does not exist" in messages
    assert any("to_stage 'pre_sales' comes before from_stage 'review'" in m for m in messages)


def test_fresh_needs_a_date() -> None:
    bad = PLAN_CHECKS.replace("fresh: {date: plan.last_reviewed", "fresh: {date: plan.mentor")
    with pytest.raises(RulebookError) as info:
        load_rulebook_text(SMALL_RULEBOOK + bad)
    assert "plan check 'mentor_review' `fresh.date` must give a date" in str(info.value)


def test_a_future_date_no_rule_reads_does_not_block_the_decision(engine: Engine) -> None:
    # competitors are not read by this rulebook's checks: their dates cannot make a check pass
    raw = account(
        plan={
            "owner": "Kim",
            "mentor": "Lee",
            "last_reviewed": "2026-10-01",
            "competitors": [{"name": "Rival", "assessed": "2027-05-01"}],
        }
    )
    assert engine.decide(raw, AS_OF).tier == "Silver"


# -- which items a failed check failed for -----------------------------------------------------

ITEM_CHECKS = """
plan_checks:
  - id: team_signed
    title: Every team member signed the current plan
    severity: major
    require: >-
      all(team, any(plan.sign_offs, sign_off.member == member.name and sign_off.version == plan.version))
    owner: plan.owner
    remediation: Collect the missing sign-offs.
  - id: opponents_mitigated
    title: Every opponent has a mitigation
    severity: minor
    require: count(contacts) >= 1 and all(contacts, stance != 'enemy' or present(mitigation))
    remediation: Plan a mitigation for each opponent.
  - id: no_restricted_contact
    title: No contact in a restricted department
    severity: minor
    require: none(contacts, any(restrictions, restriction.department == contact.department))
    remediation: Stop contacting the restricted department.
  - id: active_or_mitigated
    title: An active plan, or every opponent mitigated
    severity: minor
    require: plan.status == 'active' or all(contacts, stance != 'enemy' or present(mitigation))
    remediation: Activate the plan.
"""


@pytest.fixture(scope="module")
def item_engine() -> Engine:
    return Engine(load_rulebook_text(SMALL_RULEBOOK + ITEM_CHECKS))


def test_a_failed_all_names_the_items_at_fault(item_engine: Engine) -> None:
    """The evidence of all() is one yes or no; the account manager is told who to chase."""
    result = compliance(
        item_engine,
        team=[{"name": "Kim"}, {"name": "Lee"}, {"name": "Max"}],
        plan={
            "owner": "Kim",
            "version": 3,
            "sign_offs": [{"member": "Kim", "version": 3}, {"member": "Lee", "version": 2}],
        },
    )
    signed = by_id(result)["team_signed"]
    assert not signed.passed
    [group] = signed.at_fault
    assert (group.items_of, group.total, group.count, group.names) == ("team", 3, 2, ["Lee", "Max"])
    assert signed.note == "does not hold: fails for 2 of 3 team: Lee, Max"


def test_items_are_named_by_their_own_facts_or_their_position(item_engine: Engine) -> None:
    contacts = [
        {"name": "Ada", "id": "C1", "stance": "enemy"},
        {"id": "C2", "stance": "enemy", "mitigation": "Workshop"},
        {"id": "C3", "stance": "enemy"},
        {"stance": "enemy"},
        {"name": "Bo", "stance": "supporter"},
    ]
    check = by_id(compliance(item_engine, contacts=contacts))["opponents_mitigated"]
    [group] = check.at_fault
    assert group.names == ["Ada (id C1)", "C3", "contact 4"]
    assert check.note == (
        "does not hold: count(contacts) = 5; fails for 3 of 5 contacts: Ada (id C1), C3, contact 4"
    )


def test_a_failed_none_names_the_items_that_match(item_engine: Engine) -> None:
    result = compliance(
        item_engine,
        contacts=[{"name": "Ada", "department": "R&D"}, {"name": "Bo", "department": "Sales"}],
        restrictions=[{"department": "R&D", "contact": "C9"}],
    )
    check = by_id(result)["no_restricted_contact"]
    assert [(g.items_of, g.count, g.names) for g in check.at_fault] == [("contacts", 1, ["Ada"])]


def test_at_most_ten_items_are_named_and_the_rest_counted(item_engine: Engine) -> None:
    contacts = [{"name": f"Enemy {i:02d}", "stance": "enemy"} for i in range(25)]
    check = by_id(compliance(item_engine, contacts=contacts))["opponents_mitigated"]
    [group] = check.at_fault
    assert group.count == 25 and group.names == [f"Enemy {i:02d}" for i in range(10)]
    assert check.note.endswith("fails for 25 of 25 contacts: " + ", ".join(group.names) + " and 15 more")


def test_passed_and_unknown_checks_name_no_items(item_engine: Engine) -> None:
    result = compliance(item_engine, contacts=[{"name": "Ada", "stance": "supporter"}])
    checks = by_id(result)
    assert checks["opponents_mitigated"].passed and checks["opponents_mitigated"].at_fault == []
    # the plan's status is missing and all() is false: the condition is unknown, and an
    # unknown check reports its missing evidence, not items
    enemy = [{"name": "Ada", "stance": "enemy"}]
    unknown = by_id(compliance(item_engine, contacts=enemy, plan={"owner": "Kim"}))["active_or_mitigated"]
    assert unknown.unknown and unknown.at_fault == []
    assert unknown.note == "evidence missing: plan.status"


def test_without_a_plan_nobody_has_signed_it(item_engine: Engine) -> None:
    """any() over the sign-offs of a missing plan is unknown, which all() counts as not
    holding: every member is named."""
    check = by_id(compliance(item_engine, team=[{"name": "Kim"}], plan=None))["team_signed"]
    assert not check.passed and [g.names for g in check.at_fault] == [["Kim"]]


def test_a_future_date_of_a_list_read_only_for_other_facts_does_not_block(engine: Engine) -> None:
    """The rules read the contacts' roles and stances, never when they were last contacted."""
    late = [{"name": "Ada", "role": "decision_maker", "stance": "supporter", "last_contacted": "2027-01-01"}]
    assert engine.decide(account(contacts=late), AS_OF).tier == "Silver"
    reading = Engine(load_rulebook_text(SMALL_RULEBOOK + PLAN_CHECKS.replace(
        "stance in ['mentor', 'supporter']", "stance in ['mentor', 'supporter'] and present(last_contacted)"
    )))
    with pytest.raises(InvalidRecord, match=r"contacts\[0\]\.last_contacted: 2027-01-01 is after the as-of date"):
        reading.decide(account(contacts=late), AS_OF)


def test_a_failed_not_any_names_the_items_that_match() -> None:
    """`not any(...)` fails because of the items that match it: those are named."""
    rules = SMALL_RULEBOOK + """
plan_checks:
  - id: no_enemy_unowned
    title: No opponent without an owner
    severity: major
    require: not any(contacts, stance == 'enemy' and missing(owner))
    remediation: Give every opponent an owner.
"""
    engine = Engine(load_rulebook_text(rules))
    contacts = [
        {"name": "Max", "id": "C1", "stance": "enemy"},
        {"name": "Ada", "id": "C2", "stance": "enemy", "owner": "Kim"},
        {"name": "Bo", "id": "C3", "stance": "supporter"},
    ]
    check = by_id(compliance(engine, contacts=contacts))["no_enemy_unowned"]
    assert check.note == "does not hold: fails for 1 of 3 contacts: Max (id C1)"
