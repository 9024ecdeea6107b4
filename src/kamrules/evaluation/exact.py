"""Exact numbers shown to people: the one place where scores and points become decimals.

Scores are exact ratios of integers; people read two decimals. A score is shown rounded
*down* (toward minus infinity) so that the figure shown always falls on the same side of a
two-decimal threshold as the exact score: 59.9955 is shown as 59.99, below a threshold of
60, never as 60.00 next to "below 60". Contributions and other figures that are never
compared with a threshold are rounded half to even. Integer arithmetic only: this runs for
every figure of every explanation.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any


def score_ratio(numerator: int, denominator: int) -> Decimal:
    """``numerator / denominator`` to two decimals, rounded down (see the module docstring)."""
    return Decimal(numerator * 100 // denominator).scaleb(-2)


def round_ratio(numerator: int, denominator: int) -> Decimal:
    """``numerator / denominator`` to two decimals, rounded half to even."""
    quotient, remainder = divmod(numerator * 100, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2):
        quotient += 1
    return Decimal(quotient).scaleb(-2)


def score2(value: Fraction) -> Decimal:
    """A score held as a fraction, to two decimals, rounded down."""
    return score_ratio(value.numerator, value.denominator)


_PLAIN_LIMIT = 10**26


def hundredths_text(q: int) -> str:
    """``str(Decimal(q).scaleb(-2))`` (``q`` hundredths as text: 2045 -> "20.45", -5 ->
    "-0.05") by integer arithmetic, about five times faster; the explanation encoder writes
    every score shown with it. Beyond 26 digits the Decimal context's precision rounds, so
    Decimal itself writes those."""
    if not -_PLAIN_LIMIT < q < _PLAIN_LIMIT:
        return str(Decimal(q).scaleb(-2))
    if q < 0:
        q = -q
        return f"-{q // 100}.{q % 100:02d}"
    return f"{q // 100}.{q % 100:02d}"


def score2_text(value: Fraction) -> str:
    """``str(score2(value))``."""
    return hundredths_text(value.numerator * 100 // value.denominator)


def shown(value: Any) -> Any:
    """A value as an explanation shows it: a score (a fraction) to two decimals, rounded
    down; any other value as it is."""
    # type(), not isinstance(): Fraction is a numbers.Rational, and the ABC check costs a
    # tenth of a microsecond per value shown; scores are always exact Fractions.
    if type(value) is Fraction:
        return score2(value)
    return value


def centi_decimal(centi: int) -> Decimal:
    """Integer hundredths (centipoints, centiweights) as a Decimal, without padding zeros:
    a weight of 20 reads 20, a point value of 43.33 reads 43.33."""
    return Decimal(centi) / 100
