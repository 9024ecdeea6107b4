"""docs/rules.md tells the truth: its examples load, its refusals are refused, its tables are current.

The page is read as Markdown, fenced block by fenced block:

- ```` ```yaml ````: a whole rulebook (it has a ``rulebook:`` key) loads as it is; any other
  block is a part of one and loads when its keys replace those of the first whole rulebook
  of the page (`A rulebook in one page`);
- ```` ```yaml invalid ````: a whole rulebook that must fail to load, as ``rules.yaml``, with
  exactly the message of the ```` ```text ```` block that follows it;
- ```` ```expr ````: every line is an expression that compiles against the built-in facts;
- ```` ```expr invalid ````: every line is ``expression  # message``: the expression is
  refused, and the message starts the reason kamrules gives;
- the truth table after ``<!-- truth-table`` is what the compiled expressions compute;
- the generated sections (functions, built-in facts) are what the code generates now.

The ```` ```yaml ```` examples of docs/integrator-guide.md load the same way, and its
```` ```python ```` examples run, from the repository root.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

import kamrules
from kamrules.crm import Profile
from kamrules.errors import ExpressionError, RulebookError
from kamrules.explanation.rulebook_docs import update_reference
from kamrules.expressions import FUNCTIONS, compile_expression
from kamrules.facts.records import RecordValidator
from kamrules.facts.schema import DEFAULT_SCHEMA
from kamrules.rulebook.yaml_source import read_yaml

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "rules.md"
TEXT = DOC.read_text(encoding="utf-8")
INTEGRATOR = ROOT / "docs" / "integrator-guide.md"
AS_OF = dt.date(2026, 11, 1)


@dataclass(frozen=True)
class Block:
    info: str
    body: str
    line: int
    page: str = "rules.md"

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _blocks(text: str) -> list[Block]:
    blocks: list[Block] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(`{3,})(.*)$", lines[i])
        if opening is None:
            i += 1
            continue
        fence, info, start = opening.group(1), opening.group(2).strip(), i + 1
        end = start
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        blocks.append(Block(info, "\n".join(lines[start:end]) + "\n", start))
        i = end + 1
    return blocks


BLOCKS = _blocks(TEXT)
YAML = [b for b in BLOCKS if b.info == "yaml"] + [
    Block(b.info, b.body, b.line, "integrator-guide.md")
    for b in _blocks(INTEGRATOR.read_text(encoding="utf-8"))
    if b.info == "yaml"
]
INVALID_YAML = [b for b in BLOCKS if b.info == "yaml invalid"]
EXPRESSIONS = [b for b in BLOCKS if b.info == "expr"]
REFUSED = [b for b in BLOCKS if b.info == "expr invalid"]


def _base() -> dict[str, Any]:
    for block in YAML:
        data = yaml.safe_load(block.body)
        if isinstance(data, dict) and "rulebook" in data:
            return data
    raise AssertionError("docs/rules.md has no whole rulebook to complete the other examples")


def test_the_page_has_examples_of_every_kind() -> None:
    assert len(YAML) >= 15
    assert len(INVALID_YAML) >= 2
    assert len(EXPRESSIONS) >= 5
    assert len(REFUSED) == 1
    assert {b.info for b in BLOCKS} <= {"yaml", "yaml invalid", "expr", "expr invalid", "text", ""}


@pytest.mark.parametrize("block", YAML, ids=lambda b: b.id)
def test_yaml_example_loads(block: Block) -> None:
    document, _ = read_yaml(block.body, block.id)  # kamrules' own, strict YAML reader
    assert isinstance(document, dict), "a YAML example is a mapping of rulebook keys"
    if "profile" in document:  # a CRM profile: it must load and fit the default rulebook's facts
        Profile.from_text(block.body, block.id).bind(kamrules.load_rulebook(ROOT / "rules").schema)
        return
    if "rulebook" in document:
        kamrules.load_rulebook_text(block.body, block.id)
        return
    merged = _base()
    if "criteria" in document:
        merged.pop("scorecards", None)
    if "scorecards" in document:
        merged.pop("criteria", None)
    merged.update(yaml.safe_load(block.body))
    rulebook = kamrules.load_rulebook_text(yaml.safe_dump(merged, sort_keys=False), block.id)
    kamrules.Engine(rulebook)


@pytest.mark.parametrize("block", INVALID_YAML, ids=lambda b: b.id)
def test_invalid_yaml_example_fails_with_the_message_shown(block: Block) -> None:
    following = BLOCKS[BLOCKS.index(block) + 1 :]
    shown = next(b for b in following if b.info == "text")
    with pytest.raises(RulebookError) as caught:
        kamrules.load_rulebook_text(block.body, "rules.yaml")
    assert str(caught.value) + "\n" == shown.body


def _lines(block: Block) -> list[tuple[int, str]]:
    return [(block.line + k + 1, line) for k, line in enumerate(block.body.splitlines()) if line.strip()]


@pytest.mark.parametrize(
    ("line", "source"),
    [item for block in EXPRESSIONS for item in _lines(block)],
    ids=lambda value: f"rules.md:{value}" if isinstance(value, int) else "",
)
def test_expression_example_compiles(line: int, source: str) -> None:
    compile_expression(source, DEFAULT_SCHEMA)


@pytest.mark.parametrize(
    ("line", "text"),
    [item for block in REFUSED for item in _lines(block)],
    ids=lambda value: f"rules.md:{value}" if isinstance(value, int) else "",
)
def test_refused_expression_is_refused_for_the_reason_given(line: int, text: str) -> None:
    source, reason = text.rsplit("  # ", 1)
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, DEFAULT_SCHEMA)
    assert caught.value.message.startswith(reason) or reason in str(caught.value), str(caught.value)


def _truth_table() -> list[dict[str, str]]:
    start = TEXT.index("<!-- truth-table")
    rows: list[str] = []
    for line in TEXT[start:].splitlines()[1:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    header, body = cells[0], cells[2:]
    return [dict(zip(header, row, strict=True)) for row in body]


def test_truth_table_is_what_expressions_compute() -> None:
    table = _truth_table()
    assert len(table) == 9
    validator = RecordValidator(DEFAULT_SCHEMA)
    a_value = {"true": True, "false": False, "unknown": None}
    b_value = {"true": 4, "false": 1, "unknown": None}  # b is strategic_fit >= 3
    shown = {True: "true", False: "false", None: "unknown"}
    compiled = {
        column: compile_expression(source, DEFAULT_SCHEMA)
        for column, source in (
            ("a and b", "account.wants_key_account and account.strategic_fit >= 3"),
            ("a or b", "account.wants_key_account or account.strategic_fit >= 3"),
            ("not a", "not account.wants_key_account"),
        )
    }
    for row in table:
        record = validator.validate(
            {"id": "T", "wants_key_account": a_value[row["a"]], "strategic_fit": b_value[row["b"]]}
        )
        for column, expression in compiled.items():
            assert shown[expression.evaluate(record, None, AS_OF)[0]] == row[column], (row, column)


def test_generated_sections_are_current() -> None:
    assert update_reference(TEXT) == TEXT, (
        "docs/rules.md is out of date with the code: run "
        "`python -m kamrules.explanation.rulebook_docs docs/rules.md` and commit the result"
    )


def test_every_function_is_documented() -> None:
    for name in FUNCTIONS:
        assert f"| `{name}` |" in TEXT, name


def test_every_built_in_fact_is_documented() -> None:
    for name in DEFAULT_SCHEMA.account.fields:
        assert f"`account.{name}`" in TEXT or f"| `{name}` |" in TEXT, name
    for name in DEFAULT_SCHEMA.plan.fields:
        assert f"`plan.{name}`" in TEXT, name
    for name in DEFAULT_SCHEMA.contact.fields:
        assert f"| `{name}` |" in TEXT, name


PYTHON = [b for b in _blocks(INTEGRATOR.read_text(encoding="utf-8")) if b.info == "python"]


def test_integrator_guide_has_python_examples() -> None:
    assert len(PYTHON) >= 3


@pytest.mark.parametrize("block", PYTHON, ids=lambda b: f"integrator-guide.md:{b.line}")
def test_integrator_guide_python_example_runs(block: Block, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(block.body, f"integrator-guide.md:{block.line}", "exec"), {"__name__": "example"})
