"""`kamrules check-plan`: the account manager's view of plan compliance, in every format."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from kamrules.cli import exit_codes
from tests.cli.test_cli import ACCOUNTS, RULES, invoke
from tests.conftest import SMALL_RULEBOOK

AS_OF = ("--as-of", "2026-11-01")


def test_the_table_has_a_row_per_account_and_a_summary() -> None:
    code, out, err = invoke("check-plan", RULES, ACCOUNTS, *AS_OF)
    assert code == exit_codes.OK, err
    assert "Account plans" in out
    row = next(line for line in out.splitlines() if "ACC-00034" in line)
    cells = [cell.strip() for cell in row.strip("│ ").split("│")]
    assert cells[:6] == ["ACC-00034", "Halvorsen Helse Oy", "Bronze", "implementation delivery", "at risk", "91.67"]
    assert "300 records read: 300 decided, 0 could not be decided." in err


def test_the_markdown_report_says_what_is_missing_for_whom_and_by_when() -> None:
    code, out, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "--account", "ACC-00034", "-f", "markdown")
    assert code == exit_codes.OK
    assert out.startswith("## Account plan: Halvorsen Helse Oy (ACC-00034)\n")
    assert "**At risk**, score 91.67 · tier Bronze · stage implementation delivery" in out
    assert (
        "| major | Our team was in touch with every key player in the last 90 days. | does not hold: fails for 1 of "
        "9 contacts: Kenji Papadopoulos (id ACC-00034-C05) |"
    ) in out
    assert "| Anna Kowalska (plan.owner) | overdue since 2026-10-09 (23 days) |" in out
    # checks that do not apply are grouped by why
    assert "7 checks do not apply now:" in out
    assert "\n- to tier Bronze: The mentor reviewed the plan in the last 60 days; " in out
    assert "\n- at stage implementation delivery (they apply at stages review, exploitation): " in out


def test_a_standard_account_has_no_checks_to_list() -> None:
    code, out, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "--account", "ACC-00001", "-f", "markdown")
    assert code == exit_codes.OK
    assert "**No plan checks apply** · tier Standard" in out
    assert "None of the 30 checks applies to tier Standard." in out
    assert "The mentor reviewed" not in out


def test_json_is_one_document_with_plans_errors_and_summary(tmp_path: Path) -> None:
    target = tmp_path / "plans.json"
    code, _, err = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "-f", "json", "-o", str(target))
    assert code == exit_codes.OK, err
    document = json.loads(target.read_text(encoding="utf-8"))
    assert len(document["plans"]) == 300 and document["errors"] == []
    assert document["summary"]["decided"] == 300
    plan = next(p for p in document["plans"] if p["account_id"] == "ACC-00034")
    checks = {c["id"]: c for c in plan["compliance"]["checks"]}
    assert checks["key_players_in_touch"]["at_fault"] == [
        {
            "condition": "all(contacts, not key_player or present(last_contacted) and days_since(last_contacted) <= 90 "
            "or any(restrictions, restriction.department == contact.department))",
            "items_of": "contacts",
            "total": 9,
            "count": 1,
            "names": ["Kenji Papadopoulos (id ACC-00034-C05)"],
        }
    ]


def test_jsonl_has_a_line_per_account_and_is_deterministic(tmp_path: Path) -> None:
    outputs = []
    for name in ("a.jsonl", "b.jsonl"):
        target = tmp_path / name
        code, _, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "-f", "jsonl", "-o", str(target))
        assert code == exit_codes.OK
        outputs.append(target.read_bytes())
    assert outputs[0] == outputs[1]
    lines = outputs[0].decode("utf-8").splitlines()
    assert len(lines) == 300 and all(json.loads(line)["kind"] == "plan" for line in lines)


def test_text_names_the_stage_in_words() -> None:
    code, out, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "--account", "ACC-00034", "-f", "text")
    assert code == exit_codes.OK
    assert "  Stage:    implementation delivery\n" in out
    assert "[FAIL] major   Our team was in touch with every key player in the last 90 days." in out
    marks = [line.split("]")[0].strip() + "]" for line in out.splitlines() if line.strip().startswith("[")]
    assert marks[:2] == ["[FAIL]", "[FAIL]"] and "[FAIL]" not in marks[2:]  # what is missing comes first


def test_an_unknown_account_is_named_with_a_suggestion() -> None:
    code, out, err = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "--account", "ACC-0O034")
    assert code == exit_codes.INVALID_INPUT
    assert "no account 'ACC-0O034' in" in err and "did you mean 'ACC-00034'?" in err
    assert "Traceback" not in out + err


def test_a_rulebook_without_plan_checks_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(SMALL_RULEBOOK, encoding="utf-8")
    code, _, err = invoke("check-plan", str(rules), ACCOUNTS, *AS_OF)
    assert code == exit_codes.INVALID_RULES
    assert "has no plan_checks" in err


def test_records_that_cannot_be_decided_are_reported_and_fail_the_run(tmp_path: Path) -> None:
    accounts = tmp_path / "accounts.jsonl"
    good = Path(ACCOUNTS).read_text(encoding="utf-8").splitlines()[33]
    accounts.write_text(good + "\n" + '{"id": "BAD", "annual_revenue": "lots"}\n', encoding="utf-8")
    code, out, err = invoke("check-plan", RULES, str(accounts), *AS_OF, "-f", "markdown")
    assert code == exit_codes.RECORDS_FAILED
    assert "## Account plan: Halvorsen Helse Oy (ACC-00034)" in out
    assert "record 2 (account BAD) could not be decided:" in out
    assert "2 records read: 1 decided, 1 could not be decided." in err


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_actions_are_one_csv_row_per_failed_check_most_severe_first() -> None:
    code, out, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "--account", "ACC-00034", "-f", "actions")
    assert code == exit_codes.OK
    rows = _csv(out)
    assert [(r["severity"], r["check"]) for r in rows] == [
        ("major", "key_players_in_touch"),  # overdue since 2026-10-09
        ("major", "decision_makers_covered"),  # due now
    ]
    first = rows[0]
    assert first["who"] == "Anna Kowalska (plan.owner)"
    assert (first["due"], first["overdue_days"]) == ("2026-10-09", "23")
    assert first["items_at_fault"] == "1 of 9 contacts: Kenji Papadopoulos (id ACC-00034-C05)"
    assert first["what_to_do"].startswith("Have each relationship owner contact the key players")
    assert rows[1]["due"] == "2026-11-01" and rows[1]["overdue_days"] == ""


def test_status_filters_the_accounts_shown_but_the_summary_counts_all() -> None:
    code, out, err = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "-f", "csv", "--status", "non_compliant")
    assert code == exit_codes.OK
    rows = _csv(out)
    assert rows and {r["plan"] for r in rows} == {"non_compliant"}
    assert f"non compliant {len(rows)}" in err
    assert "300 records read: 300 decided" in err
    _, both, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "-f", "csv", "-s", "non_compliant", "-s", "at_risk")
    assert {r["plan"] for r in _csv(both)} == {"non_compliant", "at_risk"}


def test_csv_has_a_row_per_account() -> None:
    code, out, _ = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "-f", "csv")
    assert code == exit_codes.OK
    rows = _csv(out)
    assert len(rows) == 300
    row = next(r for r in rows if r["account_id"] == "ACC-00034")
    assert (row["tier"], row["plan"], row["score"], row["majors"], row["next_due"]) == (
        "Bronze",
        "at_risk",
        "91.67",
        "2",
        "2027-01-26",
    )


def test_an_unknown_status_is_a_usage_error() -> None:
    code, out, err = invoke("check-plan", RULES, ACCOUNTS, *AS_OF, "--status", "bogus")
    assert code == exit_codes.USAGE
    assert "'bogus' is not one of" in out + err
