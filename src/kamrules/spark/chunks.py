"""One chunk of a portfolio decided in two steps, on an executor: decide, then finish.

Tier capacity needs the whole portfolio, so a chunk (a few Arrow batches of one Spark
partition) is first *decided* up to capacity: the columnar engine's pre-capacity frame (or,
for a rulebook without a columnar form, the per-account outcomes) and one compact ranking key
per decided account (:func:`keys`, the fields of
:class:`~kamrules.portfolio.placement.Contender`). Once the portfolio is placed, the chunk is
*finished* with each account's final tier and capacity notes: compliance is checked at the
final tier and the output frame is written exactly as the single-machine run writes it.

Rows are numbered within the chunk (0-based, as the columnar engine numbers them); the caller
maps them to the portfolio's record numbers. Needs polars (the ``dataframes`` extra), not
pyspark.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kamrules.columnar.decisions import decide, scores
from kamrules.columnar.engine import ColumnarEngine, ColumnarFallbackWarning, _profiled, combine, decide_rows
from kamrules.columnar.facts import fact_columns
from kamrules.columnar.output import outcomes_frame, output, wide_notes
from kamrules.columnar.ranking import capacity
from kamrules.columnar.run import Run, score_field
from kamrules.evaluation.engine import Outcome
from kamrules.explanation.decision import AccountError
from kamrules.portfolio.batch import flat_values, repeated_account
from kamrules.portfolio.frames import from_frame

if TYPE_CHECKING:
    import polars as pl


@dataclass
class Chunk:
    """A chunk decided up to capacity."""

    columnar: ColumnarEngine
    as_of: dt.date
    rows: int
    run: Run | None = None
    combined: pl.DataFrame | None = None
    """The columnar pre-capacity frame of the decided rows (``@row`` is the chunk row)."""
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    errors: dict[int, AccountError] = field(default_factory=dict)
    items: list[Outcome | AccountError] | None = None
    """Per-account outcomes of every row, when the rulebook has no columnar form."""


def decide_chunk(columnar: ColumnarEngine, frame: pl.DataFrame, as_of: dt.date) -> Chunk:
    """Decide every row of ``frame`` up to tier capacity."""
    import polars as pl

    table = from_frame(frame)
    chunk = Chunk(columnar, as_of, table.rows)
    if not columnar.compiles:
        chunk.items = decide_rows(columnar.engine, table, range(table.rows), as_of)
        return chunk
    run = Run(columnar, _profiled(columnar.engine, table), as_of)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnarFallbackWarning)
        facts, slow_facts = fact_columns(run)
        facts = facts.with_columns(slow_facts.alias("@slow0"), pl.int_range(pl.len(), dtype=pl.Int64).alias("@row"))
        scored, slow_scores = scores(run, facts)
        decided, slow_decisions = decide(run, scored)
    decided = decided.with_columns(
        (pl.col("@slow0") | slow_scores.fill_null(False) | slow_decisions.fill_null(False)).alias("@slow")
    )
    slow_rows = decided.filter(pl.col("@slow")).get_column("@row").to_list()
    fast = decided.filter(~pl.col("@slow")) if slow_rows else decided
    items = decide_rows(columnar.engine, run.table, slow_rows, as_of)
    chunk.outcomes = {row: item for row, item in zip(slow_rows, items, strict=True) if isinstance(item, Outcome)}
    chunk.errors = {row: item for row, item in zip(slow_rows, items, strict=True) if isinstance(item, AccountError)}
    chunk.run = run
    chunk.combined = combine(run, fast, chunk.outcomes)
    return chunk


def key_columns(columnar: ColumnarEngine) -> list[tuple[str, str]]:
    """The compact key columns (name, kind) of a rulebook: kind is ``int``, ``text``,
    ``bool`` or a tie-breaker's value kind (``number``, ``integer``, ``date``, ...)."""
    engine = columnar.engine
    columns: list[tuple[str, str]] = [("row", "int"), ("account_id", "text"), ("weighted", "int"), ("total", "int")]
    for i, (expr, _) in enumerate(engine.tie_breakers):
        card = score_field(columnar.rulebook.spec.tie_breakers[i].by, columnar.schema)
        if card is not None:
            columns += [(f"b{i}_weighted", "int"), (f"b{i}_total", "int")]
        else:
            columns.append((f"b{i}", str(getattr(expr.type, "kind", "text"))))
    columns += [("manager", "text"), ("tier", "int"), ("ceiling", "int"), ("eligible", "int"), ("pinned", "bool")]
    return columns


def key_schema(columnar: ColumnarEngine) -> dict[str, pl.DataType]:
    return {name: _dtype(kind) for name, kind in key_columns(columnar)}


def keys(chunk: Chunk) -> pl.DataFrame:
    """One compact ranking key per decided row of the chunk (see :func:`key_columns`)."""
    import polars as pl

    columnar = chunk.columnar
    engine = columnar.engine
    schema = key_schema(columnar)
    primary = engine.primary
    cards = {i: score_field(b.by, columnar.schema) for i, b in enumerate(columnar.rulebook.spec.tie_breakers)}
    if chunk.items is not None:
        data: dict[str, list[Any]] = {name: [] for name in schema}
        for row, item in enumerate(chunk.items):
            if not isinstance(item, Outcome):
                continue
            _outcome_key(columnar, row, item, cards, data)
        return pl.DataFrame(data, schema=schema)
    frame = chunk.combined
    assert frame is not None
    eligible = pl.sum_horizontal(
        [pl.col(f"@e.{k}").fill_null(False).cast(pl.Int64) * (1 << k) for k in range(len(engine.tiers))]
    )
    exprs: list[pl.Expr] = [
        pl.col("@row").alias("row"),
        pl.col("id").alias("account_id"),
        pl.col(f"@w.{primary}").alias("weighted"),
        pl.col(f"@t.{primary}").alias("total"),
    ]
    for i, card in cards.items():
        if card is not None:
            exprs += [pl.col(f"@w.{card}").alias(f"b{i}_weighted"), pl.col(f"@t.{card}").alias(f"b{i}_total")]
        else:
            exprs.append(pl.col(f"@tb.{i}").alias(f"b{i}"))
    exprs += [
        pl.col("account_manager").alias("manager"),
        pl.col("@chosen").alias("tier"),
        pl.col("@ceiling").alias("ceiling"),
        eligible.alias("eligible"),
        pl.col("@pinned").alias("pinned"),
    ]
    return frame.select(exprs).select([pl.col(c).cast(t) for c, t in schema.items()])


def _outcome_key(
    columnar: ColumnarEngine, row: int, outcome: Outcome, cards: Mapping[int, str | None], data: dict[str, list[Any]]
) -> None:
    from kamrules.portfolio.placement import contender

    engine = columnar.engine
    c = contender(engine, outcome, row)
    data["row"].append(row)
    data["account_id"].append(c.account_id)
    data["weighted"].append(c.weighted)
    data["total"].append(c.total)
    for i, card in cards.items():
        if card is not None:
            weighted, total, _ = outcome.cards[engine.card_index[card]]
            data[f"b{i}_weighted"].append(weighted)
            data[f"b{i}_total"].append(total)
        else:
            value = c.breakers[i]
            kind = str(getattr(engine.tie_breakers[i][0].type, "kind", ""))
            # numbers rank as the columns rank them: as floats
            data[f"b{i}"].append(float(value) if value is not None and kind == "number" else value)
    data["manager"].append(c.manager)
    data["tier"].append(c.tier)
    data["ceiling"].append(c.ceiling)
    data["eligible"].append(c.eligible)
    data["pinned"].append(c.pinned)


def _dtype(kind: str) -> pl.DataType:
    import polars as pl

    return {
        "int": pl.Int64(),
        "integer": pl.Int64(),
        "number": pl.Float64(),
        "bool": pl.Boolean(),
        "boolean": pl.Boolean(),
        "date": pl.Date(),
    }.get(kind, pl.String())


def finish(
    chunk: Chunk,
    final: Sequence[int | None],
    notes: Sequence[Sequence[str] | None],
    repeats: Mapping[int, tuple[int, str, int]] | None = None,
) -> pl.DataFrame:
    """The chunk's output frame (records numbered 1.. within the chunk).

    ``final`` and ``notes`` give, per chunk row, the tier after capacity and the capacity
    notes (None: the row took part in no ranking and keeps its tier). ``repeats`` maps a chunk
    row to (its record number, its account id, the line the id was first given at) for a
    repeated account id: that row becomes the batch's error record."""
    import polars as pl

    engine = chunk.columnar.engine
    if chunk.items is not None:
        items: list[Outcome | AccountError] = []
        for row, item in enumerate(chunk.items):
            if isinstance(item, Outcome) and (notes[row] or (final[row] is not None and final[row] != item.tier_index)):
                tier = final[row]
                item = item.placed(item.tier_index if tier is None else tier, notes[row] or ())
            items.append(item)
        frame = outcomes_frame(engine, items)
    else:
        run, combined = chunk.run, chunk.combined
        assert run is not None and combined is not None
        if engine.has_capacity:
            rows = combined.get_column("@row").to_list()
            finals = pl.Series("@given", [final[r] for r in rows], dtype=pl.Int64)
            placed = combined.with_columns(pl.coalesce(finals, pl.col("@chosen")).alias("@final"))
            placed = pl.concat([placed, wide_notes([list(notes[r] or ()) for r in rows])], how="horizontal")
        else:
            placed = capacity(run, combined)
        frame = output(run, placed, chunk.outcomes, chunk.errors)
    if repeats:
        schema = frame.schema
        errors = [
            flat_values(engine, repeated_account(number, number, account_id, first), row + 1)
            for row, (number, account_id, first) in repeats.items()
        ]
        frame = pl.concat(
            [
                frame.filter(~pl.col("record").is_in([row + 1 for row in repeats])),
                pl.DataFrame(errors, schema=schema, orient="row"),
            ]
        ).sort("record")
    return frame
