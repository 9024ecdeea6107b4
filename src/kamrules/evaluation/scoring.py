"""Criterion scorers: from a fact value to exact points.

Points are kept as integer hundredths ("centipoints", 0..10,000) and weights as integer
hundredths too, so a weighted sum is an exact integer whatever order it is added in. Two
executors (this one, a vectorised one, a distributed one) therefore agree on which side of
a tier threshold an account falls, which a floating-point sum cannot promise.

The rounding of a linear scale is fixed here once, in float64 and in this order of
operations, so that any executor can reproduce it bit for bit:
``t = clamp((v - from) / (to - from), 0, 1)`` then
``centipoints = points_from + floor(t * (points_to - points_from) + 0.5)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kamrules.rulebook.model import Band, Criterion, Scale

Scorer = Callable[[Any], tuple[int, int]]
"""value -> (centipoints, match); ``match`` is the band index (-1 below every band) or 0."""


def centi(value: Decimal | int) -> int:
    """Decimal with at most two places (validated) to integer hundredths."""
    return int(Decimal(value) * 100)


def bands_scorer(bands: list[Band], below: Decimal) -> Scorer:
    thresholds = tuple((b.at_least, centi(b.points)) for b in bands)
    below_c = centi(below)

    def score(value: Any) -> tuple[int, int]:
        for index, (at_least, points) in enumerate(thresholds):
            if value >= at_least:
                return points, index
        return below_c, -1

    return score


def scale_scorer(scale: Scale) -> Scorer:
    lo, hi = float(scale.from_value), float(scale.to_value)
    span = hi - lo
    pf, pt = centi(scale.points_from), centi(scale.points_to)
    delta = pt - pf
    floor = math.floor

    def score(value: Any) -> tuple[int, int]:
        t = (float(value) - lo) / span
        if t < 0.0:
            t = 0.0
        elif t > 1.0:
            t = 1.0
        return pf + floor(t * delta + 0.5), 0

    return score


def map_scorer(points: dict[str, Decimal], otherwise: Decimal | None = None) -> Scorer:
    """Points per value; a value the map does not name gets ``otherwise`` (match -1)."""
    table = {k: centi(v) for k, v in points.items()}
    other = centi(otherwise) if otherwise is not None else None

    def score(value: Any) -> tuple[int, int]:
        found = table.get(value)
        if found is None:
            if other is None:
                raise KeyError(value)
            return other, -1
        return found, 0

    return score


def boolean_scorer(points: Mapping[Any, Decimal]) -> Scorer:
    when_true, when_false = centi(points.get("true", Decimal(0))), centi(points.get("false", Decimal(0)))

    def score(value: Any) -> tuple[int, int]:
        return (when_true if value else when_false), 0

    return score


def expression_points(value: Any) -> int:
    """Points an expression gives, clamped to 0..100, as centipoints (half rounds up).

    Arithmetic on large but valid facts can leave the range of floats (infinity) or of
    floats altogether (a whole number too large to convert): both are clamped like any
    other value beyond 0..100, never an OverflowError. NaN never gets here (it is unknown,
    see ``codegen``)."""
    if isinstance(value, int):
        cp = value * 100
    elif isinstance(value, Fraction):
        cp = math.floor(value * 100 + Fraction(1, 2))
    elif math.isinf(value):
        return 10_000 if value > 0 else 0
    else:
        cp = math.floor(value * 100 + 0.5)
    return 0 if cp < 0 else 10_000 if cp > 10_000 else int(cp)


def scorer_for(criterion: Criterion) -> Scorer | None:
    """The scorer of a fact-reading criterion; None for an expression criterion."""
    if criterion.bands is not None:
        return bands_scorer(criterion.bands, criterion.below_bands)
    if criterion.scale is not None:
        return scale_scorer(criterion.scale)
    if criterion.map is not None:
        return map_scorer(criterion.map, criterion.otherwise)
    if criterion.boolean is not None:
        return boolean_scorer(criterion.boolean)
    return None
