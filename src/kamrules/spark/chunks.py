"""One chunk of a Spark partition, decided up to capacity and finished with its placement.

The columnar engine's chunk interface (:mod:`kamrules.columnar.chunks`: ``decide_chunk``,
``ranking_keys``, ``finish_chunk``) does the work; this module adds what a Spark task needs
around it:

* chunk rows are numbered 0.. within the chunk (rows of a chunk are not contiguous in the
  portfolio after Spark's join), and the caller maps them to the portfolio's record numbers;
* a rulebook without an exact columnar form is decided per account, with the keys of its
  outcomes (:func:`~kamrules.portfolio.placement.contender`);
* a repeated account id (found by Spark over the whole portfolio) becomes the batch's error
  record;
* the keys use Spark-friendly column names (``b0``, ``b0_weighted``, not ``breaker.0``).

Needs polars (the ``dataframes`` extra), not pyspark.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamrules.columnar.chunks import DecidedChunk
from kamrules.columnar.engine import ColumnarEngine, ColumnarFallbackWarning, decide_rows
from kamrules.columnar.output import outcomes_frame
from kamrules.columnar.run import score_field
from kamrules.evaluation.engine import Outcome
from kamrules.explanation.decision import AccountError
from kamrules.portfolio.batch import flat_values, repeated_account
from kamrules.portfolio.frames import from_frame

if TYPE_CHECKING:
    import polars as pl


@dataclass
class Chunk:
    """A chunk decided up to capacity: in columns (``decided``) or, for a rulebook without a
    columnar form, per account (``items``)."""

    columnar: ColumnarEngine
    rows: int
    decided: DecidedChunk | None = None
    items: list[Outcome | AccountError] | None = None


def decide_chunk(columnar: ColumnarEngine, frame: pl.DataFrame, as_of: dt.date) -> Chunk:
    """Decide every row of ``frame`` up to tier capacity."""
    table = from_frame(frame)
    if not columnar.compiles:
        return Chunk(columnar, table.rows, items=decide_rows(columnar.engine, table, range(table.rows), as_of))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColumnarFallbackWarning)
        return Chunk(columnar, table.rows, decided=columnar.decide_chunk(table, as_of))


def key_columns(columnar: ColumnarEngine) -> list[tuple[str, str]]:
    """The compact key columns (name, kind) of a rulebook: kind is ``int``, ``text``,
    ``bool`` or a tie-breaker's value kind (``number``, ``integer``, ``date``, ...)."""
    engine = columnar.engine
    columns: list[tuple[str, str]] = [("row", "int"), ("account_id", "text"), ("weighted", "int"), ("total", "int")]
    for i, (expr, _) in enumerate(engine.tie_breakers):
        if score_field(columnar.rulebook.spec.tie_breakers[i].by, columnar.schema) is not None:
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
    schema = key_schema(columnar)
    if chunk.decided is not None:
        frame = chunk.decided.ranking_keys()
        renames = {
            c: "b" + c.removeprefix("breaker.").replace(".", "_") for c in frame.columns if c.startswith("breaker.")
        }
        frame = frame.rename(renames)
        return frame.select([pl.col(c).cast(t) for c, t in schema.items()])
    data: dict[str, list[Any]] = {name: [] for name in schema}
    assert chunk.items is not None
    for row, item in enumerate(chunk.items):
        if isinstance(item, Outcome):
            _outcome_key(columnar, row, item, data)
    return pl.DataFrame(data, schema=schema)


def _outcome_key(columnar: ColumnarEngine, row: int, outcome: Outcome, data: dict[str, list[Any]]) -> None:
    from kamrules.portfolio.placement import contender

    engine = columnar.engine
    c = contender(engine, outcome, row)
    data["row"].append(row)
    data["account_id"].append(c.account_id)
    data["weighted"].append(c.weighted)
    data["total"].append(c.total)
    for i, (expr, _) in enumerate(engine.tie_breakers):
        card = score_field(columnar.rulebook.spec.tie_breakers[i].by, columnar.schema)
        if card is not None:
            weighted, total, _ = outcome._cards[engine.card_index[card]]
            data[f"b{i}_weighted"].append(weighted)
            data[f"b{i}_total"].append(total)
        else:
            value = c.breakers[i]
            # numbers rank as the columns rank them: as floats
            number = str(getattr(expr.type, "kind", "")) == "number"
            data[f"b{i}"].append(float(value) if value is not None and number else value)
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
    final: pl.Series | Sequence[int | None],
    notes: pl.Series | Sequence[Sequence[str] | None],
    repeats: Mapping[int, tuple[int, str, int]] | None = None,
) -> pl.DataFrame:
    """The chunk's output frame (records numbered 1.. within the chunk).

    ``final`` and ``notes`` give, per chunk row, the tier after capacity and the capacity
    notes (None: the row took part in no ranking and keeps its tier). ``repeats`` maps a chunk
    row to (its record number, its account id, the line the id was first given at) for a
    repeated account id: that row becomes the batch's error record.

    Given as polars Series (a Spark task passes its Arrow columns), the placement stays in
    columns: turning a chunk's notes into Python lists and back cost more than deciding it."""
    import polars as pl

    engine = chunk.columnar.engine
    if chunk.items is not None:
        finals = final.to_list() if isinstance(final, pl.Series) else final
        texts = notes.to_list() if isinstance(notes, pl.Series) else notes
        items: list[Outcome | AccountError] = []
        for row, item in enumerate(chunk.items):
            tier = finals[row]
            if isinstance(item, Outcome) and (texts[row] or (tier is not None and tier != item.tier_index)):
                item = item.placed(item.tier_index if tier is None else tier, texts[row] or ())
            items.append(item)
        frame = outcomes_frame(engine, items)
    else:
        assert chunk.decided is not None
        placed = (
            pl.DataFrame(
                {
                    "row": pl.int_range(0, chunk.rows, dtype=pl.Int64, eager=True),
                    "tier": pl.Series(final, dtype=pl.Int64),
                    "notes": pl.Series(notes, dtype=pl.List(pl.String)),
                }
            )
            .filter(pl.col("tier").is_not_null())
            .with_columns(pl.col("notes").fill_null(pl.lit([], dtype=pl.List(pl.String))))
        )
        frame = chunk.columnar.finish_chunk(chunk.decided, placed if engine.has_capacity else None)
    if repeats:
        errors = [
            flat_values(engine, repeated_account(number, number, account_id, first), row + 1)
            for row, (number, account_id, first) in repeats.items()
        ]
        frame = pl.concat(
            [
                frame.filter(~pl.col("record").is_in([row + 1 for row in repeats])),
                pl.DataFrame(errors, schema=frame.schema, orient="row"),
            ]
        ).sort("record")
    return frame


def account_id(chunk: Chunk, row: int) -> str | None:
    """The account id a decided chunk row was decided under."""
    if chunk.items is not None:
        item = chunk.items[row]
        return item.account_id if isinstance(item, Outcome) else None
    assert chunk.decided is not None
    outcome = chunk.decided.outcomes.get(row)
    if outcome is not None:
        return str(outcome.account_id)
    frame = chunk.decided.frame
    ids = frame.filter(frame.get_column("@row") == row).get_column("id")
    return str(ids[0]) if len(ids) else None
