"""Safe YAML reading that remembers where every value came from.

PyYAML's loaders drop positions, keep the last of two duplicate keys without a word and,
through aliases, can be made to expand a few lines into billions of nodes. Rule files are
written by people and sometimes pasted from elsewhere, so this reader composes the node
tree with PyYAML's safe composer and builds the Python values itself: duplicate keys are
errors, only the standard YAML tags are accepted, expansion is bounded, and each value's
position is kept so that every later error can say ``file:line:column``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from kamrules.errors import Problem, SourceLocation

Path = tuple[str | int, ...]

MAX_NODES = 100_000
"""Values built from one file at most; real rulebooks have a few thousand. A larger count
means an alias bomb, and is refused before it eats the machine."""

MAX_DEPTH = 64
"""Lists and mappings nested in each other at most. The deepest shipped rule is six levels
deep; PyYAML's composer recurses once per level, so a few hundred levels would end in a
RecursionError instead of a message."""

_FORBIDDEN_CHARACTER = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufffe\uffff]")
"""Characters YAML does not allow in a document (control characters, NUL, lone surrogates):
PyYAML refuses them with an offset into the whole text, so they are found first, by line."""

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
    warnings: list[Problem] = field(default_factory=list)
    """What loads but is probably a mistake (an emptied file, a rulebook without gates):
    ``validate`` shows these, loading never fails on them."""

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
        except ValueError:
            # Only a timestamp raises this: YAML reads `2026-02-30` as a date and the calendar
            # has no such day (an integer or float that fits the pattern always converts).
            what = "date" if node.tag == "tag:yaml.org,2002:timestamp" else "value"
            self.problems.append(
                Problem(
                    f"'{node.value}' is not a real {what}"
                    + (": the month has no such day, or the month or time is out of range" if what == "date" else ""),
                    _loc(self.file, node.start_mark),
                    "put it in quotes if it is meant as text",
                )
            )
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


def forbidden_characters(text: str, file: str) -> list[Problem]:
    """Every control character (NUL included) in ``text``, by line and column; at most ten."""
    problems: list[Problem] = []
    for number, line in enumerate(text.split("\n"), start=1):
        for match in _FORBIDDEN_CHARACTER.finditer(line):
            code = ord(match.group())
            problems.append(
                Problem(
                    f"the control character U+{code:04X} is not allowed in a rule file",
                    SourceLocation(file, number, match.start() + 1),
                    "delete it; it is invisible in most editors, and often comes from a copy and paste",
                )
            )
            if len(problems) == 10:
                return problems
    return problems


def _too_deep(text: str, file: str) -> Problem | None:
    """The first place lists and mappings nest deeper than :data:`MAX_DEPTH`, found from the
    event stream (which does not recurse) before the composer (which does) runs."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return Problem(
                    f"lists and mappings are nested more than {MAX_DEPTH} levels deep here; "
                    "a rule file never needs that many",
                    _loc(file, event.start_mark),  # type: ignore[arg-type]
                )
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def read_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain values and the positions of each value."""
    forbidden = forbidden_characters(text, file)
    if forbidden:
        raise YamlProblems(forbidden)
    loader = yaml.SafeLoader(text)
    try:
        try:
            deep = _too_deep(text, file)
            if deep is not None:
                raise YamlProblems([deep])
            node = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise YamlProblems([syntax_problem(exc, file)]) from None
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


def syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    """A YAML syntax error in a policy owner's words, at the parser's position.

    PyYAML speaks of tokens (``expected <block end>, but found '?'``); a policy owner needs
    to hear what the lines look like and what to do about it. Messages we do not recognise
    keep PyYAML's wording, behind the same "this is not valid YAML"."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or ""
    context = exc.context or ""
    opened = exc.context_mark.line + 1 if exc.context_mark is not None else None
    since = f" (the one opened on line {opened})" if opened is not None else ""
    message: str | None = None
    hint: str | None = None
    if problem.startswith("expected <block end>, but found '") and problem[-2:-1] in "]}":
        closing = problem[-2]
        message = f"a closing '{closing}' here has no opening '{'[' if closing == ']' else '{'}'"
    elif problem.startswith("expected <block end>") or problem.startswith("did not find expected"):
        message = "this line is indented differently from the lines around it"
        if "block collection" in context:
            message = "a list item ('- ') and a key are mixed at the same indentation here"
        hint = "line up keys of one mapping, and items of one list, at the same column, with spaces"
    elif problem == "mapping values are not allowed here":
        message = "a ':' here starts a second key on one line"
        hint = "put the value in quotes if it holds ': ', or move the key to a line of its own"
    elif problem == "could not find expected ':'":
        message = "this line has no ':' after its key"
        hint = "write `key: value`, or `- item` for a list item"
        mark = exc.context_mark or mark
    elif "that cannot start any token" in problem:
        if "'\\t'" in problem:
            message = "a tab is used for indentation here"
            hint = "YAML indents with spaces only; replace the tab with spaces"
        else:
            character = problem.split("'")[1] if "'" in problem else "?"
            message = f"a value cannot start with '{character}'"
            hint = "put the value in quotes"
    elif problem == "found unexpected end of stream" and "quoted" in context:
        message = f"a quoted text is not closed{since}"
        hint = "add the closing quote"
    elif problem.startswith("expected ',' or ']'") or problem.startswith("expected ',' or '}'"):
        what = "a list in brackets [...]" if "]" in problem else "a mapping in braces {...}"
        message = f"{what} is not closed{since}, or its items are not separated by ','"
        hint = f"close it with '{']' if ']' in problem else '}'}'"
    elif problem.startswith("found undefined alias"):
        message = f"the alias {problem.rsplit(' ', 1)[-1]} names no anchor ('&name') above it"
    elif "found another document" in problem:
        message = "a second document starts here ('---'); a rule file holds one"
        hint = "split the documents into two files of the folder"
    elif problem.startswith("found unknown escape character"):
        message = f"{problem.replace('found unknown', 'an unknown')} in a double-quoted text"
        hint = "use single quotes, or write a backslash as \\\\"
    if message is None:
        detail = f" ({context})" if context else ""
        return Problem(f"this is not valid YAML: {problem or 'malformed YAML'}{detail}", _loc(file, mark))
    return Problem(f"this is not valid YAML: {message}", _loc(file, mark), hint)
