"""What a CRM profile file says, as pydantic models: read once, checked, then bound to a schema.

A profile is data mapping, not policy. It says where a CRM export keeps each fact and how
the CRM writes it (picklist labels, dates, numbers), so that the rulebook stays the same
whichever CRM feeds it. Every conversion is declared: a profile never guesses a date order
or a decimal separator, and a value it cannot map is reported, not passed on as a guess.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Match = Literal["exact", "insensitive"]
"""How text is matched against a value map's keys and a category's values: ``exact``, or
ignoring case, spaces, underscores and hyphens (``Key Account`` matches ``key_account``)."""

Scale = Literal["0-1", "0-100"]

Scalar = str | bool | int | float


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NumberFormat(_Spec):
    """How the CRM writes a number: ``1.234.567,50 €`` is ``thousands: "."``, ``decimal: ","``,
    ``currency: ["€"]``. Currency text is removed only where declared here."""

    thousands: str | None = None
    decimal: str = "."
    currency: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _distinct(self) -> NumberFormat:
        if self.thousands is not None and self.thousands == self.decimal:
            raise ValueError(f"the thousands separator and the decimal mark are both '{self.decimal}'")
        if len(self.decimal) != 1:
            raise ValueError(f"the decimal mark must be one character, got '{self.decimal}'")
        return self


class ColumnSpec(_Spec):
    """One export column read into one fact, and how its values are converted."""

    fact: str
    values: dict[str, Scalar] | None = None
    """Value map: the CRM's value (a picklist label) to the fact's value."""
    match: Match | None = None
    """Overrides the profile's ``match`` for this column."""
    unmapped: Literal["error", "keep"] = "error"
    """With a value map: a value it does not map is an error of the record (``error``), or is
    passed on unchanged for the rulebook's own validation (``keep``, for free text)."""
    date: list[str] | None = None
    """Date formats, tried in order: ``iso`` (a date or a date-time, whose date is taken as
    written), ``epoch_ms`` (milliseconds since 1970-01-01 UTC) or a strptime format such as
    ``%d/%m/%Y``."""
    number: NumberFormat | None = None
    optional: bool = False
    """For a rulebook's own (custom) fact: a rulebook without that fact leaves the column
    unread instead of refusing the profile, so one profile serves several rulebooks."""
    percent: Scale | None = None
    """The scale the CRM gives a percentage in; the fact's scale comes from its maximum (1 for
    a 0-1 fact, else 0-100). A trailing ``%`` is removed."""

    @field_validator("values", mode="before")
    @classmethod
    def _text_keys(cls, value: object) -> object:
        """Option-set codes (``100000000: low``) are keys as written; YAML's yes/no/on/off
        are not, since a CRM label ``Yes`` would silently become ``true``."""
        if not isinstance(value, dict):
            return value
        keys: dict[object, object] = {}
        for key, mapped in value.items():
            if isinstance(key, bool):
                raise ValueError(f"the key {key} is read by YAML as true/false: put the CRM's label in quotes")
            keys[str(key) if isinstance(key, int | float) else key] = mapped
        return keys

    @field_validator("date", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value

    @field_validator("date")
    @classmethod
    def _formats(cls, value: list[str] | None) -> list[str] | None:
        for fmt in value or []:
            if fmt not in ("iso", "epoch_ms") and "%" not in fmt:
                raise ValueError(f"'{fmt}' is not a date format: use iso, epoch_ms or a format such as %d/%m/%Y")
        return value

    @model_validator(mode="after")
    def _one_conversion(self) -> ColumnSpec:
        if self.date is not None and (self.number is not None or self.percent is not None):
            raise ValueError(f"column for '{self.fact}' declares both a date and a number format")
        return self


class RecordSpec(_Spec):
    """A nested record or list of records (the plan, contacts, team, ...): where the export
    holds it and how the fields of each item are named there."""

    column: str | None = None
    """The export column holding the record or list (a JSON object or array, or JSON text in
    a CSV cell); default: the fact's own name."""
    fields: dict[str, str | ColumnSpec] = Field(default_factory=dict)
    records: dict[str, RecordSpec] = Field(default_factory=dict)
    keep_unmapped: bool = True
    """Whether item keys the profile does not map are passed on under their own name."""


class ProfileSpec(_Spec):
    """A whole profile file."""

    profile: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    title: str | None = None
    description: str | None = None
    match: Match = "exact"
    missing_values: list[str] = Field(default_factory=list)
    """Cell texts that mean "no value" in this CRM (``N/A``, ``-``); an empty cell always does."""
    columns: dict[str, str | ColumnSpec] = Field(default_factory=dict)
    records: dict[str, RecordSpec] = Field(default_factory=dict)
