"""Paths through the nested schema, aggregates over every list, item names, nesting, and the
functions that came with them (none, max_share, add_days)."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from types import SimpleNamespace
from typing import Any

import pytest
from expr_support import (
    AS_OF,
    SCHEMA,
    compile_,
    contact,
    customer_objective,
    member,
    objective,
    plan,
    record,
    relationship,
    restriction,
    review,
    run,
    sign_off,
)

from kamrules.errors import ExpressionError
from kamrules.expressions import compile_expression
from kamrules.facts.schema import (
    COMPETITOR_FIELDS,
    FEEDBACK_FIELDS,
    METRIC_FIELDS,
    OPPORTUNITY_FIELDS,
    FactSchema,
)
from kamrules.facts.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    FactField,
    ListType,
    RecordType,
)


def error(source: str, **options: Any) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        compile_(source, **options)
    return caught.value


def check(source: str, message: str, offset: int, hint: str | None = None) -> None:
    e = error(source)
    assert (e.message, e.offset, e.hint) == (message, offset, hint)


def _item(fields: dict[str, FactField], **facts: Any) -> Any:
    from expr_support import _build

    return _build(fields, facts)


# One item of each list, and a condition that holds for it.
ACCOUNT_LISTS: dict[str, tuple[Any, str]] = {
    "contacts": (contact(name="Ann", stance="mentor"), "stance == 'mentor'"),
    "team": (member("Kim", role="service"), "role == 'service'"),
    "relationships": (relationship("Kim", "C1", strength=4), "strength >= 4"),
    "restrictions": (restriction("R&D", since=dt.date(2026, 1, 1)), "department == 'R&D'"),
}
PLAN_LISTS: dict[str, tuple[Any, str]] = {
    "objectives": (objective(title="Grow", status="open"), "status == 'open'"),
    "customer_objectives": (customer_objective(description="Expand"), "present(description)"),
    "competitors": (_item(COMPETITOR_FIELDS, name="X", position="strong"), "position == 'strong'"),
    "service_metrics": (_item(METRIC_FIELDS, name="OTD", target=98.0, actual=97.0), "actual < target"),
    "growth_opportunities": (_item(OPPORTUNITY_FIELDS, value=10.0), "value > 5"),
    "management_feedback": (_item(FEEDBACK_FIELDS, date=dt.date(2026, 5, 1)), "date < today()"),
    "reviews": (review(kind="mentor", date=dt.date(2026, 5, 1)), "kind == 'mentor'"),
    "sign_offs": (sign_off("Kim", version=3), "version == 3"),
}


def test_every_list_of_the_schema_is_covered_here() -> None:
    lists = {n for n, f in SCHEMA.account.fields.items() if isinstance(f.type, ListType)}
    plan_lists = {n for n, f in SCHEMA.plan.fields.items() if isinstance(f.type, ListType)}
    assert lists == set(ACCOUNT_LISTS)
    assert plan_lists == set(PLAN_LISTS)


# -- aggregates over each list ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ACCOUNT_LISTS))
def test_aggregates_over_each_account_list(name: str) -> None:
    item, condition = ACCOUNT_LISTS[name]
    rec = record(**{name: [item, item]})
    assert run(f"count({name})", rec) == 2
    assert run(f"count({name}, {condition})", rec) == 2
    assert run(f"count(account.{name}, {condition})", rec) == 2
    assert run(f"any({name}, {condition})", rec) is True
    assert run(f"all({name}, {condition})", rec) is True
    assert run(f"none({name}, {condition})", rec) is False
    assert run(f"count({name})", record()) == 0
    assert run(f"none({name}, {condition})", record()) is True
    compiled = compile_(f"count({name}, {condition})")
    assert compiled.nullable is False  # account lists are never missing
    assert compiled.evidence == (f"count({name}, {condition})",)


@pytest.mark.parametrize("name", list(PLAN_LISTS))
def test_aggregates_over_each_plan_list(name: str) -> None:
    item, condition = PLAN_LISTS[name]
    rec = record(plan=plan(**{name: [item]}))
    assert run(f"count(plan.{name})", rec) == 1
    assert run(f"count(plan.{name}, {condition})", rec) == 1
    assert run(f"count(account.plan.{name}, {condition})", rec) == 1
    assert run(f"all(plan.{name}, {condition})", rec) is True
    assert run(f"count(plan.{name})", record(plan=plan())) == 0
    compiled = compile_(f"count(account.plan.{name}, {condition})")
    assert compiled.evidence == (f"count(plan.{name}, {condition})",)


@pytest.mark.parametrize("name", list(PLAN_LISTS))
@pytest.mark.parametrize("aggregate", ["count({})", "any({}, true)", "all({}, true)", "none({}, true)"])
def test_an_aggregate_over_a_list_of_a_missing_plan_is_unknown_not_zero(name: str, aggregate: str) -> None:
    source = aggregate.format(f"plan.{name}")
    compiled = compile_(source)
    assert compiled.nullable is True
    assert compiled.evaluate(record(plan=None), None, AS_OF) == (None, (None,))
    # ... so a check says the evidence is missing instead of failing on "0 objectives".
    assert run(f"{source} == 0" if aggregate.startswith("count") else f"not {source}", record()) is None


@pytest.mark.parametrize(
    "source",
    [
        "distinct(plan.reviews, kind)",
        "sum(plan.reviews, version)",
        "min(plan.reviews, date)",
        "max(plan.reviews, date, kind == 'mentor')",
        "max_share(plan.sign_offs, member)",
        "count(plan.objectives, present(owner)) == count(plan.objectives)",
    ],
)
def test_every_aggregate_over_a_missing_plan_is_unknown(source: str) -> None:
    assert run(source, record(plan=None)) is None
    assert compile_(source).nullable is True


def test_aggregates_over_account_lists_are_known_without_a_plan() -> None:
    rec = record(plan=None, contacts=[contact(influence=2)])
    assert run("count(contacts, influence >= 2)", rec) == 1
    assert run("sum(contacts, influence)", rec) == 2
    # A plan fact inside the condition is unknown for each item: the item does not match.
    assert run("count(contacts, influence <= plan.version)", rec) == 0


# -- paths -----------------------------------------------------------------------------------------


def test_plan_paths_are_shorthand_for_account_plan_paths() -> None:
    rec = record(plan=plan(version=4))
    assert run("account.plan.version", rec) == 4
    assert run("plan.version", rec) == 4
    assert run("account.plan.version", record()) is None
    assert compile_("account.plan.version").evidence == ("plan.version",)
    assert compile_("account.plan.version").nullable is True
    compiled = compile_("plan.version == account.plan.version")
    assert compiled.evidence == ("plan.version",)


def test_records_and_lists_are_not_values() -> None:
    plan_message = "plan alone is not a fact; name one of its facts, such as plan.last_reviewed"
    check("plan", plan_message, 0)
    check("account.plan", plan_message, 0)
    check("1 + count(contacts, present(plan))", plan_message, 28)
    lists = "count(), any(), all(), none(), distinct(), sum(), min(), max() or max_share()"
    objectives = f"plan.objectives is a list; read it through {lists}, such as count(plan.objectives)"
    check("plan.objectives", objectives, 0)
    check("team == 1", f"team is a list; read it through {lists}, such as count(team)", 0)
    check("plan.objectives.title", objectives, 0)
    check("count(contacts, team)", f"team is a list; read it through {lists}, such as count(team)", 16)
    check(
        "plan.owner.x",
        "'plan.owner' is a fact, not a group of facts; a path with a dot starts with account., plan. or score.",
        0,
    )


# -- item names ---------------------------------------------------------------------------------


def test_the_item_name_reads_the_current_item_explicitly() -> None:
    rec = record(contacts=[contact(level="board"), contact(level="executive"), contact()])
    assert run("count(contacts, contact.level == 'board')", rec) == 1
    assert run("count(contacts, level == 'board')", rec) == 1
    # Both spellings are one evidence term, written canonically.
    compiled = compile_("count(contacts, contact.level == 'board') + count(contacts, level == 'board')")
    assert compiled.evidence == ("count(contacts, level == 'board')",)


def test_item_names_of_every_list() -> None:
    rec = record(
        team=[member("Kim")],
        plan=plan(version=2, sign_offs=[sign_off("Kim", version=2)], reviews=[review(kind="joint")]),
    )
    assert run("any(team, member.name == 'Kim')", rec) is True
    assert run("any(plan.sign_offs, sign_off.version == plan.version)", rec) is True
    assert run("any(plan.reviews, review.kind == 'joint')", rec) is True


def test_an_item_alone_is_not_a_fact() -> None:
    check("count(contacts, contact)", "contact alone is not a fact; name one of its facts, such as contact.role", 16)


def test_an_item_name_is_only_known_inside_an_aggregate_over_its_list() -> None:
    check(
        "contact.level == 'board'",
        "'contact' is an item of contacts; it can only be read inside an aggregate over contacts",
        0,
    )
    check(
        "count(contacts, sign_off.version > 1)",
        "'sign_off' is an item of plan.sign_offs; it can only be read inside an aggregate over plan.sign_offs",
        16,
    )


def test_unknown_item_name_suggests_the_items_in_reach() -> None:
    check(
        "count(contacts, contakt.level == 'board')",
        "there is no 'contakt'; a path with a dot starts with contact., account., plan. or score.",
        16,
        "did you mean 'contact'?",
    )
    check(
        "all(team, any(plan.sign_offs, sign_of.version == 1))",
        "there is no 'sign_of'; a path with a dot starts with sign_off., member., account., plan. or score.",
        30,
        "did you mean 'sign_off'?",
    )


def test_unknown_fact_of_a_named_item() -> None:
    check(
        "all(team, any(plan.sign_offs, sign_off.vesion == 1))",
        "sign_off has no fact 'vesion'",
        30,
        "did you mean 'version'?",
    )
    check("any(team, member.nme == 'x')", "member has no fact 'nme'", 10, "did you mean 'name'?")


def test_unknown_bare_name_on_an_item() -> None:
    check(
        "count(team, stance == 'x')",
        "'stance' is not a member or account fact",
        12,
        "stance is a fact of the items of contacts; read it inside an aggregate over that list",
    )
    check("count(team, nam == 'x')", "'nam' is not a member or account fact", 12, "did you mean 'name'?")
    check(
        "count(team, date > today())",
        "'date' is not a member or account fact",
        12,
        "date is a fact of the items of plan.management_feedback, plan.reviews and plan.sign_offs; read it "
        "inside an aggregate over one of them",
    )
    check(
        "all(team, any(plan.sign_offs, rol == 'x'))",
        "'rol' is not a sign_off, member or account fact",
        30,
        "did you mean 'role'?",
    )


def test_unknown_list_suggests_the_nearest_list() -> None:
    check("count(contcts)", "there is no list 'contcts'", 6, "did you mean 'contacts'?")
    check("any(contcts, true)", "there is no list 'contcts'", 4, "did you mean 'contacts'?")
    check("count(objectives)", "there is no list 'objectives'", 6, "did you mean 'plan.objectives'?")
    check("count(plan.objectivs)", "plan has no list 'objectivs'", 6, "did you mean 'objectives'?")
    check("count(account.tem)", "account has no list 'tem'", 6, "did you mean 'team'?")
    check(
        "count(plan)",
        "the first argument of count() must be a list, such as contacts or plan.objectives; write "
        "count(list) or count(list, condition)",
        6,
    )


# -- nested aggregates ------------------------------------------------------------------------------

EVERY_MEMBER_SIGNED = (
    "all(team, any(plan.sign_offs, sign_off.member == member.name and sign_off.version == plan.version))"
)
RESTRICTIONS_RESPECTED = (
    "all(restrictions, none(contacts, department == restriction.department and last_contacted >= restriction.since))"
)


@pytest.mark.parametrize(
    ("sign_offs", "version", "expected"),
    [
        ([sign_off("Kim", version=3), sign_off("Lee", version=3)], 3, True),
        ([sign_off("Kim", version=3), sign_off("Lee", version=2)], 3, False),  # Lee signed an old version
        ([sign_off("Kim", version=3)], 3, False),  # Lee did not sign
        ([sign_off("Kim", version=3), sign_off("Lee", version=3)], None, False),  # version unknown
        ([sign_off("Kim"), sign_off("Lee", version=3)], 3, False),  # Kim's version unknown
        ([], 3, False),
    ],
)
def test_every_team_member_signed_the_current_plan(sign_offs: list[Any], version: Any, expected: bool) -> None:
    rec = record(team=[member("Kim"), member("Lee")], plan=plan(version=version, sign_offs=sign_offs))
    assert run(EVERY_MEMBER_SIGNED, rec) is expected


def test_every_member_signed_with_no_team_or_no_plan() -> None:
    assert run(EVERY_MEMBER_SIGNED, record(plan=plan(version=1))) is True  # nobody to sign
    # No plan: each member's any() is unknown, which all() counts as not matching.
    assert run(EVERY_MEMBER_SIGNED, record(team=[member("Kim")])) is False
    compiled = compile_(EVERY_MEMBER_SIGNED)
    assert compiled.evidence == (EVERY_MEMBER_SIGNED,)
    assert compiled.type == BOOLEAN


@pytest.mark.parametrize(
    ("contacts", "expected"),
    [
        ([contact(department="R&D", last_contacted=dt.date(2026, 3, 1))], False),  # approached after
        ([contact(department="R&D", last_contacted=dt.date(2025, 12, 1))], True),  # before the request
        ([contact(department="Sales", last_contacted=dt.date(2026, 3, 1))], True),
        ([contact(department="R&D")], True),  # never contacted
        ([], True),
    ],
)
def test_no_contact_approached_in_a_restricted_department(contacts: list[Any], expected: bool) -> None:
    rec = record(restrictions=[restriction("R&D", since=dt.date(2026, 1, 1))], contacts=contacts)
    assert run(RESTRICTIONS_RESPECTED, rec) is expected
    assert compile_(RESTRICTIONS_RESPECTED).evidence == (
        "all(restrictions, none(contacts, contact.department == restriction.department and "
        "contact.last_contacted >= restriction.since))",
    )


def test_restriction_without_a_date_matches_no_contact() -> None:
    rec = record(restrictions=[restriction("R&D")], contacts=[contact(department="R&D", last_contacted=AS_OF)])
    assert run(RESTRICTIONS_RESPECTED, rec) is True


def test_nested_labels_name_every_item_explicitly() -> None:
    compiled = compile_("count(contacts, any(team, name == contact.owner) and influence > 3)")
    assert compiled.evidence == ("count(contacts, any(team, member.name == contact.owner) and influence > 3)",)


def test_inner_aggregate_that_reads_no_outer_item() -> None:
    rec = record(contacts=[contact(influence=i) for i in (1, 5, 3, 5, None)])
    assert run("count(contacts, influence >= max(contacts, influence))", rec) == 2
    assert run("count(contacts, count(contacts) > 4)", rec) == 5
    assert run("all(team, count(plan.objectives) > 0)", record(team=[member()])) is False  # no plan


def test_nesting_three_deep_is_allowed_and_four_is_not() -> None:
    rec = record(
        contacts=[contact(id="C1", owner="Kim")],
        team=[member("Kim")],
        relationships=[relationship("Kim", "C1")],
    )
    source = (
        "count(contacts, any(team, member.name == contact.owner and "
        "any(relationships, relationship.member == member.name and relationship.contact == contact.id)))"
    )
    assert run(source, rec) == 1
    check(
        "count(contacts, any(team, any(relationships, any(restrictions, true))))",
        "aggregates can be nested at most 3 deep; split this rule into simpler ones",
        45,
    )


# -- shadowing: innermost item, then outer items, then the account --------------------------------


def test_bare_names_read_the_innermost_item_first() -> None:
    rec = record(name="Acme", contacts=[contact(name="Ann")], team=[member("Kim")])
    # `name` is a fact of members, contacts and the account: the member's wins here.
    assert run("count(contacts, any(team, name == 'Kim'))", rec) == 1
    assert run("count(contacts, any(team, name == 'Ann'))", rec) == 0
    assert run("count(contacts, any(team, contact.name == 'Ann'))", rec) == 1
    assert run("count(contacts, any(team, account.name == 'Acme'))", rec) == 1


def test_bare_names_fall_back_to_outer_items_then_the_account() -> None:
    rec = record(industry="Chemicals", contacts=[contact(stance="mentor")], team=[member("Kim")])
    # members have no stance: the contact's is read
    assert run("count(contacts, any(team, stance == 'mentor'))", rec) == 1
    # neither has an industry: the account's is read
    assert run("count(contacts, any(team, industry == 'Chemicals'))", rec) == 1
    assert compile_("count(contacts, any(team, stance == 'mentor' and industry == 'x'))").evidence == (
        "count(contacts, any(team, contact.stance == 'mentor' and account.industry == 'x'))",
    )


def test_an_item_name_wins_over_a_fact_of_the_same_name() -> None:
    # Relationships have a fact called `contact` (the contact's id); `contact.id` still names
    # the outer item, while bare `contact` is the relationship's fact.
    rec = record(
        contacts=[contact(id="C1"), contact(id="C2")],
        relationships=[relationship("Kim", "C1")],
    )
    assert run("count(contacts, any(relationships, relationship.contact == contact.id))", rec) == 1
    assert run("count(contacts, any(relationships, contact == contact.id))", rec) == 1
    assert run("count(relationships, contact == 'C1')", rec) == 1


def test_the_same_list_nested_shadows_its_outer_item() -> None:
    # Inside count(contacts, count(contacts, ...)) the item name `contact` is the inner one.
    rec = record(contacts=[contact(department="A"), contact(department="A"), contact(department="B")])
    assert run("count(contacts, count(contacts, department == contact.department) > 1)", rec) == 3


# -- none ---------------------------------------------------------------------------------------


def test_none_is_true_when_no_item_matches() -> None:
    rec = record(contacts=[contact(stance="mentor"), contact()])
    assert run("none(contacts, stance == 'enemy')", rec) is True
    assert run("none(contacts, stance == 'mentor')", rec) is False
    assert run("none(contacts, stance != 'mentor')", rec) is True  # unknown is not a match
    assert run("none(contacts, stance == 'enemy')", record()) is True
    assert compile_("none(contacts, stance == 'enemy')").type == BOOLEAN
    assert error("none(contacts)").message == "none() was given 1 argument; write none(list, condition)"


# -- max_share -----------------------------------------------------------------------------------


def test_max_share_is_the_share_of_the_most_common_value() -> None:
    rels = [relationship(m) for m in ["Kim"] * 7 + ["Lee"] * 2 + ["Ana"]]
    rec = record(relationships=rels)
    assert run("max_share(relationships, member)", rec) == 0.7
    assert run("max_share(relationships, member) <= 0.7", rec) is True
    assert run("max_share(relationships, member) < 0.7", rec) is False
    compiled = compile_("max_share(relationships, member)")
    assert (compiled.type, compiled.nullable) == (NUMBER, False)


def test_max_share_ties_and_missing_values() -> None:
    tie = record(contacts=[contact(owner="Kim"), contact(owner="Lee"), contact(owner="Kim"), contact(owner="Lee")])
    assert run("max_share(contacts, owner)", tie) == 0.5
    # Missing values are not a value, but they are items: 2 of 4 contacts are Kim's.
    gaps = record(contacts=[contact(owner="Kim"), contact(owner="Kim"), contact(), contact()])
    assert run("max_share(contacts, owner)", gaps) == 0.5
    assert run("max_share(contacts, owner)", record(contacts=[contact(), contact()])) == 0.0
    assert run("max_share(contacts, owner)", record()) == 0.0


def test_max_share_with_a_condition_and_over_the_plan() -> None:
    rec = record(
        contacts=[contact(owner="Kim", influence=5), contact(owner="Lee", influence=5), contact(owner="Kim")],
        plan=plan(sign_offs=[sign_off("Kim"), sign_off("Kim"), sign_off("Lee"), sign_off("Ann")]),
    )
    assert run("max_share(contacts, owner, influence >= 4)", rec) == 0.5
    assert run("max_share(contacts, owner, influence >= 9)", rec) == 0.0
    assert run("max_share(plan.sign_offs, member)", rec) == 0.5
    assert run("max_share(plan.sign_offs, member)", record()) is None


def test_max_share_needs_a_value() -> None:
    assert error("max_share(contacts)").message == (
        "max_share() was given 1 argument; write max_share(list, value) or max_share(list, value, condition)"
    )
    assert error("max_share(contacts, null)").message == "max_share() needs a value of each contact, not null"


# -- sum / min / max with a condition, over dates ----------------------------------------------


def test_sum_min_max_with_a_condition() -> None:
    rec = record(
        contacts=[
            contact(influence=5, stance="mentor"),
            contact(influence=2, stance="mentor"),
            contact(influence=4, stance="enemy"),
            contact(stance="mentor"),
        ]
    )
    assert run("sum(contacts, influence, stance == 'mentor')", rec) == 7
    assert run("min(contacts, influence, stance == 'mentor')", rec) == 2
    assert run("max(contacts, influence, stance != 'mentor')", rec) == 4
    assert run("max(contacts, influence, stance == 'supporter')", rec) is None
    assert run("sum(contacts, influence, stance == 'supporter')", rec) == 0
    assert run("distinct(contacts, influence, stance == 'mentor')", rec) == 2
    assert error("sum(contacts, influence, influence)").message == (
        "the condition of sum() must be true or false, but it gives a number"
    )


def test_min_max_over_dates() -> None:
    rec = record(
        plan=plan(
            reviews=[
                review(kind="mentor", date=dt.date(2026, 3, 1)),
                review(kind="team", date=dt.date(2026, 9, 1)),
                review(kind="mentor", date=dt.date(2026, 6, 1)),
                review(kind="mentor"),
            ]
        )
    )
    source = "max(plan.reviews, date, kind == 'mentor')"
    assert run(source, rec) == dt.date(2026, 6, 1)
    assert run("min(plan.reviews, date)", rec) == dt.date(2026, 3, 1)
    assert run("max(plan.reviews, date, kind == 'joint')", rec) is None
    assert run(source, record(plan=plan())) is None
    assert run(f"days_since({source}) <= 365", rec) is True
    assert compile_(source).type == DATE


# -- add_days ---------------------------------------------------------------------------------


def test_add_days() -> None:
    rec = record(plan=plan(last_reviewed=dt.date(2026, 9, 2), horizon_months=2))
    assert run("add_days(plan.last_reviewed, 60)", rec) == dt.date(2026, 11, 1)
    assert run("add_days(plan.last_reviewed, -2)", rec) == dt.date(2026, 8, 31)
    assert run("add_days(plan.last_reviewed, plan.horizon_months * 30)", rec) == dt.date(2026, 11, 1)
    assert run("add_days(plan.last_reviewed, 60) >= today()", rec) is True
    assert run("add_days(plan.last_reviewed, 60)", record()) is None
    assert run("add_days(today(), plan.horizon_months)", record()) is None
    assert compile_("add_days(plan.last_reviewed, 1)").type == DATE
    assert compile_("add_days(today(), 1)").nullable is False
    assert run("count(plan.objectives, add_days(due, 7) < today())", rec) == 0


def test_add_days_beyond_the_calendar_is_unknown() -> None:
    assert run("add_days(date('9999-12-31'), 1)", record()) is None
    assert run("add_days(today(), 999999999999999)", record()) is None
    assert run("add_days(today(), count(contacts) * 999999999999999)", record(contacts=[contact()])) is None


def test_add_days_needs_a_date_and_whole_days() -> None:
    check("add_days(name, 1)", "add_days() needs a date, but it is given text", 9)
    check("add_days(today(), 1.5)", "add_days() needs a whole number of days, but it is given a number", 18)
    check("add_days(today())", "add_days() was given 1 argument; write add_days(date, days)", 0)


# -- item mode (derived contact facts) --------------------------------------------------------


KEY_PLAYER = "level in ['board', 'executive'] or influence >= 4 or role == 'decision_maker'"


def test_item_mode_computes_a_derived_fact_per_contact() -> None:
    compiled = compile_expression(KEY_PLAYER, SCHEMA, expect="boolean", item=SCHEMA.contact)
    assert compiled.evidence == ("contact.level", "contact.influence", "contact.role")
    assert compiled.evaluate(contact(level="board"), None, AS_OF)[0] is True
    assert compiled.evaluate(contact(influence=2), None, AS_OF)[0] is None
    assert compiled.evaluate(contact(influence=2, level="operational", role="user"), None, AS_OF)[0] is False


def test_item_mode_reads_nothing_outside_the_item() -> None:
    for source, message in [
        ("count(team) > 0", "team are not available here; only contact facts can be read"),
        ("plan.version > 1", "plan facts are not available here; only contact facts can be read"),
        ("account.plan.version > 1", "account facts are not available here; only contact facts can be read"),
        ("any(plan.reviews, true)", "plan facts are not available here; only contact facts can be read"),
        ("member.name == 'x'", "there is no 'member'; a path with a dot starts with contact. or score."),
    ]:
        with pytest.raises(ExpressionError) as caught:
            compile_expression(source, SCHEMA, item=SCHEMA.contact)
        assert caught.value.message == message, source


def test_derived_facts_read_like_any_boolean() -> None:
    rec = record(contacts=[contact(key_player=True, supportive=True), contact(key_player=True), contact()])
    assert run("count(contacts, key_player)", rec) == 2
    assert run("count(contacts, key_player and supportive)", rec) == 1
    assert run("count(contacts, contact.key_player and not supportive)", rec) == 0


# -- exact score comparisons ------------------------------------------------------------------


@pytest.mark.parametrize(
    "score", [Fraction(0), Fraction(1549, 20), Fraction(155, 2), Fraction(50), Fraction(1, 10), Fraction(200, 3), 50]
)
@pytest.mark.parametrize("literal", ["50", "77.5", "0.1", "0", "-1", "66.66666666666667", "100"])
@pytest.mark.parametrize("op", ["==", "!=", "<", "<=", ">", ">="])
def test_score_compared_with_a_literal_is_exactly_pythons_comparison(score: Any, literal: str, op: str) -> None:
    value = float(literal) if "." in literal else int(literal)
    expected = eval(f"a {op} b", {"a": score, "b": value})  # the Fraction comparison, as before
    flipped = eval(f"b {op} a", {"a": score, "b": value})
    scores = {"attractiveness": score, "strength": Fraction(0)}
    assert run(f"score.attractiveness {op} {literal}", record(), scores) is expected
    assert run(f"{literal} {op} score.attractiveness", record(), scores) is flipped


def test_score_comparisons_are_integer_arithmetic_in_the_generated_code() -> None:
    compiled = compile_("score.attractiveness >= 77.5 and 0 <= score.strength < 50")
    source = compiled.evaluate.__doc__ or ""
    assert "as_integer_ratio" in source
    assert "77.5" not in source
    scores = {"attractiveness": Fraction(155, 2), "strength": Fraction(49)}
    assert compiled.evaluate(record(), scores, AS_OF) == (True, (Fraction(155, 2), Fraction(49)))
    assert run("count(contacts, score.strength > 30)", record(contacts=[contact()]), scores) == 1


# -- generic paths (a schema with records and lists inside items) ------------------------------

SITE = RecordType("site", {"city": FactField("city", TEXT), "staff": FactField("staff", INTEGER)})
ASSISTANT = RecordType("assistant", {"name": FactField("name", TEXT)})
HEAD = RecordType(
    "head",
    {"name": FactField("name", TEXT), "assistants": FactField("assistants", ListType(ASSISTANT))},
)
DIVISION = RecordType(
    "division",
    {
        "name": FactField("name", TEXT, required=True),
        "head": FactField("head", HEAD),
        "sites": FactField("sites", ListType(SITE)),
    },
)
NESTED = FactSchema(
    account=RecordType(
        "account",
        {"id": FactField("id", TEXT, required=True), "divisions": FactField("divisions", ListType(DIVISION))},
    )
)


def _ns(**facts: Any) -> Any:
    from types import SimpleNamespace

    return SimpleNamespace(**facts)


def _division(name: str, head: Any = None, sites: list[Any] | None = None) -> Any:
    return _ns(name=name, head=head, sites=sites or [])


NESTED_RECORD = _ns(
    id="A",
    divisions=[
        _division("North", _ns(name="Ann", assistants=[_ns(name="Al")]), [_ns(city="Oslo", staff=12)]),
        _division("South", None, [_ns(city="Rome", staff=3), _ns(city="Oslo", staff=None)]),
        _division("East", _ns(name=None, assistants=[])),
    ],
)


@pytest.mark.parametrize(
    ("source", "expected", "label"),
    [
        ("count(divisions, head.name == 'Ann')", 1, "count(divisions, head.name == 'Ann')"),
        ("count(divisions, present(division.head.name))", 1, "count(divisions, present(head.name))"),
        ("sum(divisions, count(sites))", 3, "sum(divisions, count(sites))"),
        ("count(divisions, any(division.sites, staff > 10))", 1, "count(divisions, any(sites, site.staff > 10))"),
        ("count(divisions, count(head.assistants) > 0)", 1, "count(divisions, count(head.assistants) > 0)"),
        ("distinct(divisions, count(head.assistants))", 2, "distinct(divisions, count(head.assistants))"),
        (
            "max_share(divisions, any(sites, city == 'Oslo'))",
            2 / 3,
            "max_share(divisions, any(sites, site.city == 'Oslo'))",
        ),
    ],
)
def test_paths_through_records_and_lists_inside_items(source: str, expected: Any, label: str) -> None:
    compiled = compile_expression(source, NESTED)
    assert compiled.evaluate(NESTED_RECORD, None, AS_OF)[0] == expected
    assert compiled.evidence == (label,)


def test_item_mode_over_an_item_with_its_own_list() -> None:
    compiled = compile_expression("count(sites, staff > 5) + count(division.sites)", NESTED, item=DIVISION)
    assert compiled.evidence == ("count(division.sites, staff > 5)", "count(division.sites)")
    assert compiled.evaluate(NESTED_RECORD.divisions[0], None, AS_OF)[0] == 2
    compiled = compile_expression("head.name", NESTED, item=DIVISION)
    assert compiled.evaluate(NESTED_RECORD.divisions[1], None, AS_OF)[0] is None
    assert compiled.evidence == ("division.head.name",)


# -- an inner aggregate over a list the outer item does not change is a lookup ------------------

OWNED = "all(contacts, any(team, name == contact.owner))"
TWICE_REACHED = "all(contacts, count(relationships, contact == contact.id) >= 2)"
SIGNED_BY_OWNER = "all(contacts, none(plan.sign_offs, member == contact.owner))"
OWNS_A_CONTACT = "all(team, any(contacts, owner == member.name))"


class _CountedList(list[Any]):
    """A list that counts how often it is walked."""

    walks = 0

    def __iter__(self) -> Any:
        self.walks += 1
        return super().__iter__()


@pytest.mark.parametrize(
    ("source", "inner"),
    [(OWNED, "team"), (TWICE_REACHED, "relationships"), (OWNS_A_CONTACT, "contacts")],
)
def test_an_inner_aggregate_over_an_unchanging_list_walks_it_once(source: str, inner: str) -> None:
    """Written as it reads, each outer item would walk the whole inner list: n * n steps
    for a relationship map of n contacts and n relationships. The inner list is read once,
    into a set or a table of counts, the first time an outer item needs it."""
    lists = {
        "team": _CountedList(member(f"M{i}") for i in range(40)),
        "contacts": _CountedList(contact(id=f"C{i}", owner=f"M{i}") for i in range(40)),
        "relationships": _CountedList(relationship(f"M{i}", f"C{i}") for i in range(40)),
    }
    run(source, record(**lists))
    assert lists[inner].walks == 1


def test_an_inner_list_no_outer_item_needs_is_not_walked() -> None:
    """A decision maker is needed for count(relationships, ...) to be read; with none, the
    relationships are never walked."""
    relationships = _CountedList(relationship("Kim", f"C{i}") for i in range(40))
    rec = record(contacts=[contact(id="C1", role="user")], relationships=relationships)
    assert run("all(contacts, role != 'decision_maker' or count(relationships, contact == contact.id) >= 2)", rec)
    assert relationships.walks == 0


@pytest.mark.parametrize(
    ("contacts", "team", "expected"),
    [
        ([contact(owner="Kim"), contact(owner="Lee")], [member("Kim"), member("Lee")], True),
        ([contact(owner="Kim"), contact(owner="Max")], [member("Kim"), member("Lee")], False),
        ([contact(owner="Kim"), contact()], [member("Kim")], False),  # an unowned contact matches nobody
        ([contact(owner="Kim")], [], False),
        ([], [], True),
    ],
)
def test_lookup_any_keeps_the_meaning_of_any(contacts: list[Any], team: list[Any], expected: bool) -> None:
    assert run(OWNED, record(contacts=contacts, team=team)) is expected


def test_a_contact_without_an_owner_is_owned_by_nobody() -> None:
    unowned = record(team=[member("Kim")], contacts=[contact()])
    assert run(OWNS_A_CONTACT, unowned) is False
    assert run(OWNS_A_CONTACT, record(team=[member("Kim")], contacts=[contact(), contact(owner="Kim")])) is True


@pytest.mark.parametrize(
    ("relationships", "expected"),
    [
        ([relationship("Kim", "C1"), relationship("Lee", "C1"), relationship("Kim", "C2")], False),
        ([relationship("Kim", "C1"), relationship("Lee", "C1"), relationship("Kim", "C2"), relationship("Lee", "C2")],
         True),
        ([relationship("Kim", "C1"), relationship("Lee", "C1")], False),
        ([], False),
    ],
)
def test_lookup_count_counts_each_matching_item(relationships: list[Any], expected: bool) -> None:
    rec = record(contacts=[contact(id="C1"), contact(id="C2")], relationships=relationships)
    assert run(TWICE_REACHED, rec) is expected


def test_lookup_count_never_matches_a_missing_value() -> None:
    """Relationships without a contact are not the relationships of a contact without an id."""
    rec = record(contacts=[contact()], relationships=[relationship("Kim", None), relationship("Lee", None)])
    assert run(TWICE_REACHED, rec) is False
    assert run("count(contacts, count(relationships, contact == contact.id) == 0)", rec) == 1


def test_lookup_over_a_list_of_a_missing_plan_is_unknown() -> None:
    """none() over the sign-offs of a missing plan is unknown for each contact, which all()
    counts as not matching, exactly as without the lookup."""
    assert run(SIGNED_BY_OWNER, record(contacts=[contact(owner="Kim")])) is False
    assert run(SIGNED_BY_OWNER, record(contacts=[])) is True
    signed = record(contacts=[contact(owner="Kim")], plan=plan(sign_offs=[sign_off("Kim")]))
    assert run(SIGNED_BY_OWNER, signed) is False
    assert run(SIGNED_BY_OWNER, record(contacts=[contact(owner="Kim")], plan=plan(sign_offs=[sign_off("Lee")])))


def test_numbers_that_may_be_fractions_are_not_looked_up() -> None:
    """A float NaN is equal to nothing but is found in a set that holds it; only values
    whose equality is exactly a hash lookup are turned into one."""
    code = compile_("all(contacts, any(relationships, strength == contact.influence))").evaluate.__doc__ or ""
    assert "{i2.strength for i2 in r.relationships}" in code  # both integers: a set of strengths
    code = compile_("all(contacts, any(plan.service_metrics, target == contact.influence))").evaluate.__doc__ or ""
    assert "for i2 in p1.service_metrics}" not in code  # a target is a number: it may be a float
    nan = float("nan")
    metrics = plan(service_metrics=[SimpleNamespace(name="NPS", target=nan, actual=None, measured=None)])
    rec = record(contacts=[contact(id="C1", influence=nan)], plan=metrics)
    assert run("any(contacts, any(plan.service_metrics, target == contact.influence))", rec) is False


# -- which aggregates a failed condition can blame its items on --------------------------------


@pytest.mark.parametrize(
    ("source", "blamed"),
    [
        ("all(contacts, present(owner))", {"all(contacts, present(owner))": False}),
        ("none(contacts, stance == 'enemy')", {"none(contacts, stance == 'enemy')": False}),
        ("not any(contacts, stance == 'enemy')", {"any(contacts, stance == 'enemy')": True}),
        (
            "count(contacts) >= 1 and (all(team, present(role)) or not any(team, present(role)))",
            {"all(team, present(role))": False, "any(team, present(role))": True},
        ),
        ("not all(contacts, present(owner))", {}),  # no single contact makes it false
        ("any(contacts, stance == 'enemy')", {}),  # false: no contact to name
        ("all(contacts, present(owner)) == false", {}),  # inside a comparison
        ("all(team, present(role)) and not all(team, present(role))", {}),  # both ways
    ],
)
def test_an_aggregate_is_blamed_only_where_its_value_makes_the_condition_false(
    source: str, blamed: dict[str, bool]
) -> None:
    compiled = compile_(source)
    assert {label: finder.blames for label, finder in compiled.finders.items()} == blamed


def test_the_items_of_a_negated_any_are_the_ones_that_match() -> None:
    finder = compile_("not any(contacts, stance == 'enemy')").finders["any(contacts, stance == 'enemy')"]
    enemy, friend = contact(name="Max", stance="enemy"), contact(name="Ada", stance="supporter")
    assert finder.find(record(contacts=[friend, enemy, contact()]), None, AS_OF) == [enemy]
