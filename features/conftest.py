"""The features run on kamrules' own step library, exactly as a policy owner's repository would.

The policy features need nothing here: installing kamrules registers its pytest plugin (the
``pytest11`` entry point ``kamrules``), and ``kamrules_features`` in pyproject.toml has it
collect every ``*.feature`` file in this folder, so no test module calls ``scenarios()`` either.

``service.feature`` is the exception: its steps are an integrator's (HTTP calls to the decision
service, in-process), not a policy owner's, so they are defined below rather than in
``kamrules.testing.steps``. They need the service extra (part of dev).
"""

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

ROOT = Path(__file__).resolve().parents[1]
SERVICE_TOKEN = "salesforce-token-0123456789abcdef"


class Integrator:
    """The scenario's state: the service, the last answer, the rules folder."""

    def __init__(self, rules: Path, register: Path) -> None:
        self.rules = rules
        self.register = register
        self.client: Any = None
        self.tokens: dict[str, str] = {}
        self.answer: Any = None
        self.reload: Any = None

    def start(self) -> None:
        from fastapi.testclient import TestClient

        from kamrules.service import ServiceConfig, Tokens, create_app

        tokens = Tokens.parse("\n".join(f"{n}={t}" for n, t in self.tokens.items()), "scenario")
        config = ServiceConfig(rules=self.rules, register=str(self.register), tokens=tokens, watch=False)
        self.client = TestClient(create_app(config))
        self.client.__enter__()

    def auth(self, caller: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.get(caller, 'not-a-valid-token-at-all')}"}


@pytest.fixture
def integrator(tmp_path: Path) -> Iterator[Integrator]:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    state = Integrator(rules, tmp_path / "register.db")
    yield state
    if state.client is not None:
        state.client.__exit__(None, None, None)


def _account(account_id: str) -> dict[str, Any]:
    for line in (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines():
        record: dict[str, Any] = json.loads(line)
        if record["id"] == account_id:
            return record
    raise AssertionError(f"no account {account_id} in examples/accounts.jsonl")


@given("the decision service runs on the default rulebook with a register")
def _service(integrator: Integrator) -> None:
    assert (integrator.rules / "tiers.yaml").exists()


@given(parsers.parse('the CRM system "{caller}" has a token'))
def _token(integrator: Integrator, caller: str) -> None:
    integrator.tokens[caller] = SERVICE_TOKEN
    integrator.start()


@when(parsers.parse('"{caller}" posts the account "{account}" as of {date} in the CRM shape'))
@when(parsers.parse('an unknown caller posts the account "{account}" as of {date} in the CRM shape'))
def _post(integrator: Integrator, account: str, date: str, caller: str = "unknown") -> None:
    integrator.answer = integrator.client.post(
        f"/v1/decisions?as_of={date}&shape=crm", json=_account(account), headers=integrator.auth(caller)
    )


@when(parsers.parse('the policy owner lowers Gold\'s minimum score to {score:d} in version "{version}"'))
def _lower_gold(integrator: Integrator, score: int, version: str) -> None:
    tiers = integrator.rules / "tiers.yaml"
    tiers.write_text(tiers.read_text(encoding="utf-8").replace("min_score: 75", f"min_score: {score}", 1), "utf-8")
    book = integrator.rules / "rulebook.yaml"
    text = re.sub(r"(?m)^version: .*$", f'version: "{version}"', book.read_text(encoding="utf-8"))
    book.write_text(text, encoding="utf-8")


@when(parsers.parse("the policy owner saves a tiers file with a mistake on line {line:d}"))
def _break(integrator: Integrator, line: int) -> None:
    lines = ["tiers:", "  - name: Gold", "    min_score: lots"]
    assert len(lines) == line
    (integrator.rules / "tiers.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")


@when("the service reloads its rules")
def _reload(integrator: Integrator) -> None:
    integrator.reload = integrator.client.post("/v1/rulebook/reload", headers=integrator.auth("salesforce"))


@then(parsers.parse("the answer is {status:d}"))
def _status(integrator: Integrator, status: int) -> None:
    assert integrator.answer.status_code == status, integrator.answer.text


@then(parsers.parse("the answer has the flat fields {fields}"))
def _flat(integrator: Integrator, fields: str) -> None:
    body = integrator.answer.json()
    for name in re.split(r",\s*|\s+and\s+", fields):
        assert name in body, name
    assert all(not isinstance(v, dict | list) for v in body.values())


@then(parsers.parse('the answer\'s {field} is "{value}"'))
def _field(integrator: Integrator, field: str, value: str) -> None:
    assert str(integrator.answer.json()[field]) == value


@then(parsers.parse('the answer\'s why starts with "{start}"'))
def _why(integrator: Integrator, start: str) -> None:
    assert integrator.answer.json()["why"].startswith(start)


@then(parsers.parse('the decision is in the register with the caller "{caller}"'))
def _registered(integrator: Integrator, caller: str) -> None:
    from kamrules.register import Register

    with Register(str(integrator.register)) as register:
        stored = register.decision(integrator.answer.json()["decision_id"])
    assert stored.caller == caller and stored.tier == integrator.answer.json()["tier"]


@then(parsers.parse('the service serves rulebook version "{version}"'))
def _serves(integrator: Integrator, version: str) -> None:
    info = integrator.client.get("/v1/rulebook", headers=integrator.auth("salesforce")).json()
    assert info["version"] == version


@then(parsers.parse('the reload is refused naming "{file}" line {line:d}'))
def _refused(integrator: Integrator, file: str, line: int) -> None:
    assert integrator.reload.status_code == 422
    problem = integrator.reload.json()["problems"][0]
    assert (problem["file"], problem["line"]) == (file, line)


@then(parsers.parse('the history of "{account}" shows the tiers {tiers}'))
def _history(integrator: Integrator, account: str, tiers: str) -> None:
    body = integrator.client.get(f"/v1/accounts/{account}/decisions", headers=integrator.auth("salesforce")).json()
    integrator.answer = body
    assert [d["tier"] for d in body["decisions"]] == [t.strip() for t in tiers.split(",")]


@then(parsers.parse('the last change names "{text}"'))
def _moved(integrator: Integrator, text: str) -> None:
    moved = integrator.answer["decisions"][-1]["moved_by"]
    assert any(line.startswith(text) for line in moved), moved
