"""Errors a user can act on: each names where the problem is, what is wrong and, where it
can, what was probably meant.

Every error a user can cause derives from :class:`KamrulesError`; the CLI prints those
without a traceback and exits with a code that scripts can rely on. Anything else escaping
is a bug in kamrules and is allowed to show its traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """A place in a rule file, 1-based like every editor shows it."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a rulebook, with its place and an optional hint."""

    message: str
    location: SourceLocation | None = None
    hint: str | None = None

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{hint}"


class KamrulesError(Exception):
    """Base of every error caused by input rather than by a bug in kamrules."""


class RulebookError(KamrulesError):
    """A rulebook could not be loaded; carries every problem found, not just the first.

    Reporting all problems at once spares a policy owner the edit-run-edit loop of fixing
    one typo per attempt.
    """

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        count = len(self.problems)
        head = "the rulebook is invalid" if count == 1 else f"the rulebook is invalid ({count} problems)"
        return head + ":\n" + "\n".join(f"  {p}" for p in self.problems)


class ExpressionError(KamrulesError):
    """An expression is malformed, unsafe or ill-typed.

    ``offset`` is the 0-based character offset of the offending part within the expression
    source, so that the rulebook loader can turn it into a file position.
    """

    def __init__(self, message: str, offset: int = 0, hint: str | None = None) -> None:
        self.message = message
        self.offset = offset
        self.hint = hint
        super().__init__(message if hint is None else f"{message} ({hint})")


class RecordError(KamrulesError):
    """An account record does not fit the fact schema (see ``kamrules.facts.records``)."""
