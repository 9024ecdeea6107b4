"""Reading account records from CRM exports: JSON Lines, JSON, CSV and Parquet.

Readers stream (a million-row export is not held in memory twice) and never stop at a bad
row: each yields a :class:`RawRecord` holding either the raw mapping or the reason the row
could not be read, with its line number, so that the batch can record an error for it and
go on. Records read always equal decisions plus errors.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from kamrules.errors import KamrulesError

FORMATS = ("jsonl", "json", "csv", "parquet")


class SourceError(KamrulesError):
    """The input as a whole cannot be read (missing file, unknown format, not UTF-8)."""


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One record as read: ``data`` when it parsed, ``problem`` when it did not."""

    line: int
    data: dict[str, Any] | None
    problem: str | None = None


def detect_format(path: Path, declared: str | None = None) -> str:
    if declared:
        if declared not in FORMATS:
            raise SourceError(f"unknown input format '{declared}'; use one of {', '.join(FORMATS)}")
        return declared
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson"):
        return "jsonl"
    if suffix == "pq":
        return "parquet"
    if suffix in FORMATS:
        return suffix
    raise SourceError(
        f"cannot tell the format of '{path}' from its name; name it .jsonl, .json, .csv or .parquet, "
        "or give --input-format"
    )


def account_id_of(data: Mapping[str, Any], renames: Mapping[str, str]) -> str | None:
    """The account id of a raw record, under the CRM column mapped onto ``id`` or the fact's
    own name, before the record is validated (to pick one account, or merge its overrides)."""
    for key in [*(column for column, fact in renames.items() if fact == "id"), "id"]:
        value = data.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def open_text(path: Path) -> TextIO:
    """An accounts file opened as CRM exports need it: a byte-order mark dropped, line ends
    left to the csv module; a file that cannot be read is a :class:`SourceError`."""
    try:
        return path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise SourceError(f"cannot read '{path}': {exc.strerror}") from None


def read_records(path: Path, fmt: str | None = None) -> Iterator[RawRecord]:
    """Stream the records of a file in the given (or detected) format."""
    kind = detect_format(path, fmt)
    if not path.is_file():
        raise SourceError(f"no accounts file at '{path}'")
    if kind == "parquet":
        yield from parquet_records(path)
        return
    with open_text(path) as handle:
        try:
            if kind == "jsonl":
                yield from _jsonl(handle)
            elif kind == "json":
                yield from _json(handle.read())
            else:
                yield from csv_records(handle)
        except UnicodeDecodeError as exc:
            raise SourceError(f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def _jsonl(handle: TextIO) -> Iterator[RawRecord]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RawRecord(number, None, f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(value, dict):
            yield RawRecord(number, None, f"line {number} is not a JSON object of facts")
            continue
        yield RawRecord(number, value)


def _json(text: str) -> Iterator[RawRecord]:
    if not text.strip():
        return
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"the file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if isinstance(value, dict) and isinstance(value.get("accounts"), list):
        value = value["accounts"]
    if not isinstance(value, list):
        raise SourceError('a JSON accounts file must hold a list of account objects (or {"accounts": [...]})')
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            yield RawRecord(number, item)
        else:
            yield RawRecord(number, None, f"item {number} is not a JSON object of facts")


def csv_records(handle: TextIO) -> Iterator[RawRecord]:
    """CSV rows as records: empty cells are missing facts; the header names facts or CRM columns.

    Nested facts can be given as JSON text in ``plan`` and ``contacts`` columns, since a
    flat export has nowhere else to put them.
    """
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        return
    header = [h.strip() for h in header]
    width = len(header)
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != width:
            yield RawRecord(line, None, f"line {line} has {len(row)} cells but the header has {width}")
            continue
        data: dict[str, Any] = {}
        problem = None
        for key, cell in zip(header, row, strict=True):
            cell = cell.strip()
            if not cell:
                continue
            if key in ("plan", "contacts"):
                try:
                    data[key] = json.loads(cell)
                except json.JSONDecodeError as exc:
                    problem = f"line {line}: the {key} cell is not valid JSON ({exc.msg})"
                    break
            else:
                data[key] = cell
        yield RawRecord(line, None if problem else data, problem)


PARQUET_BATCH = 10_000
"""Rows converted to Python at a time when a Parquet file is read record by record: the file
is read a batch at a time (row groups), never whole."""


def parquet_records(path: Path) -> Iterator[RawRecord]:
    """The rows of a Parquet file as records, read a batch of rows at a time so that a large
    file is never held whole; a null cell is a missing fact, as an empty CSV cell is. Needs
    the ``dataframes`` extra (polars, pyarrow), imported only here."""
    try:
        import polars as pl
        import pyarrow as pa  # type: ignore[import-untyped]
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError:
        raise SourceError("reading Parquet needs polars: pip install 'kamrules[dataframes]'") from None
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=PARQUET_BATCH)
        number = 0
        for batch in batches:
            for row in pl.from_arrow(batch).iter_rows(named=True):  # type: ignore[union-attr]
                number += 1
                yield RawRecord(number, {key: value for key, value in row.items() if value is not None})
    except (OSError, pa.ArrowException, pl.exceptions.PolarsError) as exc:
        raise SourceError(f"cannot read '{path}' as Parquet: {exc}") from None
