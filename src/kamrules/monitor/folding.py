"""Folding an event into an account's facts: a new record, the old one left untouched.

Facts are kept as a CRM record would hold them (JSON values, dates as ISO text), so the
folded record of an account can be written out and decided by a fresh ``Engine`` exactly as
the monitor decided it. Each fold returns the facts it changed, which become the
"facts that moved it" of an alert. Copies are shallow and only along the path that
changed: an event costs the size of what it touches, not of the account.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from kamrules.monitor.events import (
    AccountEvent,
    AccountUpdated,
    ContactAdded,
    ContactLeft,
    ContactUpdated,
    MeetingLogged,
    OverrideGranted,
    OverrideRevoked,
    PlanReviewed,
    PlanUpdated,
    StageChanged,
)

Facts = dict[str, Any]
Change = tuple[str, Any, Any]
"""(fact path, value before, value after)."""


class FoldError(ValueError):
    """The event does not fit the account as the monitor knows it (field, message)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def _patch(base: Mapping[str, Any], patch: Mapping[str, Any], prefix: str) -> tuple[Facts, list[Change]]:
    new = dict(base)
    changes: list[Change] = []
    for key, value in patch.items():
        before = base.get(key)
        if value is None:
            new.pop(key, None)
        else:
            new[key] = value
        if before != value:
            changes.append((prefix + key, before, value))
    return new, changes


def _not_after(day: dt.date, event: AccountEvent, field: str) -> None:
    if day > event.business_date:
        raise FoldError(field, f"{day.isoformat()} is after the event's own date {event.business_date.isoformat()}")


def _contacts(facts: Facts) -> list[dict[str, Any]]:
    contacts = facts.get("contacts")
    return list(contacts) if isinstance(contacts, list) else []


def _find(contacts: list[dict[str, Any]], contact_id: str) -> int:
    for i, contact in enumerate(contacts):
        if isinstance(contact, Mapping) and contact.get("id") == contact_id:
            return i
    return -1


def fold_patch(facts: Facts, patch: Mapping[str, Any]) -> tuple[Facts, list[Change]]:
    """An ``account.updated`` patch read through a CRM profile: account facts, and plan
    facts (a profile column can give ``plan.last_reviewed``) merged into the plan."""
    patch = dict(patch)
    plan_part = patch.pop("plan", None)
    new, changes = _patch(facts, patch, "")
    if isinstance(plan_part, Mapping) and plan_part:
        plan, more = _patch(facts.get("plan") or {}, plan_part, "plan.")
        new["plan"] = plan
        changes += more
    return new, changes


def fold(facts: Facts, event: AccountEvent, renames: Mapping[str, str]) -> tuple[Facts, list[Change]]:
    """The account's facts after ``event``, and what changed; raises :class:`FoldError`."""
    changes: list[Change]
    if isinstance(event, AccountUpdated):
        patch = {renames.get(k, k): v for k, v in event.facts.items()}
        return _patch(facts, patch, "")
    if isinstance(event, PlanUpdated):
        plan, changes = _patch(facts.get("plan") or {}, event.plan, "plan.")
        return {**facts, "plan": plan}, changes
    if isinstance(event, PlanReviewed):
        _not_after(event.date, event, "date")
        plan = dict(facts.get("plan") or {})
        review: dict[str, Any] = {"date": event.date.isoformat(), "kind": event.kind}
        if event.reviewer is not None:
            review["reviewer"] = event.reviewer
        if event.version is not None:
            review["version"] = event.version
        reviews = list(plan.get("reviews") or [])
        if review in reviews:  # the same review delivered twice
            return facts, []
        plan["reviews"] = [*reviews, review]
        changes = [(f"plan.reviews ({event.kind})", None, event.date.isoformat())]
        if event.kind == "mentor":
            before = plan.get("last_reviewed")
            if before is None or str(before) < event.date.isoformat():
                plan["last_reviewed"] = event.date.isoformat()
                changes.append(("plan.last_reviewed", before, event.date.isoformat()))
        return {**facts, "plan": plan}, changes
    if isinstance(event, ContactAdded):
        contacts = _contacts(facts)
        contact_id = event.contact["id"]
        if _find(contacts, contact_id) >= 0:
            raise FoldError("contact.id", f"the account already has a contact '{contact_id}'; use contact.updated")
        return {**facts, "contacts": [*contacts, dict(event.contact)]}, [(f"contacts[{contact_id}]", None, "added")]
    if isinstance(event, ContactUpdated):
        contacts = _contacts(facts)
        i = _find(contacts, event.contact_id)
        if i < 0:
            raise FoldError("contact_id", f"the account has no contact '{event.contact_id}'")
        contacts[i], changed = _patch(contacts[i], event.changes, f"contacts[{event.contact_id}].")
        return {**facts, "contacts": contacts}, changed
    if isinstance(event, ContactLeft):
        contacts = _contacts(facts)
        i = _find(contacts, event.contact_id)
        if i < 0:
            raise FoldError("contact_id", f"the account has no contact '{event.contact_id}'")
        del contacts[i]
        new = {**facts, "contacts": contacts}
        relationships = facts.get("relationships")
        if isinstance(relationships, list):  # a relationship with someone who left has ended
            new["relationships"] = [
                r for r in relationships if not (isinstance(r, Mapping) and r.get("contact") == event.contact_id)
            ]
        return new, [(f"contacts[{event.contact_id}]", "mapped", "left")]
    if isinstance(event, MeetingLogged):
        _not_after(event.date, event, "date")
        contacts = _contacts(facts)
        day = event.date.isoformat()
        changes = []
        for contact_id in event.contact_ids:
            i = _find(contacts, contact_id)
            if i < 0:
                raise FoldError("contact_ids", f"the account has no contact '{contact_id}'")
            before = contacts[i].get("last_contacted")
            if before is None or str(before) < day:
                contacts[i] = {**contacts[i], "last_contacted": day}
                changes.append((f"contacts[{contact_id}].last_contacted", before, day))
        new = {**facts, "contacts": contacts}
        relationships = facts.get("relationships")
        if event.member is not None and isinstance(relationships, list):
            met = set(event.contact_ids)
            new["relationships"] = [
                {**r, "last_contact": day}
                if isinstance(r, Mapping)
                and r.get("member") == event.member
                and r.get("contact") in met
                and (r.get("last_contact") is None or str(r["last_contact"]) < day)
                else r
                for r in relationships
            ]
        return new, changes
    if isinstance(event, StageChanged):
        before = facts.get("stage")
        return {**facts, "stage": event.to}, ([("stage", before, event.to)] if before != event.to else [])
    if isinstance(event, OverrideGranted):
        return _patch(
            facts,
            {
                "override_tier": event.tier,
                "override_reason": event.reason,
                "override_approver": event.approver,
                "override_expires": event.expires.isoformat(),
            },
            "",
        )
    if isinstance(event, OverrideRevoked):
        return _patch(
            facts,
            {"override_tier": None, "override_reason": None, "override_approver": None, "override_expires": None},
            "",
        )
    raise AssertionError(f"no fold for {type(event).__name__}")


__all__ = ["Change", "Facts", "FoldError", "fold", "fold_patch"]
