"""`kamrules serve --crm PROFILE`: records posted as a CRM exports them are read through the
profile, exactly as `kamrules evaluate --crm` reads the export file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kamrules.cli import exit_codes
from kamrules.cli.main import app as cli
from kamrules.portfolio.sources import read_records
from kamrules.register import Register, replay
from tests.conftest import ROOT

AS_OF = "2026-11-01"
EXPORT = ROOT / "examples" / "crm" / "salesforce_accounts.csv"
ROWS = [r.data for r in read_records(EXPORT) if r.data is not None]


def cli_lines(tmp_path: Path) -> list[str]:
    """What `kamrules evaluate --crm salesforce --format jsonl` writes for the export."""
    target = tmp_path / "cli.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            *("evaluate", str(ROOT / "rules"), str(EXPORT), "--crm", "salesforce"),
            *("--as-of", AS_OF, "-f", "jsonl", "-o", str(target)),
        ],
    )
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8").splitlines()


def test_crm_records_are_decided_through_the_profile_byte_for_byte_as_the_cli(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(crm="salesforce")
    expected = cli_lines(tmp_path)
    assert len(expected) == len(ROWS)
    for row, line in list(zip(ROWS, expected, strict=True))[:12]:
        response = client.post(f"/v1/decisions?as_of={AS_OF}", json=row)
        assert response.status_code == 200, response.text
        assert response.content == line.encode("utf-8")
        assert json.loads(line)["profile"]["name"] == "salesforce"
    batch = client.post(f"/v1/decisions?as_of={AS_OF}", json=ROWS[:12]).json()
    assert [json.dumps(d, ensure_ascii=False, separators=(",", ":")) for d in batch["decisions"]] == [
        json.dumps(json.loads(line), ensure_ascii=False, separators=(",", ":")) for line in expected[:12]
    ]
    info = client.get("/v1/rulebook").json()
    assert info["profile"]["name"] == "salesforce"


def test_the_crm_shape_and_the_register_work_through_the_profile(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(crm="salesforce")
    flat = client.post(f"/v1/decisions?as_of={AS_OF}&shape=crm", json=ROWS[0]).json()
    full = json.loads(cli_lines(tmp_path)[0])
    assert (flat["account_id"], flat["tier"], flat["segment"]) == (full["account_id"], full["tier"], full["segment"])
    assert flat["decision_id"] is not None
    with Register(str(tmp_path / "register.db")) as register:
        stored = register.decision(flat["decision_id"])
        assert stored.facts is not None and stored.facts["id"] == ROWS[0]["Id"]  # stored under fact names
        assert "AnnualRevenue" not in stored.facts
        replayed = replay(register, stored.id)
    assert replayed.identical, replayed.differences


def test_a_value_the_profile_cannot_read_is_422_with_the_cli_wording(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    client = make_client(crm="salesforce")
    bad = {**ROWS[0], "AnnualRevenue": "lots"}
    response = client.post(f"/v1/decisions?as_of={AS_OF}", json=bad)
    assert response.status_code == 422
    source = tmp_path / "bad.jsonl"
    source.write_text(json.dumps(bad) + "\n", encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["evaluate", str(ROOT / "rules"), str(source), "--crm", "salesforce", "--as-of", AS_OF, "-f", "jsonl"]
    )
    cli_error = json.loads(result.stdout.splitlines()[0])
    assert response.json()["errors"][0]["errors"] == cli_error["errors"]
    assert "AnnualRevenue" in response.json()["message"]


def test_serve_refuses_an_unknown_profile(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["serve", str(ROOT / "rules"), "--crm", "salesfarce", "--no-watch"])
    assert result.exit_code == exit_codes.USAGE
    assert "no CRM profile 'salesfarce'" in result.output and "salesforce" in result.output
    assert "Traceback" not in result.output
