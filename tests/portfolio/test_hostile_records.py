"""Hostile batch input (issue 12): a batch never dies, every bad record is one error record
naming what is wrong, and decisions plus errors equal records read, on both engines."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kamrules import Engine, load_rulebook
from kamrules.explanation.decision import AccountError
from kamrules.explanation.render import error_text
from kamrules.facts.records import InvalidRecord, RecordValidator
from kamrules.portfolio.batch import Summary, run
from kamrules.portfolio.sources import SourceError, read_records
from tests.conftest import AS_OF, ROOT

GOOD = {"id": "G1", "annual_revenue": 2_500_000, "strategic_fit": 4}


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook(ROOT / "rules"))


def per_account(engine: Engine, path: Path) -> list[Any]:
    summary = Summary()
    items = list(run(engine, read_records(path), AS_OF, summary))
    assert summary.read == len(items) == summary.decided + summary.errors
    return items


def columnar_errors(engine: Engine, path: Path) -> list[str | None]:
    pytest.importorskip("polars")
    from kamrules.portfolio import evaluate_portfolio

    result = evaluate_portfolio(engine, path, AS_OF, engine="columnar")
    return list(result.frame["error"])


def errors_of(items: list[Any]) -> list[str]:
    return ["; ".join(f"{e.field}: {e.message}" for e in i.errors) for i in items if isinstance(i, AccountError)]


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def good(n: int) -> bytes:
    return json.dumps({**GOOD, "id": f"G{n}"}).encode()


def test_a_json_number_of_thousands_of_digits_is_one_error_record(engine: Engine, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [good(1), b'{"id": "B", "annual_revenue": ' + b"9" * 5000 + b"}", good(2)])
    items = per_account(engine, path)
    assert errors_of(items) == ["annual_revenue: must be a finite number"]
    assert columnar_errors(engine, path) == [None, "annual_revenue: must be a finite number", None]


@pytest.mark.parametrize("suffix", ["jsonl", "csv"])
def test_json_nested_a_thousand_levels_deep_is_one_error_record(engine: Engine, tmp_path: Path, suffix: str) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    if suffix == "jsonl":
        lines = [good(1), json.dumps({"id": "B"})[:-1].encode() + b', "contacts": ' + deep.encode() + b"}", good(2)]
        path = write_lines(tmp_path / "a.jsonl", lines)
        expected = "(record): line 2 is nested too deeply (lists or objects inside each other hundreds of levels deep)"
    else:
        path = tmp_path / "a.csv"
        path.write_text(f"id,contacts\nG1,\nB,{deep}\nG2,\n", encoding="utf-8")
        expected = (
            "(record): line 3: the contacts cell is nested too deeply "
            "(lists or objects inside each other hundreds of levels deep)"
        )
    items = per_account(engine, path)
    assert errors_of(items) == [expected]
    assert len(items) == 3


def test_a_json_file_nested_too_deeply_outside_its_accounts_is_refused_in_words(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"meta": ' + "[" * 100_000 + "]" * 100_000 + "}", encoding="utf-8")
    with pytest.raises(SourceError, match="nested too deeply"):
        list(read_records(path))


@pytest.mark.parametrize("wrapped", [False, True])
def test_one_bad_account_in_a_json_file_is_one_error_record(engine: Engine, tmp_path: Path, wrapped: bool) -> None:
    """Nested too deeply, or a key given twice, inside one account of a whole-file JSON list:
    the parser refuses the whole text, but only that account is lost (as in JSON Lines)."""
    deep = "[" * 100_000 + "]" * 100_000
    accounts = ", ".join(
        [
            good(1).decode(),
            '{"id": "B", "contacts": ' + deep + "}",
            '{"id": "C", "name": "a,]}[\\"q", "id": "D"}',
            good(2).decode(),
        ]
    )
    path = tmp_path / "a.json"
    path.write_text('{"accounts": [' + accounts + "]}" if wrapped else "[" + accounts + "]", encoding="utf-8")
    items = per_account(engine, path)
    assert len(items) == 4
    assert errors_of(items) == [
        "(record): item 2 is nested too deeply (lists or objects inside each other hundreds of levels deep)",
        '(record): item 3 is not valid JSON: the key \'id\' appears twice in one object (the values "C" and "D")',
    ]
    assert [i.account_id for i in items if not isinstance(i, AccountError)] == ["G1", "G2"]
    assert columnar_errors(engine, path) == [None, errors_of(items)[0], errors_of(items)[1], None]


def test_a_csv_cell_above_the_csv_modules_limit_is_read(engine: Engine, tmp_path: Path) -> None:
    """A relationship map of a thousand contacts as JSON in one cell is larger than 128 KiB."""
    contacts = [{"id": f"C{i}", "name": f"Person {i}" + "x" * 200, "role": "user"} for i in range(1000)]
    cell = json.dumps(contacts).replace('"', '""')
    path = tmp_path / "a.csv"
    path.write_text(f'id,contacts\nG1,"{cell}"\nG2,\n', encoding="utf-8")
    assert len(cell) > 131_072
    items = per_account(engine, path)
    assert errors_of(items) == []
    assert len(items[0].record.contacts) == 1000


def test_a_csv_cell_above_the_raised_limit_is_one_error_record(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import csv

    from kamrules.portfolio import sources

    monkeypatch.setattr(sources, "CSV_FIELD_LIMIT", 1000)
    previous = csv.field_size_limit(1000)
    try:
        path = tmp_path / "a.csv"
        path.write_text("id,name\nG1,ok\nB," + "x" * 2000 + "\nG2,ok\n", encoding="utf-8")
        items = per_account(engine, path)
        assert errors_of(items) == ["(record): line 3 cannot be read as CSV: field larger than field limit (1000)"]
        assert len(items) == 3
    finally:
        csv.field_size_limit(previous)


def test_one_bad_utf8_byte_in_jsonl_is_one_error_record(engine: Engine, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [b"\xef\xbb\xbf" + good(1), b'{"id": "B", "name": "Caf\xe9"}', good(2)])
    items = per_account(engine, path)
    assert errors_of(items) == [
        "(record): line 2 is not UTF-8 text: the byte 0xE9 at byte 25 of the line (invalid continuation byte)"
    ]
    assert [getattr(i, "account_id", None) for i in items] == ["G1", None, "G2"]
    assert columnar_errors(engine, path)[1] == errors_of(items)[0]


def test_duplicate_json_keys_are_an_error_naming_both_values(engine: Engine, tmp_path: Path) -> None:
    path = write_lines(tmp_path / "a.jsonl", [b'{"id": "B", "annual_revenue": 1, "annual_revenue": 100000000}'])
    assert errors_of(per_account(engine, path)) == [
        "(record): line 1 is not valid JSON: the key 'annual_revenue' appears twice in one object "
        "(the values 1 and 100000000)"
    ]


def test_duplicate_csv_headers_are_refused_naming_both_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text("id,annual_revenue,Annual_Revenue ,annual_revenue\nA,1,2,3\n", encoding="utf-8")
    with pytest.raises(SourceError) as info:
        list(read_records(path))
    assert str(info.value) == (
        "the CSV header names a column twice: 'annual_revenue' (columns 2 and 4); each fact is one column"
    )


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_a_blank_id_is_an_error_not_an_account(engine: Engine, tmp_path: Path, blank: str) -> None:
    path = write_lines(tmp_path / "a.jsonl", [good(1), json.dumps({**GOOD, "id": blank}).encode()])
    assert errors_of(per_account(engine, path)) == ["id: is blank; every account needs its CRM id"]
    assert columnar_errors(engine, path) == [None, "id: is blank; every account needs its CRM id"]


def test_a_fact_given_under_its_name_and_its_crm_column_is_an_error_naming_both(engine: Engine, tmp_path: Path) -> None:
    """The default rulebook reads `nps` from the CRM column NPS__c."""
    lines = [
        json.dumps({"id": "A", "nps": 1, "NPS__c": 5}).encode(),
        json.dumps({"id": "B", "NPS__c": 5}).encode(),
        json.dumps({"id": "C", "nps": None, "NPS__c": 5}).encode(),
    ]
    path = write_lines(tmp_path / "a.jsonl", lines)
    expected = "nps: is given twice, as 'nps' (1) and as 'NPS__c' (5); give it under one of the two"
    assert errors_of(per_account(engine, path)) == [expected]
    assert columnar_errors(engine, path) == [expected, None, None]


def test_an_error_flood_is_summarised_and_the_full_list_kept(engine: Engine) -> None:
    contacts = [{"id": f"C{i}", "name": f"P{i}", "role": "nonsense"} for i in range(666)]
    validator = RecordValidator(engine.rulebook.schema)
    with pytest.raises(InvalidRecord) as info:
        validator.validate({**GOOD, "contacts": contacts})
    assert len(info.value.problems) == 666
    message = str(info.value)
    assert message.endswith("; and 663 more contacts with a problem in role")
    assert message.count("is not a contact role value") == 3
    from kamrules.evaluation.engine import account_error

    error = account_error(1, info.value)
    assert len(error.errors) == 666  # the full list, for a program
    text = error_text(error)
    assert len(text.splitlines()) == 5
    assert len(text) < 1000
