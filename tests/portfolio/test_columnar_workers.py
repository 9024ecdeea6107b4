"""The streamed columnar run on worker processes (kamrules.columnar.workers): the same rows,
in the same order, the same summary and placement as the serial streamed run, with chunks
decided and finished in two processes; repeated ids across chunks keep the serial rule; a
worker that cannot work is an error in words."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")

from kamrules import Engine, load_rulebook  # noqa: E402
from kamrules.columnar import ColumnarEngine  # noqa: E402
from kamrules.columnar import stream as streaming  # noqa: E402
from kamrules.columnar.stream import Streamed, pieces, recipes, stream  # noqa: E402
from kamrules.columnar.workers import stream_on_workers  # noqa: E402
from kamrules.portfolio.parallel import EngineSource, WorkerError  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.portfolio.test_columnar_nested import AS_OF  # noqa: E402
from tests.portfolio.test_nested_benchmark_data import nested  # noqa: E402


@pytest.fixture(scope="module")
def capacity_rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The nested benchmark's rulebook (Gold 2%, Silver 10%) with a per-manager Silver limit,
    so accounts are ranked, fall and compete again."""
    rules = nested.capacity_rulebook(tmp_path_factory.mktemp("rules") / "rules", ROOT)
    tiers = rules / "tiers.yaml"
    silver = "    capacity: 10%\n"
    assert tiers.read_text().count(silver) == 1
    tiers.write_text(tiers.read_text().replace(silver, silver + "    capacity_per_manager: 4\n"))
    return Path(rules)


def serial_and_parallel(
    rules: Path, path: Path, kind: str, rows: int, workers: int = 2
) -> tuple[tuple[pl.DataFrame, Streamed], tuple[pl.DataFrame, Streamed]]:
    engine = Engine(load_rulebook(rules))
    compiled = ColumnarEngine(engine)
    serial: list[pl.DataFrame] = []
    one = stream(compiled, pieces(path, kind, compiled.nested, rows), AS_OF, serial.append)
    parallel: list[pl.DataFrame] = []
    source = EngineSource(str(rules), None, engine.rulebook.content_hash)
    chunks = recipes(path, kind, compiled.nested, rows)
    two = stream_on_workers(compiled, source, chunks, AS_OF, parallel.append, workers)
    assert len(parallel) == len(serial) == one.chunks == two.chunks
    return (pl.concat(serial), one), (pl.concat(parallel), two)


def assert_same(serial: tuple[pl.DataFrame, Streamed], parallel: tuple[pl.DataFrame, Streamed]) -> None:
    (rows, one), (rows2, two) = serial, parallel
    assert rows.schema == rows2.schema
    assert rows.equals(rows2)
    assert one.summary.as_dict() == two.summary.as_dict()
    assert one.fallback == two.fallback and one.per_account_rows == two.per_account_rows
    if one.summary.placement is None:
        assert two.summary.placement is None
    else:
        assert two.summary.placement is not None
        assert one.summary.placement.to_json() == two.summary.placement.to_json()


def test_a_nested_portfolio_with_capacity_repeats_and_bad_records_decides_as_serially(
    capacity_rules: Path, tmp_path: Path
) -> None:
    """Seven chunks of a generated portfolio over two workers: ids repeated within a chunk and
    across chunks (one chunk on each worker), records that cannot be decided (no id, a score
    out of range), accounts placed by capacity and falling."""
    generated = tmp_path / "generated.parquet"
    nested.generate(1_000, generated)
    frame = pl.read_parquet(generated)
    ids = frame.get_column("Account ID").to_list()
    ids[5] = ids[3]  # within the first chunk
    ids[400] = ids[10]  # chunk 2 (worker 0) repeats chunk 0
    ids[560] = ids[170]  # chunk 3 (worker 1) repeats chunk 1
    ids[900] = None  # cannot be decided: it claims no id
    ids[950] = ids[900 - 1]
    fit = frame.get_column("Strategic_Fit__c").to_list()
    fit[20] = 99  # a record that cannot be decided...
    ids[700] = ids[20]  # ...so a later record with its id keeps it
    ids[710] = ids[20]  # and the one after that is the repeat
    frame = frame.with_columns(pl.Series("Account ID", ids), pl.Series("Strategic_Fit__c", fit))
    path = tmp_path / "accounts.parquet"
    frame.write_parquet(path)
    serial, parallel = serial_and_parallel(capacity_rules, path, "parquet", 160)
    assert_same(serial, parallel)
    rows, result = parallel
    assert result.chunks == 7 and result.per_account_rows > 0
    errors = rows.filter(pl.col("status") == "error")
    repeated = errors.filter(pl.col("error").str.contains("appears more than once"))
    assert repeated.get_column("record").to_list() == [6, 401, 561, 711, 951]
    assert "first given at line 701" in repeated.get_column("error")[3]
    assert errors.height >= 7
    assert rows.get_column("placement").str.contains("falls to").any()
    assert result.summary.placement is not None


def test_the_example_accounts_in_json_lines_and_csv_decide_as_serially(tmp_path: Path) -> None:
    """Blocks read by the parent and built by the workers: the examples' unreadable,
    invalid and repeated records included (here with a broken line, a blank one and a
    repeat added)."""
    lines = (ROOT / "examples" / "accounts.jsonl").read_text().splitlines()
    repeat = json.loads(lines[0])
    text = [*lines[:50], "{broken", "", *lines[50:], json.dumps(repeat)]
    path = tmp_path / "accounts.jsonl"
    path.write_text("\n".join(text) + "\n")
    serial, parallel = serial_and_parallel(ROOT / "rules", path, "jsonl", 70)
    assert_same(serial, parallel)
    errors = parallel[0].filter(pl.col("status") == "error").get_column("error").to_list()
    assert any("appears more than once; it was first given at line 1" in e for e in errors)
    assert any("line 51" in e for e in errors)
    csv_serial, csv_parallel = serial_and_parallel(ROOT / "rules", ROOT / "examples" / "accounts.csv", "csv", 70)
    assert_same(csv_serial, csv_parallel)
    assert csv_parallel[1].chunks == 5


def test_the_cli_writes_the_same_parquet_and_csv_bytes_with_workers(
    capacity_rules: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from kamrules.cli.main import app

    monkeypatch.setattr(streaming, "CHUNK_ROWS", 150)
    accounts = tmp_path / "accounts.parquet"
    nested.generate(600, accounts)
    runner = CliRunner()
    out: dict[str, Any] = {}
    for fmt in ("parquet", "csv"):
        for workers in ("1", "2"):
            target = tmp_path / f"out-{workers}.{fmt}"
            result = runner.invoke(
                app,
                [
                    *("evaluate", str(capacity_rules), str(accounts), "--as-of", AS_OF.isoformat()),
                    *("-f", fmt, "-o", str(target), "--workers", workers),
                ],
            )
            assert result.exit_code == 0, result.stderr
            assert "600 records read: 600 decided" in result.stderr
            out[workers] = (target.read_bytes(), result.stderr.replace(str(target), "OUT"))
        assert out["1"] == out["2"]
    assert pl.read_parquet(tmp_path / "out-2.parquet").height == 600


@pytest.mark.parametrize(("cores", "rows", "expected"), [(2, 600, 2), (8, 600, 4), (1, 600, None), (2, 150, None)])
def test_a_parquet_file_of_several_chunks_is_decided_on_every_core_by_default(
    capacity_rules: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cores: int,
    rows: int,
    expected: int | None,
) -> None:
    """Without --workers, a Parquet file decided in columns runs on every core the process may
    use, one worker per chunk at most, and a file of one chunk (or a one-core machine) stays
    serial; the bytes are those of --workers 1 either way."""
    import os

    from typer.testing import CliRunner

    import kamrules.columnar.workers as workers_module
    from kamrules.cli.main import app

    monkeypatch.setattr(streaming, "CHUNK_ROWS", 150)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(cores)), raising=False)
    used: list[int] = []
    real = workers_module.stream_on_workers

    def counted(*args: Any) -> Any:
        used.append(args[-1])
        return real(*args)

    monkeypatch.setattr(workers_module, "stream_on_workers", counted)
    accounts = tmp_path / "accounts.parquet"
    nested.generate(rows, accounts)
    out: dict[str, bytes] = {}
    for given in ((), ("--workers", "1")):
        target = tmp_path / f"out{len(given)}.parquet"
        result = CliRunner().invoke(
            app,
            [
                *("evaluate", str(capacity_rules), str(accounts), "--as-of", AS_OF.isoformat()),
                *("-f", "parquet", "-o", str(target), *given),
            ],
        )
        assert result.exit_code == 0, result.stderr
        out[str(len(given))] = target.read_bytes()
    assert out["0"] == out["2"]
    assert used == ([expected] if expected else [])


def test_a_worker_that_cannot_build_the_engine_stops_the_run_in_words(tmp_path: Path) -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    compiled = ColumnarEngine(engine)
    stale = EngineSource(str(ROOT / "rules"), None, "0" * 64)
    source = ROOT / "examples" / "accounts.jsonl"
    with pytest.raises(WorkerError, match="changed while the batch was starting; run it again"):
        stream_on_workers(compiled, stale, recipes(source, "jsonl", compiled.nested, 100), AS_OF, print, 2)


def test_a_worker_that_dies_stops_the_run_in_words() -> None:
    """Every worker is killed once a chunk is written: the run stops with a
    sentence, not a broken pool's traceback."""
    import multiprocessing
    import os
    import signal

    engine = Engine(load_rulebook(ROOT / "rules"))
    compiled = ColumnarEngine(engine)
    source = EngineSource(str(ROOT / "rules"), None, engine.rulebook.content_hash)
    written: list[pl.DataFrame] = []

    def write(rows: pl.DataFrame) -> None:
        written.append(rows)
        for child in multiprocessing.active_children():
            assert child.pid is not None
            with contextlib.suppress(ProcessLookupError):  # it ended between the listing and the kill
                os.kill(child.pid, signal.SIGKILL)

    chunks = recipes(ROOT / "examples" / "accounts.jsonl", "jsonl", compiled.nested, 40)
    with pytest.raises(WorkerError, match="a worker process stopped before finishing its chunks"):
        stream_on_workers(compiled, source, chunks, AS_OF, write, 2)
    assert 1 <= len(written) < 8  # of 8 chunks: the run stopped


def test_the_cli_says_why_a_worker_stopped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rulebook's file changes after the parent loaded it: the workers refuse, and the
    command says so with the rulebook's exit code, no traceback."""
    from typer.testing import CliRunner

    from kamrules.cli import evaluate as command
    from kamrules.cli.main import app

    rules = tmp_path / "rules"
    import shutil

    shutil.copytree(ROOT / "rules", rules)
    real = command.load

    def load_then_edit(path: Path) -> Any:
        loaded = real(path)
        book = rules / "rulebook.yaml"
        text = book.read_text()
        assert text.count('version: "2026.11"') == 1
        book.write_text(text.replace('version: "2026.11"', 'version: "2026.12"'))
        return loaded

    monkeypatch.setattr(command, "load", load_then_edit)
    result = CliRunner().invoke(
        app,
        [
            *("evaluate", str(rules), str(ROOT / "examples" / "accounts.csv"), "--as-of", "2026-11-01"),
            *("-f", "csv", "-o", str(tmp_path / "out.csv"), "--workers", "2"),
        ],
    )
    assert result.exit_code != 0
    assert "changed while the batch was starting" in result.stderr
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.stderr
