"""Shared helpers of the monitor tests: the default rulebook and one Gold account's events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kamrules import load_rulebook
from kamrules.rulebook import Rulebook
from tests.conftest import ROOT
from tests.service.conftest import make_client, rules_dir  # noqa: F401  (the service's fixtures, for POST /v1/events)

GOLD = "ACC-00021"
"""Søndergaard Farma AS: Gold in exploitation on 2026-11-01, plan compliant; its last joint
review was 2026-08-16 (due 100 days later, 2026-11-24) and its last mentor review
2026-11-01 (due 60 days later, 2026-12-31)."""


@pytest.fixture(scope="session")
def rules() -> Rulebook:
    return load_rulebook(ROOT / "rules")


def account(account_id: str) -> dict[str, Any]:
    with (ROOT / "examples" / "accounts.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record: dict[str, Any] = json.loads(line)
            if record["id"] == account_id:
                return record
    raise LookupError(account_id)


def event(event_id: str, type_: str, day: str, account_id: str = GOLD, **body: Any) -> dict[str, Any]:
    return {"id": event_id, "type": type_, "account_id": account_id, "occurred_at": day, "source": "crm", **body}


def tick(event_id: str, day: str) -> dict[str, Any]:
    return {"id": event_id, "type": "clock.tick", "occurred_at": day, "source": "cron", "date": day}
