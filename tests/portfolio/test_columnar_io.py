"""The columnar evaluator's inputs and outputs: Parquet, CSV and JSON Lines files, records,
polars frames and Arrow tables, CRM column mapping, error rows, and the fallback paths."""

from __future__ import annotations

import csv
import datetime as dt
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")

from kamrules import Engine, load_rulebook, load_rulebook_text  # noqa: E402
from kamrules.columnar import output_schema  # noqa: E402
from kamrules.portfolio import (  # noqa: E402
    ColumnarFallbackWarning,
    decisions,
    evaluate_frame,
    evaluate_portfolio,
)
from kamrules.portfolio.batch import Summary, run  # noqa: E402
from kamrules.portfolio.frames import write_frame  # noqa: E402
from kamrules.portfolio.sources import read_records  # noqa: E402
from tests.conftest import AS_OF, ROOT  # noqa: E402

CAPACITY = """\
rulebook: capacity
version: "1"
facts:
  custom:
    - {name: fit_score, type: number, description: A score, column: Fit__c, minimum: 0, maximum: 100}
  columns:
    annual_revenue: Revenue
criteria:
  - id: fit
    weight: 1
    fact: account.fit_score
    scale: {from: 0, to: 100}
    missing: error
tie_breakers:
  - {by: account.annual_revenue}
tiers:
  - {name: Gold, min_score: 80, capacity: 2}
  - {name: Silver, min_score: 50, capacity: "50%", capacity_per_manager: 1}
  - {name: Standard}
"""

ROWS: list[dict[str, Any]] = [
    {"id": "A", "Fit__c": 90, "account_manager": "kim", "Revenue": 10},
    {"id": "B", "Fit__c": 95, "account_manager": "lee"},
    {"id": "C", "Fit__c": 85, "account_manager": "max", "Revenue": 30},
    {"id": "D", "Fit__c": 60, "account_manager": "ann"},
    {"id": "E", "Fit__c": 70, "account_manager": "ann"},
    {"id": "F", "Fit__c": "a lot"},
    {"Fit__c": 50},
    {"id": "H"},
    {"id": "I", "Fit__c": 120},
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(CAPACITY))


@pytest.fixture(scope="module")
def default_engine() -> Engine:
    return Engine(load_rulebook(ROOT / "rules"))


def per_account(engine: Engine, records: list[Any]) -> pl.DataFrame:
    return evaluate_frame(engine, records, AS_OF, engine="per-account")


def test_records_are_decided_with_capacity_and_errors(engine: Engine) -> None:
    frame = evaluate_frame(engine, ROWS, AS_OF)
    assert frame.columns == list(output_schema(engine))
    assert frame.height == len(ROWS)
    tiers = dict(zip(frame["account_id"].to_list(), frame["tier"].to_list(), strict=True))
    assert tiers["B"] == "Gold" and tiers["A"] == "Gold" and tiers["C"] == "Silver"
    # D and E share a manager: one Silver each at most
    assert {tiers["D"], tiers["E"]} == {"Silver", "Standard"}
    placement = frame.filter(pl.col("account_id") == "C")["placement"].item()
    assert placement.startswith(
        "ranked 3rd of 3 eligible for Gold, capacity 2: the tier is full, so it falls to Silver"
    )
    errors = frame.filter(pl.col("status") == "error")
    assert errors["error"].to_list() == [
        "fit_score: must be a number, got 'a lot'",
        "id: is required but missing",
        "account.fit_score: is missing, and criterion 'fit' cannot score without it",
        "fit_score: must be at most 100, got 120",
    ]
    assert errors["record"].to_list() == [6, 7, 8, 9]
    assert frame.equals(per_account(engine, ROWS))


def test_parquet_round_trip_keeps_every_decision(engine: Engine, tmp_path: Path) -> None:
    source = pl.DataFrame(
        {
            "id": ["A", "B", "C", "D"],
            "Fit__c": [90.0, 95.0, None, 80.0],
            "account_manager": pl.Series(["kim", "lee", "kim", None], dtype=pl.Categorical),
            "Revenue": [10, 20, 30, None],
            "Unused": [1, 2, 3, 4],
        }
    )
    path = tmp_path / "accounts.parquet"
    source.write_parquet(path)
    result = evaluate_portfolio(engine, path, AS_OF)
    assert result.summary.unknown_columns == ["Unused"]
    assert result.summary.read == 4 and result.summary.decided == 3 and result.summary.errors == 1
    out = tmp_path / "decisions.parquet"
    write_frame(result.frame, out, "parquet")
    back = pl.read_parquet(out)
    assert back.equals(result.frame)
    assert back.schema["score.score"] == pl.Decimal(5, 2)
    # Gold holds two (B, A); D falls to Silver, which holds half of the three decided
    assert back.filter(pl.col("account_id") == "D")["tier"].item() == "Silver"
    records = [{k: v for k, v in r.items() if v is not None} for r in source.iter_rows(named=True)]
    assert result.frame.equals(per_account(engine, records))


def test_arrow_tables_and_polars_frames_are_accepted(engine: Engine) -> None:
    pa = pytest.importorskip("pyarrow")
    table = pa.table({"id": ["A", "B"], "Fit__c": [90.0, 40.0]})
    frame = evaluate_frame(engine, table, AS_OF)
    assert frame["tier"].to_list() == ["Gold", "Standard"]
    assert evaluate_frame(engine, pl.from_arrow(table), AS_OF).equals(frame)


def test_pandas_frames_are_decided_as_their_records(default_engine: Engine) -> None:
    """A pandas frame as a CRM engineer has it, missing numbers as NaN and missing text as
    None: each row is decided as the record it stands for."""
    import pandas as pd

    rows = [
        {"id": "P1", "annual_revenue": 12_000_000.0, "strategic_fit": 5, "growth_potential": 4.0,
         "credit_risk": "low", "wants_key_account": True, "stage": "review"},
        {"id": "P2", "annual_revenue": float("nan"), "strategic_fit": 2, "growth_potential": 1.0,
         "credit_risk": None, "wants_key_account": False, "stage": None},
    ]
    frame = pd.DataFrame(rows)
    assert frame["annual_revenue"].isna().tolist() == [False, True]
    decided = evaluate_frame(default_engine, frame, AS_OF)
    as_records = [{k: v for k, v in r.items() if v is not None and v == v} for r in rows]  # NaN is missing
    assert decided.equals(evaluate_frame(default_engine, as_records, AS_OF))
    assert decided["account_id"].to_list() == ["P1", "P2"] and decided["status"].to_list() == ["decided"] * 2


def test_csv_and_jsonl_read_as_the_per_account_batch_reads_them(default_engine: Engine, tmp_path: Path) -> None:
    for name in ("accounts.csv", "accounts.jsonl"):
        path = ROOT / "examples" / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ColumnarFallbackWarning)
            result = evaluate_portfolio(default_engine, path, AS_OF)
        summary = Summary()
        items = list(run(default_engine, read_records(path), AS_OF, summary))
        assert result.summary.read == summary.read == len(items)
        assert dict(result.summary.tiers) == dict(summary.tiers)
        assert dict(result.summary.segments) == dict(summary.segments)
        assert dict(result.summary.compliance) == dict(summary.compliance)
        expected = [i.tier for i in items if hasattr(i, "tier")]
        assert result.frame.filter(pl.col("status") == "decided")["tier"].to_list() == expected
    # the flat CSV export is decided entirely in columns
    flat = evaluate_portfolio(default_engine, ROOT / "examples" / "accounts.csv", AS_OF)
    assert flat.per_account_rows == 0 and flat.fallback is None


def test_a_ragged_csv_row_is_an_error_row_with_its_line(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text('id,Fit__c\nA,90\n\n  ,  \nB,95,extra\n"C", 85 \n', encoding="utf-8")
    frame = evaluate_frame(engine, path, AS_OF)
    assert frame["record"].to_list() == [1, 2, 3]
    assert frame["status"].to_list() == ["decided", "error", "decided"]
    assert frame["error"][1] == "(record): line 5 has 3 cells but the header has 2"
    summary = Summary()
    items = list(run(engine, read_records(path), AS_OF, summary))
    assert [getattr(i, "tier", None) for i in items] == [frame["tier"][0], None, frame["tier"][2]]


def test_column_mapping_reads_crm_columns_and_fact_names(engine: Engine, tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "Fit__c", "Revenue", "Owner"])
        writer.writerow(["A", "90", "1e3", "x"])
        writer.writerow(["B", "90.0", " 2000 ", "y"])
        writer.writerow(["C", "1_000", "", "z"])
    result = evaluate_portfolio(engine, path, AS_OF)
    assert result.summary.unknown_columns == ["Owner"]
    frame = result.frame
    assert frame["status"].to_list() == ["decided", "decided", "error"]
    assert frame["error"][2] == "fit_score: must be at most 100, got 1_000"  # pydantic reads 1_000
    # tie-breaker by revenue read from the mapped column: B (2000) ranks above A (1000)
    assert frame.filter(pl.col("account_id") == "B")["placement"].item().startswith("ranked 1st")


def test_unsupported_expressions_decide_the_whole_rulebook_per_account() -> None:
    text = CAPACITY.replace(
        "tie_breakers:",
        "gates:\n  - {id: odd, when: score.score * 2 > 150, effect: exclude, reason: Odd.}\ntie_breakers:",
    )
    engine = Engine(load_rulebook_text(text))
    with pytest.warns(ColumnarFallbackWarning, match="gate 'odd'"):
        result = evaluate_portfolio(engine, ROWS, AS_OF)
    assert result.engine == "per-account"
    assert result.fallback is not None and "only comparisons of a score compile to columns" in result.fallback
    assert result.fallback_expressions == ("gate 'odd': score.score * 2 > 150",)
    assert result.frame.equals(per_account(engine, ROWS))


def test_rows_with_nested_facts_are_decided_per_account_and_said_so(default_engine: Engine) -> None:
    path = ROOT / "examples" / "accounts.jsonl"
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()[:20]]
    nested = ("plan", "contacts", "team", "relationships", "restrictions")
    flat = [{k: v for k, v in r.items() if k not in nested} for r in records]
    mixed = [r if i % 4 == 0 else f for i, (r, f) in enumerate(zip(records, flat, strict=True))]
    with pytest.warns(ColumnarFallbackWarning, match="criterion 'relationship_breadth'") as caught:
        result = evaluate_portfolio(default_engine, mixed, AS_OF)
    assert "5 of 20 rows were decided per account" in str(caught[0].message)
    assert result.engine == "columnar" and result.per_account_rows == 5
    assert any(e.startswith("criterion 'relationship_breadth'") for e in result.fallback_expressions)
    assert result.frame.equals(per_account(default_engine, mixed))


def test_decisions_are_built_per_account_with_capacity_over_the_portfolio(engine: Engine) -> None:
    (decision,) = decisions(engine, ROWS, AS_OF, accounts=["C"])
    assert decision.account_id == "C" and decision.tier == "Silver" and decision.tier_by_rules == "Gold"
    assert [step.note for step in decision.placement] == [
        "ranked 3rd of 3 eligible for Gold, capacity 2: the tier is full, so it falls to Silver",
        "ranked 1st of 3 eligible for Silver, capacity 2",
    ]
    everything = list(decisions(engine, ROWS, AS_OF))
    assert len(everything) == len(ROWS)
    assert [getattr(d, "tier", None) for d in everything] == evaluate_frame(engine, ROWS, AS_OF)["tier"].to_list()


def test_date_strings_and_dates_are_the_same_fact(default_engine: Engine) -> None:
    base = {"id": "A", "annual_revenue": 3e6, "strategic_fit": 4, "override_tier": "Gold"}
    rows = [
        base | {"override_reason": "r", "override_approver": "a", "override_expires": "2026-12-01"},
        base | {"id": "B", "override_reason": "r", "override_approver": "a", "override_expires": dt.date(2026, 12, 1)},
        base | {"id": "C", "override_reason": "r", "override_approver": "a", "override_expires": "2026-10-31"},
    ]
    frame = evaluate_frame(default_engine, rows, AS_OF)
    assert frame["tier"].to_list()[:2] == ["Gold", "Gold"]
    assert frame["placement"][2] == "the override to Gold expired on 2026-10-31; the rules decide"
    assert frame.equals(per_account(default_engine, rows))


def test_import_kamrules_does_not_import_polars() -> None:
    import subprocess
    import sys

    code = "import sys, kamrules, kamrules.portfolio; import kamrules.portfolio.batch; print('polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_hundredths_become_exact_decimals_over_the_whole_range() -> None:
    from decimal import Decimal

    from kamrules.columnar.run import hundredths as _hundredths

    values = pl.DataFrame({"v": range(10_001)}).select(_hundredths(pl.col("v"))).to_series().to_list()
    assert values == [Decimal(n) / 100 for n in range(10_001)]


def test_each_plan_check_has_a_column_and_the_engines_write_the_same_csv(
    default_engine: Engine, tmp_path: Path
) -> None:
    import io
    import json

    from kamrules.portfolio.writers import write_decisions

    path = ROOT / "examples" / "accounts.jsonl"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnarFallbackWarning)
        frame = evaluate_portfolio(default_engine, path, AS_OF, engine="columnar").frame
    ids = [c.spec.id for c in default_engine.checks]
    assert [c for c in frame.columns if c.startswith("check.")] == [f"check.{i}" for i in ids]
    assert frame.schema["failed_checks"] == pl.List(pl.String)
    seen: set[str] = set()
    for row in frame.filter(pl.col("status") == "decided").iter_rows(named=True):
        statuses = [row[f"check.{i}"] for i in ids]
        seen.update(statuses)
        not_passed = [i for i, s in zip(ids, statuses, strict=True) if s in ("failed", "evidence_missing")]
        assert row["failed_checks"] == not_passed
        if row["compliance"] == "not_applicable":
            assert set(statuses) == {"not_applicable"}
    assert seen == {"passed", "failed", "not_applicable", "evidence_missing"}

    summary = Summary()
    expected = io.StringIO()
    write_decisions(default_engine, run(default_engine, read_records(path), AS_OF, summary), "csv", expected, summary)
    write_frame(frame, tmp_path / "decisions.csv", "csv")
    assert (tmp_path / "decisions.csv").read_text() == expected.getvalue()

    write_frame(frame, tmp_path / "decisions.parquet", "parquet")
    assert pl.read_parquet(tmp_path / "decisions.parquet").equals(frame)
    write_frame(frame, tmp_path / "decisions.jsonl", "jsonl")
    lines = [json.loads(line) for line in (tmp_path / "decisions.jsonl").read_text().splitlines()]
    joined = [";".join(f) if f else None for f in frame["failed_checks"].to_list()]
    assert [line["failed_checks"] for line in lines] == joined


def test_a_list_under_a_facts_crm_column_is_decided_as_the_per_account_batch_does(tmp_path: Path) -> None:
    """Found by the fuzz suite: a fact given as a list under its CRM column in one record and as
    a number under its name in another has no text form; it must not stop the batch."""
    engine = Engine(load_rulebook(ROOT / "rules"))
    column = engine.rulebook.schema.account.fields["nps"].column
    assert column is not None
    records = [{"id": "A", column: [], "annual_revenue": 1}, {"id": "B", "nps": 5, "annual_revenue": 1}]
    path = tmp_path / "odd.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    columnar = evaluate_frame(engine, path, AS_OF, engine="columnar")
    per_account = evaluate_frame(engine, path, AS_OF, engine="per-account")
    assert columnar.to_dicts() == per_account.to_dicts()
    assert columnar.get_column("status").to_list() == ["error", "decided"]


def test_an_account_id_given_twice_is_an_error_for_the_repeat_on_both_engines(tmp_path: Path) -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    lines = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()[:3]
    path = tmp_path / "twice.jsonl"
    path.write_text("\n".join([*lines, lines[1]]) + "\n", encoding="utf-8")
    columnar = evaluate_portfolio(engine, path, AS_OF, engine="columnar")
    per_account = evaluate_frame(engine, path, AS_OF, engine="per-account")
    assert columnar.frame.to_dicts() == per_account.to_dicts()
    assert columnar.frame.get_column("status").to_list() == ["decided", "decided", "decided", "error"]
    assert columnar.frame.get_column("error").to_list()[3] == (
        "id: account 'ACC-00002' appears more than once; it was first given at line 2"
    )
    assert columnar.fallback == "the input gives an account id more than once"
