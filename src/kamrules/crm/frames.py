"""A CRM profile applied to a polars frame, so that a large export stays columnar.

The columnar evaluator reads fact columns; this turns a table of CRM columns into one: each
mapped column renamed to its fact, value maps and category matching done with
``replace_strict``, dates and numbers parsed with the same patterns as
:mod:`kamrules.crm.convert`. A cell these expressions do not read exactly as the per-account
profile would (a conversion that fails, a value no map holds, a fact given twice, a nested
record or a plan fact from a flat column) sends its row to the per-account path, which
converts the original record through the profile and words any error; so both paths give
the same decisions, row for row (tested differentially).

Needs the ``dataframes`` extra; imported only when a profiled engine evaluates a table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kamrules.crm.convert import EPOCH_MS, ISO_DATE, MS_PER_DAY, NUMBER_TEXT
from kamrules.crm.profile import BoundProfile, Column

if TYPE_CHECKING:
    import polars as pl

    from kamrules.portfolio.frames import Table

_SEPARATORS = r"[\s_\-]+"


def apply_to_table(profile: BoundProfile, table: Table) -> Table:
    """The table as fact columns; rows the columns cannot carry exactly go per account."""
    import polars as pl

    from kamrules.portfolio.frames import Table

    frame = table.frame
    level = profile.account
    exprs: list[pl.Expr] = []
    flags: list[pl.Expr] = []
    produced: dict[str, str] = {}
    for key, column in level.columns.items():
        if key not in frame.columns:
            continue
        source = _present(pl.col(key), frame.schema[key], profile)
        if len(column.target) > 1:  # a plan fact from a flat column: the plan is read per account
            flags.append(source.is_not_null())
            continue
        value, bad = _convert(column, source, frame.schema[key])
        name = column.target[0]
        if name in produced:  # two columns give one fact: an error the per-account path words
            flags.append(source.is_not_null() & pl.col(produced[name]).is_not_null())
            continue
        produced[name] = key
        exprs.append(value.alias(name))
        flags.append(bad)
    for key in level.nested:
        if key in frame.columns and frame.schema[key] != pl.Null:
            flags.append(pl.col(key).is_not_null())
    passed: list[str] = []
    if level.keep_unmapped:
        for key in frame.columns:
            if key in level.columns or key in level.nested:
                continue
            if key in produced:  # also given under the fact's own name: per account, where it is an error
                flags.append(pl.col(key).is_not_null() & pl.col(produced[key]).is_not_null())
                continue
            passed.append(key)
    flag = pl.any_horizontal(flags).fill_null(False) if flags else pl.lit(False)
    try:
        converted = frame.select([*exprs, *[pl.col(c) for c in passed], flag.alias("@profile.slow")])
    except pl.exceptions.PolarsError:  # a value map and a conversion polars cannot join: all per account
        return Table(frame, table.raw, table.unreadable, list(range(frame.height)))
    slow = converted.get_column("@profile.slow")
    rows = [int(i) for i in slow.arg_true().to_list()] if slow.any() else []
    mixed = sorted(set(table.mixed) | set(rows))
    return Table(converted.drop("@profile.slow"), table.raw, table.unreadable, mixed)


def _present(source: pl.Expr, dtype: pl.DataType, profile: BoundProfile) -> pl.Expr:
    """The cell, or null where the CRM means "no value" (an empty cell, a declared ``N/A``)."""
    import polars as pl

    if dtype == pl.String:
        return pl.when(source.str.strip_chars().is_in(sorted(profile.missing_values))).then(None).otherwise(source)
    return source


def _convert(column: Column, source: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """The fact's column and the rows it does not read exactly."""
    import polars as pl

    if dtype == pl.Null:
        return source, pl.lit(False)
    if dtype == pl.Object or isinstance(dtype, pl.List | pl.Struct | pl.Array):
        return pl.lit(None), source.is_not_null()
    textual = dtype == pl.String
    text = source.cast(pl.String)
    stripped = text.str.strip_chars()
    hits: list[tuple[pl.Expr, pl.Expr]] = []
    if column.values is not None:
        key = _normalised(stripped) if column.insensitive else stripped
        if dtype == pl.Boolean:  # the per-account map never matches a true/false cell
            key = pl.lit(None, dtype=pl.String)
        mapped = _mapped(key, column.values)
        if mapped is None:  # values of mixed types: read per account
            return pl.lit(None), source.is_not_null()
        hits.append((key.is_in(list(column.values)), mapped))
    if column.categories is not None and textual:
        key = _normalised(stripped)
        hits.append((key.is_in(list(column.categories)), key.replace_strict(column.categories, default=None)))
    rest, bad_rest = _rest(column, source, stripped, dtype)
    if not hits:
        return rest, bad_rest
    chain: Any = pl.when(hits[0][0].fill_null(False)).then(hits[0][1])
    for hit, value in hits[1:]:
        chain = chain.when(hit.fill_null(False)).then(value)
    hit_any = pl.any_horizontal([h.fill_null(False) for h, _ in hits])
    strict = column.values is not None and column.unmapped_error
    if strict or (column.categories is not None and column.values is None):
        return chain.otherwise(None), source.is_not_null() & ~hit_any
    try:
        value = chain.otherwise(rest)
    except Exception:
        return pl.lit(None), source.is_not_null()
    return value, ~hit_any & bad_rest


def _mapped(key: pl.Expr, values: dict[str, Any]) -> pl.Expr | None:
    import polars as pl

    kinds = {type(v) for v in values.values()}
    if len(kinds) != 1:
        return None
    kind = kinds.pop()
    dtype = {str: pl.String, bool: pl.Boolean, int: pl.Int64, float: pl.Float64}.get(kind)
    if dtype is None:
        return None
    return key.replace_strict(values, default=None, return_dtype=dtype)


def _normalised(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().str.replace_all(_SEPARATORS, "")


def _rest(column: Column, source: pl.Expr, stripped: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """A value no map matched, converted as declared; rows it cannot read are marked."""
    import polars as pl

    if column.dates:
        return _date(column.dates, source, stripped, dtype)
    if column.percent is not None or column.number is not None:
        return _number(column, source, stripped, dtype)
    return source, pl.lit(False)


def _date(formats: Sequence[str], source: pl.Expr, stripped: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    import polars as pl

    if dtype == pl.Date:
        return source, pl.lit(False)
    if isinstance(dtype, pl.Datetime):
        return source.dt.date(), pl.lit(False)
    tries: list[pl.Expr] = []
    for fmt in formats:
        if fmt == "epoch_ms":
            if dtype.is_integer():
                ms = source.cast(pl.Int64)
            elif dtype == pl.String:
                ms = pl.when(stripped.str.contains(EPOCH_MS)).then(stripped.cast(pl.Int64, strict=False))
            else:
                continue
            tries.append(ms.floordiv(MS_PER_DAY).cast(pl.Int32, strict=False).cast(pl.Date))
        elif dtype == pl.String:
            if fmt == "iso":
                tries.append(
                    pl.when(stripped.str.contains(ISO_DATE)).then(
                        stripped.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
                    )
                )
            elif any(part in fmt for part in ("%H", "%I", "%M", "%S", "%p")):
                tries.append(stripped.str.to_datetime(fmt, strict=False).dt.date())
            else:
                tries.append(stripped.str.to_date(fmt, strict=False))
    if not tries:
        return pl.lit(None, dtype=pl.Date), source.is_not_null()
    value = pl.coalesce(tries)
    return value, source.is_not_null() & value.is_null()


def _number(column: Column, source: pl.Expr, stripped: pl.Expr, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    import polars as pl

    percent = column.percent is not None
    if dtype.is_integer() or dtype.is_float():
        text = source.cast(pl.String)
        numeric = True
    elif dtype == pl.String:
        text = stripped
        fmt = column.number
        if fmt is not None:
            for token in fmt.currency:
                text = text.str.replace_all(token, "", literal=True)
            if fmt.thousands is not None:
                text = text.str.replace_all(fmt.thousands, "", literal=True)
            if fmt.decimal != ".":
                text = text.str.replace_all(fmt.decimal, ".", literal=True)
        if percent:
            text = text.str.replace_all("%", "", literal=True)
        text = text.str.strip_chars()
        numeric = False
    else:
        return pl.lit(None, dtype=pl.Float64), source.is_not_null()
    shaped = text.str.contains(NUMBER_TEXT)
    if column.percent is not None and column.percent[0] != column.percent[1]:
        exact = pl.when(shaped).then(text.cast(pl.Decimal(38, 18), strict=False))
        scaled = exact * 100 if column.percent[0] == "0-1" else exact / 100
        value = scaled.cast(pl.Float64)
    elif numeric:
        value = source  # a number given as a number is kept, as per account
    else:
        value = pl.when(shaped).then(text.cast(pl.Float64, strict=False))
    return value, source.is_not_null() & value.is_null()

