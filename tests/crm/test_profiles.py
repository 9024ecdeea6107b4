"""CRM profiles: conversions, errors, shipped profiles and the decisions they give."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

import kamrules
from kamrules.crm import Profile, ProfileError, check_profile, load_profile, shipped_profiles
from kamrules.evaluation.engine import Outcome
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.batch import Summary, run
from kamrules.portfolio.sources import RawRecord, read_records
from tests.conftest import AS_OF, ROOT, default_rules_with

EXPORTS = {
    "salesforce": ("salesforce_accounts.csv", slice(0, 60)),
    "hubspot": ("hubspot_companies.jsonl", slice(60, 100)),
    "dynamics": ("dynamics_accounts.json", slice(100, 120)),
}


@pytest.fixture(scope="module")
def engine() -> kamrules.Engine:
    return kamrules.Engine(kamrules.load_rulebook(ROOT / "rules"))


def profile(text: str) -> Profile:
    return Profile.from_text(text, "test.yaml")


def convert(text: str, raw: dict[str, Any]) -> dict[str, Any]:
    return profile(text).apply(raw)


def problems(text: str, raw: dict[str, Any]) -> list[str]:
    with pytest.raises(InvalidRecord) as caught:
        profile(text).apply(raw)
    return [str(p) for p in caught.value.problems]


# -- value maps and category matching -------------------------------------------------------

RISK = """
profile: t
columns:
  Id: id
  Risk__c: {fact: credit_risk, values: {Low: low, Med: medium, High: high}}
"""


def test_a_value_map_maps_exactly_by_default() -> None:
    assert convert(RISK, {"Id": "A", "Risk__c": "Med"}) == {"id": "A", "credit_risk": "medium"}
    assert problems(RISK, {"Id": "A", "Risk__c": "med"}) == [
        "credit_risk: 'med' has no mapping (the profile maps Low, Med, High) (column 'Risk__c')"
    ]


def test_insensitive_matching_ignores_case_spaces_underscores_and_hyphens() -> None:
    text = RISK.replace("columns:", "match: insensitive\ncolumns:")
    assert convert(text, {"Id": "A", "Risk__c": " MED "})["credit_risk"] == "medium"
    # and the category's own values match too, whatever their spelling
    assert convert(text, {"Id": "A", "Risk__c": "Severe"})["credit_risk"] == "severe"
    assert convert(text, {"Id": "A", "Risk__c": "sev-ere"})["credit_risk"] == "severe"


def test_an_unmapped_category_value_is_an_error_naming_the_values_not_a_guess() -> None:
    text = "profile: t\nmatch: insensitive\ncolumns: {Risk__c: credit_risk}"
    assert problems(text, {"Risk__c": "Very High"}) == [
        "credit_risk: 'Very High' is not a credit risk value (low, medium, high, severe) (column 'Risk__c')"
    ]


def test_unmapped_keep_passes_free_text_on() -> None:
    text = "profile: t\ncolumns:\n  Ind: {fact: industry, values: {'12': Manufacturing}, unmapped: keep}"
    assert convert(text, {"Ind": 12}) == {"industry": "Manufacturing"}
    assert convert(text, {"Ind": "Mining"}) == {"industry": "Mining"}


def test_a_value_map_to_a_value_the_category_lacks_is_refused_when_bound() -> None:
    text = "profile: t\ncolumns:\n  Risk__c:\n    fact: credit_risk\n    values: {Low: lo}\n"
    with pytest.raises(ProfileError) as caught:
        profile(text).bind()
    assert "test.yaml:5:" in str(caught.value)
    assert "'Low' maps to 'lo', which is not a credit risk value" in str(caught.value)
    assert "did you mean 'low'?" in str(caught.value)


# -- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("formats", "value", "expected"),
    [
        ("iso", "2026-10-29", dt.date(2026, 10, 29)),
        ("iso", "2026-10-29T23:30:00.000Z", dt.date(2026, 10, 29)),  # the date as written
        ("iso", "2026-10-29 08:15:00+02:00", dt.date(2026, 10, 29)),
        ("epoch_ms", "1793232000000", dt.date(2026, 10, 29)),
        ("epoch_ms", 1793318399999, dt.date(2026, 10, 29)),  # the day's last millisecond
        ("'%d/%m/%Y'", "29/10/2026", dt.date(2026, 10, 29)),
        ("'%m/%d/%Y'", "10/29/2026", dt.date(2026, 10, 29)),
        ("[iso, '%d.%m.%Y']", "29.10.2026", dt.date(2026, 10, 29)),
    ],
)
def test_dates_as_declared(formats: str, value: Any, expected: dt.date) -> None:
    text = f"profile: t\ncolumns:\n  Reviewed: {{fact: plan.last_reviewed, date: {formats}}}"
    assert convert(text, {"Reviewed": value}) == {"plan": {"last_reviewed": expected}}


def test_a_date_in_another_format_is_a_field_error_never_a_guess() -> None:
    text = "profile: t\ncolumns:\n  Id: id\n  Reviewed: {fact: plan.last_reviewed, date: '%d/%m/%Y'}"
    assert problems(text, {"Id": "A", "Reviewed": "2026-10-29"}) == [
        "plan.last_reviewed: '2026-10-29' is not a date in the declared format (%d/%m/%Y) (column 'Reviewed')"
    ]
    assert problems(text, {"Id": "A", "Reviewed": "31/02/2026"})[0].startswith("plan.last_reviewed: '31/02/2026'")


# -- numbers and percentages ---------------------------------------------------------------------


def test_numbers_with_thousands_separators_decimal_comma_and_currency() -> None:
    text = """
profile: t
columns:
  Rev: {fact: annual_revenue, number: {thousands: ".", decimal: ",", currency: ["€", EUR]}}
"""
    assert convert(text, {"Rev": "1.234.567,50 €"}) == {"annual_revenue": 1234567.5}
    assert convert(text, {"Rev": "EUR 900"}) == {"annual_revenue": 900.0}
    assert convert(text, {"Rev": 42}) == {"annual_revenue": 42}
    assert problems(text, {"Rev": "$ 900"}) == [
        "annual_revenue: '$ 900' is not a number in the declared format (thousands '.', decimal ',', "
        "currency '€', 'EUR') (column 'Rev')"
    ]


def test_currency_text_is_removed_only_where_declared() -> None:
    text = "profile: t\ncolumns:\n  Rev: {fact: annual_revenue, number: {thousands: ','}}"
    assert problems(text, {"Rev": "USD 1,000"})[0].startswith("annual_revenue: 'USD 1,000' is not a number")


def test_percentages_move_to_the_facts_scale_exactly() -> None:
    text = (
        "profile: t\ncolumns:\n  M: {fact: gross_margin_pct, percent: 0-1}\n"
        "  S: {fact: share_of_wallet_pct, percent: 0-100}"
    )
    # 0.533 * 100 is 53.300000000000004 in binary floating point; the profile gives 53.3
    assert convert(text, {"M": "0.533", "S": "12.5%"}) == {"gross_margin_pct": 53.3, "share_of_wallet_pct": 12.5}
    assert convert(text, {"M": 0.533}) == {"gross_margin_pct": 53.3}


def test_a_number_format_on_a_text_fact_is_refused() -> None:
    with pytest.raises(ProfileError, match="column 'N': 'name' is text, not a number"):
        profile("profile: t\ncolumns:\n  N: {fact: name, percent: 0-1}").bind()


# -- the profile file itself ---------------------------------------------------------------------


def test_an_unknown_fact_is_named_with_its_place_and_a_suggestion() -> None:
    with pytest.raises(ProfileError) as caught:
        profile("profile: t\ncolumns:\n  Id: id\n  Rev: anual_revenue\n").bind()
    assert str(caught.value) == (
        "the CRM profile is invalid:\n"
        "  test.yaml:4:3: column 'Rev': the account has no fact 'anual_revenue' (did you mean 'annual_revenue'?)"
    )


def test_yes_and_no_labels_are_keys_as_written() -> None:
    # plain YAML would read the key Yes as true; profile keys are the CRM's labels as written
    text = "profile: t\ncolumns:\n  W: {fact: wants_key_account, values: {Yes: true, No: false}}"
    assert convert(text, {"W": "Yes"}) == {"wants_key_account": True}
    assert convert(text, {"W": "No"}) == {"wants_key_account": False}


def test_unknown_keys_and_bad_names_are_reported_with_their_place() -> None:
    with pytest.raises(ProfileError) as caught:
        profile("profile: Bad Name\ncolums: {}\n")
    text = str(caught.value)
    assert "test.yaml:1:" in text and "colums: unknown key 'colums'" in text


def test_an_optional_column_is_left_unread_when_the_rulebook_lacks_the_fact() -> None:
    text = "profile: t\ncolumns:\n  NPS: {fact: nps, optional: true}\n"
    # the built-in facts have no nps: the column is passed on unread (an unknown column)
    assert profile(text).apply({"NPS": "7"}) == {"NPS": "7"}
    schema = kamrules.load_rulebook(ROOT / "rules").schema
    assert profile(text).apply({"NPS": "7"}, schema) == {"nps": "7"}


def test_a_name_that_is_neither_a_file_nor_shipped() -> None:
    with pytest.raises(ProfileError, match=r"no CRM profile 'salesfrce'.*did you mean 'salesforce'"):
        load_profile("salesfrce")


def test_the_same_fact_from_two_columns_is_an_error_naming_both() -> None:
    text = "profile: t\ncolumns:\n  Id: id\n  Name: name\n  Legal_Name__c: name\n"
    assert problems(text, {"Id": "A", "Name": "Acme", "Legal_Name__c": "Acme Ltd"}) == [
        "name: is given twice: by column 'Name' and by column 'Legal_Name__c'"
    ]


# -- nested records ------------------------------------------------------------------------------

CONTACTS = """
profile: t
match: insensitive
columns: {Id: id}
records:
  contacts:
    column: Contacts
    fields:
      Name: name
      Level__c: level
      Seen: {fact: last_contacted, date: '%d/%m/%Y'}
"""


def test_fields_of_nested_lists_are_mapped_from_json_text() -> None:
    raw = {"Id": "A", "Contacts": '[{"Name": "Ana", "Level__c": "Senior Management", "Seen": "01/10/2026"}]'}
    assert convert(CONTACTS, raw) == {
        "id": "A",
        "contacts": [{"name": "Ana", "level": "senior_management", "last_contacted": dt.date(2026, 10, 1)}],
    }


def test_a_bad_nested_value_names_the_item_like_the_validator() -> None:
    raw = {"Id": "A", "Contacts": [{"Name": "Ana"}, {"Name": "Bo", "Level__c": "Intern"}]}
    assert problems(CONTACTS, raw) == [
        "contacts[1].level: 'Intern' is not a level value (board, executive, senior_management, "
        "middle_management, operational) (column 'Level__c')"
    ]


# -- with the engine -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_each_shipped_export_decides_exactly_as_the_original_accounts(engine: kamrules.Engine, name: str) -> None:
    file, rows = EXPORTS[name]
    original = list(read_records(ROOT / "examples" / "accounts.jsonl"))[rows]
    profiled = engine.with_profile(name)
    got = list(run(profiled, read_records(ROOT / "examples" / "crm" / file), AS_OF, Summary()))
    want = list(run(engine, original, AS_OF, Summary()))
    assert len(got) == len(want) > 0
    assert all(isinstance(item, Outcome) for item in got), [str(i) for i in got if not isinstance(i, Outcome)]
    ref = load_profile(name).ref
    for mine, theirs in zip(got, want, strict=True):
        assert isinstance(mine, Outcome) and isinstance(theirs, Outcome)
        decided = mine.decision()
        assert decided.profile == ref
        assert decided.model_copy(update={"profile": None}) == theirs.decision()


def test_the_rulebook_hash_is_the_same_whatever_profile_reads_the_facts(engine: kamrules.Engine) -> None:
    raw = {"id": "A", "annual_revenue": 2_000_000, "strategic_fit": 4}
    plain = engine.decide(raw, AS_OF)
    hashes = {plain.rulebook.content_hash}
    for name in shipped_profiles():
        id_column = next(c for c, f in load_profile(name).bind().renames.items() if f == "id")
        decided = engine.decide({id_column: "A"}, AS_OF, profile=name)
        assert decided.profile is not None and decided.profile.name == name
        hashes.add(decided.rulebook.content_hash)
    assert hashes == {engine.rulebook.content_hash}
    assert plain.profile is None
    assert len({load_profile(n).content_hash for n in shipped_profiles()}) == len(shipped_profiles())


def test_the_profile_hash_ignores_layout_and_comments() -> None:
    a = profile("profile: t\ncolumns: {Id: id}\n")
    b = profile("# a comment\nprofile: t\ncolumns:\n  Id: id\n")
    assert a.content_hash == b.content_hash != profile("profile: t\ncolumns: {ID: id}").content_hash


def test_a_conversion_failure_is_an_error_record_and_the_batch_goes_on(engine: kamrules.Engine) -> None:
    profiled = engine.with_profile(load_profile("salesforce"))
    records = [
        RawRecord(2, {"Id": "A", "Credit_Risk__c": "Extreme", "Strategic_Fit__c": "9"}),
        RawRecord(3, {"Id": "B", "Credit_Risk__c": "low"}),
    ]
    summary = Summary()
    items = list(run(profiled, records, AS_OF, summary))
    assert (summary.read, summary.decided, summary.errors) == (2, 1, 1)
    error = items[0]
    assert not isinstance(error, Outcome)
    assert error.account_id == "A" and error.line == 2
    # the profile's error and the rulebook's own validation, both at once
    assert [e.field for e in error.errors] == ["credit_risk", "strategic_fit"]
    assert "column 'Credit_Risk__c'" in error.errors[0].message


def test_unknown_columns_are_those_neither_profile_nor_rulebook_reads(engine: kamrules.Engine) -> None:
    summary = Summary()
    list(run(engine.with_profile("hubspot"), [RawRecord(1, {"hs_object_id": "A", "domain": "a.com"})], AS_OF, summary))
    assert summary.unknown_columns == ["domain"]


def test_check_reports_unmapped_values_with_counts_and_unfilled_facts(engine: kamrules.Engine) -> None:
    bound = load_profile("salesforce").bind(engine.rulebook.schema)
    records = [
        RawRecord(i, {"Id": f"A{i}", "Credit_Risk__c": risk, "Website": "x", "KAM_Stage__c": "Review"})
        for i, risk in enumerate(["Low", "Very High", "Very High", "Unknown", "high"], start=2)
    ]
    report = check_profile(bound, records)
    risk = next(c for c in report.columns if c.column == "Credit_Risk__c")
    assert (risk.filled, dict(risk.failed)) == (2, {"'Very High'": 2, "'Unknown'": 1})
    assert dict(report.unmapped_columns) == {"Website": 5}
    assert "annual_revenue" in report.never_filled and "credit_risk" not in report.never_filled
    assert "plan" in report.never_filled and "plan.mentor" not in report.never_filled  # no plan at all
    text = report.to_text()
    assert "Credit_Risk__c -> credit_risk: 'Very High' (2 rows): is not a credit risk value" in text
    assert report.failures == 3


def test_a_rulebooks_own_synonyms_match_like_its_values(tmp_path: Path) -> None:
    vocabulary = "  vocabularies:\n    credit_risk: {synonyms: {watch_list: high}}\n  custom:\n"
    rules = default_rules_with(tmp_path / "rules", "rulebook.yaml", ("  custom:\n", vocabulary))
    rulebook = kamrules.load_rulebook(rules)
    text = (
        "profile: t\nmatch: insensitive\ncolumns:\n  Id: id\n  Risk: credit_risk\n"
        "  Mapped: {fact: credit_risk, values: {W: watch_list}}\n"
    )
    assert profile(text).apply({"Id": "A", "Risk": "Watch List"}, rulebook.schema) == {"id": "A", "credit_risk": "high"}
    decided = kamrules.Engine(rulebook).decide({"Id": "A", "Mapped": "W"}, AS_OF, profile=profile(text))
    assert next(g for g in decided.gates if g.id == "high_credit_risk").applied


def test_a_plan_fact_from_a_flat_column_joins_the_plan_record() -> None:
    text = (
        "profile: t\ncolumns:\n  Id: id\n  Reviewed: {fact: plan.last_reviewed, date: iso}\n"
        "records:\n  plan: {column: Plan}\n"
    )
    assert convert(text, {"Id": "A", "Plan": None, "Reviewed": "2026-10-01"}) == {
        "id": "A",
        "plan": {"last_reviewed": dt.date(2026, 10, 1)},
    }
    assert convert(text, {"Id": "A", "Plan": '{"mentor": "Kim"}', "Reviewed": "2026-10-01"})["plan"] == {
        "mentor": "Kim",
        "last_reviewed": dt.date(2026, 10, 1),
    }
    assert problems(text, {"Id": "A", "Plan": {"last_reviewed": "2026-09-01"}, "Reviewed": "2026-10-01"}) == [
        "plan.last_reviewed: is given twice: in the plan record and by column 'Reviewed'"
    ]
