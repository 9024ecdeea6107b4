"""Differential test on nested facts: plans, contacts, team, relationships and restrictions
read as struct and list columns and decided in columns must give, account for account, what
the per-account engine gives (both read the same frame: the per-account engine gets each
row's record from it). Random portfolios, drawn from the fact schema itself, carry missing
facts, empty and missing lists, no plan, values shared between lists (so lookups find
items), bad categories, out-of-range numbers and future dates (rows the columns must hand to
the per-account engine so that the error is its own).
"""

from __future__ import annotations

import datetime as dt
import random
import warnings
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kamrules import Engine, load_rulebook, load_rulebook_text  # noqa: E402
from kamrules.facts.types import CategoryType, FactField, ListType, RecordType, ScalarType  # noqa: E402
from kamrules.portfolio import evaluate_portfolio  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

AS_OF = dt.date(2026, 11, 1)
WORDS = ["Ana", "Ben", "Cy", "Dee", "C1", "C2", "C3", "Sales", "IT", "Ops"]
"""A small pool of text, so that names, ids and departments of different lists meet."""


def _value(rng: random.Random, fact: FactField, bad: float) -> Any:
    t = fact.type
    if isinstance(t, CategoryType):
        return rng.choice([*t.values, "bogus"]) if rng.random() < bad else rng.choice(t.values)
    assert isinstance(t, ScalarType)
    if t.kind == "text":
        return rng.choice(WORDS)
    if t.kind == "boolean":
        return rng.random() < 0.5
    if t.kind == "date":
        days = rng.choice([-400, -200, -120, -91, -90, -60, -30, -1, 0, 30, 200])
        if days > 0 and fact.past and rng.random() > bad:
            days = -days
        return (AS_OF + dt.timedelta(days=days)).isoformat()
    low = fact.minimum if fact.minimum is not None else -5
    high = fact.maximum if fact.maximum is not None else 20
    if rng.random() < bad:
        low, high = low - 3, high + 3
    if t.kind == "integer":
        return rng.randint(int(low), int(high))
    return round(rng.uniform(low, high), rng.choice([0, 1, 2]))


def _record(rng: random.Random, record: RecordType, bad: float, top: bool) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, fact in record.fields.items():
        if fact.derived or (fact.column is not None and top):
            continue
        if isinstance(fact.type, RecordType):
            data[name] = None if rng.random() < 0.15 else _record(rng, fact.type, bad, False)
        elif isinstance(fact.type, ListType):
            size = rng.choice([0, 0, 1, 2, 3, 5])
            items: list[Any] = [_record(rng, fact.type.item, bad, False) for _ in range(size)]
            if items and rng.random() < bad / 4:
                items[0] = None
            data[name] = None if (not top and rng.random() < bad / 4) else items
        elif fact.required and not rng.random() < bad / 4:
            data[name] = _value(rng, fact, bad)
        else:
            data[name] = None if rng.random() < 0.25 else _value(rng, fact, bad)
    return data


def _dtype(fact: FactField) -> Any:
    t = fact.type
    if isinstance(t, RecordType):
        return pl.Struct({n: _dtype(f) for n, f in t.fields.items() if not f.derived})
    if isinstance(t, ListType):
        return pl.List(_dtype(FactField(t.item.name, t.item)))
    if isinstance(t, CategoryType):
        return pl.String
    assert isinstance(t, ScalarType)
    return {"text": pl.String, "date": pl.String, "boolean": pl.Boolean, "integer": pl.Int64, "number": pl.Float64}[
        t.kind
    ]


def portfolio(engine: Engine, seed: int, size: int, bad: float) -> pl.DataFrame:
    """A frame of ``size`` random accounts with nested facts as struct and list columns."""
    rng = random.Random(seed)
    account = engine.rulebook.schema.account
    rows = []
    for i in range(size):
        data = _record(rng, account, bad, True)
        data["id"] = f"A{i:03d}" if rng.random() > bad / 4 else None
        # Overrides and current tiers are flat facts (test_columnar_differential); text drawn
        # at random would be an incomplete override or an unknown tier, decided per account.
        for name in ("override_tier", "override_reason", "override_approver", "override_expires", "current_tier"):
            data[name] = None
        if rng.random() < 0.7 and "override_tier" in account.fields:
            # Random facts rarely score a key tier; a complete override pins one, so plan
            # checks apply (at every stage the generator draws).
            data["override_tier"] = rng.choice([t.name for t in engine.tiers if t.key_account])
            data["override_reason"], data["override_approver"] = "Strategic.", "Director"
            data["override_expires"] = "2027-06-30"
        rows.append(data)
    schema = {n: _dtype(f) for n, f in account.fields.items() if not f.derived}
    return pl.DataFrame(rows, schema=schema, orient="row")


def same(engine: Engine, frame: pl.DataFrame) -> tuple[int, int]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        columnar = evaluate_portfolio(engine, frame, AS_OF, engine="columnar")
    reference = evaluate_portfolio(engine, frame, AS_OF, engine="per-account")
    for column in reference.frame.columns:
        left, right = columnar.frame.get_column(column), reference.frame.get_column(column)
        differ = left.ne_missing(right)
        if differ.any():
            rows = differ.arg_true()[:3].to_list()
            raise AssertionError(
                f"{column}: columnar {left.gather(rows).to_list()} != per account {right.gather(rows).to_list()} "
                f"(records {[r + 1 for r in rows]})"
            )
    assert columnar.frame.equals(reference.frame)
    return columnar.per_account_rows, frame.height


@pytest.fixture(scope="module")
def default_engine() -> Engine:
    return Engine(load_rulebook(ROOT / "rules"))


@settings(
    max_examples=25,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # a failing portfolio is shown whole, not shrunk
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(seed=st.integers(0, 2**32), bad=st.sampled_from([0.0, 0.02, 0.1]))
def test_nested_portfolios_decide_as_per_account(default_engine: Engine, seed: int, bad: float) -> None:
    fallback, _ = same(default_engine, portfolio(default_engine, seed, 40, bad))
    if bad == 0.0:
        assert fallback == 0, "a clean nested portfolio is decided entirely in columns"


def test_clean_nested_portfolio_is_decided_entirely_in_columns(default_engine: Engine) -> None:
    frame = portfolio(default_engine, 7, 200, 0.0)
    result = evaluate_portfolio(default_engine, frame, AS_OF, engine="columnar")
    assert result.per_account_rows == 0 and result.fallback is None
    # the portfolio exercises the checks: each result occurs
    seen = set()
    for check in default_engine.checks:
        seen.update(result.frame.get_column(f"check.{check.spec.id}").drop_nulls().to_list())
    assert seen == {"passed", "failed", "not_applicable", "evidence_missing"}
    same(default_engine, frame)


def test_bad_items_go_per_account_with_the_per_account_error(default_engine: Engine) -> None:
    frame = portfolio(default_engine, 11, 60, 0.0)
    contacts = frame.get_column("contacts").to_list()
    broken = next(i for i, c in enumerate(contacts) if c)
    contacts[broken][0]["role"] = "boss"
    frame = frame.with_columns(pl.Series("contacts", contacts, dtype=frame.schema["contacts"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate_portfolio(default_engine, frame, AS_OF, engine="columnar")
    assert result.per_account_rows == 1
    error = result.frame.row(broken, named=True)["error"]
    assert error.startswith("contacts[0].role: 'boss' is not a contact role value")
    same(default_engine, frame)


CUSTOM = """\
rulebook: lists
version: "1"
facts:
  custom:
    - {name: budget, type: number, description: A budget.}
criteria:
  - id: spread
    weight: 1
    expression: 10 * distinct(contacts, influence) + count(relationships, strength >= 3)
  - id: heavy
    weight: 2
    expression: coalesce(max(contacts, influence, role == 'user'), 0) * 20
  - id: summed
    weight: 1
    expression: min(100, sum(relationships, strength))
tiers:
  - {name: Gold, min_score: 40}
  - {name: Rest}
plan_checks:
  - id: cross
    title: Every member has a relationship stronger than some contact's influence
    severity: major
    require: all(team, any(contacts, coalesce(influence, 0) < 3 and department != member.name))
    remediation: Talk to them.
  - id: share
    title: No member holds most relationships
    severity: minor
    require: max_share(relationships, member) <= 0.5
    remediation: Spread the relationships.
"""


def test_other_aggregates_decide_as_per_account() -> None:
    engine = Engine(load_rulebook_text(CUSTOM))
    for seed in range(4):
        fallback, _ = same(engine, portfolio(engine, seed, 50, 0.0))
        assert fallback == 0


def test_a_float_sum_is_decided_per_account() -> None:
    text = CUSTOM.replace("sum(relationships, strength)", "sum(plan.growth_opportunities, value)")
    engine = Engine(load_rulebook_text(text))
    frame = portfolio(engine, 3, 40, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate_portfolio(engine, frame, AS_OF, engine="columnar")
    assert result.per_account_rows > 0
    assert "order of addition" in (result.fallback or "")
    same(engine, frame)


def test_parquet_nested_round_trip(default_engine: Engine, tmp_path: Path) -> None:
    frame = portfolio(default_engine, 5, 50, 0.0)
    path = tmp_path / "nested.parquet"
    frame.write_parquet(path)
    result = evaluate_portfolio(default_engine, path, AS_OF, engine="columnar")
    assert result.per_account_rows == 0
    assert result.frame.equals(evaluate_portfolio(default_engine, path, AS_OF, engine="per-account").frame)
