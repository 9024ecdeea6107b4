"""`--crm PROFILE` on the commands that read accounts, and `kamrules profile check`."""

from __future__ import annotations

import json
from pathlib import Path

from kamrules.cli import exit_codes
from kamrules.crm import load_profile
from tests.cli.test_cli import RULES, invoke

ROOT = Path(__file__).resolve().parents[2]
SALESFORCE = str(ROOT / "examples" / "crm" / "salesforce_accounts.csv")
HUBSPOT = str(ROOT / "examples" / "crm" / "hubspot_companies.jsonl")
ORIGINAL = ROOT / "examples" / "accounts.jsonl"
AS_OF = ("--as-of", "2026-11-01")


def test_evaluate_with_a_profile_decides_every_account_and_names_the_profile(tmp_path: Path) -> None:
    code, out, err = invoke("evaluate", RULES, SALESFORCE, *AS_OF, "--crm", "salesforce", "-f", "jsonl")
    assert code == exit_codes.OK, err
    assert "60 records read: 60 decided, 0 could not be decided." in err
    assert "ignored columns no fact reads: OwnerId" in err
    decisions = [json.loads(line) for line in out.splitlines()]
    profile = load_profile("salesforce")
    assert {d["profile"]["content_hash"] for d in decisions} == {profile.content_hash}
    assert {d["profile"]["name"] for d in decisions} == {"salesforce"}
    # the same tiers as the original accounts decided together, without a profile
    first = tmp_path / "first60.jsonl"
    first.write_text("".join(ORIGINAL.read_text(encoding="utf-8").splitlines(keepends=True)[:60]), encoding="utf-8")
    _, plain, _ = invoke("evaluate", RULES, str(first), *AS_OF, "-f", "jsonl")
    originals = [json.loads(line) for line in plain.splitlines()]
    assert [(d["account_id"], d["tier"]) for d in decisions] == [(d["account_id"], d["tier"]) for d in originals]
    assert {d["rulebook"]["content_hash"] for d in decisions} == {d["rulebook"]["content_hash"] for d in originals}


def test_flat_csv_output_through_a_profile_by_either_engine() -> None:
    outputs = []
    for engine in ("per-account", "columnar"):
        code, out, err = invoke(
            "evaluate", RULES, SALESFORCE, *AS_OF, "--crm", "salesforce", "-f", "csv", "--engine", engine
        )
        assert code == exit_codes.OK, err
        outputs.append(out)
    assert outputs[0] == outputs[1]


def test_explain_and_check_plan_read_one_account_by_its_crm_id() -> None:
    code, out, err = invoke(
        "explain", RULES, HUBSPOT, *AS_OF, "--crm", "hubspot", "--account", "ACC-00061", "-f", "json"
    )
    assert code == exit_codes.OK, err
    decision = json.loads(out)
    assert decision["account_id"] == "ACC-00061" and decision["profile"]["name"] == "hubspot"
    code, out, err = invoke("check-plan", RULES, HUBSPOT, *AS_OF, "--crm", "hubspot", "--account", "ACC-00061")
    assert code == exit_codes.OK, err


def test_workbench_commands_read_through_the_profile() -> None:
    code, out, err = invoke("sensitivity", RULES, SALESFORCE, *AS_OF, "--crm", "salesforce", "-f", "json")
    assert code == exit_codes.OK, err
    assert json.loads(out)
    code, out, err = invoke("impact", RULES, RULES, SALESFORCE, *AS_OF, "--crm", "salesforce", "-f", "json")
    assert code == exit_codes.OK, err
    report = json.loads(out)
    assert "60" in json.dumps(report)


def test_an_unusable_profile_is_a_bad_command_line(tmp_path: Path) -> None:
    code, _, err = invoke("evaluate", RULES, SALESFORCE, "--crm", "salesfroce")
    assert code == exit_codes.USAGE
    assert "did you mean 'salesforce'?" in err
    bad = tmp_path / "mine.yaml"
    bad.write_text("profile: mine\ncolumns:\n  Rev: revenue\n", encoding="utf-8")
    code, _, err = invoke("evaluate", RULES, SALESFORCE, "--crm", str(bad))
    assert code == exit_codes.USAGE
    assert "mine.yaml:3:3: column 'Rev': the account has no fact 'revenue'" in err


def test_profile_check_counts_values_with_no_mapping(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "Id,Credit_Risk__c,KAM_Stage__c,Website\nA,Low,Review,a.com\nB,Very High,Review,\nC,Very High,Closed,c.com\n",
        encoding="utf-8",
    )
    code, out, _ = invoke("profile", "check", "salesforce", str(export), "--rules", RULES)
    assert code == exit_codes.RECORDS_FAILED
    assert "Credit_Risk__c -> credit_risk: 'Very High' (2 rows): is not a credit risk value" in out
    assert "KAM_Stage__c -> stage: 'Closed' (1 rows): has no mapping" in out
    assert "Website (2 rows)" in out
    code, out, _ = invoke("profile", "check", "salesforce", SALESFORCE, "--rules", RULES, "-f", "json")
    assert code == exit_codes.OK
    report = json.loads(out)
    assert report["records"] == 60 and report["unmapped_columns"] == {"OwnerId": 60}
    assert "nps" not in report["never_filled"]  # read by the rulebook's own column NPS__c
