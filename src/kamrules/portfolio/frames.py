"""Portfolio inputs and outputs as columns: Parquet, CSV, JSON Lines, records, dataframes.

Whatever the input, it becomes a :class:`Table`: a polars frame with one row per record
read (columns as the export named them, in whatever types it carried) and a way back to
each row as the raw mapping the per-account evaluator validates. The columnar evaluator
decides most rows from the frame; the rows it hands to the per-account evaluator (nested
facts, unusual cells, records that fail) are validated from exactly the mapping the
per-account batch would have seen, so error messages are the same.

polars is imported inside the functions: ``import kamrules`` needs only pydantic and PyYAML.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamrules.portfolio.sources import (
    CSV_FIELD_LIMIT,
    RawRecord,
    SourceError,
    detect_format,
    open_text,
    read_records,
)

if TYPE_CHECKING:
    import polars as pl


@dataclass
class Table:
    """Records read, as columns, with the raw record of each row on demand."""

    frame: pl.DataFrame
    raw: Callable[[Sequence[int]], list[RawRecord]]
    """The raw records of the given rows (0-based), as the per-account batch reads them."""
    unreadable: dict[int, str] = field(default_factory=dict)
    """Rows that could not be read at all, with the reason (they become error records)."""
    mixed: list[int] = field(default_factory=list)
    """Rows the columns cannot represent faithfully (both a fact and its CRM column given in
    one record, say); the per-account evaluator decides them."""

    @property
    def rows(self) -> int:
        return self.frame.height


def require_polars() -> Any:
    """polars, or a message naming the extra that installs it."""
    try:
        import polars
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError("the columnar portfolio evaluator needs polars: pip install 'kamrules[dataframes]'") from None
    return polars


# -- building tables ----------------------------------------------------------------------


def from_frame(frame: pl.DataFrame, first_line: int = 1) -> Table:
    """A table over a polars frame; a row's raw record drops its nulls (a missing cell).
    Row k is line ``first_line + k`` (a chunk of a larger input starts further on)."""

    def raw(rows: Sequence[int]) -> list[RawRecord]:
        if not rows:
            return []
        subset = frame[list(rows)]
        return [
            RawRecord(row + first_line, {k: v for k, v in record.items() if v is not None})
            for row, record in zip(rows, subset.iter_rows(named=True), strict=True)
        ]

    return Table(frame, raw)


def _series(name: str, values: list[Any]) -> pl.Series:
    """One column from Python values: typed when they share a type, else as objects."""
    import polars as pl

    try:
        return pl.Series(name, values, strict=True)
    except (TypeError, ValueError, OverflowError, pl.exceptions.PolarsError):
        return pl.Series(name, values, dtype=pl.Object)


def from_records(records: Iterable[Mapping[str, Any] | RawRecord | Any], nested: Sequence[str] = ()) -> Table:
    """A table over records (mappings, or :class:`RawRecord` from a reader).

    A row whose record is not a mapping, or that gives a nested fact (``nested``) as
    anything but an empty list or a missing plan, is kept for the per-account evaluator as
    it is; only its columns are left empty.
    """
    import polars as pl

    raws: list[RawRecord] = []
    unreadable: dict[int, str] = {}
    for number, item in enumerate(records, start=1):
        raw = item if isinstance(item, RawRecord) else RawRecord(number, item)  # type: ignore[arg-type]
        if raw.data is None:
            unreadable[len(raws)] = raw.problem or "unreadable record"
        raws.append(raw)
    keys: dict[str, None] = {}
    mixed: list[int] = []
    for index, raw in enumerate(raws):
        data = raw.data
        if not isinstance(data, Mapping):
            if data is not None:
                mixed.append(index)
            continue
        for key in data:
            keys.setdefault(key)
    columns = []
    nested_set = set(nested)
    for key in keys:
        values: list[Any] = []
        for index, raw in enumerate(raws):
            data = raw.data
            if not isinstance(data, Mapping):
                values.append(None)
                continue
            value = data.get(key)
            if key in nested_set:
                # A plan that is given, or a list that is not empty (or is null, which
                # the validator refuses), is read per account.
                if (value is not None) if key == "plan" else (key in data and value != []):
                    mixed.append(index)
                value = None
            values.append(value)
        if key in nested_set:
            # Nested facts are read per account; the column only says whether a row had any.
            columns.append(pl.Series(key, [None] * len(values), dtype=pl.Null))
            continue
        columns.append(_series(key, values))
    frame = pl.DataFrame(columns, height=len(raws)) if columns else pl.DataFrame(height=len(raws))

    def raw_records(rows: Sequence[int]) -> list[RawRecord]:
        return [raws[row] for row in rows]

    return Table(frame, raw_records, unreadable, sorted(set(mixed)))


def from_data(data: Any, nested: Sequence[str] = ()) -> Table:
    """A table from the Python API's inputs: records, a polars or pandas DataFrame, an
    Arrow table, or a :class:`Table` already built."""
    if isinstance(data, Table):
        return data
    require_polars()
    import polars as pl

    if isinstance(data, pl.DataFrame):
        return from_frame(data)
    if isinstance(data, pl.LazyFrame):
        return from_frame(data.collect())
    module = type(data).__module__
    if module.startswith("pandas"):
        return from_frame(pl.from_pandas(data))
    if module.startswith("pyarrow"):
        converted = pl.from_arrow(data)
        if isinstance(converted, pl.Series):
            converted = converted.to_frame()
        return from_frame(converted)
    if isinstance(data, Mapping):
        raise TypeError("evaluate a list of records, not a single mapping; wrap it in a list")
    return from_records(data, nested)


# -- reading files ------------------------------------------------------------------------


def table_format(path: Path, declared: str | None = None) -> str:
    return detect_format(path, declared)


def read_table(path: Path, fmt: str | None = None, nested: Sequence[str] = ()) -> Table:
    """Read an accounts file into a :class:`Table`.

    Parquet is read straight into polars, keeping categorical columns dictionary-encoded
    (DESIGN.md section 7: read straight into the engine that computes). CSV is read by
    polars as text, cells stripped and empty cells missing, as the per-account reader does;
    a file polars' reader refuses (ragged rows, duplicate headers) or one with nested facts
    as JSON cells is read by the per-account reader, row by row. JSON and JSON Lines are
    read by the per-account reader.
    """
    import polars as pl

    kind = table_format(path, fmt)
    if not path.is_file():
        raise SourceError(f"no accounts file at '{path}'")
    if kind == "parquet":
        try:
            return from_frame(pl.read_parquet(path))
        except (OSError, pl.exceptions.PolarsError) as exc:
            raise SourceError(f"cannot read '{path}' as Parquet: {exc}") from None
    if kind == "csv":
        table = _read_csv(path, nested)
        if table is not None:
            return table
    return from_records(read_records(path, kind), nested)


def _read_csv(path: Path, nested: Sequence[str]) -> Table | None:
    """CSV as text columns, read exactly as the per-account reader reads it (the same
    ``csv`` module, cells stripped, empty cells missing, blank rows skipped, a row of the
    wrong width an error), but transposed into columns instead of one dict per row. None
    when the file needs the per-account reader (duplicate headers, nested facts as JSON)."""
    import polars as pl

    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    with open_text(path) as handle:
        try:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None:
                return from_records([], nested)
            names = [h.strip() for h in header]
            if not names or len(set(names)) != len(names) or any(n in nested or not n for n in names):
                return None  # duplicate, nested or unnamed columns: the per-account reader says what is wrong
            width = len(names)
            rows: list[list[str]] = []
            unreadable: dict[int, str] = {}
            lines: list[int] = []
            empty = [""] * width
            for row in reader:
                if len(row) != width:
                    if not any(cell.strip() for cell in row):
                        continue
                    unreadable[len(rows)] = f"line {reader.line_num} has {len(row)} cells but the header has {width}"
                    rows.append(empty)
                else:
                    rows.append(row)
                lines.append(reader.line_num)
        except UnicodeDecodeError as exc:
            raise SourceError(f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except csv.Error:
            return None  # a cell above the field limit: the per-account reader makes it an error record
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    frame = pl.DataFrame(
        [pl.Series(name, column, dtype=pl.String) for name, column in zip(names, columns, strict=True)],
        height=len(rows),
    )
    frame = frame.with_columns(pl.col(n).str.strip_chars().replace("", None) for n in frame.columns)
    # The per-account reader skips rows whose cells are all blank (before it checks widths).
    blank = pl.all_horizontal(pl.col(n).is_null() for n in names) if names else pl.lit(True)
    flags = frame.select(blank.alias("blank")).to_series().to_list()
    kept = [i for i, is_blank in enumerate(flags) if not is_blank or i in unreadable]
    if len(kept) != len(flags):
        renumber = {old: new for new, old in enumerate(kept)}
        unreadable = {renumber[k]: v for k, v in unreadable.items()}
        frame = frame.select(pl.all().gather(kept))
        lines = [lines[i] for i in kept]
    return text_table(frame, unreadable, lines)


def text_table(frame: pl.DataFrame, unreadable: dict[int, str], lines: Sequence[int]) -> Table:
    """A table over CSV text columns (stripped, empty cells null): row k came from input line
    ``lines[k]``; ``unreadable`` rows are error records with their reason."""
    base = from_frame(frame)

    def raw(rows_asked: Sequence[int]) -> list[RawRecord]:
        records = base.raw(rows_asked)
        return [
            RawRecord(lines[row], None, unreadable[row]) if row in unreadable else RawRecord(lines[row], r.data)
            for row, r in zip(rows_asked, records, strict=True)
        ]

    return Table(frame, raw, unreadable)


def as_text_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """A result frame for CSV and JSON Lines: ``failed_checks``, a list in frames and
    Parquet, becomes ``;``-joined text, as the per-account CSV writes it (an empty list is an
    empty cell: polars would quote an empty string)."""
    if "failed_checks" not in frame.columns:
        return frame
    import polars as pl

    from kamrules.portfolio.batch import FAILED_SEPARATOR

    failed = pl.col("failed_checks")
    return frame.with_columns(
        pl.when(failed.list.len() > 0).then(failed.list.join(FAILED_SEPARATOR)).alias("failed_checks")
    )


def write_frame(frame: pl.DataFrame, path: Path | None, fmt: str, handle: io.TextIOBase | None = None) -> None:
    """Write a result frame as Parquet, CSV or JSON Lines (to ``path``, or text to ``handle``)."""
    if fmt == "parquet":
        assert path is not None
        frame.write_parquet(path)
        return
    target: Any = path if path is not None else handle
    if fmt in ("csv", "jsonl"):
        frame = as_text_columns(frame)
    if fmt == "csv":
        frame.write_csv(target)
    elif fmt == "jsonl":
        frame.write_ndjson(target)
    else:
        raise ValueError(f"cannot write a frame as {fmt}")
