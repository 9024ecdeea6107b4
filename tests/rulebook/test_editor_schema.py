"""The editor schema (`kamrules schema`) against the shipped layout, checked by an independent
validator (the `jsonschema` package): every rule file of the repository validates, each file
of a split rulebook on its own, and broken ones fail as `validate` fails them."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from kamrules import RulebookError, load_rulebook_text
from kamrules.rulebook.model import rulebook_json_schema
from tests.conftest import ROOT, SMALL_RULEBOOK

jsonschema = pytest.importorskip("jsonschema")

RULE_FILES = sorted(
    [*(ROOT / "rules").glob("*.yaml"), *(ROOT / "examples" / "policy-tests" / "rules").glob("*.yaml")]
)
YAML_11_ONLY = ("yes", "no", "on", "off", "y", "n")


def as_editor_reads(text: str) -> Any:
    """The document as JSON values: dates as the text they are written as."""

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, dt.date):
            return value.isoformat()
        return value

    return plain(yaml.safe_load(text))


def errors(document: Any, whole: bool = False) -> list[str]:
    validator = jsonschema.Draft202012Validator(rulebook_json_schema(whole))
    return [e.message for e in validator.iter_errors(document)]


def test_the_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(rulebook_json_schema())
    jsonschema.Draft202012Validator.check_schema(rulebook_json_schema(whole=True))


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_rule_file_of_the_repository_validates_on_its_own(path: Path) -> None:
    assert errors(as_editor_reads(path.read_text(encoding="utf-8"))) == []


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_rule_files_use_only_numbers_yaml_12_reads_as_numbers(path: Path) -> None:
    """`10_000_000` is a number to PyYAML (YAML 1.1) but text to a YAML 1.2 editor, as are
    `yes`/`no`: the shipped files use neither, so an editor agrees with kamrules."""
    for event in yaml.parse(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader):
        if isinstance(event, yaml.ScalarEvent) and event.style is None:
            value = event.value
            assert not (value[:1].isdigit() and "_" in value), f"{path}:{event.start_mark.line + 1}: {value}"
            assert value.lower() not in YAML_11_ONLY, f"{path}:{event.start_mark.line + 1}: {value}"


def test_a_whole_rulebook_needs_its_keys_and_a_part_does_not() -> None:
    document = as_editor_reads(SMALL_RULEBOOK)
    assert errors(document, whole=True) == []
    part = {"gates": document["gates"]}
    assert errors(part) == []
    assert any("'rulebook' is a required property" in e for e in errors(part, whole=True))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("at_least: 10000000", "at_least: -.inf"),
        ("at_least: 10000000", "at_least: ten million"),
        ("at_least: 10000000", "at_least: 1.0e+16"),
        ("weight: 60", "weight: -5"),
        ("weight: 60", "weight: 2000000"),
        ("points: 100", "points: 101"),
        ("min_score: 80", "min_score: 80\n    capacity: 100.5%"),
        ("min_score: 80", "min_score: 80\n    capacity: -1"),
        ("min_score: 80", "min_score: 100.01"),
        ("weight: 60", "wieght: 60"),
        ("effect: exclude", "effect: exclusion"),
        ("scale: {from: 1, to: 5}", "scale: {from: 1, to: .inf}"),
    ],
)
def test_broken_rule_files_fail_the_schema_as_they_fail_validate(old: str, new: str) -> None:
    """Two checks are `validate`'s alone: NaN (not a JSON value at all, so no JSON Schema
    keyword can refuse it) and "at most 2 decimals" (`multipleOf: 0.01` fails good values
    such as 0.29 in floating point)."""
    text = SMALL_RULEBOOK.replace(old, new, 1)
    assert text != SMALL_RULEBOOK
    with pytest.raises(RulebookError):
        load_rulebook_text(text)
    assert errors(as_editor_reads(text)) != []
