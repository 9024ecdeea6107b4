"""Fact columns: raw CRM columns parsed and checked as the per-account validator checks records."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from kamrules.columnar.run import fact_dtype
from kamrules.expressions.polars_backend import (
    INT_LIMIT,
)
from kamrules.facts.types import CategoryType, FactField, ListType, RecordType, ScalarType

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


_NUMBER_TEXT = r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$"


_INTEGER_TEXT = r"^[+-]?[0-9]{1,12}$"


_DATE_TEXT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


_TRUE = ("1", "on", "t", "true", "y", "yes")


_FALSE = ("0", "off", "f", "false", "n", "no")


def fact_columns(run: Run) -> tuple[pl.DataFrame, pl.Series]:
    """The typed fact columns and, per row, whether it must be decided per account."""
    import polars as pl

    frame = run.table.frame
    fields = run.schema.account.fields
    present = set(frame.columns)
    exprs: list[pl.Expr] = []
    bad: dict[str, pl.Expr] = {}
    eager: dict[str, tuple[pl.Series, pl.Series]] = {}
    for name, fact in fields.items():
        if fact.derived or isinstance(fact.type, RecordType | ListType):
            continue
        sources = [c for c in frame.columns if c in (name, fact.column)]
        if not sources:
            exprs.append(pl.lit(None, dtype=fact_dtype(fact)).alias(name))
            if fact.required:
                bad[name] = pl.lit(True)
            continue
        if len(sources) > 1:  # given under its name and its CRM column: the per-account error
            bad[f"{name}, given twice"] = pl.all_horizontal([pl.col(s).is_not_null() for s in sources])
        if name == "id":  # a blank id: the per-account error
            bad["id, blank"] = pl.any_horizontal(
                [pl.col(s).str.strip_chars() == "" for s in sources if frame.schema[s] == pl.String]
                or [pl.lit(False)]
            )
        if any(frame.schema[s] == pl.Object for s in sources):
            eager[name] = _object_fact(run, frame, sources, fact)
            continue
        if len(sources) == 1:
            source = pl.col(sources[0])
            dtype = frame.schema[sources[0]]
        else:
            dtype = frame.schema[sources[0]]
            if any(frame.schema[s] != dtype for s in sources):
                dtype = pl.String()
                # a list or record where a value belongs has no text form: its rows go per account
                nested = [s for s in sources if isinstance(frame.schema[s], pl.List | pl.Array | pl.Struct)]
                if nested:
                    bad[f"{name}, not a value"] = pl.any_horizontal([pl.col(s).is_not_null() for s in nested])
                source = pl.coalesce(
                    [
                        pl.lit(None, dtype=pl.String) if s in nested else pl.col(s).cast(pl.String)
                        for s in reversed(sources)
                    ]
                )
            else:
                source = pl.coalesce([pl.col(s) for s in reversed(sources)])
        value, problem = parse_column(source, dtype, fact, run.as_of)
        exprs.append(value.alias(name))
        bad[name] = problem
    # with_columns broadcasts literal columns (a fact no column gives) to the frame's height.
    checks = [v.fill_null(False).alias(f"@bad.{k}") for k, v in bad.items()]
    typed = frame.with_columns(exprs + checks).select([e.meta.output_name() for e in exprs + checks])
    for name, (parsed, problems) in eager.items():
        typed = typed.with_columns(parsed.alias(name), problems.alias(f"@bad.{name}"))
    typed = _nested(run, frame, typed, present)
    bad_columns = [c for c in typed.columns if c.startswith("@bad.")]
    slow = typed.select(pl.any_horizontal(bad_columns) if bad_columns else pl.repeat(False, typed.height))
    slow_series = slow.to_series()
    for column in bad_columns:
        count = int(typed.get_column(column).sum())
        if count:
            what = column.removeprefix("@bad.")
            if what.startswith("@nested."):
                run.reasons[f"nested facts ({what.removeprefix('@nested.')})"] += count
            else:
                run.reasons[f"cells the columns do not read exactly or that fail validation ({what})"] += count
    marks = run.table.mixed + list(run.table.unreadable)
    if marks:
        flags = slow_series.to_list()
        for row in marks:
            flags[row] = True
        slow_series = pl.Series(flags, dtype=pl.Boolean)
    if run.table.mixed:
        run.reasons["records with nested facts (plan, contacts, ...) or that are not objects"] += len(run.table.mixed)
    if run.table.unreadable:
        run.reasons["unreadable records"] += len(run.table.unreadable)
    return typed.drop(bad_columns), slow_series


def _object_fact(run: Run, frame: pl.DataFrame, sources: list[str], fact: FactField) -> tuple[pl.Series, pl.Series]:
    """A fact whose column mixes Python types: parsed type by type."""
    import polars as pl

    merged: list[Any] = [None] * frame.height
    for source in sources:  # the later column wins where it has a value
        for i, v in enumerate(frame[source].to_list()):
            if v is not None:
                merged[i] = v
    values: list[Any] = [None] * frame.height
    problems = [False] * frame.height
    by_type: dict[type, list[int]] = {}
    for i, v in enumerate(merged):
        if v is not None:
            by_type.setdefault(type(v), []).append(i)
    for rows in by_type.values():
        try:
            sub = pl.Series("v", [merged[i] for i in rows], strict=True)
        except Exception:
            for i in rows:
                problems[i] = True
            continue
        value, problem = parse_column(pl.col("v"), sub.dtype, fact, run.as_of)
        parsed = sub.to_frame().select(value.alias("value"), problem.fill_null(False).alias("bad"))
        for i, (v, b) in zip(rows, parsed.iter_rows(), strict=True):
            values[i] = v
            problems[i] = bool(b)
    if fact.required:
        problems = [p or v is None for p, v in zip(problems, values, strict=True)]
    if fact.name == "id":  # a blank id: the per-account error
        problems = [p or (isinstance(v, str) and not v.strip()) for p, v in zip(problems, merged, strict=True)]
    return pl.Series(fact.name, values, dtype=fact_dtype(fact)), pl.Series(problems, dtype=pl.Boolean)


def _nested(run: Run, frame: pl.DataFrame, typed: pl.DataFrame, present: set[str]) -> pl.DataFrame:
    """The nested facts in columns (:mod:`kamrules.columnar.lists`): plan facts, aggregate
    columns, and the rows whose items the columns do not read exactly. Where the rulebook reads
    items in a way that has no columnar form, every row with nested facts goes per account."""
    import polars as pl

    from kamrules.columnar.lists import Lists, list_labels, nested_sources, trees
    from kamrules.expressions.polars_backend import Unsupported

    run.lists = None
    if nested_sources(frame, run.owner.nested):
        lists = Lists(run, frame)
        try:
            with_plan = typed.with_columns(lists.plan_columns())
            for label in list_labels(run.schema):
                lists.table(label)
            with_aggregates = lists.aggregate_columns(with_plan, trees(run))
        except Unsupported as exc:
            run.nested_problem = exc.reason
        else:
            run.lists = lists
            flags = [rows.alias(f"@bad.{reason}") for reason, rows in lists.bad.items()]
            return with_aggregates.with_columns(*flags, lists.guarded.alias("@bad.@guarded"))
    given = [
        _nested_present(pl.col(name), frame.schema[name], name == "plan").alias(f"@bad.@nested.{name}")
        for name in run.owner.nested
        if name in present
    ]
    return typed.with_columns(frame.with_columns(given).select(e.meta.output_name() for e in given)) if given else typed


def _nested_present(column: pl.Expr, dtype: pl.DataType, is_record: bool) -> pl.Expr:
    """Rows where a nested fact (the plan, a list) is given: decided per account."""
    import polars as pl

    if dtype == pl.Null:
        return pl.lit(False)
    if isinstance(dtype, pl.List | pl.Array) and not is_record:
        return column.list.len() > 0 if isinstance(dtype, pl.List) else column.is_not_null()
    return column.is_not_null()


def parse_column(source: pl.Expr, dtype: pl.DataType, fact: FactField, as_of: dt.date) -> tuple[pl.Expr, pl.Expr]:
    """A raw column as the fact's typed column, and the rows where it does not read exactly
    as the per-account validator reads it (or fails validation): those go per account."""
    import polars as pl

    t = fact.type
    numeric = dtype.is_integer() or dtype.is_float()
    textual = dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum | pl.Categorical)
    nothing = pl.lit(None, dtype=fact_dtype(fact))
    if dtype == pl.Null:
        value: pl.Expr = nothing
        bad: pl.Expr = pl.lit(False)
    elif isinstance(t, CategoryType):
        if textual:
            value = source.cast(pl.String)
            bad = value.is_not_null() & ~value.is_in(list(t.values))
        else:
            value, bad = nothing, source.is_not_null()
    else:
        assert isinstance(t, ScalarType)
        kind = t.kind
        if kind == "text":
            if textual or dtype.is_integer():
                value, bad = source.cast(pl.String), pl.lit(False)
            else:
                value, bad = nothing, source.is_not_null()
        elif kind == "number":
            if numeric or dtype == pl.Boolean:
                value = source.cast(pl.Float64)
                bad = ~value.is_finite()
            elif textual:
                text = source.cast(pl.String)
                shaped = text.str.contains(_NUMBER_TEXT)
                value = pl.when(shaped).then(text.cast(pl.Float64, strict=False))
                bad = text.is_not_null() & (~shaped | value.is_null() | ~value.is_finite())
            else:
                value, bad = nothing, source.is_not_null()
        elif kind == "integer":
            if dtype.is_integer() or dtype == pl.Boolean:
                wide = source.cast(pl.Float64) if dtype == pl.UInt64 else source.cast(pl.Int64)
                fits = wide.abs() <= INT_LIMIT
                value = pl.when(fits).then(source.cast(pl.Int64, strict=False))
                bad = source.is_not_null() & ~fits.fill_null(False)
            elif dtype.is_float():
                whole = source.is_finite() & (source == source.floor()) & (source.abs() <= INT_LIMIT)
                value = pl.when(whole).then(source.cast(pl.Int64, strict=False))
                bad = source.is_not_null() & ~whole.fill_null(False)
            elif textual:
                text = source.cast(pl.String)
                shaped = text.str.contains(_INTEGER_TEXT)
                parsed = pl.when(shaped).then(text.cast(pl.Int64, strict=False))
                fits = parsed.abs() <= INT_LIMIT
                value = pl.when(fits).then(parsed)
                bad = text.is_not_null() & ~fits.fill_null(False)
            else:
                value, bad = nothing, source.is_not_null()
        elif kind == "boolean":
            if dtype == pl.Boolean:
                value, bad = source, pl.lit(False)
            elif textual:
                lowered = source.cast(pl.String).str.to_lowercase()
                value = pl.when(lowered.is_in(list(_TRUE))).then(True).when(lowered.is_in(list(_FALSE))).then(False)
                bad = source.is_not_null() & value.is_null()
            elif numeric:
                value = pl.when(source == 1).then(True).when(source == 0).then(False)
                bad = source.is_not_null() & value.is_null()
            else:
                value, bad = nothing, source.is_not_null()
        else:  # date
            if dtype == pl.Date:
                value, bad = source, pl.lit(False)
            elif textual:
                text = source.cast(pl.String)
                shaped = text.str.contains(_DATE_TEXT)
                value = pl.when(shaped).then(text.str.to_date("%Y-%m-%d", strict=False))
                bad = text.is_not_null() & value.is_null()
            else:
                value, bad = nothing, source.is_not_null()
            if fact.past:
                bad = bad | (value > pl.lit(as_of, dtype=pl.Date)).fill_null(False)
    if fact.minimum is not None:
        bad = bad | (value < fact.minimum).fill_null(False)
    if fact.maximum is not None:
        bad = bad | (value > fact.maximum).fill_null(False)
    if fact.required:
        bad = bad | value.is_null()
    return value, bad
