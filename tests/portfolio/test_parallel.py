"""Explained JSON Lines decided in worker processes: the same bytes, summary and placement
as the serial batch, with and without tier capacity."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kamrules import Engine, load_rulebook
from kamrules.cli.main import app
from kamrules.portfolio import parallel
from kamrules.portfolio.batch import Summary, run
from kamrules.portfolio.sources import SourceError, read_records
from kamrules.portfolio.writers import write_decisions
from tests.conftest import AS_OF, ROOT, default_rules_with

EXAMPLE_LINES = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()


def capacity_rules(tmp_path: Path) -> Path:
    """The default rulebook with a full Gold (10) and a per-manager Silver limit (3)."""
    return default_rules_with(
        tmp_path / "rules",
        "tiers.yaml",
        ("  - name: Gold\n", "  - name: Gold\n    capacity: 10\n"),
        ("  - name: Silver\n", "  - name: Silver\n    capacity_per_manager: 3\n"),
    )


def mixed_accounts(tmp_path: Path) -> Path:
    """The examples with what a batch must survive: blank lines, a line that is not JSON, one
    that is not an object, one not UTF-8, records that cannot be decided and ids given twice."""
    odd = [
        "",
        '{"id": "BAD", "strategic_fit": 9}',
        "not json",
        EXAMPLE_LINES[5],
        "   ",
        "[1, 2]",
        '{"id": "ACC-X", "annual_revenue": "lots"}',
    ]
    lines = [*EXAMPLE_LINES[:100], *odd, *EXAMPLE_LINES[100:], EXAMPLE_LINES[7]]
    path = tmp_path / "accounts.jsonl"
    path.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "\xff\xfe"}\n')
    return path


def serial(rules: Path, accounts: Path) -> tuple[str, Summary]:
    engine = Engine(load_rulebook(rules))
    summary = Summary()
    handle = io.StringIO()
    write_decisions(engine, run(engine, read_records(accounts), AS_OF, summary), "jsonl", handle, summary)
    return handle.getvalue(), summary


def in_workers(rules: Path, accounts: Path, workers: int = 2) -> tuple[str, Summary]:
    engine = Engine(load_rulebook(rules))
    summary = Summary()
    source = parallel.EngineSource(str(rules), None, engine.rulebook.content_hash)
    text = b"".join(parallel.run_jsonl(engine, source, accounts, AS_OF, summary, workers)).decode("utf-8")
    return text, summary


@pytest.mark.parametrize("capacity", [False, True], ids=["no-capacity", "capacity"])
def test_workers_write_what_the_serial_batch_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capacity: bool
) -> None:
    monkeypatch.setattr(parallel, "BLOCK", 37)  # many blocks, contenders spread over several
    rules = capacity_rules(tmp_path) if capacity else ROOT / "rules"
    accounts = mixed_accounts(tmp_path)
    expected, expected_summary = serial(rules, accounts)
    actual, summary = in_workers(rules, accounts)
    assert actual == expected
    assert summary.as_dict() == expected_summary.as_dict()
    assert summary.errors == 7 and summary.decided == 300
    if capacity:
        assert summary.placement is not None and expected_summary.placement is not None
        assert summary.placement.id == expected_summary.placement.id
        decisions = [json.loads(line) for line in actual.splitlines() if '"kind":"decision"' in line]
        assert sum(d["tier"] == "Gold" for d in decisions) == 10
        assert any("capacity 10" in note["note"] for d in decisions for note in d["placement"])
    else:
        assert summary.placement is None


def test_a_rulebook_changed_under_the_workers_is_refused(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", rules)
    engine = Engine(load_rulebook(rules))
    source = parallel.EngineSource(str(rules), None, "not-the-hash")
    accounts = tmp_path / "a.jsonl"
    accounts.write_text(EXAMPLE_LINES[0] + "\n", encoding="utf-8")
    with pytest.raises(parallel.WorkerError, match="changed while the batch was starting"):
        list(parallel.run_jsonl(engine, source, accounts, AS_OF, Summary(), 2))


def test_an_unreadable_file_fails_before_any_worker_starts(tmp_path: Path) -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    source = parallel.EngineSource(str(ROOT / "rules"), None, engine.rulebook.content_hash)
    with pytest.raises(SourceError, match="cannot read"):
        list(parallel.run_jsonl(engine, source, tmp_path / "missing.jsonl", AS_OF, Summary(), 2))


def test_the_command_line_with_workers(tmp_path: Path) -> None:
    accounts = mixed_accounts(tmp_path)
    rules = capacity_rules(tmp_path)
    runner = CliRunner()
    outputs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        command = ["evaluate", str(rules), str(accounts), "--as-of", AS_OF.isoformat(), "-f", "jsonl"]
        result = runner.invoke(app, [*command, "-o", str(out), "--workers", workers])
        assert result.exit_code == 1, result.output  # some records could not be decided
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_workers_refuse_what_they_cannot_decide(tmp_path: Path) -> None:
    runner = CliRunner()
    accounts = ROOT / "examples" / "accounts.jsonl"
    # (flat output decided in columns takes --workers too: kamrules.columnar.workers)
    for extra in (["-f", "table"], ["-f", "jsonl", "--overrides", str(accounts)]):
        result = runner.invoke(app, ["evaluate", str(ROOT / "rules"), str(accounts), "--workers", "2", *extra])
        assert result.exit_code == 2
        assert "--workers decides a JSON Lines file" in result.output


def test_unknown_columns_are_those_of_the_first_thousand_records(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The workers look for unknown columns only in the first thousand records, counted past
    blank lines and across blocks as the serial batch counts them."""
    monkeypatch.setattr(parallel, "BLOCK", 37)
    lines: list[str] = []
    for record in range(1, 1011):
        data = json.loads(EXAMPLE_LINES[record % len(EXAMPLE_LINES)])
        data["id"] = f"ACC-{record:05d}"
        if record >= 995:
            data[f"column_of_record_{record}"] = "x"
        lines.append(json.dumps(data, ensure_ascii=False))
        if record in (3, 40, 41, 500, 998):
            lines += ["", " \t"]
    accounts = tmp_path / "accounts.jsonl"
    accounts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected, expected_summary = serial(ROOT / "rules", accounts)
    actual, summary = in_workers(ROOT / "rules", accounts)
    assert actual == expected
    assert summary.unknown_columns == expected_summary.unknown_columns
    assert summary.unknown_columns == [f"column_of_record_{record}" for record in range(995, 1001)]


@pytest.mark.parametrize("threshold", [1, 10**12], ids=["large-file", "small-file"])
def test_a_large_json_lines_file_is_explained_on_every_core_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, threshold: int
) -> None:
    """Without --workers, an explained JSON Lines file from PARALLEL_JSONL_BYTES on is decided
    by the workers (on a machine of more than one core), a smaller one serially: same bytes."""
    from kamrules.cli import evaluate

    monkeypatch.setattr(evaluate, "PARALLEL_JSONL_BYTES", threshold)
    monkeypatch.setattr(evaluate.os, "sched_getaffinity", lambda _: {0, 1}, raising=False)
    calls: list[int] = []
    run_jsonl = parallel.run_jsonl

    def spy(*args: object) -> object:
        calls.append(int(args[-1]))  # type: ignore[call-overload]
        return run_jsonl(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(parallel, "run_jsonl", spy)
    accounts = mixed_accounts(tmp_path)
    rules = capacity_rules(tmp_path)
    runner = CliRunner()
    outputs = []
    for extra in ([], ["--workers", "1"]):
        out = tmp_path / "out.jsonl"
        command = ["evaluate", str(rules), str(accounts), "--as-of", AS_OF.isoformat(), "-f", "jsonl", "-o", str(out)]
        result = runner.invoke(app, [*command, *extra])
        assert result.exit_code == 1, result.output  # some records could not be decided
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert calls == ([2] if threshold == 1 else [])


def test_one_core_keeps_the_serial_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kamrules.cli import evaluate

    monkeypatch.setattr(evaluate, "PARALLEL_JSONL_BYTES", 1)
    monkeypatch.setattr(evaluate.os, "sched_getaffinity", lambda _: {0}, raising=False)
    assert evaluate._cores_for_jsonl(mixed_accounts(tmp_path)) is None
    assert evaluate._cores_for_jsonl(tmp_path / "missing.jsonl") is None


def test_workers_write_to_standard_output_as_the_serial_batch(tmp_path: Path) -> None:
    accounts = mixed_accounts(tmp_path)
    runner = CliRunner()
    outputs = []
    for workers in ("1", "2"):
        command = ["evaluate", str(ROOT / "rules"), str(accounts), "--as-of", AS_OF.isoformat(), "-f", "jsonl"]
        result = runner.invoke(app, [*command, "--workers", workers])
        assert result.exit_code == 1, result.output
        outputs.append(result.stdout_bytes)
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") == 307
