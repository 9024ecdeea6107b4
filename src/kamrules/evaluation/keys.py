"""Memo keys that tell apart values Python calls equal but an explanation writes differently.

``1``, ``1.0``, ``True`` and ``Fraction(1)`` are equal, and so are ``0.0`` and ``-0.0``; a
memo keyed by such values would hand one account the text or the rows of another. A key
part made by :func:`typed` is equal only for values that are written alike.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

PLAIN = frozenset({type(None), str, dt.date})
"""Types whose values equal only values that are written the same way, so a memo may be
keyed by them as they are."""


class Unkeyable(Exception):
    """A value no memo key can stand for (a list, an odd type): the result is computed anew."""


def typed(v: Any) -> Any:
    """``v`` as part of a memo key: equal keys are values written alike."""
    t = type(v)
    if t in PLAIN:
        return v
    if t is float:
        return (float, float.__repr__(v))
    if t is int or t is bool or t is Fraction:
        return (t, v)
    if t is Decimal:
        return (Decimal, str(v))
    raise Unkeyable
