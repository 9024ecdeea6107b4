"""Rulebooks: reading rule files, validating them, and compiling them once.

``load_rulebook`` is the one entry point; everything downstream receives a
:class:`Rulebook` and never sees YAML again.
"""

from __future__ import annotations

from pathlib import Path

from kamrules.errors import Problem, RulebookError
from kamrules.rulebook.loading import read_sources, rule_files, validate_spec
from kamrules.rulebook.model import RulebookSpec
from kamrules.rulebook.semantics import Rulebook, canonical_hash, check
from kamrules.rulebook.yaml_source import SourceMap, YamlProblems, read_yaml

__all__ = ["Rulebook", "RulebookSpec", "canonical_hash", "load_rulebook", "load_rulebook_text"]


def load_rulebook(path: str | Path) -> Rulebook:
    """Load a rule file or a folder of rule files; raises :class:`RulebookError` with every problem."""
    files = rule_files(Path(path))
    document, source_map = read_sources(files)
    return _finish(document, source_map, [str(f) for f in files])


def load_rulebook_text(text: str, name: str = "<rulebook>") -> Rulebook:
    """Load a rulebook held in a string (tests, HTTP requests, feature files)."""
    try:
        document, source_map = read_yaml(text, name)
    except YamlProblems as exc:
        raise RulebookError(exc.problems) from None
    if not isinstance(document, dict):
        from kamrules.errors import Problem, SourceLocation

        raise RulebookError(
            [Problem("a rulebook must be a mapping of keys (rulebook:, tiers:, ...)", SourceLocation(name, 1, 1))]
        )
    return _finish(document, source_map, [name])


def _finish(document: dict[str, object], source_map: SourceMap, sources: list[str]) -> Rulebook:
    spec = validate_spec(document, source_map)
    source_map.warnings.extend(_lost_rules(spec, document, source_map))
    result = check(spec, source_map, sources)
    if isinstance(result, list):
        raise RulebookError(result)
    return result


def _lost_rules(spec: RulebookSpec, document: dict[str, object], source_map: SourceMap) -> list[Problem]:
    """Rules that are valid but look emptied by accident: a `gates:` list with nothing left in
    it, or a single tier (every account then gets the same tier, and nothing is selected)."""
    warnings = []
    if "gates" in document and not spec.gates:
        warnings.append(
            Problem(
                "`gates:` is empty: no account is excluded or capped, whatever its facts",
                source_map.key_location(("gates",)),
                "remove the key if that is meant",
            )
        )
    if len(spec.tiers) == 1:
        warnings.append(
            Problem(
                f"there is only one tier ('{spec.tiers[0].name}'): every account gets it, so nothing is selected",
                source_map.key_location(("tiers",)),
            )
        )
    return warnings
