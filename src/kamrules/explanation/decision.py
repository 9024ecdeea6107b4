"""Decisions as data: the typed result of evaluating one account, with its whole reason.

Everything a person or a program reads about a decision is in these models; the text,
Markdown and JSON renderings (``render``) only present them. The explanation is complete
enough to recompute the score by hand: each criterion carries its fact value, the band or
rule that matched, its points and weight, and each scorecard its exact weighted sum.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

Number = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
"""Exact decimals inside Python; plain JSON numbers outside, because CRM systems and
spreadsheets read numbers, not strings of digits."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class RulebookRef(_Model):
    """Which policy made the decision: enough to find and verify the exact rulebook."""

    id: str
    version: str
    content_hash: str


class ProfileRef(_Model):
    """Which CRM profile read the account's facts. A profile is data mapping, not policy: it is
    named beside the rulebook, never inside its content hash, so one policy keeps one hash
    whichever CRM it reads."""

    name: str
    content_hash: str


class CapacityApplied(_Model):
    """Whether tier capacity shaped this decision, and against which portfolio placement.

    Capacity is a property of a portfolio: an account decided alone cannot know whether the
    tier is full. So a decision of a rulebook with capacities says either which placement it
    was placed against (a batch run, or a placement saved by one) or that capacity was not
    applied, rather than silently deciding as if the tier had room."""

    applied: bool
    placement: str | None = None
    """The placement the account was placed against (its run id), when not the batch itself."""
    note: str


class CriterionResult(_Model):
    id: str
    title: str | None
    method: Literal["bands", "scale", "map", "boolean", "expression"]
    fact: str | None
    value: Any
    evidence: dict[str, Any] | None = None
    matched: str
    points: Number
    weight: Number
    contribution: Number
    missing: bool = False
    dropped: bool = False


class ScorecardResult(_Model):
    id: str
    title: str | None
    score: Number
    weighted_points: Number
    total_weight: Number
    criteria: list[CriterionResult]


class GateResult(_Model):
    id: str
    title: str | None
    effect: Literal["exclude", "cap"]
    at_most: str | None
    applied: bool
    unknown: bool
    evidence: dict[str, Any]
    reason: str
    note: str


class TierCheck(_Model):
    """One test of one tier: a minimum score, a requirement or a gate."""

    kind: Literal["min_score", "requirement", "gate", "segment"]
    test: str
    segment: str | None = None
    passed: bool
    actual: Any = None
    note: str | None = None


class TierTest(_Model):
    tier: str
    eligible: bool
    checks: list[TierCheck]


class ItemsAtFault(_Model):
    """The items of one list that made a failed check false: those failing its ``all(...)``,
    or matching its ``none(...)`` or its ``not any(...)``, so a report says which contacts,
    sign-offs or metrics to act on."""

    condition: str
    """The aggregate, as in the check's evidence."""
    items_of: str
    """The list (``contacts``, ``plan.sign_offs``)."""
    total: int
    """How many items the list has."""
    count: int
    """How many of them are at fault."""
    names: list[str]
    """The first ten at fault, in list order, named by their own facts (name, id, ...)."""

    def described(self) -> str:
        """"2 of 40 contacts: Ana Ruiz (id C1), Bo Lind (id C7)", with "and N more" past ten."""
        more = self.count - len(self.names)
        names = ", ".join(self.names) + (f" and {more:,} more" if more > 0 else "")
        return f"{self.count:,} of {self.total:,} {self.items_of}: {names}"


class PlanCheckResult(_Model):
    """One plan check for one account: whether it applies, holds, and what to do."""

    id: str
    title: str
    area: str | None
    severity: Literal["blocker", "major", "minor"]
    applies: bool
    passed: bool
    unknown: bool
    evidence: dict[str, Any]
    note: str
    remediation: str | None = None
    owner: str | None = None
    due: dt.date | None = None
    overdue_days: int | None = None
    at_fault: list[ItemsAtFault] = Field(default_factory=list)
    """For a failed check: which items of a list made it fail."""


class Compliance(_Model):
    """Whether the account plan is complete and current for the account's stage and tier."""

    status: Literal["compliant", "at_risk", "non_compliant", "not_applicable"]
    score: Number | None
    stage: str | None
    map_status: int
    map_status_label: str
    failed: dict[str, int]
    next_due: dt.date | None
    checks: list[PlanCheckResult]
    missing_facts: list[str] = Field(default_factory=list)
    """Facts the plan checks needed and did not find (the selection's own are on the decision)."""


class PlacementStep(_Model):
    """A step that moved the account away from the tier the rules alone give."""

    kind: Literal["stability", "override", "capacity"]
    note: str


class Decision(_Model):
    """The outcome for one account: score, tier, segment, and why."""

    kind: Literal["decision"] = "decision"
    account_id: str
    account_name: str | None
    as_of: dt.date
    tier: str
    tier_rank: int
    key_account: bool
    excluded: bool = False
    """An ``exclude`` gate applies: the account gets no key-account tier (``tier`` is then the
    rulebook's excluded outcome when it declares one, else its first non-key tier)."""
    segment: str | None
    summary: str
    tier_by_rules: str
    placement: list[PlacementStep] = Field(default_factory=list)
    capacity: CapacityApplied | None = None
    """None when the rulebook's tiers have no capacity."""
    scores: dict[str, ScorecardResult]
    gates: list[GateResult]
    tier_tests: list[TierTest]
    segment_tests: list[TierCheck]
    compliance: Compliance | None = None
    missing_facts: list[str]
    rulebook: RulebookRef
    profile: ProfileRef | None = None
    """The CRM profile that read the facts, when one was used."""
    kamrules_version: str


class FieldError(_Model):
    field: str
    message: str
    value: Any = None


class AccountError(_Model):
    """An account that could not be decided; batches record it and go on."""

    kind: Literal["error"] = "error"
    record: int
    line: int | None = None
    account_id: str | None
    errors: list[FieldError]
    message: str
