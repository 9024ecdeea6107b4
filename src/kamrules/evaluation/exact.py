"""Exact numbers shown to people: the one place where scores and points become decimals.

Scores are exact fractions; people read two decimals. A score is shown rounded *down*
(toward minus infinity) so that the figure shown always falls on the same side of a
two-decimal threshold as the exact score: 59.9955 is shown as 59.99, below a threshold of
60, never as 60.00 next to "below 60". Contributions and other figures that are never
compared with a threshold are rounded half to even.
"""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

CENT = Decimal("0.01")


def score2(value: Fraction) -> Decimal:
    """A score to two decimals, rounded down (see the module docstring)."""
    return (Decimal(math.floor(value * 100)) / 100).quantize(CENT)


def round2(value: Fraction) -> Decimal:
    """A figure to two decimals, rounded half to even, exactly."""
    return (Decimal(round(value * 100)) / 100).quantize(CENT)


def centi_decimal(centi: int) -> Decimal:
    """Integer hundredths (centipoints, centiweights) as a Decimal, without padding zeros:
    a weight of 20 reads 20, a point value of 43.33 reads 43.33."""
    return Decimal(centi) / 100
