"""An in-process service on a copy of the default rulebook, with a SQLite register."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kamrules.service import Limits, ServiceConfig, Tokens, create_app
from tests.conftest import ROOT

TOKEN = "flow-token-0123456789abcdef"
ACCOUNTS = [
    json.loads(line) for line in (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
]


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target)
    return target


@pytest.fixture
def make_client(tmp_path: Path, rules_dir: Path) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings: dict[str, Any] = {
            "rules": rules_dir,
            "register": str(tmp_path / "register.db"),
            "watch": False,
        }
        settings.update(overrides)
        client = TestClient(create_app(ServiceConfig(**settings)), raise_server_exceptions=False)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client()


@pytest.fixture
def authed(make_client: Callable[..., TestClient]) -> TestClient:
    return make_client(tokens=Tokens.parse(f"salesforce={TOKEN}\nhubspot=hubspot-token-0123456789", "test"))


__all__ = ["ACCOUNTS", "TOKEN", "Limits"]
