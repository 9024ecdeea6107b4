"""Reading rule files safely: duplicate keys, unsafe tags, alias bombs, positions."""

from __future__ import annotations

import time

import pytest

from kamrules.errors import SourceLocation
from kamrules.rulebook.yaml_source import YamlProblems, read_yaml


def test_positions_are_one_based_and_point_at_values() -> None:
    value, source_map = read_yaml("a: 1\nb:\n  - x: hello\n", "f.yaml")
    assert value == {"a": 1, "b": [{"x": "hello"}]}
    assert source_map.location(("b", 0, "x")) == SourceLocation("f.yaml", 3, 8)
    assert source_map.key_location(("b", 0, "x")) == SourceLocation("f.yaml", 3, 5)


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    with pytest.raises(YamlProblems) as info:
        read_yaml("tiers: []\nversion: 1\ntiers: [1]\n", "f.yaml")
    (problem,) = info.value.problems
    assert problem.location == SourceLocation("f.yaml", 3, 1)
    assert "the key 'tiers' appears twice in the same mapping (first at line 1)" in problem.message


def test_python_tags_are_refused() -> None:
    with pytest.raises(YamlProblems) as info:
        read_yaml("x: !!python/object/apply:os.system ['echo hi']\n", "f.yaml")
    assert "the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" in info.value.problems[0].message


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]")
    started = time.perf_counter()
    with pytest.raises(YamlProblems) as info:
        read_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert time.perf_counter() - started < 60  # a guard against hanging (on a loaded machine), not a speed target
    assert "alias bomb" in info.value.problems[0].message


def test_syntax_error_has_a_position() -> None:
    with pytest.raises(YamlProblems) as info:
        read_yaml("a: [1, 2\nb: 3\n", "f.yaml")
    problem = info.value.problems[0]
    assert problem.message.startswith("this is not valid YAML")
    assert problem.location is not None and problem.location.file == "f.yaml" and problem.location.line == 2


def test_merge_keys_are_refused() -> None:
    with pytest.raises(YamlProblems) as info:
        read_yaml("base: &b {x: 1}\nother:\n  <<: *b\n", "f.yaml")
    assert "merge keys ('<<') are not supported" in info.value.problems[0].message


def test_quoted_scalar_offsets_skip_the_quote() -> None:
    _, source_map = read_yaml("when: 'abc def'\n", "f.yaml")
    position = source_map.find(("when",))
    assert position is not None
    assert position.at_offset(4) == SourceLocation("f.yaml", 1, 12)
