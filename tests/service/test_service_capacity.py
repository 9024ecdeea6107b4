"""Tier capacity for single accounts: placed against the latest placement a batch run saved
in the register, and the decision names that run; with none saved, it says so."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kamrules import Engine, load_rulebook
from kamrules.cli.main import app as cli
from kamrules.register import Register, replay
from kamrules.service import ServiceConfig, create_app
from tests.conftest import SMALL_RULEBOOK

CAPPED = SMALL_RULEBOOK.replace(
    "  - name: Gold\n    min_score: 80\n", "  - name: Gold\n    min_score: 80\n    capacity: 1\n"
)
STRONG = {"annual_revenue": 20_000_000, "strategic_fit": 5, "relationship_strength": 5}


def test_single_accounts_are_placed_against_the_saved_placement(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "rules.yaml").write_text(CAPPED, encoding="utf-8")
    register = str(tmp_path / "register.db")
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text("".join(json.dumps({"id": f"ACC-{n}", **STRONG}) + "\n" for n in (1, 2, 3)), encoding="utf-8")

    def decide() -> dict[str, object]:
        config = ServiceConfig(rules=rules, register=register, watch=False)
        with TestClient(create_app(config)) as client:
            response = client.post("/v1/decisions?as_of=2026-11-01", json={"id": "ACC-2", **STRONG})
            assert response.status_code == 200
            body: dict[str, object] = response.json()
            return body

    alone = decide()
    assert alone["capacity"] is not None and alone["capacity"]["applied"] is False  # type: ignore[index]
    assert alone["tier"] == "Gold"  # no portfolio known: capacity not applied, and it says so

    result = CliRunner().invoke(
        cli, ["evaluate", str(rules), str(accounts), "--as-of", "2026-11-01", "-f", "jsonl", "--register", register]
    )
    assert result.exit_code == 0, result.output
    batch = [json.loads(line) for line in result.stdout.splitlines()]
    assert [d["tier"] for d in batch] == ["Gold", "Silver", "Silver"]  # ACC-1 wins Gold by account id
    with Register(register) as opened:
        saved = opened.latest_placement(_engine(rules))
    assert saved is not None and saved.portfolio == 3

    placed = decide()
    capacity = placed["capacity"]
    assert placed["tier"] == "Silver"
    assert capacity["applied"] is True and capacity["placement"] == saved.id  # type: ignore[index]
    with Register(register) as opened:
        last = opened.decisions_of("ACC-2")[-1]
        assert last.source == "service"
        result = replay(opened, last.id)  # placed against the same stored placement again
    assert result.identical, result.differences


def _engine(rules: Path) -> Engine:
    return Engine(load_rulebook(rules))
