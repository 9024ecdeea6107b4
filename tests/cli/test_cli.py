"""The kamrules command: exit codes, messages without tracebacks, formats, determinism."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules.cli import exit_codes
from kamrules.cli.main import app
from tests.conftest import ROOT, SMALL_RULEBOOK

RULES = str(ROOT / "rules")
ACCOUNTS = str(ROOT / "examples" / "accounts.jsonl")
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def test_validate_ok() -> None:
    code, out, _ = invoke("validate", RULES)
    assert code == exit_codes.OK
    assert (
        "default_kam 2026.11 is valid: 2 scorecard(s), 12 criteria, 3 gate(s), 4 tiers, 4 segment(s), 30 plan check(s)"
        in out
    )


def test_validate_reports_place_and_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(SMALL_RULEBOOK.replace("at_most: Silver", "at_most: Silvr"), encoding="utf-8")
    code, out, err = invoke("validate", str(bad))
    assert code == exit_codes.INVALID_RULES
    assert f"{bad}:30:14: gate 'high_credit_risk' caps at the tier 'Silvr'" in err
    assert "Traceback" not in out + err


def test_evaluate_jsonl_has_one_line_per_record_and_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    for target in (first, second):
        code, _, err = invoke("evaluate", RULES, ACCOUNTS, "--as-of", "2026-11-01", "-f", "jsonl", "-o", str(target))
        assert code == exit_codes.OK, err
    assert first.read_bytes() == second.read_bytes()
    lines = first.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 300
    decision = json.loads(lines[0])
    assert decision["kind"] == "decision" and decision["as_of"] == "2026-11-01"
    assert decision["rulebook"]["id"] == "default_kam"


def test_evaluate_summary_on_stderr() -> None:
    code, out, err = invoke("evaluate", RULES, ACCOUNTS, "--as-of", "2026-11-01", "-f", "csv")
    assert code == exit_codes.OK
    assert "300 records read: 300 decided, 0 could not be decided." in err
    header = out.splitlines()[0].split(",")
    assert header[:7] == ["record", "account_id", "account_name", "status", "tier", "key_account", "segment"]
    assert "score.attractiveness" in header and "points.annual_revenue" in header
    assert len(out.splitlines()) == 301


def test_csv_input_with_bom_crlf_extra_columns_and_bad_row(tmp_path: Path) -> None:
    source = tmp_path / "export.csv"
    rows = [
        "Account ID,Account Name,AnnualRevenue,strategic_fit,Unused Column",
        "A-1,Zürich Präzision AG,5000000,4,x",
        "A-2,Bad Co,lots,4,y",
        "A-3,Short",
        "",
    ]
    source.write_bytes(("\ufeff" + "\r\n".join(rows)).encode("utf-8"))
    code, out, err = invoke("evaluate", RULES, str(source), "--as-of", "2026-11-01", "-f", "jsonl")
    assert code == exit_codes.RECORDS_FAILED
    items = [json.loads(line) for line in out.splitlines()]
    assert [i["kind"] for i in items] == ["decision", "error", "error"]
    assert items[0]["account_name"] == "Zürich Präzision AG"
    assert items[1]["account_id"] == "A-2"
    assert items[1]["errors"][0] == {"field": "annual_revenue", "message": "must be a number, got 'lots'",
                                     "value": "lots"}
    assert items[2]["line"] == 4 and "line 4 has 2 cells but the header has 5" in items[2]["message"]
    assert "3 records read: 1 decided, 2 could not be decided." in err
    assert "ignored columns no fact reads: Unused Column" in err


def test_empty_inputs_are_zero_records(tmp_path: Path) -> None:
    for name, text in (("empty.csv", ""), ("empty.jsonl", ""), ("header.csv", "id,name\n")):
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        code, out, err = invoke("evaluate", RULES, str(path), "--as-of", "2026-11-01", "-f", "jsonl")
        assert code == exit_codes.OK and out == ""
        assert "0 records read: 0 decided, 0 could not be decided." in err


def test_broken_json_line_is_an_error_record(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_text('{"id": "A-1", "annual_revenue": 1}\n{"id": \n[1, 2]\n', encoding="utf-8")
    code, out, _ = invoke("evaluate", RULES, str(path), "--as-of", "2026-11-01", "-f", "jsonl")
    assert code == exit_codes.RECORDS_FAILED
    items = [json.loads(line) for line in out.splitlines()]
    assert [i["kind"] for i in items] == ["decision", "error", "error"]
    assert items[1]["message"].startswith("line 2 is not valid JSON")
    assert items[2]["message"] == "line 3 is not a JSON object of facts"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["evaluate", RULES, "missing.jsonl"], exit_codes.INVALID_INPUT, "no accounts file at 'missing.jsonl'"),
        (["evaluate", RULES, "accounts.xlsx"], exit_codes.INVALID_INPUT, "cannot tell the format of 'accounts.xlsx'"),
        (["evaluate", RULES, ACCOUNTS, "--as-of", "01/11/2026"], exit_codes.USAGE,
         "--as-of must be a date as YYYY-MM-DD, got '01/11/2026'"),
        (["evaluate", "nowhere/", ACCOUNTS], exit_codes.INVALID_RULES, "no rule file or folder at 'nowhere'"),
        (["explain", RULES, ACCOUNTS, "--account", "ACC-0001"], exit_codes.INVALID_INPUT,
         "no account 'ACC-0001' in"),
    ],
)
def test_user_mistakes_are_messages_with_exit_codes(args: list[str], code: int, message: str) -> None:
    actual, out, err = invoke(*args)
    assert actual == code
    assert message in err
    assert "Traceback" not in out + err


def test_explain_text_markdown_json() -> None:
    base = ["explain", RULES, ACCOUNTS, "--account", "ACC-00003", "--as-of", "2026-11-01"]
    code, text, _ = invoke(*base)
    assert code == 0 and text.startswith("Account ACC-00003") and "Tier tests" in text
    code, markdown, _ = invoke(*base, "--format", "markdown")
    assert code == 0 and markdown.startswith("## ") and "| Criterion | Value |" in markdown
    code, raw, _ = invoke(*base, "--format", "json")
    assert code == 0 and json.loads(raw)["account_id"] == "ACC-00003"


def test_schema_is_json_schema() -> None:
    code, out, _ = invoke("schema")
    schema = json.loads(out)
    assert code == 0 and schema["title"] == "kamrules rule file (any part of a rulebook)"
    assert "required" not in schema  # each file of a rulebook folder validates on its own
    code, out, _ = invoke("schema", "--whole")
    whole = json.loads(out)
    assert code == 0 and whole["title"] == "kamrules rulebook"
    assert {"rulebook", "version", "tiers"} <= set(whole["required"])


def test_console_script_runs_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rulebook: x\nrulebook: y\n", encoding="utf-8")
    exe = Path(sys.executable).with_name("kamrules")
    done = subprocess.run([str(exe), "validate", str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode == exit_codes.INVALID_RULES
    assert f"{bad}:2:1: the key 'rulebook' appears twice" in done.stderr
    assert "Traceback" not in done.stderr


def test_user_text_in_brackets_is_printed_as_it_is(tmp_path: Path) -> None:
    """Rich reads ``[emea]`` as a style tag and drops it; names and messages are the user's text."""
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"id": "A-[1]", "name": "Acme [emea] [bold]Ltd"}) + "\n", encoding="utf-8")
    code, out, err = invoke("evaluate", RULES, str(path), "--as-of", "2026-11-01", "-f", "table")
    assert code == 0, err
    assert "A-[1]" in out
    assert "Acme [emea]" in out
    code, _, err = invoke("evaluate", RULES, str(tmp_path / "[missing].jsonl"))
    assert code == exit_codes.INVALID_INPUT
    assert "[missing].jsonl" in err
