"""A portfolio decided a chunk at a time: decide, place, finish.

Tier capacity is the one step that needs the whole portfolio, and it needs only a few
values of each account (:class:`~kamrules.portfolio.placement.Contender`). So a run is split
in three, and any executor (the streaming ``evaluate``, the Spark runner, a program with its
own reader) can drive it:

1. :meth:`ColumnarEngine.decide_chunk <kamrules.columnar.engine.ColumnarEngine.decide_chunk>`
   decides one table of records in columns (rows the columns cannot reproduce per account)
   up to, not including, capacity: a :class:`DecidedChunk`. Its
   :meth:`~DecidedChunk.ranking_keys` are the compact keys capacity reads, one row per
   decided account.
2. :func:`place_keys` places the ranking keys of the whole portfolio (every chunk's,
   concatenated) with :func:`kamrules.portfolio.placement.place`, the one implementation of
   capacity every executor shares: a frame of each contender's final tier and notes.
3. :meth:`ColumnarEngine.finish_chunk <kamrules.columnar.engine.ColumnarEngine.finish_chunk>`
   turns a decided chunk and the placement (all of it, or the chunk's part) into the result
   rows exactly as ``kamrules evaluate --format parquet`` writes them.

Rows are numbered across the portfolio: a chunk decided with ``first_row=k`` numbers its
records from ``k + 1`` (the ``record`` column) and its keys' ``row`` from ``k``, so chunks
decided apart concatenate and place as one portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from kamrules.columnar.run import score_field
from kamrules.evaluation.engine import Outcome
from kamrules.explanation.decision import AccountError
from kamrules.portfolio.placement import Contender, Placed, note, place

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run
    from kamrules.evaluation.engine import Engine


KEY_COLUMNS = ("row", "account_id", "weighted", "total", "manager", "tier", "ceiling", "eligible", "pinned")
"""The ranking-key columns every rulebook has; ``breaker.<i>`` (or, for a tie-breaker by a
score, ``breaker.<i>.weighted`` and ``breaker.<i>.total``) follow, one per tie-breaker."""

PLACED_COLUMNS = ("row", "tier", "notes")
"""A placement as :meth:`ColumnarEngine.finish_chunk` reads it: per contender its row, its
final tier index and its capacity notes (a list of text, in the order tiers are filled)."""


@dataclass
class DecidedChunk:
    """One table of records decided up to capacity.

    ``frame`` holds one row per decided account (in columns or per account) with every
    column the output is built from; ``outcomes`` and ``errors`` are the rows decided per
    account (by chunk row), the errors being records that could not be decided."""

    run: Run
    frame: pl.DataFrame
    outcomes: dict[int, Outcome]
    errors: dict[int, AccountError]
    slow_rows: list[int]
    first_row: int = 0
    timings: dict[str, float] = field(default_factory=dict, repr=False)

    read: int = -1
    """Records read in this chunk (decided and errors); kept when the input is released."""

    def __post_init__(self) -> None:
        if self.read < 0:
            self.read = self.run.table.rows

    @property
    def rows(self) -> int:
        """Records read in this chunk (decided and errors)."""
        return self.read

    def release(self) -> None:
        """Drop the chunk's input (its table and nested item frames), which finishing does
        not read: a streamed run keeps only what the output is built from."""
        from kamrules.portfolio.frames import from_records

        self.run.table = from_records([])
        self.run.lists = None

    @property
    def decided(self) -> int:
        """Accounts decided in this chunk: what a capacity given as a share counts."""
        return self.frame.height

    def ranking_keys(self) -> pl.DataFrame:
        """The compact keys of every decided account of the chunk (columns :data:`KEY_COLUMNS`
        then the tie-breakers): all tier capacity needs, a few dozen bytes an account.

        ``row`` is the portfolio row (``first_row`` + the chunk row), ``weighted``/``total``
        the exact primary score (``weighted / (100 * total)``), ``tier`` the tier index after
        stability and overrides, ``ceiling`` the best tier the gates allow, ``eligible`` a
        bit mask of the tiers the rules make it eligible for, ``pinned`` whether an active
        override holds its tier."""
        import polars as pl

        engine = self.run.engine
        frame = self.frame
        primary = engine.primary
        eligible: pl.Expr = pl.lit(0, dtype=pl.Int64)
        for k in range(len(engine.tiers)):
            eligible = eligible | pl.when(pl.col(f"@e.{k}").fill_null(False)).then(1 << k).otherwise(0)
        exprs: list[pl.Expr] = [
            (pl.col("@row") + self.first_row).cast(pl.Int64).alias("row"),
            pl.col("id").cast(pl.String).alias("account_id"),
            pl.col(f"@w.{primary}").cast(pl.Int64).alias("weighted"),
            pl.col(f"@t.{primary}").cast(pl.Int64).alias("total"),
            pl.col("account_manager").cast(pl.String).alias("manager"),
            pl.col("@chosen").cast(pl.Int64).alias("tier"),
            pl.col("@ceiling").cast(pl.Int64).alias("ceiling"),
            eligible.alias("eligible"),
            pl.col("@pinned").fill_null(False).alias("pinned"),
        ]
        for i, card in enumerate(_breaker_cards(self.run)):
            if card is not None:
                exprs.append(pl.col(f"@w.{card}").cast(pl.Int64).alias(f"breaker.{i}.weighted"))
                exprs.append(pl.col(f"@t.{card}").cast(pl.Int64).alias(f"breaker.{i}.total"))
            else:
                exprs.append(pl.col(f"@tb.{i}").alias(f"breaker.{i}"))
        return frame.select(exprs)


def _breaker_cards(run: Run) -> list[str | None]:
    """Per tie-breaker, the scorecard when it ranks by a score alone (kept exact as two
    integers), else None (its value is a column)."""
    return [
        score_field(run.owner.places[("tie_breaker", i)].source, run.schema)
        for i in range(len(run.owner.rulebook.spec.tie_breakers))
    ]


def contenders(engine: Engine, keys: pl.DataFrame) -> list[Contender]:
    """The :class:`Contender` of each row of ranking keys (as :meth:`DecidedChunk.ranking_keys`
    gives them): the values :func:`~kamrules.portfolio.placement.place` ranks."""
    columns = [keys.get_column(name).to_list() for name in KEY_COLUMNS]
    breakers: list[list[Any]] = []
    for i in range(len(engine.tie_breakers)):
        if f"breaker.{i}" in keys.columns:
            breakers.append(keys.get_column(f"breaker.{i}").to_list())
        else:
            weighted = keys.get_column(f"breaker.{i}.weighted").to_list()
            total = keys.get_column(f"breaker.{i}.total").to_list()
            # the per-account engine's score value: weighted / (100 * total), exact
            breakers.append(
                [None if w is None or t is None else Fraction(w, 100 * t) for w, t in zip(weighted, total, strict=True)]
            )
    rows, ids, weighted, total, managers, tiers, ceilings, eligible, pinned = columns
    values = zip(*breakers, strict=True) if breakers else ((),) * keys.height
    return [
        Contender(r, a, w, t, tuple(b), m, tier, c, e, p)
        for r, a, w, t, b, m, tier, c, e, p in zip(
            rows, ids, weighted, total, values, managers, tiers, ceilings, eligible, pinned, strict=True
        )
    ]


def place_keys(engine: Engine, keys: pl.DataFrame, portfolio: int | None = None) -> tuple[pl.DataFrame, Placed]:
    """Tier capacity over a whole portfolio's ranking keys, by the one shared placement.

    ``portfolio`` is the count of decided accounts a capacity share is taken of (by default
    the number of keys: every decided account has one). Only accounts whose tier can meet a
    capacity compete. Returns the placement frame (:data:`PLACED_COLUMNS`, one row per
    contender) for :meth:`ColumnarEngine.finish_chunk`, and the :class:`Placed` portfolio
    (whose ``placement`` a run can save)."""
    import polars as pl

    from kamrules.portfolio.placement import capacity_tiers

    size = keys.height if portfolio is None else portfolio
    tiers = capacity_tiers(engine, size)
    if tiers:
        lowest = max(t.index for t in tiers)
        keys = keys.filter(pl.col("tier").is_between(0, lowest))
    else:
        keys = keys.clear()
    ranked = contenders(engine, keys)
    placed = place(engine, ranked, size)
    # the notes as one text column per ranking step (a list column built from Python lists
    # costs ten times more), worded by the shared note()
    by_tier = {t.index: t for t in placed.placement.tiers}
    steps: list[list[str | None]] = [[None] * len(ranked) for _ in by_tier]
    for j, c in enumerate(ranked):
        for k, step in enumerate(placed.steps.get(c.row, ())):
            spec = by_tier[step.tier]
            steps[k][j] = note(engine, step, spec.capacity, spec.per_manager, c.manager)
    notes = [pl.Series(f"note.{k}", column, dtype=pl.String) for k, column in enumerate(steps)]
    rows = [c.row for c in ranked]
    frame = pl.DataFrame(
        [
            pl.Series("row", rows, dtype=pl.Int64),
            pl.Series("tier", [placed.final[r] for r in rows], dtype=pl.Int64),
            *notes,
        ]
    )
    listed = pl.concat_list(pl.col(n.name) for n in notes).list.drop_nulls() if notes else None
    frame = frame.select(
        "row", "tier", (listed if listed is not None else pl.lit([], dtype=pl.List(pl.String))).alias("notes")
    )
    return frame, placed
