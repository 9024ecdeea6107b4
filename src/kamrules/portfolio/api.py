"""The portfolio API: decide a whole portfolio from records, dataframes or files.

::

    import datetime as dt
    import kamrules
    from kamrules.portfolio import evaluate_frame, decisions

    rulebook = kamrules.load_rulebook("rules/")
    frame = evaluate_frame(rulebook, "accounts.parquet", as_of=dt.date(2026, 11, 1))
    for decision in decisions(rulebook, "accounts.parquet", dt.date(2026, 11, 1), accounts=["ACC-00042"]):
        print(decision.summary)

``evaluate_frame`` returns one flat row per record read (decisions and errors); it decides
in columns where the rulebook compiles to them and per account elsewhere, with the same
result. ``decisions`` builds the explained :class:`~kamrules.explanation.decision.Decision`
of the accounts asked for, per account, with capacity resolved over the whole portfolio.
"""

from __future__ import annotations

import datetime as dt
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamrules.columnar import ColumnarEngine, EngineChoice, PortfolioResult, decide_rows
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError, Decision
from kamrules.portfolio.capacity import has_capacity
from kamrules.portfolio.frames import Table, from_data, read_table
from kamrules.rulebook.semantics import Rulebook

if TYPE_CHECKING:
    import polars as pl

_COMPILED: weakref.WeakKeyDictionary[Engine, ColumnarEngine] = weakref.WeakKeyDictionary()


def columnar_engine(engine_or_rulebook: Engine | Rulebook | ColumnarEngine | str | Path) -> ColumnarEngine:
    """The columnar form of a rulebook (compiled once per :class:`Engine`)."""
    if isinstance(engine_or_rulebook, ColumnarEngine):
        return engine_or_rulebook
    if isinstance(engine_or_rulebook, str | Path):
        from kamrules.rulebook import load_rulebook

        engine_or_rulebook = load_rulebook(Path(engine_or_rulebook))
    engine = engine_or_rulebook if isinstance(engine_or_rulebook, Engine) else Engine(engine_or_rulebook)
    compiled = _COMPILED.get(engine)
    if compiled is None:
        compiled = _COMPILED[engine] = ColumnarEngine(engine)
    return compiled


def read_accounts(path: str | Path, fmt: str | None = None, *, rulebook: Any = None) -> Table:
    """An accounts file (Parquet, CSV, JSON Lines, JSON) as a :class:`Table`."""
    nested = columnar_engine(rulebook).nested if rulebook is not None else _default_nested()
    return read_table(Path(path), fmt, nested)


def _default_nested() -> tuple[str, ...]:
    from kamrules.expressions.polars_backend import list_facts
    from kamrules.facts.schema import DEFAULT_SCHEMA

    return list_facts(DEFAULT_SCHEMA)


def _table(compiled: ColumnarEngine, data: Any) -> Table:
    if isinstance(data, str | Path):
        return read_table(Path(data), None, compiled.nested)
    return from_data(data, compiled.nested)


def _date(as_of: dt.date | str | None) -> dt.date:
    if as_of is None:
        return dt.date.today()
    if isinstance(as_of, str):
        return dt.date.fromisoformat(as_of)
    return as_of


def evaluate_portfolio(
    engine_or_rulebook: Engine | Rulebook | ColumnarEngine | str | Path,
    data: Any,
    as_of: dt.date | str | None = None,
    *,
    engine: EngineChoice = "auto",
) -> PortfolioResult:
    """Decide a portfolio: the result frame, the summary, and whether (and why) some or all
    of it was decided per account (``result.fallback``).

    ``data`` is a list of records (mappings), a polars or pandas DataFrame, an Arrow table,
    a :class:`Table`, or the path of a Parquet, CSV, JSON Lines or JSON file.
    """
    compiled = columnar_engine(engine_or_rulebook)
    return compiled.evaluate(_table(compiled, data), _date(as_of), engine=engine)


def evaluate_frame(
    engine_or_rulebook: Engine | Rulebook | ColumnarEngine | str | Path,
    data: Any,
    as_of: dt.date | str | None = None,
    *,
    engine: EngineChoice = "auto",
) -> pl.DataFrame:
    """The decisions of a portfolio as a polars DataFrame, one row per record read.

    Columns: ``record``, ``account_id``, ``account_name``, ``status`` (decided or error),
    ``tier``, ``key_account``, ``segment``, ``score.<card>`` (two decimals, rounded down as
    explanations show it), ``weighted.<card>`` and ``total_weight.<card>`` (the exact
    integers the score is ``weighted / (100 * total_weight)`` of: hundredths of points times
    hundredths of weight, and hundredths of weight), ``points.<criterion>`` (empty when the
    criterion was dropped), ``gate.<id>`` (applies, unknown, no), ``compliance`` (the plan's
    status), ``tier_by_rules``, ``placement`` (stability, override and capacity notes) and
    ``error`` (for records that could not be decided).
    """
    return evaluate_portfolio(engine_or_rulebook, data, as_of, engine=engine).frame


def decisions(
    engine_or_rulebook: Engine | Rulebook | ColumnarEngine | str | Path,
    data: Any,
    as_of: dt.date | str | None = None,
    *,
    accounts: Iterable[str] | None = None,
) -> Iterator[Decision | AccountError]:
    """The explained decisions of the accounts asked for (all when ``accounts`` is None), in
    input order; a record that cannot be decided yields its :class:`AccountError`.

    Each decision is built by the per-account evaluator (explanations are per account).
    When tiers have capacities, the portfolio is placed first (in columns) so each decision
    carries its final tier and where it ranked.
    """
    compiled = columnar_engine(engine_or_rulebook)
    engine = compiled.engine
    date = _date(as_of)
    table = _table(compiled, data)
    rows = list(range(table.rows)) if accounts is None else _rows_of(engine, table, set(accounts))
    placed: PortfolioResult | None = None
    if has_capacity(engine):
        placed = compiled.evaluate(table, date)
    for row in rows:
        (item,) = decide_rows(engine, table, [row], date)
        if isinstance(item, AccountError):
            yield item
            continue
        if placed is not None:
            item = _placed(engine, item, placed, row)
        yield item.decision()


def _placed(engine: Engine, outcome: Outcome, placed: PortfolioResult, row: int) -> Outcome:
    final, notes = placed.placement_of(row)
    decided = placed.summary.decided
    note = f"placed with the portfolio of {decided:,} decided account" + ("" if decided == 1 else "s")
    if notes and final is not None:
        outcome = outcome.placed(final, notes)
    return outcome.with_capacity(True, None, note)


def _rows_of(engine: Engine, table: Table, wanted: set[str]) -> list[int]:
    """Rows whose account id (under the fact's name, its CRM column, or the column a CRM
    profile reads it from) is asked for."""
    import polars as pl

    frame = table.frame
    renames = engine.validator.renames
    sources = [c for c in frame.columns if c == "id" or renames.get(c) == "id"]
    if not sources:
        return []
    ids = pl.coalesce([pl.col(c).cast(pl.String) for c in reversed(sources)])
    found = frame.select(ids.is_in(sorted(wanted)).fill_null(False)).to_series()
    return [int(i) for i in found.arg_true().to_list()]
