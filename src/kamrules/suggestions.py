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
    typed = word.lower()
    matches = difflib.get_close_matches(typed, list(options), n=5, cutoff=0.6)
    if not matches:
        return None
    # difflib's ratio ties often (ACC-0O034 is as similar to ACC-00234 as to ACC-00034);
    # fewest edits decides, then the ratio order difflib gave.
    return options[min(matches, key=lambda m: _edits(typed, m))]


def _edits(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint sentence such as ``did you mean 'annual_revenue'?``, or None."""
    match = closest(word, candidates)
    return f"did you mean '{match}'?" if match is not None else None
