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
    for file in files:
        name = str(file)
        try:
            text = file.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            problems.append(
                Problem(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})", SourceLocation(name, 1, 1))
            )
            continue
        except OSError as exc:
            problems.append(Problem(f"cannot read the file: {exc.strerror}", SourceLocation(name, 1, 1)))
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
    if problems:
        raise RulebookError(problems)
    return merged, source_map


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
        errors = _without_shadowed_missing(exc.errors(include_url=False))
        problems = [_problem_from(error, source_map) for error in errors]
        raise RulebookError(_dedupe(problems)) from None


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


def _problem_from(error: Mapping[str, Any], source_map: SourceMap) -> Problem:
    loc: Path = tuple(error["loc"])
    kind = error["type"]
    where = describe_path(loc)
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(loc[:-1])
        return Problem(
            f"unknown key '{key}' in {describe_path(loc[:-1])}",
            source_map.key_location(loc),
            did_you_mean(key, allowed) or (f"allowed keys: {', '.join(allowed)}" if allowed else None),
        )
    if kind == "missing":
        return Problem(
            f"{describe_path(loc[:-1])} is missing the required key '{loc[-1]}'", source_map.location(loc[:-1])
        )
    message = str(error["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    hint = None
    if kind == "string_type":
        message = "must be text"
        if isinstance(error.get("input"), int | float):
            hint = f"put it in quotes: YAML reads {error['input']} as a number"
    if kind == "string_pattern_mismatch":
        chars = "lower-case letters, digits, '-' and '_'" if loc == ("rulebook",) else "lower-case letters, digits, '_'"
        message = f"'{error.get('input')}' is not a valid id: start with a lower-case letter, then use {chars}"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        options = [o.strip().strip("'") for o in expected.replace(" or ", ", ").split(",")]
        hint = did_you_mean(str(error.get("input")), options)
        message = f"'{error.get('input')}' is not allowed here; expected {expected}"
    return Problem(f"{where}: {message}", source_map.location(loc), hint)


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
