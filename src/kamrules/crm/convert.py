"""Converting one CRM value into the fact's value, as a profile column declares it.

Each function either returns the converted value or raises :class:`ConversionFailed` with a
sentence for the account manager; the profile turns that into a field error of the record.
The columnar path (:mod:`kamrules.crm.frames`) builds the same conversions as polars
expressions from the same patterns, so both paths read a value alike or send the row to
the per-account path, which words the error.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from kamrules.crm.model import NumberFormat

ISO_DATE = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"
"""An ISO 8601 date, or a date-time whose date part is taken as written (no time zone is
applied: a CRM's "2026-10-01T23:30:00Z" is the 1st of October, as its users saw it)."""
EPOCH_MS = r"^-?\d{1,15}$"
NUMBER_TEXT = r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$"
"""What is left of a number once currency, thousands separators and the decimal mark are
handled; the same pattern decides what the columnar path casts."""
MS_PER_DAY = 86_400_000
EPOCH = dt.date(1970, 1, 1)
_SEPARATORS = re.compile(r"[\s_\-]+")
_ISO = re.compile(ISO_DATE)
_EPOCH = re.compile(EPOCH_MS)
_NUMBER = re.compile(NUMBER_TEXT)


class ConversionFailed(ValueError):
    """A value the profile's declared conversion cannot read."""


def normalise(text: str) -> str:
    """The key of case- and space-insensitive matching: lower case, without spaces,
    underscores or hyphens, so ``Key Account``, ``key_account`` and ``KEY-ACCOUNT`` agree."""
    return _SEPARATORS.sub("", text.lower())


def to_date(value: Any, formats: Sequence[str]) -> dt.date:
    """A date from the first declared format that reads the value."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    for fmt in formats:
        if fmt == "epoch_ms":
            if isinstance(value, bool):
                continue
            if isinstance(value, int) or (isinstance(value, str) and _EPOCH.match(value.strip())):
                ms = int(value)
                try:
                    return EPOCH + dt.timedelta(days=ms // MS_PER_DAY)
                except OverflowError:
                    continue
            continue
        if not isinstance(value, str):
            continue
        text = value.strip()
        if fmt == "iso":
            if _ISO.match(text):
                try:
                    return dt.date.fromisoformat(text[:10])
                except ValueError:
                    continue
            continue
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ConversionFailed(f"{value!r} is not a date in the declared format ({', '.join(formats)})")


def to_number(value: Any, fmt: NumberFormat | None, percent: bool = False) -> float | int:
    """A number from CRM text: declared currency text and thousands separators removed, the
    declared decimal mark read; a number given as a number is kept."""
    if isinstance(value, bool):
        raise ConversionFailed(f"{value!r} is not a number")
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str):
        raise ConversionFailed(f"{value!r} is not a number")
    text = strip_number(value, fmt, percent)
    if not _NUMBER.match(text):
        raise ConversionFailed(f"{value!r} is not a number{_described(fmt, percent)}")
    return float(text)


def strip_number(value: str, fmt: NumberFormat | None, percent: bool) -> str:
    """The text of a number with what the format declares removed (the columnar path does the
    same steps in the same order)."""
    text = value.strip()
    if fmt is not None:
        for token in fmt.currency:
            text = text.replace(token, "")
        if fmt.thousands is not None:
            text = text.replace(fmt.thousands, "")
        if fmt.decimal != ".":
            text = text.replace(fmt.decimal, ".")
    if percent:
        text = text.replace("%", "")
    return text.strip()


def _described(fmt: NumberFormat | None, percent: bool) -> str:
    parts = []
    if fmt is not None:
        if fmt.thousands is not None:
            parts.append(f"thousands '{fmt.thousands}'")
        parts.append(f"decimal '{fmt.decimal}'")
        if fmt.currency:
            parts.append("currency " + ", ".join(f"'{c}'" for c in fmt.currency))
    if percent:
        parts.append("percent")
    return f" in the declared format ({', '.join(parts)})" if parts else ""


def scale_percent(value: Any, fmt: NumberFormat | None, given: str, fact_scale: str) -> float | int:
    """A percentage moved from the CRM's scale to the fact's, in decimal, so that ``0.533``
    is 53.3 exactly as written (in binary floating point, 0.533 * 100 is 53.300000000000004
    and could cross a band boundary). The columnar path computes it in polars decimals."""
    number = to_number(value, fmt, percent=True)
    if given == fact_scale:
        return number
    text = strip_number(value, fmt, True) if isinstance(value, str) else repr(float(number))
    exact = Decimal(text)
    return float(exact * 100 if given == "0-1" else exact / 100)


def mapped(value: Any, table: Mapping[str, Any], insensitive: bool) -> tuple[bool, Any]:
    """The value a map gives ``value``: (True, mapped) or (False, None)."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return False, None
    key = str(value).strip()
    if insensitive:
        key = normalise(key)
    if key in table:
        return True, table[key]
    return False, None
