"""Overrides from a policy owner's file, merged into a batch run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules.cli import exit_codes
from kamrules.cli.main import app
from kamrules.portfolio.overrides import OverridesError, apply_overrides, read_overrides
from kamrules.portfolio.sources import RawRecord
from tests.conftest import ROOT

RULES = str(ROOT / "rules")
ACCOUNTS = str(ROOT / "examples" / "accounts.csv")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "overrides.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_overrides_pin_the_tier_and_say_who_approved(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "account,tier,reason,approver,expires\nACC-00001,Gold,Strategic partner,KAM director,2027-06-30\n"
        "NOPE-1,Silver,x,y,2027-01-01\n",
    )
    result = CliRunner().invoke(
        app, ["evaluate", RULES, ACCOUNTS, "--as-of", "2026-11-01", "-f", "jsonl", "--overrides", str(path)]
    )
    assert result.exit_code == exit_codes.OK, result.stderr
    first = json.loads(result.stdout.splitlines()[0])
    assert first["account_id"] == "ACC-00001" and first["tier"] == "Gold" and first["tier_by_rules"] == "Standard"
    assert first["placement"][0]["note"].startswith(
        "pinned to Gold by override until 2027-06-30, approved by KAM director: Strategic partner"
    )
    assert "overrides for accounts not in the input: NOPE-1" in result.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "account,tier,reason,approver,expires\nA,Gold,,x,2027-01-01\n",
            "overrides.csv:2: an override needs account, tier, reason, approver, expires; missing reason",
        ),
        (
            "account,tier,reason,approver,expires,colour\nA,Gold,r,x,2027-01-01,red\n",
            "overrides.csv:2: unknown column(s) colour",
        ),
        (
            "account,tier,reason,approver,expires\nA,Gold,r,x,2027-01-01\nA,Silver,r,x,2027-01-01\n",
            "overrides.csv:3: account 'A' is overridden twice (also at line 2)",
        ),
    ],
)
def test_bad_override_files_name_the_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(OverridesError) as info:
        read_overrides(write(tmp_path, text))
    assert message in str(info.value)


def test_the_file_wins_over_crm_columns() -> None:
    records = [RawRecord(1, {"Account ID": "A", "override_tier": "Bronze"})]
    merged, unknown = apply_overrides(records, {"A": {"override_tier": "Gold"}}, {"Account ID": "id"})
    assert merged[0].data == {"Account ID": "A", "override_tier": "Gold"} and unknown == []


def test_a_missing_overrides_file_is_named_as_such(tmp_path: Path) -> None:
    with pytest.raises(OverridesError, match="no overrides file at"):
        read_overrides(tmp_path / "nope.csv")
