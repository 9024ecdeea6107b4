"""CRM events the account monitor takes in, as pydantic models with a published JSON Schema.

An event says what changed in the CRM, for which account, when in business time and from
which system. Each carries an id: the monitor acts on an id once, so a CRM that delivers
twice (every webhook does, sooner or later) raises no alert twice.

This module needs only pydantic: ``kamrules schema --events`` and the service can publish
and check events without the ``reactive`` extra.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError, field_validator

from kamrules.suggestions import did_you_mean

EventId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(description="Unique per event; a second event with the same id is ignored (idempotency)."),
]
AccountId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(description="The account's id in the CRM (the `id` fact)."),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
StageName = Literal["pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation"]

RESERVED_ACCOUNT_FACTS = frozenset({"id", "plan", "contacts", "stage"})
"""Facts an ``account.updated`` patch may not set: each has an event of its own, so that a
stage change goes through the stage statechart and a contact's departure is seen as one."""


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: EventId
    occurred_at: dt.datetime = Field(
        description="When it happened in the CRM (ISO 8601; a bare date is midnight). Its date is business time."
    )
    source: Text = Field(description="The system that sent the event, e.g. salesforce-cdc or hubspot.")

    @property
    def business_date(self) -> dt.date:
        return self.occurred_at.date()


class _AccountEvent(_Event):
    account_id: AccountId


class AccountUpdated(_AccountEvent):
    """A patch of account facts: each key sets a fact, a null removes it."""

    type: Literal["account.updated"]
    facts: dict[str, Any] = Field(min_length=1, description="Account facts to set; null removes a fact.")

    @field_validator("facts")
    @classmethod
    def _no_reserved(cls, facts: dict[str, Any]) -> dict[str, Any]:
        reserved = sorted(RESERVED_ACCOUNT_FACTS & set(facts))
        if reserved:
            raise ValueError(
                f"{', '.join(reserved)} cannot be patched here: use plan.updated, contact.* or stage.changed"
            )
        return facts


class PlanUpdated(_AccountEvent):
    """A patch of the account plan's facts (a plan is created by its first patch)."""

    type: Literal["plan.updated"]
    plan: dict[str, Any] = Field(min_length=1, description="Plan facts to set; null removes a fact.")


class PlanReviewed(_AccountEvent):
    """A review of the plan took place: appended to the plan's review log."""

    type: Literal["plan.reviewed"]
    kind: Literal["mentor", "team", "joint"]
    date: dt.date = Field(description="The day of the review.")
    reviewer: Text | None = None
    version: int | None = Field(default=None, ge=1, description="The plan version reviewed.")


class ContactAdded(_AccountEvent):
    """A new contact in the relationship map (its facts as in `kamrules facts`)."""

    type: Literal["contact.added"]
    contact: dict[str, Any] = Field(description="The contact's facts; `id` is required.")

    @field_validator("contact")
    @classmethod
    def _has_id(cls, contact: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(contact.get("id"), str) or not contact["id"].strip():
            raise ValueError("the contact needs its `id` (text)")
        return contact


class ContactUpdated(_AccountEvent):
    """A patch of one contact's facts."""

    type: Literal["contact.updated"]
    contact_id: Text
    changes: dict[str, Any] = Field(min_length=1, description="Contact facts to set; null removes a fact.")

    @field_validator("changes")
    @classmethod
    def _not_id(cls, changes: dict[str, Any]) -> dict[str, Any]:
        if "id" in changes:
            raise ValueError("a contact's `id` cannot change: remove it with contact.left and add the new one")
        return changes


class ContactLeft(_AccountEvent):
    """A contact left the customer (or the relationship): removed from the map."""

    type: Literal["contact.left"]
    contact_id: Text


class MeetingLogged(_AccountEvent):
    """Our team met contacts: their `last_contacted` (and the relationships' `last_contact`) move."""

    type: Literal["meeting.logged"]
    date: dt.date
    contact_ids: list[Text] = Field(min_length=1)
    member: Text | None = Field(default=None, description="Our team member who met them.")


class StageChanged(_AccountEvent):
    """The relationship moved to another stage."""

    type: Literal["stage.changed"]
    to: StageName


class OverrideGranted(_AccountEvent):
    """A policy owner pinned the account's tier until an expiry date."""

    type: Literal["override.granted"]
    tier: Text
    reason: Text
    approver: Text
    expires: dt.date = Field(description="The last day the override applies.")


class OverrideRevoked(_AccountEvent):
    """The override ends now; the rules decide again."""

    type: Literal["override.revoked"]
    reason: Text | None = None


class ClockTick(_Event):
    """Business time moved on: accounts whose reviews or overrides fall due are re-decided.

    The only event without an account: the monitor's clock is the portfolio's."""

    type: Literal["clock.tick"]
    date: dt.date = Field(description="The business date now.")

    @property
    def business_date(self) -> dt.date:
        return self.date


Event = Annotated[
    AccountUpdated
    | PlanUpdated
    | PlanReviewed
    | ContactAdded
    | ContactUpdated
    | ContactLeft
    | MeetingLogged
    | StageChanged
    | OverrideGranted
    | OverrideRevoked
    | ClockTick,
    Field(discriminator="type"),
]
AccountEvent = (
    AccountUpdated
    | PlanUpdated
    | PlanReviewed
    | ContactAdded
    | ContactUpdated
    | ContactLeft
    | MeetingLogged
    | StageChanged
    | OverrideGranted
    | OverrideRevoked
)
EVENT_TYPES = (
    "account.updated",
    "plan.updated",
    "plan.reviewed",
    "contact.added",
    "contact.updated",
    "contact.left",
    "meeting.logged",
    "stage.changed",
    "override.granted",
    "override.revoked",
    "clock.tick",
)

_ADAPTER: TypeAdapter[Event] = TypeAdapter(Event)


def events_json_schema() -> dict[str, Any]:
    """The JSON Schema of one event (any type), for integrators and their validators."""
    document = _ADAPTER.json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "kamrules CRM event"
    return document


@dataclass(frozen=True, slots=True)
class RefusedEvent:
    """An event the monitor could not take, with what to fix; the stream goes on."""

    event_id: str | None
    line: int | None
    problems: tuple[tuple[str, str], ...]
    """(field, message) pairs."""

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        who = f"event '{self.event_id}'" if self.event_id else "event without an id"
        details = "; ".join(f"{field}: {message}" if field else message for field, message in self.problems)
        return f"{where}{who} refused: {details}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "refused_event",
            "event_id": self.event_id,
            "line": self.line,
            "errors": [{"field": f, "message": m} for f, m in self.problems],
            "message": str(self),
        }


def parse_event(data: Any, line: int | None = None) -> Event | RefusedEvent:
    """An event from decoded JSON, or a refusal naming the event id and each bad field."""
    event_id = data.get("id") if isinstance(data, dict) else None
    event_id = event_id if isinstance(event_id, str) else None
    if not isinstance(data, dict):
        return RefusedEvent(None, line, (("", f"an event is a JSON object, not {type(data).__name__}"),))
    kind = data.get("type")
    if kind not in EVENT_TYPES:
        hint = did_you_mean(str(kind), EVENT_TYPES) if isinstance(kind, str) else None
        message = "missing" if kind is None else f"'{kind}' is not an event type"
        message += f" ({hint})" if hint else f"; one of {', '.join(EVENT_TYPES)}"
        return RefusedEvent(event_id, line, (("type", message),))
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            location = [str(part) for part in error["loc"][1:]]  # [0] is the event type
            message = error["msg"].removeprefix("Value error, ")
            if error["type"] == "extra_forbidden":
                message = f"unknown field for {kind}"
            elif error["type"] == "missing":
                message = f"required by {kind}"
            problems.append((".".join(location), message))
        return RefusedEvent(event_id, line, tuple(problems))


def parse_event_line(text: str, line: int | None = None) -> Event | RefusedEvent | None:
    """One line of a JSON Lines stream: an event, a refusal, or None for a blank line."""
    stripped = text.strip()
    if not stripped:
        return None
    try:
        data = json.loads(stripped)
    except json.JSONDecodeError as exc:
        return RefusedEvent(None, line, (("", f"not JSON: {exc.msg} at column {exc.colno}"),))
    return parse_event(data, line)


def events_for_record(record: dict[str, Any], occurred_at: str, source: str, prefix: str) -> list[dict[str, Any]]:
    """The events that bring the monitor to a CRM record it has not seen (a first load):
    the account's facts, its plan, each contact and its stage. Ids are ``<prefix>-<n>``."""
    account_id = str(record["id"])
    common = {"account_id": account_id, "occurred_at": occurred_at, "source": source}
    events: list[dict[str, Any]] = []

    def add(kind: str, **body: Any) -> None:
        events.append({"id": f"{prefix}-{len(events) + 1}", "type": kind, **common, **body})

    facts = {k: v for k, v in record.items() if k not in RESERVED_ACCOUNT_FACTS and v is not None}
    if facts:
        add("account.updated", facts=facts)
    if isinstance(record.get("plan"), dict) and record["plan"]:
        add("plan.updated", plan=record["plan"])
    for contact in record.get("contacts") or []:
        add("contact.added", contact=contact)
    if record.get("stage") is not None:  # "contract negotiation", as people write it, is contract_negotiation
        add("stage.changed", to="_".join(str(record["stage"]).lower().split()))
    return events
