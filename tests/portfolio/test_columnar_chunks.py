"""A portfolio decided a chunk at a time (decide_chunk, place_keys, finish_chunk) gives the
rows of the whole portfolio decided at once, and its placement is the shared one."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

pl = pytest.importorskip("polars")

from kamrules import Engine, load_rulebook  # noqa: E402
from kamrules.columnar import ColumnarEngine  # noqa: E402
from kamrules.columnar.chunks import KEY_COLUMNS, contenders, place_keys  # noqa: E402
from kamrules.portfolio import evaluate_portfolio  # noqa: E402
from kamrules.portfolio.placement import contender, place  # noqa: E402
from tests.conftest import ROOT  # noqa: E402
from tests.portfolio.test_columnar_nested import AS_OF, portfolio  # noqa: E402
from tests.portfolio.test_nested_benchmark_data import nested  # noqa: E402


@pytest.fixture(scope="module")
def capacity_engine(tmp_path_factory: pytest.TempPathFactory) -> Engine:
    """The nested benchmark's rulebook (Gold 2%, Silver 10%) with a per-manager Silver limit
    too, so accounts are ranked, fall and compete again."""
    rules = nested.capacity_rulebook(tmp_path_factory.mktemp("rules") / "rules", ROOT)
    tiers = rules / "tiers.yaml"
    silver = "    capacity: 10%\n"
    tiers.write_text(tiers.read_text().replace(silver, silver + "    capacity_per_manager: 4\n"))
    engine = Engine(load_rulebook(rules))
    assert [t.capacity_per_manager for t in engine.rulebook.spec.tiers][1] == 4
    return engine


def _accounts(size: int, start: int = 0) -> pl.DataFrame:
    frame = pl.from_arrow(nested.chunk_table(start, size))
    assert isinstance(frame, pl.DataFrame)
    return frame


def test_chunks_decide_and_place_as_the_whole_portfolio(capacity_engine: Engine) -> None:
    frame = _accounts(600)
    compiled = ColumnarEngine(capacity_engine)
    whole = evaluate_portfolio(compiled, frame, AS_OF, engine="columnar")
    bounds = [0, 237, 238, 590, 600]  # uneven, one chunk of a single row
    chunks = [
        compiled.decide_chunk(frame.slice(start, stop - start), AS_OF, first_row=start)
        for start, stop in itertools.pairwise(bounds)
    ]
    keys = pl.concat([c.ranking_keys() for c in chunks])
    assert keys.columns[: len(KEY_COLUMNS)] == list(KEY_COLUMNS)
    assert keys.height == sum(c.decided for c in chunks) == whole.summary.decided
    placed, _ = place_keys(capacity_engine, keys)
    assert placed.height > 70, "more accounts compete than Gold and Silver hold"
    result = pl.concat([compiled.finish_chunk(c, placed) for c in chunks])
    assert result.get_column("record").to_list() == list(range(1, 601))
    assert result.equals(whole.frame)
    assert result.get_column("placement").str.contains("ranked").any()
    assert result.get_column("placement").str.contains("falls to").any()


def test_the_keys_place_as_the_per_account_contenders(capacity_engine: Engine) -> None:
    frame = _accounts(200, 7_000)
    chunk = ColumnarEngine(capacity_engine).decide_chunk(frame, AS_OF)
    assert not chunk.slow_rows
    from_keys = contenders(capacity_engine, chunk.ranking_keys())
    records = [{k: v for k, v in r.items() if v is not None} for r in frame.to_dicts()]
    per_account = [
        contender(capacity_engine, capacity_engine.evaluate(capacity_engine.validate(r), AS_OF), row)
        for row, r in enumerate(records)
    ]
    assert from_keys == per_account
    assert place(capacity_engine, from_keys, 200).final == place(capacity_engine, per_account, 200).final


def test_a_chunk_without_placement_keeps_the_rules_tier() -> None:
    engine = Engine(load_rulebook(ROOT / "rules"))
    frame = portfolio(engine, 3, 30, 0.0)
    compiled = ColumnarEngine(engine)
    chunk = compiled.decide_chunk(frame, dt.date(2026, 11, 1), first_row=100)
    result = compiled.finish_chunk(chunk, None)
    assert result.get_column("record").to_list() == list(range(101, 131))
    assert chunk.ranking_keys().get_column("row").to_list() == list(range(100, 130))
    assert result.equals(evaluate_portfolio(engine, frame, AS_OF).frame.with_columns(pl.col("record") + 100))


def test_a_rulebook_without_a_columnar_form_is_refused() -> None:
    compiled = ColumnarEngine(Engine(load_rulebook(ROOT / "rules")))
    compiled.problems["criterion 'x'"] = ("score.a * 2", "arithmetic on scores")
    with pytest.raises(ValueError, match=r"without an exact columnar form: criterion 'x' `score.a \* 2`"):
        compiled.decide_chunk(pl.DataFrame({"id": ["A"]}), AS_OF)
