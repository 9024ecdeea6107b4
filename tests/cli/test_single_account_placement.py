"""Single-account answers agree with the portfolio when tiers have capacities (issue 10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules.cli import exit_codes
from kamrules.cli.main import app
from tests.conftest import ROOT, default_rules_with

ACCOUNTS = str(ROOT / "examples" / "accounts.jsonl")
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def capacity_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default rulebook with Gold held to 4 accounts and Silver to 10 per cent."""
    return default_rules_with(
        tmp_path_factory.mktemp("capacity") / "rules",
        "tiers.yaml",
        ("    min_score: 75\n", "    min_score: 75\n    capacity: 4\n"),
        ("    min_score: 60\n", "    min_score: 60\n    capacity: 10%\n"),
    )


@pytest.fixture(scope="module")
def batch(capacity_rules: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, object]]:
    out = tmp_path_factory.mktemp("out") / "decisions.jsonl"
    code, _, err = invoke(
        "evaluate", str(capacity_rules), ACCOUNTS, "--as-of", "2026-11-01", "-f", "jsonl", "-o", str(out)
    )
    assert code == exit_codes.OK, err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return {row["account_id"]: row for row in rows}


def save_placement(rules: Path, tmp_path: Path) -> tuple[Path, str]:
    """Decide the examples with ``--save-placement``; the saved file and what was printed."""
    saved = tmp_path / "placement.json"
    code, _, err = invoke(
        "evaluate",
        str(rules),
        ACCOUNTS,
        "--as-of",
        "2026-11-01",
        "-f",
        "csv",
        "-o",
        str(tmp_path / "d.csv"),
        "--save-placement",
        str(saved),
    )
    assert code == exit_codes.OK, err
    return saved, err


def moved(batch: dict[str, dict[str, object]]) -> list[str]:
    """Accounts capacity moved away from the tier the rules give, and some it admitted."""
    ids = [i for i, d in batch.items() if d["tier"] != d["tier_by_rules"]]
    admitted = [i for i, d in batch.items() if d["tier"] == d["tier_by_rules"] and d["placement"]]
    assert ids and admitted, "the fixture must make capacity move some accounts"
    return ids[:4] + admitted[:2]


def test_explain_gives_the_tier_note_and_plan_status_evaluate_gives(
    capacity_rules: Path, batch: dict[str, dict[str, object]]
) -> None:
    for account in moved(batch):
        code, out, err = invoke(
            "explain", str(capacity_rules), ACCOUNTS, "--account", account, "--as-of", "2026-11-01", "-f", "json"
        )
        assert code == exit_codes.OK, err
        alone = json.loads(out)
        expected = batch[account]
        assert alone["tier"] == expected["tier"], account
        assert alone["placement"] == expected["placement"], account
        assert alone["compliance"]["status"] == expected["compliance"]["status"], account  # type: ignore[index]
        assert alone["capacity"]["applied"] is True
        assert "ranked 1st of 1" not in json.dumps(alone["placement"])


def test_check_plan_of_one_account_is_checked_at_its_portfolio_tier(
    capacity_rules: Path, batch: dict[str, dict[str, object]]
) -> None:
    account = next(i for i, d in batch.items() if d["tier"] != d["tier_by_rules"])
    code, out, err = invoke(
        "check-plan", str(capacity_rules), ACCOUNTS, "--account", account, "--as-of", "2026-11-01", "-f", "json"
    )
    assert code == exit_codes.OK, err
    (plan,) = json.loads(out)["plans"]
    assert plan["tier"] == batch[account]["tier"]
    assert plan["compliance"] == batch[account]["compliance"]


def test_a_saved_placement_answers_later_without_the_portfolio(
    capacity_rules: Path, batch: dict[str, dict[str, object]], tmp_path: Path
) -> None:
    saved, err = save_placement(capacity_rules, tmp_path)
    assert "saved to" in err
    # only the one account in the file: the saved placement stands in for the portfolio
    account = next(i for i, d in batch.items() if d["tier"] != d["tier_by_rules"])
    one = tmp_path / "one.jsonl"
    line = next(x for x in Path(ACCOUNTS).read_text(encoding="utf-8").splitlines() if f'"id": "{account}"' in x)
    one.write_text(line + "\n", encoding="utf-8")
    code, out, err = invoke(
        "explain",
        str(capacity_rules),
        str(one),
        "--account",
        account,
        "--as-of",
        "2026-11-01",
        "-f",
        "json",
        "--placement",
        str(saved),
    )
    assert code == exit_codes.OK, err
    alone = json.loads(out)
    assert alone["tier"] == batch[account]["tier"]
    assert alone["placement"] == batch[account]["placement"]
    assert alone["capacity"]["placement"].startswith("placement-")


def test_what_it_takes_respects_the_portfolio_cut_off(
    capacity_rules: Path, batch: dict[str, dict[str, object]]
) -> None:
    account = next(i for i, d in batch.items() if d["tier_by_rules"] == "Gold" and d["tier"] != "Gold")
    code, out, err = invoke(
        "explain", str(capacity_rules), ACCOUNTS, "--account", account, "--as-of", "2026-11-01", "--to", "Gold"
    )
    assert code == exit_codes.OK, err
    assert "already Gold" not in out
    assert "Gold is full" in out


def test_a_placement_of_another_rulebook_is_refused(capacity_rules: Path, tmp_path: Path) -> None:
    saved, _ = save_placement(capacity_rules, tmp_path)
    text = saved.read_text(encoding="utf-8").replace('"content_hash":"', '"content_hash":"x')
    saved.write_text(text, encoding="utf-8")
    code, _, err = invoke(
        "explain",
        str(capacity_rules),
        ACCOUNTS,
        "--account",
        "ACC-00001",
        "--as-of",
        "2026-11-01",
        "--placement",
        str(saved),
    )
    assert code == exit_codes.INVALID_INPUT
    assert "the placement was made with rulebook" in err


def test_save_placement_without_capacity_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = invoke(
        "evaluate",
        str(ROOT / "rules"),
        ACCOUNTS,
        "-f",
        "csv",
        "-o",
        str(tmp_path / "d.csv"),
        "--save-placement",
        str(tmp_path / "p.json"),
    )
    assert code == exit_codes.USAGE
    assert "nothing to place" in err


def test_an_account_given_twice_is_an_error_for_the_repeat(tmp_path: Path) -> None:
    lines = Path(ACCOUNTS).read_text(encoding="utf-8").splitlines()[:3]
    doubled = tmp_path / "twice.jsonl"
    doubled.write_text("\n".join([*lines, lines[0]]) + "\n", encoding="utf-8")
    out = tmp_path / "d.jsonl"
    code, _, err = invoke(
        "evaluate", str(ROOT / "rules"), str(doubled), "--as-of", "2026-11-01", "-f", "jsonl", "-o", str(out)
    )
    assert code == exit_codes.RECORDS_FAILED
    rows = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert [r["kind"] for r in rows] == ["decision", "decision", "decision", "error"]
    assert rows[3]["message"] == "account 'ACC-00001' appears more than once; it was first given at line 1"
    assert "4 records read: 3 decided, 1 could not be decided" in err
