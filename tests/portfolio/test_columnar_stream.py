"""The streamed columnar run (kamrules.columnar.stream): a file decided chunk by chunk, with
capacity placed once, writes the rows of the whole portfolio decided at once; a repeated id
is an error row for the repeat, as in the per-account batch, across chunks too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

from kamrules import Engine, load_rulebook  # noqa: E402
from kamrules.columnar import ColumnarEngine  # noqa: E402
from kamrules.columnar.stream import Streamed, pieces, stream  # noqa: E402
from kamrules.portfolio import evaluate_portfolio  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.portfolio.test_columnar_chunks import capacity_engine  # noqa: E402, F401
from tests.portfolio.test_columnar_nested import AS_OF  # noqa: E402
from tests.portfolio.test_nested_benchmark_data import nested  # noqa: E402


def streamed(compiled: ColumnarEngine, path: Path, kind: str, rows: int) -> tuple[pl.DataFrame, Streamed]:
    frames: list[pl.DataFrame] = []
    result = stream(compiled, pieces(path, kind, compiled.nested, rows), AS_OF, frames.append)
    return pl.concat(frames), result


def test_a_parquet_file_streamed_in_chunks_is_the_portfolio_decided_at_once(
    capacity_engine: Engine,  # noqa: F811
    tmp_path: Path,
) -> None:
    path = tmp_path / "accounts.parquet"
    nested.generate(700, path)
    compiled = ColumnarEngine(capacity_engine)
    whole = evaluate_portfolio(compiled, pl.read_parquet(path), AS_OF)
    frame, result = streamed(compiled, path, "parquet", 160)
    assert result.chunks == 5 and result.per_account_rows == 0
    assert frame.equals(whole.frame)
    summary = result.summary
    assert whole.summary.placement is not None
    assert summary.as_dict() == whole.summary.as_dict()
    assert summary.placement is not None and summary.placement.to_json() == whole.summary.placement.to_json()
    assert frame.get_column("placement").str.contains("falls to").any()


def test_json_lines_streamed_decide_as_the_per_account_batch(tmp_path: Path) -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    compiled = ColumnarEngine(engine)
    source = ROOT / "examples" / "accounts.jsonl"
    frame, result = streamed(compiled, source, "jsonl", 70)
    records = [json.loads(line) for line in source.read_text().splitlines()]
    reference = evaluate_portfolio(engine, records, AS_OF, engine="per-account")
    assert frame.equals(reference.frame)
    assert result.chunks == 5


def test_a_repeated_id_is_an_error_for_the_repeat_across_chunks(tmp_path: Path) -> None:
    """A001 repeats within a chunk and in a later one; A002's first record cannot be decided,
    so its second (in a later chunk) keeps the id and its third is the repeat."""
    engine = Engine(load_rulebook(ROOT / "rules"))
    lines = (ROOT / "examples" / "accounts.jsonl").read_text().splitlines()[:12]
    records = [json.loads(line) for line in lines]
    a1, a2 = dict(records[0], id="A001"), dict(records[1], id="A002")
    bad = dict(records[2], id="A002", strategic_fit=99)
    rows = [a1, records[3], dict(a1), bad, records[4], records[5], dict(a2), records[6], dict(a1), dict(a2)]
    path = tmp_path / "accounts.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    frame, result = streamed(ColumnarEngine(engine), path, "jsonl", 4)
    reference = evaluate_portfolio(engine, rows, AS_OF, engine="per-account")
    assert frame.equals(reference.frame)
    errors = frame.filter(pl.col("status") == "error")
    assert errors.get_column("record").to_list() == [3, 4, 9, 10]
    assert "'A001' appears more than once; it was first given at line 1" in errors.get_column("error")[0]
    assert "'A002' appears more than once; it was first given at line 7" in errors.get_column("error")[3]
    assert result.summary.errors == 4


def test_csv_streamed_writes_the_bytes_of_the_per_account_csv(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kamrules.cli.main import app

    runner = CliRunner()
    out = {}
    for engine in ("columnar", "per-account"):
        target = tmp_path / f"{engine}.csv"
        result = runner.invoke(
            app,
            [
                *("evaluate", str(ROOT / "rules"), str(ROOT / "examples" / "accounts.csv"), "--as-of", "2026-11-01"),
                *("-f", "csv", "-o", str(target), "--engine", engine),
            ],
        )
        assert result.exit_code == 0, result.stderr
        assert "300 records read: 300 decided" in result.stderr
        out[engine] = target.read_bytes()
    assert out["columnar"] == out["per-account"]


def test_csv_read_in_blocks_keeps_lines_blank_rows_and_ragged_rows(tmp_path: Path) -> None:
    """Blocks of three rows: a blank row is skipped, a row of the wrong width is an error
    record naming its line, and a repeated id names the first one's line, all as the
    per-account batch reads the file."""
    from kamrules.portfolio.batch import Summary, run
    from kamrules.portfolio.sources import read_records

    engine = Engine(load_rulebook(ROOT / "rules"))
    lines = (ROOT / "examples" / "accounts.csv").read_text().splitlines()
    first = lines[1]
    text = [lines[0], first, lines[2], ",,,", lines[3], "A,B", lines[4], first, lines[5], lines[6]]
    path = tmp_path / "accounts.csv"
    path.write_text("\n".join(text) + "\n")
    frame, result = streamed(ColumnarEngine(engine), path, "csv", 3)
    assert result.chunks == 3
    items = list(run(engine, read_records(path), AS_OF, Summary()))
    from kamrules.columnar.output import outcomes_frame

    assert frame.equals(outcomes_frame(engine, items))
    errors = frame.filter(pl.col("status") == "error").get_column("error").to_list()
    assert errors[0] == "(record): line 6 has 2 cells but the header has " + str(len(lines[0].split(",")))
    assert "first given at line 2" in errors[1]
