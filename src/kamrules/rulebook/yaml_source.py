"""Safe YAML reading that remembers where every value came from.

PyYAML's loaders drop positions, keep the last of two duplicate keys without a word and,
through aliases, can be made to expand a few lines into billions of nodes. Rule files are
written by people and sometimes pasted from elsewhere, so this reader composes the node
tree with PyYAML's safe composer and builds the Python values itself: duplicate keys are
errors, only the standard YAML tags are accepted, expansion is bounded, and each value's
position is kept so that every later error can say ``file:line:column``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kamrules.errors import Problem, SourceLocation

Path = tuple[str | int, ...]

MAX_NODES = 100_000
"""Values built from one file at most; real rulebooks have a few thousand. A larger count
means an alias bomb, and is refused before it eats the machine."""

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


@dataclass(frozen=True, slots=True)
class ValuePosition:
    """Where a value starts, and how its text sits in the file.

    ``style`` is the YAML scalar style (None for plain, ``'`` or ``"`` for quoted, ``|``
    or ``>`` for block scalars); it lets an error inside an expression point at the exact
    column of the offending token rather than at the start of the line.
    """

    location: SourceLocation
    key_location: SourceLocation | None = None
    style: str | None = None

    def at_offset(self, offset: int) -> SourceLocation:
        """The file position of character ``offset`` of a single-line scalar."""
        loc = self.location
        if self.style in ("|", ">"):
            return SourceLocation(loc.file, loc.line + 1, 1)
        shift = 1 if self.style in ("'", '"') else 0
        return SourceLocation(loc.file, loc.line, loc.column + shift + offset)


@dataclass
class SourceMap:
    """Positions of every value of a document (or of a merged rulebook), by path."""

    positions: dict[Path, ValuePosition] = field(default_factory=dict)

    def find(self, path: Path) -> ValuePosition | None:
        """The position of ``path`` or of its nearest enclosing value.

        Validation errors sometimes name a path one level deeper than the file has (a
        required key that is missing), so the closest existing ancestor is the best place.
        """
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return None

    def location(self, path: Path) -> SourceLocation | None:
        found = self.find(path)
        return found.location if found else None

    def key_location(self, path: Path) -> SourceLocation | None:
        found = self.positions.get(path)
        if found is not None and found.key_location is not None:
            return found.key_location
        return self.location(path)


class YamlProblems(Exception):
    """Raised with every problem found while reading one file."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def _loc(file: str, mark: yaml.Mark | None) -> SourceLocation:
    if mark is None:
        return SourceLocation(file, 1, 1)
    return SourceLocation(file, mark.line + 1, mark.column + 1)


class _Builder:
    def __init__(self, file: str, loader: yaml.SafeLoader) -> None:
        self.file = file
        self.loader = loader
        self.source_map = SourceMap()
        self.problems: list[Problem] = []
        self.count = 0

    def build(self, node: Node, path: Path, key_node: Node | None = None) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlProblems(
                [
                    Problem(
                        f"the file expands to more than {MAX_NODES:,} values; "
                        "aliases that multiply (an alias bomb) are refused",
                        _loc(self.file, node.start_mark),
                    )
                ]
            )
        style = node.style if isinstance(node, ScalarNode) else None
        self.source_map.positions[path] = ValuePosition(
            _loc(self.file, node.start_mark),
            _loc(self.file, key_node.start_mark) if key_node is not None else None,
            style,
        )
        if node.tag not in _STANDARD_TAGS:
            self.problems.append(
                Problem(
                    f"the tag '{node.tag}' is not allowed in a rule file; "
                    "only plain YAML values (text, numbers, booleans, dates, lists, mappings) are",
                    _loc(self.file, node.start_mark),
                )
            )
            return None
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        try:
            return self.loader.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problems.append(Problem(f"cannot read this value: {exc}", _loc(self.file, node.start_mark)))
            return None

    def _mapping(self, node: MappingNode, path: Path) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, yaml.Mark] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(
                        "merge keys ('<<') are not supported in rule files; write the keys out",
                        _loc(self.file, key_node.start_mark),
                    )
                )
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    Problem("a key must be a plain name, not a list or mapping", _loc(self.file, key_node.start_mark))
                )
                continue
            key = str(key_node.value)
            if key in seen:
                first = seen[key]
                self.problems.append(
                    Problem(
                        f"the key '{key}' appears twice in the same mapping "
                        f"(first at line {first.line + 1}); YAML would silently keep only the last one",
                        _loc(self.file, key_node.start_mark),
                    )
                )
                continue
            seen[key] = key_node.start_mark
            result[key] = self.build(value_node, (*path, key), key_node)
        return result


def read_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain values and the positions of each value."""
    loader = yaml.SafeLoader(text)
    try:
        try:
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            what = exc.problem or "malformed YAML"
            context = f" ({exc.context})" if exc.context else ""
            raise YamlProblems([Problem(f"this is not valid YAML: {what}{context}", _loc(file, mark))]) from None
        except yaml.YAMLError as exc:
            raise YamlProblems([Problem(f"this is not valid YAML: {exc}", SourceLocation(file, 1, 1))]) from None
        if node is None:
            return None, SourceMap()
        builder = _Builder(file, loader)
        value = builder.build(node, ())
        if builder.problems:
            raise YamlProblems(builder.problems)
        return value, builder.source_map
    finally:
        loader.dispose()
