"""The nested benchmark's data and reference (benchmarks/nested_portfolio.py).

The benchmark's figures only mean something if the generated accounts are valid and the
hand-written reference decides them as kamrules does; both are checked here on a portfolio
small enough for CI, decided with capacities so that placement is part of the comparison.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")

from kamrules import Engine, load_rulebook  # noqa: E402
from kamrules.evaluation.compliance import APPLIES  # noqa: E402
from kamrules.evaluation.engine import Outcome  # noqa: E402
from kamrules.portfolio.batch import Summary, run  # noqa: E402
from kamrules.portfolio.sources import read_records  # noqa: E402
from tests.benchmark_modules import load_benchmark  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

nested = load_benchmark("nested_portfolio")


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("nested")
    parquet, jsonl = folder / "accounts.parquet", folder / "accounts.jsonl"
    nested.generate(1_200, parquet, jsonl)
    rules = nested.capacity_rulebook(folder / "rules", ROOT)
    return {"parquet": parquet, "jsonl": jsonl, "rules": rules}


def test_same_seed_same_bytes_and_every_record_valid(portfolio: dict[str, Any], tmp_path: Path) -> None:
    again = tmp_path / "again.jsonl"
    nested.generate(1_200, None, again)
    assert again.read_bytes() == portfolio["jsonl"].read_bytes()
    engine = Engine(load_rulebook(portfolio["rules"]))
    summary = Summary()
    for _ in run(engine, read_records(portfolio["jsonl"]), nested.AS_OF, summary):
        pass
    assert (summary.read, summary.decided, summary.errors) == (1_200, 1_200, 0)


def test_shaped_like_the_examples(portfolio: dict[str, Any]) -> None:
    frame = pl.read_parquet(portfolio["parquet"])
    contacts = frame.get_column("contacts").list.len()
    assert 7 <= contacts.mean() <= 13  # type: ignore[operator]
    assert 0.04 < frame.get_column("plan").is_null().mean() < 0.2  # type: ignore[operator]
    assert frame.get_column("NPS__c").null_count() > 0
    assert frame.get_column("contacts").list.eval(pl.element().struct.field("influence").is_null()).list.any().any()
    import pyarrow.parquet as pq

    assert pq.ParquetFile(portfolio["parquet"]).num_row_groups == 1  # one chunk of CHUNK accounts
    assert frame.get_column("relationships").list.len().sum() > frame.height * 5


def test_reference_decides_as_kamrules_does(portfolio: dict[str, Any]) -> None:
    """Tier (with capacity), segment, compliance and every plan check of every account."""
    expected = nested.reference(pl.read_parquet(portfolio["parquet"]))
    engine = Engine(load_rulebook(portfolio["rules"]))
    ids = [check.spec.id for check in engine.checks]
    assert ids == [check_id for check_id, *_ in nested.CHECKS]
    outcomes = list(run(engine, read_records(portfolio["jsonl"]), nested.AS_OF, Summary()))
    seen: Counter[tuple[str, str | None]] = Counter()
    disagreements = []
    for row, outcome in zip(expected.iter_rows(named=True), outcomes, strict=True):
        assert isinstance(outcome, Outcome)
        ours = {"tier": outcome.tier, "segment": outcome.segment, "compliance": outcome.compliance_status}
        for check_id, (kind, passed, *_) in zip(ids, outcome._check_rows, strict=True):
            ours[f"check.{check_id}"] = None if kind != APPLIES else "pass" if passed is True else "fail"
            seen[(check_id, ours[f"check.{check_id}"])] += 1
        theirs = {key: row[key] for key in ours}
        if ours != theirs:
            disagreements.append((row["account_id"], {k: (theirs[k], v) for k, v in ours.items() if theirs[k] != v}))
    assert disagreements == []
    # Not a vacuous agreement: every check passes for some accounts and fails for others,
    # capacity moved accounts, and every compliance status occurs.
    assert all(seen[(check_id, "pass")] and seen[(check_id, "fail")] for check_id in ids)
    assert any("falls to" in note for o in outcomes if isinstance(o, Outcome) for _, note in o.placement)
    assert set(expected.get_column("compliance")) == {"compliant", "at_risk", "non_compliant", "not_applicable"}
