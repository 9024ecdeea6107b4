"""From rule files on disk to a validated, compiled :class:`Rulebook`.

A rulebook is one YAML file or a folder of them. Loading runs in three passes, each
collecting every problem it can before stopping: read the YAML safely with positions
(``yaml_source``), validate the shape with the pydantic models (``model``), then check
cross-references and compile every expression against the fact schema (``semantics``).
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from kamrules.errors import Problem, RulebookError, SourceLocation
from kamrules.rulebook.model import RulebookSpec
from kamrules.rulebook.yaml_source import Path, SourceMap, YamlProblems, read_yaml
from kamrules.suggestions import closest, did_you_mean

RULE_FILE_SUFFIXES = (".yaml", ".yml")
CONCATENATED_KEYS = ("scorecards", "criteria", "gates", "segments", "plan_checks")
"""Top-level lists that may be spread over several files of a folder, joined in file-name
order. Every other top-level key must live in exactly one file, so that no file silently
overrides another."""


def rule_files(path: FsPath) -> list[FsPath]:
    """The rule files a path names: the file itself, or a folder's YAML files by name."""
    if not path.exists():
        raise RulebookError([Problem(f"no rule file or folder at '{path}'")])
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.suffix in RULE_FILE_SUFFIXES and p.is_file())
    if not files:
        raise RulebookError([Problem(f"the folder '{path}' holds no .yaml or .yml rule files")])
    return files


def read_sources(files: Iterable[FsPath]) -> tuple[dict[str, Any], SourceMap]:
    """Read and merge rule files into one document with one source map."""
    merged: dict[str, Any] = {}
    source_map = SourceMap()
    problems: list[Problem] = []
    empty: list[str] = []
    files = list(files)
    for file in files:
        name = str(file)
        try:
            raw = file.read_bytes()
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(not_utf8(raw, exc, name))
            continue
        except OSError as exc:
            problems.append(Problem(f"cannot read the file: {exc.strerror}", SourceLocation(name, 1, 1)))
            continue
        if not text.strip() or document_is_empty(text):
            empty.append(name)
            continue
        try:
            document, positions = read_yaml(text, name)
        except YamlProblems as exc:
            problems.extend(exc.problems)
            continue
        if document is None:
            continue
        if not isinstance(document, dict):
            problems.append(
                Problem("a rule file must be a mapping of keys (rulebook:, tiers:, ...)", SourceLocation(name, 1, 1))
            )
            continue
        for key, value in document.items():
            if key in CONCATENATED_KEYS and key in merged and isinstance(value, list):
                if not isinstance(merged[key], list):
                    continue  # the shape error is reported by validation
                shift = len(merged[key])
                merged[key].extend(value)
                _copy_positions(positions, source_map, (key,), shift)
            elif key in merged:
                first = source_map.key_location((key,))
                problems.append(
                    Problem(
                        f"'{key}' is defined in two rule files (first in {first}); each setting lives in one file",
                        positions.key_location((key,)),
                    )
                )
            else:
                merged[key] = value
                _copy_positions(positions, source_map, (key,), 0)
    if not merged and empty and not problems:
        # Nothing but empty files: say which, rather than "the rulebook is missing 'rulebook'".
        raise RulebookError(
            [Problem("the rule file is empty (or holds only comments)", SourceLocation(name, 1, 1)) for name in empty]
        )
    if problems:
        raise RulebookError(problems)
    for name in empty:
        source_map.warnings.append(
            Problem(
                "the rule file is empty (or holds only comments), so it adds nothing to the rulebook",
                SourceLocation(name, 1, 1),
                "delete it if that is meant; otherwise its rules were lost",
            )
        )
    return merged, source_map


def document_is_empty(text: str) -> bool:
    """Whether a YAML text holds no value at all (only comments, or an explicit empty document)."""
    import yaml

    try:
        return yaml.compose(text, Loader=yaml.SafeLoader) is None
    except yaml.YAMLError:
        return False


def not_utf8(raw: bytes, exc: UnicodeDecodeError, name: str) -> Problem:
    """A decoding error at the line and column of the bad byte, not at the top of the file."""
    start = exc.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
    before = raw[:start]
    line = before.count(b"\n") + 1
    column = len(before[before.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")) + 1
    return Problem(
        f"the file is not UTF-8 text: the byte 0x{raw[start]:02X} here is not valid UTF-8 ({exc.reason})",
        SourceLocation(name, line, column),
        "save the file as UTF-8 in your editor",
    )


def _copy_positions(src: SourceMap, dst: SourceMap, prefix: Path, shift: int) -> None:
    for path, position in src.positions.items():
        if path[: len(prefix)] != prefix:
            continue
        if shift and len(path) > len(prefix):
            index = path[len(prefix)]
            assert isinstance(index, int)
            path = (*prefix, index + shift, *path[len(prefix) + 1 :])
        elif shift:
            continue  # the list itself keeps its first file's position
        dst.positions[path] = position


def validate_spec(document: Mapping[str, Any], source_map: SourceMap) -> RulebookSpec:
    """Validate the merged document, turning pydantic's errors into positioned problems."""
    try:
        return RulebookSpec.model_validate(document)
    except ValidationError as exc:
        errors = _merge_union_errors([_field_loc(e) for e in exc.errors(include_url=False)])
        errors = _without_shadowed_missing(errors)
        problems = [_problem_from(error, source_map, document) for error in errors]
        raise RulebookError(_dedupe(problems)) from None


def _field_loc(error: Mapping[str, Any]) -> dict[str, Any]:
    """The error with its location cut to the rule file's keys: pydantic adds the member of a
    union it tried (``constrained-int``, ``function-before[...]``), which no file has."""
    annotation: Any = RulebookSpec
    kept: list[str | int] = []
    for part in error["loc"]:
        step = _step(annotation, part)
        if step is None and isinstance(part, str) and _model_of(annotation) is None and kept:
            continue  # a union member's tag
        kept.append(part)
        annotation = step
    return {**error, "loc": tuple(kept)}


def _merge_union_errors(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One problem per value: a value that fits no member of a union (a capacity that is
    neither a count nor a share) gets one message saying what the value may be."""
    by_loc: dict[Path, list[dict[str, Any]]] = {}
    for error in errors:
        by_loc.setdefault(error["loc"], []).append(error)
    merged = []
    for loc, group in by_loc.items():
        if len(group) > 1 and loc and loc[-1] == "capacity":
            merged.append({**group[0], "type": "capacity"})
        else:
            merged.extend(group)
    return merged


def _without_shadowed_missing(errors: list[Any]) -> list[Any]:
    """Drop "missing key 'weight'" when the same mapping has 'wieght': one typo, one problem."""
    unknown: dict[Path, list[str]] = {}
    for error in errors:
        if error["type"] == "extra_forbidden":
            loc = tuple(error["loc"])
            unknown.setdefault(loc[:-1], []).append(str(loc[-1]))
    kept = []
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "missing" and any(
            closest(key, [str(loc[-1])]) is not None for key in unknown.get(loc[:-1], [])
        ):
            continue
        kept.append(error)
    return kept


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


_PLAIN_WORDS = {
    "finite_number": "must be a finite number (.nan and .inf are not numbers a rule can use)",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "decimal_type": "must be a number",
    "decimal_parsing": "must be a number",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list (items each on a line starting with '- ')",
    "dict_type": "must be a mapping of keys",
    "model_type": "must be a mapping of keys",
    "model_attributes_type": "must be a mapping of keys",
    "capacity": "must be a count of accounts (such as 20) or a share from 0% to 100% (such as '5%')",
}


def _problem_from(error: Mapping[str, Any], source_map: SourceMap, document: Mapping[str, Any]) -> Problem:
    loc: Path = tuple(error["loc"])
    kind = error["type"]
    where = describe_rule(loc, document)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        return Problem(
            f"unknown key '{key}' in {describe_rule(loc[:-1], document)}",
            source_map.key_location(loc),
            did_you_mean(key, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else None),
        )
    if kind == "missing":
        return Problem(
            f"{describe_rule(loc[:-1], document)} is missing the required key '{loc[-1]}'",
            source_map.location(loc[:-1]),
        )
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    ctx = error.get("ctx", {})
    hint = None
    if kind in _PLAIN_WORDS:
        message = _PLAIN_WORDS[kind]
        given = error.get("input")
        if kind != "capacity" and isinstance(given, str) and kind != "finite_number":
            message += f", not the text '{given}'"
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = ctx.get("ge", ctx.get("gt", ctx.get("le", ctx.get("lt"))))
        word = {"greater_than_equal": "at least", "greater_than": "more than", "less_than_equal": "at most"}.get(
            kind, "less than"
        )
        message = f"must be {word} {_number(bound)}, not {_number(error.get('input'))}"
    elif kind == "decimal_max_places":
        message = f"may have at most {ctx.get('decimal_places')} decimals, not {_number(error.get('input'))}"
    elif kind in ("too_short", "string_too_short"):
        message = "must not be empty"
    elif kind in ("too_long", "string_too_long"):
        limit = ctx.get("max_length")
        message = f"is too long (at most {limit} characters)" if kind == "string_too_long" else "has too many items"
    elif kind == "string_type":
        message = "must be text"
        if isinstance(error.get("input"), int | float):
            hint = f"put it in quotes: YAML reads {error['input']} as a number"
    elif kind == "string_pattern_mismatch":
        chars = "lower-case letters, digits, '-' and '_'" if loc == ("rulebook",) else "lower-case letters, digits, '_'"
        message = f"'{error.get('input')}' is not a valid id: start with a lower-case letter, then use {chars}"
    elif kind == "literal_error":
        expected = ctx.get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(error.get("input")), options)
        message = f"'{error.get('input')}' is not allowed here; expected {expected}"
    joint = " " if loc and isinstance(loc[-1], str) else ": "
    return Problem(f"{where}{joint}{message}", source_map.location(loc), hint)


def _number(value: Any) -> str:
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value() and abs(value) < 10**16:
        value = int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return f"{int(value):,}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


_RULE_WORDS = {
    "criteria": "criterion",
    "scorecards": "scorecard",
    "gates": "gate",
    "tiers": "tier",
    "segments": "segment",
    "plan_checks": "plan check",
    "custom": "custom fact",
    "tie_breakers": "tie-breaker",
    "bands": "band",
    "requires": "requirement",
}


def describe_rule(loc: Path, document: Mapping[str, Any]) -> str:
    """A path as a policy owner reads it, naming the innermost rule: ``criterion 'revenue':
    weight`` rather than ``scorecards[0].criteria[1].weight``."""
    value: Any = document
    name: str | None = None
    rest: Path = loc
    for i, part in enumerate(loc):
        previous = loc[i - 1] if i else None
        value = value.get(part) if isinstance(value, Mapping) else value[part] if (
            isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
        ) else None
        if isinstance(part, int) and isinstance(previous, str) and previous in _RULE_WORDS:
            word = _RULE_WORDS[previous]
            label = None
            if isinstance(value, Mapping):
                label = value.get("id") or value.get("name")
            if isinstance(label, str | int) and not isinstance(label, bool) and str(label).strip():
                name = f"{word} '{label}'"
            else:
                parent = name + ", " if name and previous in ("bands", "requires") else ""
                name = f"{parent}{word} {part + 1}"
            rest = loc[i + 1 :]
    if name is None:
        return describe_path(loc)
    return f"{name}: {describe_path(rest)}" if rest else name


def describe_path(loc: Path) -> str:
    """A path as a policy owner reads it: ``tiers[2].min_score``."""
    if not loc:
        return "the rulebook"
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += ("." if text else "") + part
    return text


def _allowed_keys(loc: Path) -> list[str]:
    """The keys a mapping at ``loc`` accepts, found by walking the models' annotations."""
    annotation: Any = RulebookSpec
    for part in loc:
        annotation = _step(annotation, part)
        if annotation is None:
            return []
    model = _model_of(annotation)
    if model is None:
        return []
    return [info.alias or name for name, info in model.model_fields.items()]


def _unwrap(annotation: Any) -> list[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [a for arg in typing.get_args(annotation) for a in _unwrap(arg)]
    return [annotation]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for option in _unwrap(annotation):
        if isinstance(option, type) and issubclass(option, BaseModel):
            return option
    return None


def _step(annotation: Any, part: str | int) -> Any:
    for option in _unwrap(annotation):
        origin = typing.get_origin(option)
        if isinstance(part, int) and origin is list:
            return typing.get_args(option)[0]
        if isinstance(part, str) and origin is dict:
            return typing.get_args(option)[1]
        if isinstance(part, str) and isinstance(option, type) and issubclass(option, BaseModel):
            for name, info in option.model_fields.items():
                if part in (name, info.alias):
                    return info.annotation
    return None
