"""Batches in bounded memory: records are read, decided and written one by one.

A portfolio of a million nested accounts is about 40 GB as Python objects, so neither the
readers, the overrides merge, the batch nor the command line may hold it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamrules import Engine, load_rulebook
from kamrules.evaluation.engine import Outcome
from kamrules.portfolio import sources
from kamrules.portfolio.batch import Summary, run
from kamrules.portfolio.overrides import apply_overrides, merge_overrides
from kamrules.portfolio.sources import RawRecord, read_records
from tests.conftest import AS_OF, ROOT, default_rules_with

EXAMPLES = [json.loads(line) for line in (ROOT / "examples" / "accounts.jsonl").open(encoding="utf-8")]


def counted(records: list[dict[str, object]], read: list[int]) -> Iterator[RawRecord]:
    for number, data in enumerate(records, start=1):
        read.append(number)
        yield RawRecord(number, data)


def test_without_capacity_each_decision_is_yielded_before_the_next_record_is_read() -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    assert not engine.rulebook.spec.tiers[0].capacity
    read: list[int] = []
    summary = Summary()
    seen = []
    for item in run(engine, counted(EXAMPLES[:50], read), AS_OF, summary):
        assert isinstance(item, Outcome)
        seen.append(len(read))
    assert seen == list(range(1, 51))
    assert (summary.read, summary.decided) == (50, 50)


def test_overrides_are_merged_as_records_pass() -> None:
    pinned = {"ACC-00002": {"override_tier": "Gold"}, "ACC-99999": {"override_tier": "Gold"}}
    read: list[int] = []
    seen: set[str] = set()
    merged = merge_overrides(counted(EXAMPLES[:5], read), pinned, {}, seen)
    first, second = next(merged), next(merged)
    assert read == [1, 2]
    assert first.data == EXAMPLES[0]
    assert second.data is not None and second.data["override_tier"] == "Gold"
    assert seen == {"ACC-00002"}
    assert len(list(merged)) == 3
    # the list form is the same merge, with the ids no record has
    records = [RawRecord(i, d) for i, d in enumerate(EXAMPLES[:5], start=1)]
    as_list, unknown = apply_overrides(records, pinned, {})
    assert unknown == ["ACC-99999"]
    assert as_list[1].data == second.data


def test_parquet_is_read_a_batch_at_a_time_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pl = pytest.importorskip("polars")
    path = tmp_path / "accounts.parquet"
    flat = [{k: v for k, v in r.items() if not isinstance(v, (dict, list))} for r in EXAMPLES[:25]]
    pl.DataFrame(flat, infer_schema_length=None).write_parquet(path, row_group_size=7)
    monkeypatch.setattr(sources, "PARQUET_BATCH", 4)
    records = list(read_records(path))
    assert [r.line for r in records] == list(range(1, 26))
    assert [r.data["id"] for r in records if r.data] == [r["id"] for r in flat]
    assert all(None not in r.data.values() for r in records if r.data)


def test_a_parquet_file_that_breaks_is_a_source_error(tmp_path: Path) -> None:
    pytest.importorskip("polars")
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"PAR1 not really parquet")
    with pytest.raises(sources.SourceError, match=r"cannot read .* as Parquet"):
        list(read_records(path))


def test_the_command_streams_and_an_input_that_breaks_partway_is_exit_code_4(tmp_path: Path) -> None:
    """A CSV that stops being UTF-8 partway is refused as a whole (exit 4) after the decisions
    read before the break were written: the run streams. (In JSON Lines a bad byte is one error
    record instead, issue 12: see the second half.)"""
    pytest.importorskip("typer")
    from typer.testing import CliRunner

    from kamrules.cli import exit_codes
    from kamrules.cli.main import app

    rows = "".join(f"ACC-{i:05d},{1_000_000 + i}\n" for i in range(3000))
    path = tmp_path / "accounts.csv"
    path.write_bytes(b"id,annual_revenue\n" + rows.encode("utf-8") + b"ACC-\xff,1\n")
    result = CliRunner().invoke(
        app, ["evaluate", str(ROOT / "rules"), str(path), "--as-of", "2026-11-01", "-f", "jsonl"]
    )
    assert result.exit_code == exit_codes.INVALID_INPUT
    assert "is not UTF-8" in result.stderr
    # decisions read before the break (the decoder reads ahead, so not every one) were
    # already written: the run streamed instead of reading everything first
    assert 1 <= result.stdout.count('"kind":"decision"') < 3000

    good = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in EXAMPLES[:3]).encode("utf-8")
    lines = tmp_path / "accounts.jsonl"
    lines.write_bytes(good + b'{"id": "ACC-\xff"}\n')
    result = CliRunner().invoke(
        app, ["evaluate", str(ROOT / "rules"), str(lines), "--as-of", "2026-11-01", "-f", "jsonl"]
    )
    assert result.exit_code == exit_codes.RECORDS_FAILED
    assert result.stdout.count('"kind":"decision"') == 3 and result.stdout.count('"kind":"error"') == 1


CAPACITY_TIERS = """\
    min_score: 75
    capacity: 6
"""


def capacity_rules(tmp_path: Path) -> Path:
    """The default rulebook with Gold limited to 6 accounts and Silver to 3 per manager."""
    return default_rules_with(
        tmp_path / "rules",
        "tiers.yaml",
        ("    min_score: 75\n", CAPACITY_TIERS),
        ("    min_score: 60\n", "    min_score: 60\n    capacity_per_manager: 3\n"),
    )


def portfolio(copies: int) -> Iterator[RawRecord]:
    """The example accounts ``copies`` times over under new ids, made as they are read (a
    generator that cannot be read twice), with an unreadable record and a duplicate id."""
    number = 0
    for copy in range(copies):
        for data in EXAMPLES:
            number += 1
            yield RawRecord(number, {**data, "id": f"{data['id']}-{copy}"})
    yield RawRecord(number + 1, None, "line is not valid JSON")
    yield RawRecord(number + 2, {**EXAMPLES[0], "id": f"{EXAMPLES[0]['id']}-0"})


def test_with_capacity_the_streamed_batch_decides_as_the_held_one(tmp_path: Path) -> None:
    from kamrules.portfolio.batch import _decide
    from kamrules.portfolio.capacity import place_outcomes

    engine = Engine(load_rulebook(capacity_rules(tmp_path)))
    assert engine.has_capacity
    summary = Summary()
    streamed = list(run(engine, portfolio(2), AS_OF, summary))
    held = list(_decide(engine, portfolio(2), AS_OF, Summary(), {}))
    placed, result = place_outcomes(engine, [o for o in held if isinstance(o, Outcome)])
    expected = iter(placed)
    held = [next(expected) if isinstance(item, Outcome) else item for item in held]

    def dumped(item: object) -> str:
        model = item.decision() if isinstance(item, Outcome) else item
        return model.model_dump_json()  # type: ignore[attr-defined]

    assert [dumped(i) for i in streamed] == [dumped(i) for i in held]
    assert (summary.read, summary.decided, summary.errors) == (602, 600, 2)
    result.placement.as_of = AS_OF  # as the batch records it
    assert summary.placement is not None and summary.placement.to_json() == result.placement.to_json()
    notes = [note for o in streamed if isinstance(o, Outcome) for _, note in o.placement]
    assert any("the tier is full" in n for n in notes) and any("the most per manager" in n for n in notes)


PEAK_OF_A_RUN = """\
import gc, sys, tracemalloc
from pathlib import Path
from kamrules import Engine, load_rulebook
from kamrules.portfolio.batch import Summary, run
from tests.conftest import AS_OF
from tests.portfolio.test_streaming import capacity_rules, portfolio

engine = Engine(load_rulebook(capacity_rules(Path(sys.argv[1]))))
for copies in map(int, sys.argv[2:]):
    gc.collect()
    tracemalloc.start()
    for _ in run(engine, portfolio(copies), AS_OF, Summary()):
        pass
    print(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
"""


def test_with_capacity_memory_does_not_grow_with_the_portfolio(tmp_path: Path) -> None:
    """Held, the outcomes of nested accounts cost tens of KB each; streamed, an account
    costs its compact ranking key (a few hundred bytes) while the batch runs.

    The peaks are measured in a fresh process: in the full suite, what earlier tests left
    in this one (caches that grow past a resize, the collector's state) once added 3 KB an
    account to a run that costs about 400 bytes an account alone."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", PEAK_OF_A_RUN, str(tmp_path), "1", "5"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    small, large = (int(line) for line in done.stdout.split())
    per_account = (large - small) / (4 * len(EXAMPLES))
    assert per_account < 3_000, f"{per_account:.0f} bytes per account"
