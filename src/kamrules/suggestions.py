""" "Did you mean ...?" for misspelt keys, field paths, tier names and functions."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest to ``word``, or None when nothing is plausibly meant.

    Case is ignored for the comparison because policy owners often write ``Gold`` for
    ``gold``; the candidate is returned with its real spelling.
    """
    options = {c.lower(): c for c in candidates}
    matches = difflib.get_close_matches(word.lower(), list(options), n=1, cutoff=0.6)
    return options[matches[0]] if matches else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint sentence such as ``did you mean 'annual_revenue'?``, or None."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match is not None else None
