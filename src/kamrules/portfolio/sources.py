"""Reading account records from CRM exports: JSON Lines, JSON, CSV and Parquet.

Readers stream (a million-row export is not held in memory twice) and never stop at a bad
row: each yields a :class:`RawRecord` holding either the raw mapping or the reason the row
could not be read, with its line number, so that the batch can record an error for it and
go on. Records read always equal decisions plus errors.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from kamrules.errors import KamrulesError

FORMATS = ("jsonl", "json", "csv", "parquet")

CSV_FIELD_LIMIT = 64 * 1024 * 1024
"""The largest CSV cell read, 64 MiB. The csv module's own limit (128 KiB) is smaller than
a relationship map of a thousand contacts given as JSON in one cell; a larger cell is an
error record for its row."""

NUMBER_DIGITS = 400
"""A JSON number with more digits than this is read as a float (infinity, so the fact check
refuses it as "not a finite number"), not handed to ``int()``, which refuses numbers over
4,300 digits with a ValueError that would end the whole batch."""


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
    if kind == "jsonl":
        yield from _jsonl_file(path)
        return
    with open_text(path) as handle:
        try:
            if kind == "json":
                yield from _json(handle.read())
            else:
                yield from csv_records(handle)
        except UnicodeDecodeError as exc:
            raise SourceError(f"'{path}' is not UTF-8 text ({exc.reason} at byte {exc.start})") from None


class DuplicateKey(ValueError):
    """A JSON object gives one key twice; JSON parsers keep the last without a word."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(
                f"the key '{key}' appears twice in one object (the values {_short(result[key])} and {_short(value)})"
            )
        result[key] = value
    return result


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _parse_int(text: str) -> int | float:
    return int(text) if len(text) <= NUMBER_DIGITS else float(text)


def parse_json(text: str) -> Any:
    """``json.loads`` made safe for hostile input: duplicate keys refused, numbers of
    thousands of digits read as infinity. Raises ``ValueError`` (with the JSON error, a
    :class:`DuplicateKey`) or ``RecursionError`` (nested too deeply)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_parse_int)


def json_problem(exc: Exception) -> str:
    """A JSON text's problem in plain words."""
    if isinstance(exc, json.JSONDecodeError):
        return f"is not valid JSON: {exc.msg} at column {exc.colno}"
    if isinstance(exc, RecursionError):
        return "is nested too deeply (lists or objects inside each other hundreds of levels deep)"
    return f"is not valid JSON: {exc}"


def _jsonl_file(path: Path) -> Iterator[RawRecord]:
    """JSON Lines read line by line as bytes, so that a line that is not UTF-8 is an error
    record of its own rather than the end of the whole file."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise SourceError(f"cannot read '{path}': {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawRecord(
                    number,
                    None,
                    f"line {number} is not UTF-8 text: the byte 0x{raw[exc.start]:02X} at byte {exc.start + 1} "
                    f"of the line ({exc.reason})",
                )
                continue
            yield from _jsonl_line(number, line)


def _jsonl(handle: TextIO) -> Iterator[RawRecord]:
    for number, line in enumerate(handle, start=1):
        yield from _jsonl_line(number, line)


def _jsonl_line(number: int, line: str) -> Iterator[RawRecord]:
    if not line.strip():
        return
    try:
        value = parse_json(line)
    except (ValueError, RecursionError) as exc:
        yield RawRecord(number, None, f"line {number} {json_problem(exc)}")
        return
    if not isinstance(value, dict):
        yield RawRecord(number, None, f"line {number} is not a JSON object of facts")
        return
    yield RawRecord(number, value)


def _json(text: str) -> Iterator[RawRecord]:
    if not text.strip():
        return
    try:
        value = parse_json(text)
    except json.JSONDecodeError as exc:
        raise SourceError(f"the file is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except (ValueError, RecursionError) as exc:
        # The file is valid JSON, but one part of it is not acceptable (nested too deeply, a
        # key given twice): if that part is inside one account, only that account is lost.
        items = _item_spans(text)
        if items is None:
            raise SourceError(f"the file {json_problem(exc)}") from None
        yield from _json_items(text, items)
        return
    if isinstance(value, dict) and isinstance(value.get("accounts"), list):
        value = value["accounts"]
    if not isinstance(value, list):
        raise SourceError('a JSON accounts file must hold a list of account objects (or {"accounts": [...]})')
    for number, item in enumerate(value, start=1):
        if isinstance(item, dict):
            yield RawRecord(number, item)
        else:
            yield RawRecord(number, None, f"item {number} is not a JSON object of facts")


def _json_items(text: str, spans: list[tuple[int, int]]) -> Iterator[RawRecord]:
    for number, (start, end) in enumerate(spans, start=1):
        try:
            item = parse_json(text[start:end])
        except (ValueError, RecursionError) as exc:
            yield RawRecord(number, None, f"item {number} {json_problem(exc)}")
            continue
        if isinstance(item, dict):
            yield RawRecord(number, item)
        else:
            yield RawRecord(number, None, f"item {number} is not a JSON object of facts")


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]')


def _item_spans(text: str) -> list[tuple[int, int]] | None:
    """Where each account of the file's list starts and ends (the top-level list, or the one
    under ``"accounts"``), found by a scan that keeps its own stack instead of recursing, so
    it works on a file the parser refused as too deep. ``None`` when the file has no such
    list (the file as a whole is then refused)."""
    stack: list[str] = []
    spans: list[tuple[int, int]] = []
    level = 0  # the stack depth inside the accounts' list, once found
    start = 0
    key: str | None = None
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if level and len(stack) == level and token in ",]":
            if text[start : match.start()].strip():
                spans.append((start, match.start()))
            start = match.end()
            if token == "]":
                return spans
        elif token in "[{":
            accounts = token == "[" and not level and (not stack or (stack == ["{"] and key == "accounts"))
            stack.append(token)
            if accounts:
                level, start = len(stack), match.end()
        elif token in "]}":
            if not stack:
                return None
            stack.pop()
        elif token.startswith('"') and stack == ["{"]:
            key = token[1:-1]
    return None


def csv_records(handle: TextIO) -> Iterator[RawRecord]:
    """CSV rows as records: empty cells are missing facts; the header names facts or CRM columns.

    Nested facts can be given as JSON text in ``plan`` and ``contacts`` columns, since a
    flat export has nowhere else to put them.
    """
    if csv.field_size_limit() < CSV_FIELD_LIMIT:
        csv.field_size_limit(CSV_FIELD_LIMIT)
    reader = csv.reader(handle)
    try:
        header = next(reader)
    except StopIteration:
        return
    except csv.Error as exc:
        raise SourceError(f"the CSV header cannot be read: {exc}") from None
    header = [h.strip() for h in header]
    width = len(header)
    repeated = _repeated(header)
    if repeated:
        raise SourceError(f"the CSV header names a column twice: {repeated}; each fact is one column")
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            line = reader.line_num
            yield RawRecord(line, None, f"line {line} cannot be read as CSV: {exc}")
            continue
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
                    data[key] = parse_json(cell)
                except (ValueError, RecursionError) as exc:
                    problem = f"line {line}: the {key} cell {json_problem(exc)}"
                    break
            else:
                data[key] = cell
        yield RawRecord(line, None if problem else data, problem)


def _repeated(header: list[str]) -> str | None:
    """The first column named twice, with both positions, or None."""
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        if name in seen:
            return f"'{name}' (columns {seen[name]} and {position})"
        seen[name] = position
    return None


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
