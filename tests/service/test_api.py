"""The decision service through an HTTP client: every endpoint and error path."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kamrules.cli import exit_codes
from kamrules.cli.main import app as cli
from kamrules.register import Register
from kamrules.service import HASH_HEADER
from kamrules.service.config import Limits
from tests.conftest import ROOT
from tests.service.conftest import ACCOUNTS, TOKEN

AS_OF = "2026-11-01"


def cli_jsonl(tmp_path: Path, records: list[Any]) -> list[str]:
    """What `kamrules evaluate --format jsonl` writes for these records."""
    source, target = tmp_path / "in.jsonl", tmp_path / "out.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    CliRunner().invoke(
        cli, ["evaluate", str(ROOT / "rules"), str(source), "--as-of", AS_OF, "-f", "jsonl", "-o", str(target)]
    )
    return target.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("inline_bytes", [64 * 1024, 0], ids=["on the event loop", "in a worker thread"])
def test_a_decision_is_byte_for_byte_the_cli_jsonl_line(
    make_client: Callable[..., TestClient], tmp_path: Path, inline_bytes: int
) -> None:
    client = make_client(limits=Limits(inline_bytes=inline_bytes))
    records = ACCOUNTS[:25]
    expected = cli_jsonl(tmp_path, records)
    for record, line in zip(records, expected, strict=True):
        response = client.post(f"/v1/decisions?as_of={AS_OF}", json=record)
        assert response.status_code == 200
        assert response.content == line.encode("utf-8")
        assert response.headers[HASH_HEADER] == json.loads(line)["rulebook"]["content_hash"]
        assert response.headers["X-Kamrules-As-Of"] == AS_OF


def test_a_batch_holds_the_same_bytes_and_answers_the_good_records(client: TestClient, tmp_path: Path) -> None:
    bad = {**ACCOUNTS[3], "annual_revenue": "a lot"}
    records = [ACCOUNTS[0], bad, ACCOUNTS[1], "not an account"]
    expected = cli_jsonl(tmp_path, records[:3])
    response = client.post(f"/v1/decisions?as_of={AS_OF}", json=records)
    assert response.status_code == 200
    text = response.text
    assert f'"decisions":[{expected[0]},{expected[2]}]' in text  # the very bytes, joined
    body = response.json()
    assert body["summary"] == {"records": 4, "decided": 2, "errors": 2}
    assert len(body["decisions"]) + len(body["errors"]) == len(records)
    # The error record is the CLI's, field path and wording, numbered as in the request.
    # (The CLI also gives the line of the input file; a request body has none.)
    assert body["errors"][0] == {**json.loads(expected[1]), "line": None}
    assert body["errors"][1]["record"] == 4 and body["errors"][1]["errors"][0]["field"] == "(record)"
    assert body["rulebook"]["content_hash"] == response.headers[HASH_HEADER]
    assert len(body["decision_ids"]) == 2


def test_one_bad_record_is_422_with_the_cli_field_path(client: TestClient, tmp_path: Path) -> None:
    bad = {**ACCOUNTS[3], "annual_revenue": "a lot"}
    (expected,) = cli_jsonl(tmp_path, [bad])
    response = client.post(f"/v1/decisions?as_of={AS_OF}", json=bad)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_record"
    assert body["errors"] == [{**json.loads(expected), "line": None}]
    assert body["message"] == json.loads(expected)["message"]
    assert body["rulebook_hash"] == response.headers[HASH_HEADER]


def test_a_batch_where_nothing_could_be_decided_is_422(client: TestClient) -> None:
    response = client.post("/v1/decisions", json=[{"id": "X", "annual_revenue": "?"}, 3])
    assert response.status_code == 422
    assert len(response.json()["errors"]) == 2


def test_the_crm_shape_is_flat(client: TestClient) -> None:
    response = client.post(f"/v1/decisions?as_of={AS_OF}&shape=crm", json=ACCOUNTS[0])
    assert response.status_code == 200
    row = response.json()
    assert all(not isinstance(value, dict | list) for value in row.values())
    full = client.post(f"/v1/decisions?as_of={AS_OF}", json=ACCOUNTS[0]).json()
    assert row["tier"] == full["tier"] and row["segment"] == full["segment"]
    assert row["score_attractiveness"] == full["scores"]["attractiveness"]["score"]
    assert row["why"] == full["summary"] and row["rulebook_hash"] == full["rulebook"]["content_hash"]
    assert row["as_of"] == AS_OF and isinstance(row["decision_id"], int)
    batch = client.post(f"/v1/decisions?as_of={AS_OF}&shape=crm", json=ACCOUNTS[:3]).json()
    assert [r["account_id"] for r in batch["decisions"]] == [a["id"] for a in ACCOUNTS[:3]]


def test_without_as_of_the_date_is_today_in_the_configured_zone(make_client: Callable[..., TestClient]) -> None:
    client = make_client(time_zone="Pacific/Kiritimati")
    response = client.post("/v1/decisions", json=ACCOUNTS[0])
    today = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    assert response.headers["X-Kamrules-As-Of"] == today
    assert response.json()["as_of"] == today


def test_every_answered_decision_is_in_the_register_with_its_caller(authed: TestClient, tmp_path: Path) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "X-Request-Id": "flow-42"}
    one = authed.post(f"/v1/decisions?as_of={AS_OF}", json=ACCOUNTS[0], headers=headers)
    batch = authed.post(f"/v1/decisions?as_of={AS_OF}", json=ACCOUNTS[1:4], headers=headers)
    assert one.status_code == batch.status_code == 200
    with Register(str(tmp_path / "register.db")) as register:
        stored = register.decision(int(one.headers["X-Kamrules-Decision-Id"]))
        assert stored.explanation == one.text
        assert (stored.caller, stored.request_id, stored.source) == ("salesforce", "flow-42", "service")
        assert stored.facts == ACCOUNTS[0]
        texts = [register.decision(i).explanation for i in batch.json()["decision_ids"]]
    assert [json.loads(t) for t in texts] == batch.json()["decisions"]


def test_account_history_from_the_register(client: TestClient) -> None:
    account = ACCOUNTS[7]
    client.post("/v1/decisions?as_of=2026-11-01", json=account)
    client.post("/v1/decisions?as_of=2026-11-02", json=account)
    response = client.get(f"/v1/accounts/{account['id']}/decisions")
    assert response.status_code == 200
    decisions = response.json()["decisions"]
    assert [d["as_of"] for d in decisions] == ["2026-11-01", "2026-11-02"]
    assert decisions[1]["moved_by"][0] == "as-of date 2026-11-01 -> 2026-11-02"
    missing = client.get("/v1/accounts/NOPE/decisions")
    assert missing.status_code == 404 and "no decision for account 'NOPE'" in missing.json()["message"]


def test_without_a_register_there_is_no_history(make_client: Callable[..., TestClient]) -> None:
    client = make_client(register=None)
    assert client.post("/v1/decisions", json=ACCOUNTS[0]).status_code == 200
    response = client.get(f"/v1/accounts/{ACCOUNTS[0]['id']}/decisions")
    assert response.status_code == 404 and response.json()["error"] == "no_register"


def test_explain_with_what_it_would_take(client: TestClient) -> None:
    response = client.post(f"/v1/explain?as_of={AS_OF}&to=Gold", json=ACCOUNTS[0])
    assert response.status_code == 200
    body = response.json()
    assert body["decision"]["account_id"] == ACCOUNTS[0]["id"]
    assert body["what_it_takes"]["target"] == "Gold" and "To reach Gold" in body["what_it_takes"]["text"]
    history = client.get(f"/v1/accounts/{ACCOUNTS[0]['id']}/decisions").json()["decisions"]
    assert len(history) == 1  # the decision it explains is recorded like any other
    unknown = client.post(f"/v1/explain?as_of={AS_OF}&to=Gld", json=ACCOUNTS[0])
    assert unknown.status_code == 422 and "did you mean 'Gold'" in unknown.json()["message"]


def test_plan_check(client: TestClient) -> None:
    key_account = next(a for a in ACCOUNTS if a.get("plan"))
    response = client.post(f"/v1/plans/check?as_of={AS_OF}", json=key_account)
    assert response.status_code == 200
    body = response.json()
    assert body["plan"]["kind"] == "plan" and body["plan"]["account_id"] == key_account["id"]
    assert isinstance(body["actions"], list)


@pytest.mark.parametrize("route", ["/v1/explain?to=Gold&", "/v1/plans/check?"])
def test_explain_and_plan_check_take_a_list(make_client: Callable[..., TestClient], route: str) -> None:
    client = make_client(limits=Limits(max_records=6))
    bad = {**ACCOUNTS[3], "annual_revenue": "a lot"}
    records = [*ACCOUNTS[:3], bad, ACCOUNTS[4]]
    response = client.post(f"{route}as_of={AS_OF}", json=records)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["summary"] == {"records": 5, "decided": 4, "errors": 1}
    assert len(body["results"]) + len(body["errors"]) == len(records)
    assert body["errors"][0]["record"] == 4 and "annual_revenue" in body["errors"][0]["message"]
    one = client.post(f"{route}as_of={AS_OF}", json=ACCOUNTS[4]).json()
    assert body["results"][3] == one  # each result is what the account alone gets
    service = client.app.state.kam  # type: ignore[attr-defined]
    assert [service.register.decision(i).account_id for i in body["decision_ids"]] == [
        r["id"] for r in (*ACCOUNTS[:3], ACCOUNTS[4])
    ]
    if route.startswith("/v1/explain"):
        assert all(r["what_it_takes"]["target"] == "Gold" for r in body["results"])
    else:
        assert all(r["plan"]["kind"] == "plan" for r in body["results"])
    assert client.post(f"{route}as_of={AS_OF}", json=ACCOUNTS[:7]).status_code == 413
    nothing = client.post(f"{route}as_of={AS_OF}", json=[bad])
    assert nothing.status_code == 422 and nothing.json()["error"] == "invalid_records"


def test_a_request_over_its_time_stops_its_worker_thread(
    make_client: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The answer is 503 at the limit, and the worker thread stops at the next record
    instead of deciding the rest of the list for nobody."""
    import time

    client = make_client(limits=Limits(request_seconds=0.5))
    engine = client.app.state.kam.state.current.engine  # type: ignore[attr-defined]
    calls: list[float] = []
    real = engine.evaluate

    def slow(*args: Any) -> Any:
        calls.append(time.monotonic())
        time.sleep(0.05)
        return real(*args)

    monkeypatch.setattr(engine, "evaluate", slow)
    response = client.post(f"/v1/decisions?as_of={AS_OF}", json=ACCOUNTS[:100])
    assert response.status_code == 503 and response.json()["error"] == "timeout"
    time.sleep(0.5)
    stopped = len(calls)
    time.sleep(0.5)
    assert 0 < len(calls) == stopped < 100


def test_rulebook_and_health(client: TestClient) -> None:
    info = client.get("/v1/rulebook").json()
    assert info["id"] == "default_kam" and "tiers.yaml" in info["files"] and info["last_reload_error"] is None
    assert client.get("/healthz").json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["register_status"] == "ok"
    assert ready.headers[HASH_HEADER] == info["content_hash"]


def test_metrics(client: TestClient) -> None:
    client.post(f"/v1/decisions?as_of={AS_OF}", json=ACCOUNTS[:5])
    client.post("/v1/decisions", content=b"{")
    text = client.get("/metrics").text
    assert 'kamrules_requests_total{route="/v1/decisions",status="200"} 1.0' in text
    assert 'kamrules_requests_total{route="/v1/decisions",status="400"} 1.0' in text
    assert 'kamrules_request_seconds_bucket{le="0.01",route="/v1/decisions"}' in text
    assert (
        sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("kamrules_decisions_total{"))
        == 5
    )
    assert "kamrules_register_write_failures_total 0.0" in text
    assert "kamrules_reloads_total" in text


def test_openapi_is_generated_from_the_library_models(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    for name in ("Decision", "AccountError", "DecisionBatch", "CrmDecision", "RulebookInfo", "ErrorBody"):
        assert name in schemas
    assert "/v1/decisions" in document["paths"] and "/v1/accounts/{account_id}/decisions" in document["paths"]


# -- security and limits ------------------------------------------------------------------


def test_tokens(authed: TestClient) -> None:
    assert authed.post("/v1/decisions", json=ACCOUNTS[0]).status_code == 401
    wrong = authed.post("/v1/decisions", json=ACCOUNTS[0], headers={"Authorization": "Bearer nope-nope-nope-nope"})
    assert wrong.status_code == 401 and wrong.json()["message"] == "the bearer token is not valid"
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    basic = authed.get("/v1/rulebook", headers={"Authorization": f"Basic {TOKEN}"})
    assert basic.status_code == 401
    assert authed.get("/v1/rulebook", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert authed.get("/metrics").status_code == 401
    assert authed.get("/healthz").status_code == 200  # load balancers probe without a token


def test_body_size_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(limits=Limits(max_body_bytes=2048))
    response = client.post("/v1/decisions", content=b"[" + b" " * 4096 + b"]")
    assert response.status_code == 413 and response.json()["error"] == "too_large"


def test_records_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(limits=Limits(max_records=3))
    response = client.post("/v1/decisions", json=ACCOUNTS[:4])
    assert response.status_code == 413
    assert response.json()["message"] == "4 records in one request; the limit is 3"


def test_depth_limit_and_bad_json(client: TestClient) -> None:
    deep = client.post("/v1/decisions", content=b"[" * 40 + b"]" * 40)
    assert deep.status_code == 400 and deep.json()["error"] == "too_deep"
    very_deep = client.post("/v1/decisions", content=b"[" * 100_000 + b"]" * 100_000)
    assert very_deep.status_code in (400, 413)
    broken = client.post("/v1/decisions", content=b'{"id": ')
    assert broken.status_code == 400 and broken.json()["message"].startswith("the body is not JSON: Expecting value")
    empty = client.post("/v1/decisions", content=b"")
    assert empty.status_code == 400 and empty.json()["error"] == "empty_body"
    scalar = client.post("/v1/decisions", json=5)
    assert scalar.status_code == 400 and scalar.json()["error"] == "not_accounts"
    param = client.post("/v1/decisions?as_of=2026-13-01", json=ACCOUNTS[0])
    assert param.status_code == 422 and param.json()["message"].startswith("as_of: ")


def test_time_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(limits=Limits(request_seconds=0.001))
    response = client.post("/v1/decisions", json=ACCOUNTS)
    assert response.status_code == 503 and response.json()["error"] == "timeout"


def test_no_traceback_or_path_reaches_a_response(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    service = client.app.state.kam  # type: ignore[attr-defined]

    def broken(*_: Any) -> Any:
        raise RuntimeError("/srv/secret/path/engine.py exploded")

    monkeypatch.setattr(service, "decide", broken)
    response = client.post("/v1/decisions", json=ACCOUNTS[0])
    assert response.status_code == 500
    assert "Traceback" not in response.text and "/srv/secret" not in response.text
    assert response.json()["error"] == "internal" and response.json()["request_id"]
    assert client.get("/nowhere").json()["error"] == "not_found"


def test_a_register_failure_answers_503_and_is_counted(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The writer process's transaction fails for real (a row the schema refuses): the
    decision is not given, the reason stays in the log, and the writer serves on."""
    service = client.app.state.kam  # type: ignore[attr-defined]
    encode = service.register.rows

    def refused(*args: Any, **kwargs: Any) -> Any:
        return [{**row, "account_id": None} for row in encode(*args, **kwargs)]  # NOT NULL in the schema

    before = service.register.count()
    monkeypatch.setattr(service.register, "rows", refused)
    response = client.post("/v1/decisions", json=ACCOUNTS[0])
    assert response.status_code == 503 and response.json()["error"] == "not_recorded"
    assert response.headers["retry-after"] == "1"
    assert "NOT NULL" not in response.text and "Traceback" not in response.text
    assert "kamrules_register_write_failures_total 1.0" in client.get("/metrics").text
    monkeypatch.undo()
    assert service.register.count() == before
    assert client.post("/v1/decisions", json=ACCOUNTS[0]).status_code == 200  # the writer process serves on
    assert service.register.count() == before + 1
    assert "kamrules_register_writer_restarts_total 0.0" in client.get("/metrics").text


def test_a_dead_writer_process_answers_503_says_so_and_is_started_again(client: TestClient) -> None:
    """The register's writer is a process of its own: killed, the service gives no decision
    it cannot record (503, no traceback), /readyz and /metrics say the writer is down, and a
    new writer process serves within seconds."""
    import os
    import signal
    import time

    service = client.app.state.kam  # type: ignore[attr-defined]
    before = service.register.count()
    first = service.writer.process.pid
    assert "kamrules_register_writer_up 1.0" in client.get("/metrics").text
    os.kill(first, signal.SIGKILL)
    response = client.post("/v1/decisions", json=ACCOUNTS[0])
    assert response.status_code == 503 and response.json()["error"] == "not_recorded"
    assert "Traceback" not in response.text and "writer" not in response.text
    ready = client.get("/readyz")
    if ready.status_code == 503:  # a restart may already be under way: then it is not ready yet
        assert ready.json()["register_status"] == "writer_stopped"
        assert "kamrules_register_writer_up 0.0" in client.get("/metrics").text
    deadline = time.monotonic() + 60
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the writer process was not started again"
        time.sleep(0.05)
    assert service.writer.process.pid != first
    metrics = client.get("/metrics").text
    assert "kamrules_register_writer_up 1.0" in metrics and "kamrules_register_writer_restarts_total 1.0" in metrics
    answer = client.post("/v1/decisions", json=ACCOUNTS[0])
    assert answer.status_code == 200
    assert service.register.count() == before + 1
    assert service.register.decision(int(answer.headers["X-Kamrules-Decision-Id"])).explanation == answer.text
    assert "kamrules_register_commit_seconds_count 1.0" in client.get("/metrics").text


def test_shutdown_stops_the_writer_process(make_client: Any) -> None:
    client = make_client()
    service = client.app.state.kam
    assert client.post("/v1/decisions", json=ACCOUNTS[0]).status_code == 200
    process = service.writer.process
    client.__exit__(None, None, None)
    assert process.poll() == 0  # told to stop after its last commit, it exited by itself
    assert service.register.count() == 1


# -- hot reload ----------------------------------------------------------------------------


def bump(rules_dir: Path, version: str, gold: int | None = None) -> None:
    book = rules_dir / "rulebook.yaml"
    text = book.read_text(encoding="utf-8")
    import re

    book.write_text(re.sub(r"(?m)^version: .*$", f'version: "{version}"', text), encoding="utf-8")
    if gold is not None:
        tiers = rules_dir / "tiers.yaml"
        tiers.write_text(
            tiers.read_text(encoding="utf-8").replace("min_score: 75", f"min_score: {gold}", 1), encoding="utf-8"
        )


def test_reload_swaps_a_good_rulebook_and_refuses_a_broken_one(client: TestClient, rules_dir: Path) -> None:
    old = client.get("/v1/rulebook").json()
    bump(rules_dir, "2027.01")
    response = client.post("/v1/rulebook/reload")
    assert response.status_code == 200 and response.json()["changed"] is True
    new = response.json()["rulebook"]
    assert new["version"] == "2027.01" and new["content_hash"] != old["content_hash"]
    assert client.post("/v1/decisions", json=ACCOUNTS[0]).json()["rulebook"]["version"] == "2027.01"

    (rules_dir / "tiers.yaml").write_text("tiers:\n  - name: Gold\n    min_score: lots\n", encoding="utf-8")
    refused = client.post("/v1/rulebook/reload")
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_rulebook"
    problem = refused.json()["problems"][0]
    assert problem["file"] == "tiers.yaml" and problem["line"] == 3 and problem["at"].startswith("tiers.yaml:3:")
    assert str(rules_dir) not in refused.text  # the server's paths stay on the server
    assert refused.headers[HASH_HEADER] == new["content_hash"]  # the old one serves on
    decision = client.post("/v1/decisions", json=ACCOUNTS[0])
    assert decision.status_code == 200 and decision.json()["rulebook"]["content_hash"] == new["content_hash"]
    assert client.get("/v1/rulebook").json()["last_reload_error"]["problems"][0]["file"] == "tiers.yaml"
    assert 'kamrules_reloads_total{result="invalid"} 1.0' in client.get("/metrics").text


def test_a_request_in_flight_finishes_on_its_rulebook(
    client: TestClient, rules_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = client.app.state.kam  # type: ignore[attr-defined]
    started, release = threading.Event(), threading.Event()
    real = service.decide

    def slow(*args: Any) -> Any:
        started.set()
        assert release.wait(10)
        return real(*args)

    monkeypatch.setattr(service, "decide", slow)
    before = client.get("/v1/rulebook").json()["content_hash"]
    result: dict[str, Any] = {}
    # a list is decided in a worker thread (one small account is decided on the event loop,
    # where no reload request could be answered meanwhile)
    thread = threading.Thread(target=lambda: result.update(r=client.post("/v1/decisions", json=ACCOUNTS[:1])))
    thread.start()
    assert started.wait(10)
    bump(rules_dir, "2027.02")
    assert client.post("/v1/rulebook/reload").status_code == 200
    release.set()
    thread.join(10)
    response = result["r"]
    assert response.json()["decisions"][0]["rulebook"]["content_hash"] == before == response.headers[HASH_HEADER]
    monkeypatch.setattr(service, "decide", real)
    after = client.post("/v1/decisions", json=ACCOUNTS[0])
    assert after.json()["rulebook"]["version"] == "2027.02"


def test_a_changed_file_is_picked_up_by_the_watcher(make_client: Callable[..., TestClient], rules_dir: Path) -> None:
    import time

    client = make_client(watch=True)
    time.sleep(0.5)  # let the watcher start
    bump(rules_dir, "2027.03")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if client.get("/v1/rulebook").json()["version"] == "2027.03":
            break
        time.sleep(0.1)
    assert client.get("/v1/rulebook").json()["version"] == "2027.03"


# -- the command ----------------------------------------------------------------------------


def test_serve_refuses_the_network_without_tokens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAMRULES_TOKENS", raising=False)
    result = CliRunner().invoke(cli, ["serve", str(ROOT / "rules"), "--host", "0.0.0.0"])
    assert result.exit_code == exit_codes.USAGE
    assert "--allow-unauthenticated-network-access" in result.stderr


def test_serve_refuses_a_broken_rulebook_and_bad_tokens(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("rulebook: x\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", str(bad)])
    assert result.exit_code == exit_codes.INVALID_RULES and "Traceback" not in result.output
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("salesforce=short\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["serve", str(ROOT / "rules"), "--tokens-file", str(tokens)])
    assert result.exit_code == exit_codes.USAGE and "shorter than 16 characters" in result.stderr


def test_the_served_heap_is_frozen_and_a_reload_frees_the_old_rulebook(
    make_client: Callable[..., TestClient], rules_dir: Path
) -> None:
    """The loaded heap is out of the collector's walks while the server runs (no pauses of
    100 ms behind a full collection), a replaced rulebook is freed, and nothing stays frozen
    after the server stops."""
    import gc
    import weakref

    client = make_client()
    assert gc.get_freeze_count() > 0
    service = client.app.state.kam  # type: ignore[attr-defined]
    old = weakref.ref(service.state.current.engine)
    bump(rules_dir, "2027.02")
    assert client.post("/v1/rulebook/reload").json()["changed"] is True
    assert old() is None, "the replaced rulebook's engine is still alive after the reload"
    new = service.state.current.engine
    assert not any(o is new for o in gc.get_objects()), "the new rulebook is walked by every collection"
    del new
    client.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0
