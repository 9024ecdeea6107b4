"""A scorecard compiled into one generated function: every criterion inline, no call per rule.

DESIGN.md section 7: a rules engine pays a fixed cost per call, so the whole scorecard
becomes straight-line Python generated once per rulebook: each criterion's fact read, its
missing-value policy, its bands as an if/elif chain, its scale formula, its map lookup.
The arithmetic is the same as ``scoring.py`` operation for operation (the scale formula in
float64 in the same order), so the generated code and the scorers agree bit for bit; a
property test holds them to it.

Nothing from the rule files becomes code: fact names come from the validated schema,
numbers are written with ``repr`` of validated floats and integers, maps and expressions
are passed in as named constants.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from kamrules.evaluation.scoring import centi, expression_points

if TYPE_CHECKING:
    from kamrules.evaluation.engine import CompiledCriterion, CompiledTier

ScoreCard = Callable[[Any, Any], "tuple[int, int, tuple[Any, ...]] | int"]
"""(record, as_of) -> (weighted, total, rows), or the index of a criterion whose missing
fact is an error (``missing: error``)."""


def compile_scorecard(criteria: Sequence[CompiledCriterion]) -> ScoreCard:
    """One function scoring every criterion of a scorecard; see the module docstring."""
    names: dict[str, Any] = {"_floor": math.floor, "_float": float, "_points": expression_points}
    lines = ["def _card(r, as_of):", "    weighted = 0", "    total = 0"]
    rows = []
    for k, c in enumerate(criteria):
        spec = c.spec
        row = f"row{k}"
        rows.append(row)
        w = c.weight
        if c.read is not None:
            attribute = c.fact.split(".", 1)[1] if c.fact and c.fact.startswith("account.") else c.fact
            assert attribute is not None and attribute.isidentifier()
            lines.append(f"    v = r.{attribute}")
            lines.append("    e = None")
        else:
            assert c.expression is not None
            names[f"_x{k}"] = c.expression.evaluate
            lines.append(f"    v, e = _x{k}(r, None, as_of)")
            # NaN (infinity minus infinity, after an overflow) is no number of points: unknown.
            lines.append("    if v != v:")
            lines.append("        v = None")
        lines.append("    if v is None:")
        if c.missing == "drop":
            lines.append(f"        {row} = (None, 0, 0, 2, e)")
        elif c.missing == "error":
            lines.append(f"        return {k}")
        else:
            lines += [f"        total += {w}", f"        {row} = (None, 0, 0, 1, e)"]
        lines.append("    else:")
        body: list[str] = []
        if spec.expression is not None:
            body += ["p = _points(v)", "m = 0"]
        elif spec.bands is not None:
            first = True
            for index, band in enumerate(spec.bands):
                body += [
                    f"{'if' if first else 'elif'} v >= {float(band.at_least)!r}:",
                    f"    p = {centi(band.points)}",
                    f"    m = {index}",
                ]
                first = False
            body += ["else:", f"    p = {centi(spec.below_bands)}", "    m = -1"]
        elif spec.scale is not None:
            s = spec.scale
            lo, hi = float(s.from_value), float(s.to_value)
            pf, pt = centi(s.points_from), centi(s.points_to)
            body += [
                f"t = (_float(v) - {lo!r}) / {hi - lo!r}",
                "if t < 0.0:",
                "    t = 0.0",
                "elif t > 1.0:",
                "    t = 1.0",
                f"p = {pf} + _floor(t * {pt - pf} + 0.5)",
                "m = 0",
            ]
        elif spec.map is not None:
            names[f"_m{k}"] = {key: centi(value) for key, value in spec.map.items()}
            if spec.otherwise is None:
                body += [f"p = _m{k}[v]", "m = 0"]
            else:  # a value the map does not name: the otherwise points, match -1
                body += [
                    f"p = _m{k}.get(v, -1)",
                    "if p < 0:",
                    f"    p = {centi(spec.otherwise)}",
                    "    m = -1",
                    "else:",
                    "    m = 0",
                ]
        else:
            assert spec.boolean is not None
            body += [f"p = {centi(spec.boolean['true'])} if v else {centi(spec.boolean['false'])}", "m = 0"]
        body += [f"weighted += {w} * p", f"total += {w}", f"{row} = (v, p, m, 0, e)"]
        lines += ["        " + line for line in body]
    lines.append(f"    return weighted, total, ({', '.join(rows)},)")
    (card,) = define("\n".join(lines) + "\n", names, "<kamrules scorecard>", "_card")
    return cast(ScoreCard, card)


DecideTiers = Callable[[Any, Any, Sequence[Any], Any, int], "tuple[tuple[Any, ...], int]"]
"""(record, scores, card rows, as_of, gates' ceiling) -> (tier rows, chosen tier index)."""


def compile_tiers(tiers: Sequence[CompiledTier], card_index: Mapping[str, int]) -> DecideTiers:
    """Every tier's tests in one generated function, for a fresh evaluation.

    The same tests as the engine's loop, in the same order: each minimum score as the exact
    integer test ``weighted >= minimum * total`` (minimums in hundredths), each requirement's
    compiled expression, eligibility as all of them, and the best eligible tier at or below
    the gates' ceiling (the last tier when none is). Written out per rulebook because the
    loop made a generator and ``all()`` per tier and test: about a third of a flat account's
    decision. Minimums are integers written with ``repr``; expressions are passed in by name.
    """
    names: dict[str, Any] = {}
    lines = ["def _tiers(r, scores, cards, as_of, ceiling):"]
    for k in sorted({card_index[card] for tier in tiers for card, _ in tier.thresholds}):
        lines.append(f"    w{k}, t{k}, _ = cards[{k}]")
    for i, tier in enumerate(tiers):
        tests = []
        for card, minimum in tier.thresholds:
            assert type(minimum) is int
            k = card_index[card]
            tests.append(f"w{k} >= {minimum!r} * t{k}")
        requirements = []
        for n, (expression, _) in enumerate(tier.requirements):
            names[f"_r{i}_{n}"] = expression.evaluate
            requirements.append(f"_r{i}_{n}(r, scores, as_of)")
        lines.append(f"    s{i} = ({''.join(test + ', ' for test in tests)})")
        lines.append(f"    q{i} = ({''.join(call + ', ' for call in requirements)})")
        conditions = [f"s{i}[{n}]" for n in range(len(tests))]
        conditions += [f"q{i}[{n}][0] is True" for n in range(len(requirements))]
        lines.append(f"    e{i} = {' and '.join(conditions) if conditions else 'True'}")
    lines.append(f"    rows = ({''.join(f'(e{i}, s{i}, q{i}), ' for i in range(len(tiers)))})")
    for i in range(len(tiers)):
        lines.append(f"    if e{i} and ceiling <= {i}:")
        lines.append(f"        return rows, {i}")
    lines.append(f"    return rows, {len(tiers) - 1}")
    (decide,) = define("\n".join(lines) + "\n", names, "<kamrules tiers>", "_tiers")
    return cast(DecideTiers, decide)


def define(source: str, names: Mapping[str, Any], label: str, *functions: str) -> tuple[Any, ...]:
    """The functions ``source`` defines, compiled with no builtins and nothing but ``names``
    in scope (every generator of code per rulebook: scorecards, tier tests, the decision
    layout); the source becomes each one's docstring, so what was generated can be read."""
    namespace: dict[str, Any] = {**names, "__builtins__": {}}
    exec(compile(source, label, "exec"), namespace)
    for name in functions:
        namespace[name].__doc__ = source
    return tuple(namespace[name] for name in functions)
