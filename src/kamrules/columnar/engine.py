"""The vectorised portfolio evaluator: a whole portfolio decided column by column.

:class:`ColumnarEngine` compiles a rulebook once more, this time into polars expressions
(:mod:`kamrules.expressions.polars_backend`), and decides every account of a
:class:`~kamrules.portfolio.frames.Table` at once: fact columns are parsed and checked as the
per-account validator checks records, criteria score into exact integer centipoints, gates,
tiers, stability, overrides and segments follow, then tier capacity ranks the portfolio and
plan checks give each account's compliance status.

It agrees with :class:`~kamrules.evaluation.engine.Engine` plus
:func:`~kamrules.portfolio.capacity.apply_capacity` decision for decision. It does so by
deciding in columns only what it reproduces exactly, and handing every other row to the
per-account evaluator:

* rows whose nested facts (the plan, contacts and the other lists, read as struct and list
  columns by :mod:`~kamrules.columnar.lists`) the columns do not read exactly, and every row
  with nested facts when the rulebook reads items in a way without a columnar form, or when
  they were not given as columns (records and JSON Lines);
* rows with a cell the column parsers do not read exactly as pydantic would (``'1_000'``,
  ``' 3'``, a date with a time, an integer beyond 2**31 ...), or that fail validation (the
  per-account validator then words the error);
* rows the rulebook refuses to decide (``missing: error``, an override without approver,
  no criterion scored), so the error message is the per-account one;
* rows where a float expression leaves the finite range (see the guards of
  :mod:`~kamrules.expressions.polars_backend`).

Those rows are evaluated by the per-account engine and joined to the columns before
capacity, which is resolved over the whole portfolio. A rulebook with an expression that has
no exact columnar form (arithmetic on scores, say) is evaluated per account as a whole;
:attr:`ColumnarEngine.problems` lists why.
"""

from __future__ import annotations

import datetime as dt
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from kamrules.columnar.chunks import DecidedChunk, place_keys
from kamrules.columnar.decisions import decide, scores
from kamrules.columnar.facts import fact_columns
from kamrules.columnar.output import outcomes_frame, output, summarise, unknown_columns
from kamrules.columnar.run import Run
from kamrules.evaluation.engine import Engine, Outcome, account_error
from kamrules.explanation.decision import AccountError, FieldError
from kamrules.expressions.polars_backend import (
    EXACT_INT,
    Columns,
    PolarsCompiler,
    Unsupported,
    list_facts,
)
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.batch import Summary, repeated_account
from kamrules.portfolio.capacity import apply_capacity
from kamrules.portfolio.frames import Table, require_polars

if TYPE_CHECKING:
    import polars as pl


EngineChoice = Literal["auto", "columnar", "per-account"]


class ColumnarFallbackWarning(UserWarning):
    """Some or all of a portfolio was decided per account rather than in columns."""


@dataclass
class PortfolioResult:
    """A portfolio decided: the flat result frame, its summary, and how it was decided."""

    frame: pl.DataFrame
    summary: Summary
    engine: Literal["columnar", "per-account"]
    fallback: str | None = None
    """Why (some) accounts were decided per account, or None when all were in columns."""
    fallback_expressions: tuple[str, ...] = ()
    """The rulebook expressions that forced the fallback, as ``where: source``."""
    per_account_rows: int = 0
    capacity_notes: pl.Series | None = field(default=None, repr=False)
    """Per row read, the capacity placement notes (a list, in the order tiers are filled;
    null for a row that did not compete), for explanations built per account."""
    final_tiers: pl.Series | None = field(default=None, repr=False)
    """Per row read, the tier index after capacity (null for an error row)."""
    timings: dict[str, float] = field(default_factory=dict, repr=False)
    """Seconds spent per phase (facts, scores, decisions, per_account, capacity, output)."""

    def placement_of(self, row: int) -> tuple[int | None, list[str]]:
        """The final tier index and the capacity notes of one row read (0-based)."""
        tier = self.final_tiers[row] if self.final_tiers is not None else None
        notes = self.capacity_notes[row] if self.capacity_notes is not None else None
        return tier, list(notes) if notes is not None else []


@dataclass(frozen=True, slots=True)
class _Place:
    """One expression of the rulebook, by where it is written."""

    where: str
    source: str


class ColumnarEngine:
    """A rulebook compiled for columns; build once per :class:`Engine`, evaluate many tables."""

    def __init__(self, engine: Engine) -> None:
        require_polars()
        self.engine = engine
        self.rulebook = engine.rulebook
        self.schema = engine.rulebook.schema
        self.nested = list_facts(self.schema)
        self.places = self._places()
        self.problems: dict[str, tuple[str, str]] = {}
        self.nested_expressions: dict[str, str] = {}
        self._check_weights()
        self._trial_compile()

    # -- what compiles ------------------------------------------------------------------

    def _places(self) -> dict[tuple[str, int], _Place]:
        engine = self.engine
        spec = self.rulebook.spec
        places: dict[tuple[str, int], _Place] = {}
        index = 0
        for card in engine.cards:
            for c in card.criteria:
                source = c.spec.expression or c.spec.fact
                assert source is not None
                places[("criterion", index)] = _Place(f"criterion '{c.spec.id}'", source)
                index += 1
        for i, g in enumerate(spec.gates):
            places[("gate", i)] = _Place(f"gate '{g.id}'", g.when)
        k = 0
        for tier in spec.tiers:
            for j, r in enumerate(tier.requires or []):
                places[("requirement", k)] = _Place(f"tier '{tier.name}' requirement {j + 1}", r.when)
                k += 1
        for i, s in enumerate(spec.segments):
            if s.when is not None:
                places[("segment", i)] = _Place(f"segment '{s.name}'", s.when)
        for i, b in enumerate(spec.tie_breakers):
            places[("tie_breaker", i)] = _Place(f"tie breaker {i + 1}", b.by)
        for i, check in enumerate(spec.plan_checks):
            source = check.require if check.require is not None else check.fresh.date if check.fresh else ""
            places[("check", i)] = _Place(f"plan check '{check.id}'", source)
        return places

    def _check_weights(self) -> None:
        for card in self.engine.cards:
            total = sum(c.weight for c in card.criteria)
            if total * 10_000 > EXACT_INT:
                self.problems[f"scorecard '{card.id}'"] = (
                    "weights",
                    "the weights are too large for exact integer scores in 53 bits",
                )
        excluded = getattr(self.rulebook.spec, "excluded", None)
        if excluded is not None:
            # An excluded outcome holds no tier (and no place in capacity); the columns
            # decide tiers only, so such a rulebook is decided per account.
            self.problems["excluded"] = (
                f"excluded: {excluded.name}",
                "an excluded outcome (not a tier) has no columnar form yet",
            )

    def _trial_compile(self) -> None:
        import polars as pl

        columns = Columns(
            fact=lambda name: pl.col(name),
            score=lambda card: (pl.col(f"@w.{card}"), pl.col(f"@t.{card}")),
            totals=lambda card: (100,),
            as_of=dt.date(2000, 1, 1),
        )
        compiler = PolarsCompiler(self.schema, columns)
        for place in self.places.values():
            try:
                compiled = compiler.compile(place.source)
            except Unsupported as exc:
                self.problems[place.where] = (place.source, exc.reason)
                continue
            if compiled.nested:
                self.nested_expressions[place.where] = place.source

    @property
    def compiles(self) -> bool:
        """Whether the whole rulebook has an exact columnar form."""
        return not self.problems

    def describe_problems(self) -> str:
        return "; ".join(f"{where} `{source}`: {reason}" for where, (source, reason) in self.problems.items())

    # -- evaluation ---------------------------------------------------------------------

    def evaluate(self, table: Table, as_of: dt.date, *, engine: EngineChoice = "auto") -> PortfolioResult:
        """Decide every row of ``table``. ``engine="per-account"`` decides every row with
        :class:`Engine` and :func:`apply_capacity` (the reference); ``"columnar"`` and
        ``"auto"`` decide in columns what compiles, and fall back (with a
        :class:`ColumnarFallbackWarning`) where it does not."""
        if engine == "per-account":
            return self._per_account(table, as_of, None)
        if not self.compiles:
            reason = "the rulebook has expressions without an exact columnar form: " + self.describe_problems()
            warnings.warn(
                f"kamrules: deciding every account per account; {reason}", ColumnarFallbackWarning, stacklevel=2
            )
            return self._per_account(table, as_of, reason)
        if _repeats_an_id(self.engine, table):
            # which record keeps a repeated id depends on which ones validate: the batch's rule, per account
            return self._per_account(table, as_of, "the input gives an account id more than once")
        return result(Run(self, _profiled(self.engine, table), as_of))

    def decide_chunk(self, table: Table | Any, as_of: dt.date, *, first_row: int = 0) -> DecidedChunk:
        """Decide one chunk of a portfolio in columns, up to (not including) tier capacity.

        ``table`` is a :class:`~kamrules.portfolio.frames.Table` or anything
        :func:`~kamrules.portfolio.frames.from_data` takes (a polars frame, an Arrow table,
        records). Rows the columns cannot reproduce exactly are decided per account, as in
        :meth:`evaluate`. ``first_row`` is the portfolio row of the chunk's first record, so
        that chunks decided apart (by other processes, too) number their records and keys
        as one portfolio. Give every chunk of a portfolio the same ``as_of``.

        The chunk's :meth:`~kamrules.columnar.chunks.DecidedChunk.ranking_keys` are what
        capacity needs; :func:`~kamrules.columnar.chunks.place_keys` places the keys of all
        chunks at once and :meth:`finish_chunk` writes each chunk's rows. Account ids must
        not repeat across the portfolio: the caller keeps the first decided account of an
        id and makes the repeats error rows (:func:`~kamrules.portfolio.batch.repeated_account`).
        Raises :class:`ValueError` when the rulebook has no exact columnar form
        (:attr:`problems`); such a rulebook is decided per account."""
        from kamrules.portfolio.frames import from_data

        if not self.compiles:
            raise ValueError(
                "the rulebook has expressions without an exact columnar form: " + self.describe_problems()
            )
        data = table if isinstance(table, Table) else from_data(table, self.nested)
        return decided_chunk(Run(self, _profiled(self.engine, data), as_of), first_row)

    def finish_chunk(self, chunk: DecidedChunk, placed: pl.DataFrame | None) -> pl.DataFrame:
        """The result rows of a decided chunk, exactly as ``kamrules evaluate --format
        parquet`` writes them (:func:`~kamrules.columnar.output.output_schema`).

        ``placed`` is the placement of the whole portfolio, or of this chunk's rows at least,
        as :func:`~kamrules.columnar.chunks.place_keys` returns it (columns ``row``,
        ``tier``, ``notes``, rows numbered across the portfolio); rows it does not name keep
        the tier the rules gave them. None when no tier has a capacity."""
        return finished(chunk, placed)

    def _per_account(self, table: Table, as_of: dt.date, reason: str | None) -> PortfolioResult:
        import polars as pl

        engine = self.engine
        items = decide_rows(engine, table, range(table.rows), as_of)
        raws = table.raw(range(table.rows))
        seen: dict[str, int] = {}
        for row, item in enumerate(items):
            if isinstance(item, Outcome):
                first = seen.setdefault(item.account_id, row)
                if first != row:  # as the batch: the first record decided keeps the id
                    items[row] = repeated_account(row + 1, raws[row].line, item.account_id, raws[first].line)
        outcomes = [item for item in items if isinstance(item, Outcome)]
        placed = iter(apply_capacity(engine, outcomes))
        final: list[Outcome | AccountError] = [next(placed) if isinstance(i, Outcome) else i for i in items]
        frame = outcomes_frame(engine, final)
        summary = summarise(engine, frame, unknown_columns(engine, table))
        notes = [
            [note for kind, note in item.placement if kind == "capacity"] if isinstance(item, Outcome) else []
            for item in final
        ]
        tiers = [item.tier_index if isinstance(item, Outcome) else None for item in final]
        problems = tuple(f"{where}: {source}" for where, (source, _) in self.problems.items())
        return PortfolioResult(
            frame,
            summary,
            "per-account",
            fallback=reason,
            fallback_expressions=problems if reason else (),
            per_account_rows=table.rows,
            capacity_notes=pl.Series("notes", notes, dtype=pl.List(pl.String)),
            final_tiers=pl.Series("@final", tiers, dtype=pl.Int64),
        )


def decide_rows(engine: Engine, table: Table, rows: Iterable[int], as_of: dt.date) -> list[Outcome | AccountError]:
    """The per-account decisions (before capacity) of the given rows, as the batch makes them."""
    rows = list(rows)
    result: list[Outcome | AccountError] = []
    for row, raw in zip(rows, table.raw(rows), strict=True):
        number = row + 1
        if raw.data is None:
            problem = raw.problem or table.unreadable.get(row) or "unreadable record"
            result.append(
                AccountError(
                    record=number,
                    line=raw.line,
                    account_id=None,
                    errors=[FieldError(field="(record)", message=problem)],
                    message=problem,
                )
            )
            continue
        try:
            result.append(engine.evaluate(engine.validate(raw.data), as_of))
        except InvalidRecord as exc:
            result.append(account_error(number, exc, raw.line))
    return result


def decided_chunk(run: Run, first_row: int = 0) -> DecidedChunk:
    """One table decided up to capacity (see :meth:`ColumnarEngine.decide_chunk`)."""
    import polars as pl

    engine = run.engine
    clock = [time.perf_counter()]
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        now = time.perf_counter()
        timings[name] = now - clock[0]
        clock[0] = now

    facts, slow_facts = fact_columns(run)
    facts = facts.with_columns(slow_facts.alias("@slow0"), pl.int_range(pl.len(), dtype=pl.Int64).alias("@row"))
    lap("facts")
    scored, slow_scores = scores(run, facts)
    lap("scores")
    decided, slow_decisions = decide(run, scored)
    decided = decided.with_columns(
        (pl.col("@slow0") | slow_scores.fill_null(False) | slow_decisions.fill_null(False)).alias("@slow")
    )
    extra = int(decided.select((pl.col("@slow") & ~pl.col("@slow0")).sum()).item())
    if extra:
        run.reasons["rows the rules refuse to decide or whose arithmetic leaves the finite range"] += extra
    slow_rows = decided.filter(pl.col("@slow")).get_column("@row").to_list()
    fast = decided.filter(~pl.col("@slow")) if slow_rows else decided
    lap("decisions")
    items = decide_rows(engine, run.table, slow_rows, run.as_of)
    outcomes = {row: item for row, item in zip(slow_rows, items, strict=True) if isinstance(item, Outcome)}
    errors = {row: item for row, item in zip(slow_rows, items, strict=True) if isinstance(item, AccountError)}
    combined = combine(run, fast, outcomes)
    lap("per_account")
    return DecidedChunk(run, combined, outcomes, errors, slow_rows, first_row, timings)


def finished(chunk: DecidedChunk, placed: pl.DataFrame | None) -> pl.DataFrame:
    """The result rows of a decided chunk (see :meth:`ColumnarEngine.finish_chunk`)."""
    import polars as pl

    run = chunk.run
    frame = chunk.frame
    if placed is not None and placed.height:
        start, stop = chunk.first_row, chunk.first_row + chunk.rows
        mine = placed.filter(pl.col("row").is_between(start, stop - 1)).select(
            (pl.col("row") - start).alias("@row"),
            pl.col("tier").alias("@placed"),
            pl.col("notes").alias("@capnotes"),
        )
        frame = frame.join(mine, on="@row", how="left", maintain_order="left").with_columns(
            pl.coalesce(pl.col("@placed"), pl.col("@chosen")).alias("@final")
        )
    else:
        frame = frame.with_columns(
            pl.col("@chosen").alias("@final"), pl.lit(None, dtype=pl.List(pl.String)).alias("@capnotes")
        )
    result = output(run, frame, chunk.outcomes, chunk.errors)
    if chunk.first_row:
        result = result.with_columns(pl.col("record") + chunk.first_row)
    return result


def result(run: Run) -> PortfolioResult:
    import polars as pl

    engine = run.engine
    chunk = decided_chunk(run)
    timings = chunk.timings
    clock = time.perf_counter()
    placed, portfolio = place_keys(engine, chunk.ranking_keys(), chunk.decided)
    timings["capacity"] = time.perf_counter() - clock
    clock = time.perf_counter()
    frame = finished(chunk, placed)
    summary = summarise(engine, frame, unknown_columns(engine, run.table))
    if portfolio.placement.tiers:
        summary.placement = portfolio.placement
    timings["output"] = time.perf_counter() - clock
    slow_rows = chunk.slow_rows
    fallback = None
    expressions: tuple[str, ...] = ()
    if slow_rows:
        parts = [f"{count} {reason}" for reason, count in run.reasons.items()]
        fallback = f"{len(slow_rows)} of {run.table.rows} rows were decided per account: " + "; ".join(parts)
        if run.nested_problem is not None:
            fallback += f" (nested facts are not read in columns: {run.nested_problem})"
        if any(r.startswith(("nested", "records")) for r in run.reasons) and run.owner.nested_expressions:
            expressions = tuple(f"{w}: {s}" for w, s in run.owner.nested_expressions.items())
            warnings.warn(
                f"kamrules: {fallback}. The rulebook reads nested facts in " + ", ".join(run.owner.nested_expressions),
                ColumnarFallbackWarning,
                stacklevel=3,
            )
    rows_read = pl.DataFrame({"@row": pl.int_range(run.table.rows, dtype=pl.Int64, eager=True)})
    aligned = rows_read.join(
        chunk.frame.select("@row", "@chosen").join(
            placed.select(pl.col("row").alias("@row"), "tier", "notes"), on="@row", how="left"
        ),
        on="@row",
        how="left",
        maintain_order="left",
    )
    return PortfolioResult(
        frame,
        summary,
        "columnar",
        fallback=fallback,
        fallback_expressions=expressions,
        per_account_rows=len(slow_rows),
        capacity_notes=aligned.get_column("notes"),
        final_tiers=aligned.select(pl.coalesce("tier", "@chosen")).to_series().alias("@final"),
        timings=timings,
    )


def combine(run: Run, fast: pl.DataFrame, outcomes: dict[int, Outcome]) -> pl.DataFrame:
    """The fast rows and the per-account outcomes in one frame of the columns capacity,
    compliance and output read."""
    import polars as pl

    engine = run.engine
    keep = [
        "@row",
        "id",
        "name",
        "account_manager",
        "stage",
        "@natural",
        "@chosen",
        "@ceiling",
        "@pinned",
        "@notes",
    ]
    keep += [f"@w.{c.id}" for c in engine.cards] + [f"@t.{c.id}" for c in engine.cards]
    keep += [f"@p.{c.spec.id}" for card in engine.cards for c in card.criteria]
    keep += [f"gate.{g.spec.id}" for g in engine.gates]
    keep += [f"@e.{i}" for i in range(len(engine.tiers))]
    keep += ["segment"] + [f"@c.{i}" for i in range(len(engine.checks))]
    keep += [c for c in fast.columns if c.startswith("@tb.")]
    base = fast.select(keep)
    if not outcomes:
        return base.with_columns(pl.lit(False).alias("@outcome"))
    rows: list[dict[str, Any]] = []
    for row, o in outcomes.items():
        record = o.record
        data: dict[str, Any] = {
            "@row": row,
            "id": o.account_id,
            "name": getattr(record, "name", None),
            "account_manager": getattr(record, "account_manager", None),
            "stage": getattr(record, "stage", None),
            "@natural": o.rules_index,
            "@chosen": o.tier_index,
            "@ceiling": o.ceiling,
            "@pinned": any(kind == "override" and "pinned" in note for kind, note in o.placement),
            "@notes": "; ".join(note for _, note in o.placement) or None,
            "segment": o.segment,
        }
        for card, (weighted, total, crows) in zip(engine.cards, o._cards, strict=True):
            data[f"@w.{card.id}"] = weighted
            data[f"@t.{card.id}"] = total
            for c, crow in zip(card.criteria, crows, strict=True):
                data[f"@p.{c.spec.id}"] = None if crow[3] == 2 else crow[1]
        for gate, (applied, unknown, _) in zip(engine.gates, o._gates, strict=True):
            data[f"gate.{gate.spec.id}"] = "applies" if applied else "unknown" if unknown else "no"
        for i, trow in enumerate(o._tier_rows):
            data[f"@e.{i}"] = trow[0]
        for i, (expr, _) in enumerate(engine.tie_breakers):
            if f"@tb.{i}" in base.columns:
                data[f"@tb.{i}"] = expr.evaluate(record, o.scores, o.as_of)[0]
        rows.append(data)
    slow = pl.DataFrame(rows, schema={c: base.schema[c] for c in base.columns if c in rows[0]})
    merged = pl.concat(
        [base.with_columns(pl.lit(False).alias("@outcome")), slow.with_columns(pl.lit(True).alias("@outcome"))],
        how="diagonal_relaxed",
    )
    return merged.sort("@row")


def _profiled(engine: Engine, table: Table) -> Table:
    """The table as fact columns when the engine reads records through a CRM profile (the rows
    the columns cannot carry exactly go per account, through the same profile)."""
    from kamrules.crm.profile import ProfiledValidator

    if not isinstance(engine.validator, ProfiledValidator):
        return table
    from kamrules.crm.frames import apply_to_table

    return apply_to_table(engine.validator.profile, table)


def _repeats_an_id(engine: Engine, table: Table) -> bool:
    """Whether some account id (under the fact's name or its CRM column) is given twice."""
    import polars as pl

    column = engine.rulebook.schema.account.fields["id"].column
    frame = table.frame
    sources = [
        c
        for c in frame.columns
        if c in ("id", column) and (frame.schema[c] == pl.String or frame.schema[c].is_integer())
    ]
    if not sources:
        return False
    ids = frame.select(pl.coalesce([pl.col(c).cast(pl.String) for c in reversed(sources)]).alias("id")).to_series()
    return bool(ids.drop_nulls().is_duplicated().any())
