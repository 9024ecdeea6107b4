"""Fault tests against real server processes on loopback, each bounded in time.

1. kill -9 while clients stream decisions: after a restart, every decision that was answered
   200 is in the register, byte for byte (SQLite and PostgreSQL).
2. under continuous load, a broken rulebook and then a good new version are written: no
   request fails, every response names the old or the new rulebook, and once the new one is
   serving, only the new one.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import httpx

from kamrules.register import Register, upgrade
from tests.conftest import ROOT
from tests.service.conftest import ACCOUNTS
from tests.service.process import ServerProcess

CLIENTS = 4


def _stream(url: str, stop: threading.Event, answered: list[tuple[str, int, str]], failures: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            account = ACCOUNTS[n % len(ACCOUNTS)]
            n += 1
            try:
                response = client.post("/v1/decisions?as_of=2026-11-01", json=account)
            except httpx.HTTPError:
                return  # the server is gone: stop streaming
            if response.status_code == 200:
                answered.append((account["id"], int(response.headers["X-Kamrules-Decision-Id"]), response.text))
            else:
                failures.append(f"{response.status_code} {response.text[:200]}")


def test_kill_9_loses_no_answered_decision(register_url: str, tmp_path: Path) -> None:
    upgrade(register_url)  # a server database is migrated explicitly; a SQLite file sets itself up
    log = tmp_path / "server.log"
    server = ServerProcess(ROOT / "rules", register_url, log, "--no-watch")
    answered: list[tuple[str, int, str]] = []
    failures: list[str] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_stream, args=(server.url, stop, answered, failures)) for _ in range(CLIENTS)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 30
        while len(answered) < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.kill()  # mid-stream: requests are in flight
    finally:
        stop.set()
        server.kill()
        for thread in threads:
            thread.join(15)
    assert len(answered) >= 150, f"too few decisions before the kill: {len(answered)}\n{log.read_text()}"
    assert failures == []

    restarted = ServerProcess(ROOT / "rules", register_url, log, "--no-watch")
    try:
        account, decision_id, text = answered[-1]
        history = httpx.get(f"{restarted.url}/v1/accounts/{account}/decisions", timeout=10).json()
        assert decision_id in [d["id"] for d in history["decisions"]]
    finally:
        restarted.stop()
    with Register(register_url) as register:
        for account, decision_id, text in answered:
            stored = register.decision(decision_id)
            assert stored.account_id == account and stored.explanation == text


def _load(url: str, stop: threading.Event, results: list[tuple[float, int, str, str]]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            account = ACCOUNTS[n % len(ACCOUNTS)]
            n += 1
            sent = time.monotonic()
            try:
                response = client.post("/v1/decisions?as_of=2026-11-01", json=account)
            except httpx.HTTPError as exc:
                results.append((sent, 0, "", f"{type(exc).__name__}: {exc}"))
                continue
            body_hash = (
                response.json().get("rulebook", {}).get("content_hash", "") if response.status_code == 200 else ""
            )
            results.append(
                (sent, response.status_code, response.headers.get("X-Kamrules-Rulebook-Hash", ""), body_hash)
            )


def test_a_broken_then_good_rulebook_under_load(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    log = tmp_path / "server.log"
    server = ServerProcess(rules, str(tmp_path / "register.db"), log)
    results: list[tuple[float, int, str, str]] = []
    stop = threading.Event()
    threads = [threading.Thread(target=_load, args=(server.url, stop, results)) for _ in range(CLIENTS)]
    try:
        old = httpx.get(server.url + "/v1/rulebook", timeout=10).json()["content_hash"]
        for thread in threads:
            thread.start()
        time.sleep(1)
        tiers = rules / "tiers.yaml"
        good_tiers = tiers.read_text(encoding="utf-8")
        tiers.write_text(good_tiers.replace("min_score: 75", "min_score: [75"), encoding="utf-8")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            info = httpx.get(server.url + "/v1/rulebook", timeout=10).json()
            if info["last_reload_error"] is not None:
                break
            time.sleep(0.05)
        assert info["last_reload_error"]["problems"][0]["file"] == "tiers.yaml", info
        assert info["content_hash"] == old
        time.sleep(0.5)
        book = rules / "rulebook.yaml"
        book.write_text(re.sub(r"(?m)^version: .*$", 'version: "2027.01"', book.read_text(encoding="utf-8")), "utf-8")
        tiers.write_text(good_tiers, encoding="utf-8")
        new = old
        while time.monotonic() < deadline + 20:
            info = httpx.get(server.url + "/v1/rulebook", timeout=10).json()
            if info["content_hash"] != old and info["last_reload_error"] is None:
                new = info["content_hash"]
                break
            time.sleep(0.05)
        switched = time.monotonic()
        assert new != old, info
        time.sleep(1)
    finally:
        stop.set()
        for thread in threads:
            thread.join(15)
        server.stop()
    failed = [r for r in results if r[1] != 200]
    assert failed == [], failed[:5]
    assert len(results) > 50
    assert {r[2] for r in results} <= {old, new}
    assert all(header == body for _, _, header, body in results)  # header and body agree
    after = [r for r in results if r[0] > switched]
    assert after and all(r[2] == new for r in after)
    assert any(r[2] == old for r in results)
