"""The polars backend of the expression language against the Python compiler.

Every expression is compiled twice, by ``kamrules.expressions.compile_expression`` (one
Python function per record) and by ``PolarsCompiler`` (one polars expression over a frame),
and both must give the same value on every row the columnar evaluator decides (rows its
guards send to the per-account evaluator are left out of the comparison, but counted).
"""

from __future__ import annotations

import datetime as dt
import math
from fractions import Fraction
from typing import Any

import pytest

pl = pytest.importorskip("polars")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kamrules.errors import ExpressionError  # noqa: E402
from kamrules.expressions import compile_expression  # noqa: E402
from kamrules.expressions.polars_backend import (  # noqa: E402
    Columns,
    PolarsCompiler,
    Unsupported,
    score_threshold,
)
from kamrules.facts.records import RecordValidator  # noqa: E402
from kamrules.facts.schema import build_schema  # noqa: E402
from kamrules.facts.types import BOOLEAN, DATE, INTEGER, NUMBER, TEXT, CategoryType, FactField  # noqa: E402

AS_OF = dt.date(2026, 11, 1)
CUSTOM = [
    FactField("n1", NUMBER, "a number", custom=True),
    FactField("n2", NUMBER, "a bounded number", minimum=-100, maximum=100, custom=True),
    FactField("i1", INTEGER, "a bounded integer", minimum=0, maximum=1000, custom=True),
    FactField("i2", INTEGER, "an integer", custom=True),
    FactField("b1", BOOLEAN, "a flag", custom=True),
    FactField("c1", CategoryType(("red", "green", "blue"), name="colour"), "a colour", custom=True),
    FactField("d1", DATE, "a date", custom=True),
    FactField("t1", TEXT, "a text", custom=True),
]
SCHEMA = build_schema(CUSTOM, ["a", "b"])
VALIDATOR = RecordValidator(SCHEMA)
FLAT = [f for f in SCHEMA.account.fields.values() if f.name in {c.name for c in CUSTOM} or f.name == "strategic_fit"]

# -- random typed expressions ----------------------------------------------------------------------

NUMBER_LITERALS = ["0", "1", "2", "-3", "2.5", "0.1", "100", "1e-3", "7.25", "1000000"]
INT_LITERALS = ["0", "1", "2", "-3", "10", "100"]
DATE_LITERALS = ["date('2026-11-01')", "date('2026-01-31')", "date('1999-12-31')", "today()"]
TEXTS = ["'x'", "'X'", "'red'", "''", "'Ärger'"]


def _join(fmt: str, *parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(lambda xs: fmt.format(*xs))


def typed(kind: str, depth: int) -> st.SearchStrategy[str]:
    if kind == "integer":
        leaves = st.sampled_from(
            ["i1", "i2", "strategic_fit", "count(contacts)", "count(plan.objectives)", *INT_LITERALS]
        )
    elif kind == "number":
        leaves = st.sampled_from(["n1", "n2", "i1", "max_share(relationships, member)", *NUMBER_LITERALS])
    elif kind == "boolean":
        leaves = st.sampled_from(
            [
                "b1",
                "true",
                "false",
                "any(contacts, role == 'user')",
                "all(team, name == 'x')",
                "plan.status == 'agreed'",
            ]
        )
    elif kind == "date":
        leaves = st.sampled_from(["d1", "plan.last_reviewed", "max(plan.reviews, date)", *DATE_LITERALS])
    else:
        leaves = st.sampled_from(["t1", "c1", "lower(t1)", *TEXTS])
    if depth <= 0:
        return leaves
    sub = depth - 1
    if kind == "integer":
        return st.one_of(
            leaves,
            _join("({} + {})", typed("integer", sub), typed("integer", sub)),
            _join("({} - {})", typed("integer", sub), typed("integer", sub)),
            _join("({} * {})", typed("integer", sub), st.sampled_from([*INT_LITERALS, "i1"])),
            _join("(-{})", typed("integer", sub)),
            _join("abs({})", typed("integer", sub)),
            _join("min({}, {})", typed("integer", sub), typed("integer", sub)),
            _join("coalesce({}, {})", typed("integer", sub), typed("integer", sub)),
            _join("days_since({})", typed("date", sub)),
            _join("days_until({})", typed("date", sub)),
            _join("({} if {} else {})", typed("integer", sub), typed("boolean", sub), typed("integer", sub)),
        )
    if kind == "number":
        return st.one_of(
            leaves,
            typed("integer", sub),
            _join("({} + {})", typed("number", sub), typed("number", sub)),
            _join("({} - {})", typed("number", sub), typed("number", sub)),
            _join("({} * {})", typed("number", sub), typed("number", sub)),
            _join("({} / {})", typed("number", sub), typed("number", sub)),
            _join("(-{})", typed("number", sub)),
            _join("abs({})", typed("number", sub)),
            _join("max({}, {}, {})", typed("number", sub), typed("number", sub), typed("number", sub)),
            _join("clamp({}, 0, 100)", typed("number", sub)),
            _join("clamp({}, {}, {})", typed("number", sub), typed("number", sub), typed("number", sub)),
            _join("coalesce({}, {})", typed("number", sub), typed("number", sub)),
            _join("({} if {} else null)", typed("number", sub), typed("boolean", sub)),
            _join("({} if {} else {})", typed("number", sub), typed("boolean", sub), typed("integer", sub)),
        )
    if kind == "boolean":
        ops = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        return st.one_of(
            leaves,
            _join("({} {} {})", typed("number", sub), ops, typed("number", sub)),
            _join("({} {} {} {} {})", typed("number", sub), ops, typed("number", sub), ops, typed("number", sub)),
            _join("({} {} {})", typed("date", sub), ops, typed("date", sub)),
            _join("({} {} {})", typed("text", sub), st.sampled_from(["==", "!="]), typed("text", sub)),
            _join("(c1 {} ['red', 'blue'])", st.sampled_from(["in", "not in"])),
            _join("({} in [1, 2.5, -3, 100])", typed("number", sub)),
            _join("({} not in [0, 2])", typed("integer", sub)),
            _join("({} in ['x', 'red'])", typed("text", sub)),
            _join("(not {})", typed("boolean", sub)),
            _join("({} and {})", typed("boolean", sub), typed("boolean", sub)),
            _join("({} or {} or {})", typed("boolean", sub), typed("boolean", sub), typed("boolean", sub)),
            _join("present({})", typed("number", sub)),
            _join("missing({})", typed("date", sub)),
            _join("(score.a {} {})", ops, st.sampled_from(["50", "62.5", "33.33", "0", "100", "0.1", "-1", "1e300"])),
            _join("({} {} score.b)", st.sampled_from(["50", "12.34", "i1", "strategic_fit * 20"]), ops),
            _join("(score.a {} score.b)", ops),
            _join("(10 <= score.a < {})", st.sampled_from(["75", "i1"])),
            _join("({} if {} else {})", typed("boolean", sub), typed("boolean", sub), typed("boolean", sub)),
        )
    if kind == "date":
        return st.one_of(
            leaves,
            _join("add_days({}, {})", typed("date", sub), typed("integer", sub)),
            _join("add_days({}, 999999)", typed("date", sub)),
            _join("min({}, {})", typed("date", sub), typed("date", sub)),
            _join("coalesce({}, {})", typed("date", sub), typed("date", sub)),
        )
    return st.one_of(
        leaves,
        _join("lower({})", typed("text", sub)),
        _join("coalesce({}, {})", typed("text", sub), typed("text", sub)),
        _join("({} if {} else 'red')", typed("text", sub), typed("boolean", sub)),
    )


# -- random records -----------------------------------------------------------------------------------


def _value(fact: FactField) -> st.SearchStrategy[Any]:
    name = fact.name
    if name == "n1":
        base: st.SearchStrategy[Any] = st.one_of(
            st.sampled_from([0.0, -0.0, 1.0, 2.5, 0.1, 100.0, -3.0, 1e300, -1e300, 7.25]),
            st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6),
        )
    elif name == "n2":
        base = st.floats(min_value=-100, max_value=100, allow_nan=False)
    elif name == "i1":
        base = st.integers(0, 1000)
    elif name == "i2":
        base = st.integers(-(2**31), 2**31)
    elif name == "strategic_fit":
        base = st.integers(1, 5)
    elif name == "b1":
        base = st.booleans()
    elif name == "c1":
        base = st.sampled_from(["red", "green", "blue"])
    elif name == "d1":
        base = st.one_of(st.dates(), st.sampled_from([AS_OF, dt.date.min, dt.date.max]))
    else:
        base = st.sampled_from(["x", "X", "red", "", "ÄRGER", "Straße"])
    return st.one_of(st.none(), base)


ROW = st.fixed_dictionaries({f.name: _value(f) for f in FLAT}).map(lambda d: {"id": "A", **d})
SCORE = st.tuples(st.integers(0, 10_000), st.sampled_from([1, 3, 100, 7_000, 12_345]))
ROWS = st.lists(st.tuples(ROW, SCORE, SCORE), min_size=1, max_size=12)


def _frame(rows: list[tuple[dict[str, Any], tuple[int, int], tuple[int, int]]]) -> pl.DataFrame:
    dtypes = {"number": pl.Float64, "integer": pl.Int64, "boolean": pl.Boolean, "date": pl.Date}
    columns: dict[str, Any] = {}
    schema: dict[str, Any] = {}
    for fact in FLAT:
        columns[fact.name] = [r.get(fact.name) for r, _, _ in rows]
        kind = getattr(fact.type, "kind", "text")
        schema[fact.name] = dtypes.get(kind, pl.String)
    for card, index in (("a", 1), ("b", 2)):
        columns[f"@w.{card}"] = [min(r[index][0], 0) + r[index][0] * r[index][1] // 100 for r in rows]
        columns[f"@t.{card}"] = [r[index][1] for r in rows]
        schema[f"@w.{card}"] = schema[f"@t.{card}"] = pl.Int64
    return pl.DataFrame(columns, schema=schema)


def _compiler(frame: pl.DataFrame) -> PolarsCompiler:
    columns = Columns(
        fact=lambda name: pl.col(name),
        score=lambda card: (pl.col(f"@w.{card}"), pl.col(f"@t.{card}")),
        totals=lambda card: frame.get_column(f"@t.{card}").unique().to_list(),
        as_of=AS_OF,
    )
    return PolarsCompiler(SCHEMA, columns)


def _same(python: Any, columnar: Any) -> bool:
    if python is None or columnar is None:
        return python is None and columnar is None
    if isinstance(python, float) and math.isnan(python):
        return isinstance(columnar, float) and math.isnan(columnar)
    return bool(python == columnar) and type(python is True) is type(columnar is True)


def agree(source: str, rows: list[tuple[dict[str, Any], tuple[int, int], tuple[int, int]]]) -> int:
    """Compare both compilers on ``rows``; the number of rows compared."""
    frame = _frame(rows)
    try:
        python = compile_expression(source, SCHEMA)
    except ExpressionError:
        return 0  # the generator wrote something the language refuses (a text that is no colour)
    try:
        compiled = _compiler(frame).compile(source)
    except Unsupported:
        return 0
    guard = compiled.guard()
    result = frame.with_columns(
        compiled.expr.alias("value"), (guard if guard is not None else pl.lit(False)).alias("guard")
    ).select("value", "guard")
    compared = 0
    for (raw, _, _), data, (value, guarded) in zip(rows, frame.iter_rows(named=True), result.iter_rows(), strict=True):
        if guarded:
            continue
        record = VALIDATOR.validate(raw)
        scores = {card: Fraction(data[f"@w.{card}"], data[f"@t.{card}"] * 100) for card in ("a", "b")}
        expected = python.evaluate(record, scores, AS_OF)[0]
        assert _same(expected, value), f"{source} on {raw} {scores}: Python {expected!r}, polars {value!r}"
        compared += 1
    return compared


SETTINGS = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(source=typed("number", 2), rows=ROWS)
def test_numbers_agree(source: str, rows: Any) -> None:
    agree(source, rows)


@SETTINGS
@given(source=typed("boolean", 2), rows=ROWS)
def test_conditions_agree(source: str, rows: Any) -> None:
    agree(source, rows)


@SETTINGS
@given(source=st.one_of(typed("date", 3), typed("text", 3), typed("integer", 3)), rows=ROWS)
def test_dates_texts_and_integers_agree(source: str, rows: Any) -> None:
    agree(source, rows)


BOUNDARY = [
    # (weighted, total): the score is weighted / (100 * total)
    ("score.a >= 60", (600_000, 100), True),
    ("score.a >= 60", (599_999, 100), False),
    ("score.a > 60", (600_000, 100), False),
    ("score.a == 62.5", (625_000, 100), True),
    # 33.33 and 0.1 are binary floats, never exactly a score of hundredths: Python says so too
    ("score.a == 33.33", (333_300, 100), False),
    ("score.a != 0.1", (1_000, 100), True),
    ("score.a < 33.33", (333_300, 100), False),
    ("score.a >= 62.5", (62_500_000, 10_000), True),
    ("score.a < 62.5", (62_499_999, 10_000), True),
    ("score.a >= 1e300", (10_000, 1), False),
    ("score.a >= -1", (0, 3), True),
    ("score.a != 100 / 3", (30_000, 3), True),
]


@pytest.mark.parametrize(("source", "score", "expected"), BOUNDARY)
def test_score_comparisons_are_exact_at_the_boundary(source: str, score: tuple[int, int], expected: bool) -> None:
    row: dict[str, Any] = {"id": "A"}
    weighted, total = score
    frame = pl.DataFrame({"@w.a": [weighted], "@t.a": [total], "@w.b": [0], "@t.b": [1]})
    try:
        compiled = _compiler(frame).compile(source)
    except Unsupported:
        assert "/" in source  # a score compared with computed arithmetic is refused
        return
    assert frame.with_columns(compiled.expr.alias("v")).get_column("v").item() is expected
    python = compile_expression(source, SCHEMA)
    scores = {"a": Fraction(weighted, total * 100), "b": Fraction(0)}
    assert python.evaluate(VALIDATOR.validate(row), scores, AS_OF)[0] is expected


@pytest.mark.parametrize(
    "source",
    ["score.a * 2 >= 100", "score.a + score.b >= 100", "score.a >= n1", "score.a in [50, 60]", "max(score.a, 1) > 0"],
)
def test_scores_outside_comparisons_are_refused_with_a_reason(source: str) -> None:
    frame = pl.DataFrame({"@w.a": [1], "@t.a": [1], "@w.b": [1], "@t.b": [1]})
    with pytest.raises(Unsupported) as caught:
        _compiler(frame).compile(source)
    assert "score" in caught.value.reason


def test_integer_expressions_that_could_pass_2_to_the_53_are_refused() -> None:
    frame = _frame([({"id": "A"}, (0, 1), (0, 1))])
    with pytest.raises(Unsupported, match="2\\*\\*53"):
        _compiler(frame).compile("i2 * i2 * i2 > 1")


@given(
    op=st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    literal=st.fractions(min_value=-5, max_value=150, max_denominator=10**6),
    weighted=st.integers(0, 10_000 * 50),
    total=st.integers(1, 50),
)
def test_score_thresholds_are_exact(op: str, literal: Fraction, weighted: int, total: int) -> None:
    weighted = min(weighted, 10_000 * total)
    score = Fraction(weighted, total * 100)
    expected = {
        "==": score == literal,
        "!=": score != literal,
        "<": score < literal,
        "<=": score <= literal,
        ">": score > literal,
        ">=": score >= literal,
    }[op]
    rule = score_threshold(op, literal, total)
    if isinstance(rule, bool):
        assert rule is expected
        return
    cmp, limit = rule
    got = {"==": weighted == limit, "!=": weighted != limit, "<": weighted < limit}.get(cmp)
    if got is None:
        got = {"<=": weighted <= limit, ">": weighted > limit, ">=": weighted >= limit}[cmp]
    assert got is expected
