"""The types a fact can have, shared by record validation and the expression type checker.

Facts are typed once, here, so that an expression such as ``account.annual_revenue > 'x'``
is refused when the rulebook loads rather than when the hundred-thousandth account is
evaluated. The runtime value of each type is deliberately plain Python (``int``/``float``,
``str``, ``bool``, ``datetime.date``, lists of records with attribute access, ``None`` for a
missing value) so that compiled expressions can read facts without any conversion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ScalarKind = Literal["number", "integer", "text", "boolean", "date"]


@dataclass(frozen=True, slots=True)
class ScalarType:
    """A single value: number (int or float), integer, text, boolean or date."""

    kind: ScalarKind

    def describe(self) -> str:
        return self.kind


@dataclass(frozen=True, slots=True)
class CategoryType:
    """Text restricted to a closed set of values, so typos are caught at load time."""

    values: tuple[str, ...]
    name: str = "category"
    synonyms: tuple[tuple[str, str], ...] = ()
    """Input values read as one of ``values`` (``opponent`` as ``enemy``): a rulebook's words
    for what a CRM records, applied when a record is validated."""

    def describe(self) -> str:
        return f"{self.name} ({', '.join(self.values)})"

    def canonical(self) -> dict[str, str]:
        return dict(self.synonyms)


@dataclass(frozen=True, slots=True)
class RecordType:
    """A nested object read with dotted paths (``plan.last_reviewed``).

    For the items of a list, ``name`` is also the word that names one item inside an
    aggregate (``contact`` in ``count(contacts, contact.level == 'board')``), which is how a
    nested aggregate reads the item of the aggregate around it.
    """

    name: str
    fields: Mapping[str, FactField]
    named_by: tuple[str, ...] = ()
    """For list items: the facts that name one item in an explanation, the first shown and
    the others in brackets (a contact is "Dana Kim (C042)"), so that a report can say which
    contacts a check failed for instead of only that it failed."""

    def describe(self) -> str:
        return self.name


@dataclass(frozen=True, slots=True)
class ListType:
    """A list of records, read only through aggregates (``count(contacts, ...)``)."""

    item: RecordType

    def describe(self) -> str:
        return f"list of {self.item.name}"


FactType = ScalarType | CategoryType | RecordType | ListType

NUMBER = ScalarType("number")
INTEGER = ScalarType("integer")
TEXT = ScalarType("text")
BOOLEAN = ScalarType("boolean")
DATE = ScalarType("date")


@dataclass(frozen=True, slots=True)
class FactField:
    """One named fact: its type, whether a record may omit it, and where it comes from.

    ``required`` fields are never ``None`` at evaluation time (validation guarantees it), so
    the expression compiler can skip missing-value handling for them. ``column`` names the
    CRM export column the fact is read from when it differs from the fact's own name.
    ``minimum``/``maximum`` bound numbers at validation time.
    """

    name: str
    type: FactType
    description: str = ""
    required: bool = False
    column: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    custom: bool = False
    derived: bool = False
    """Computed by the engine from the rulebook's definitions (a contact's ``key_player``),
    never read from input: a CRM cannot contradict the policy's own definition."""
    past: bool = False
    """A date of something that has happened (a review, a contact); a value after the as-of
    date is an error in the record, not a very fresh review."""
    extra: Mapping[str, object] = field(default_factory=dict)
