"""The API's own response models, built from the library's: the OpenAPI document is
generated from these and from :class:`~kamrules.explanation.decision.Decision` itself."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kamrules.explanation.decision import AccountError, Decision, ProfileRef, RulebookRef


class BatchSummary(BaseModel):
    records: int
    decided: int
    errors: int


class DecisionBatch(BaseModel):
    """A list of accounts decided: ``decisions`` + ``errors`` always account for every record;
    each decision is byte for byte the line ``kamrules evaluate --format jsonl`` writes."""

    as_of: dt.date
    rulebook: RulebookRef
    decisions: list[Decision]
    errors: list[AccountError]
    decision_ids: list[int] | None = Field(
        None, description="The register's id of each decision, in order (when a register is kept)."
    )
    summary: BatchSummary


class CrmDecision(BaseModel):
    """``?shape=crm``: one flat object a Flow or a webhook action maps field by field.

    Besides these fields there is one ``score_<scorecard>`` number per scorecard."""

    model_config = ConfigDict(extra="allow")

    account_id: str
    account_name: str | None
    tier: str
    tier_rank: int
    key_account: bool
    segment: str | None
    score: float = Field(description="The primary scorecard's score, 0-100.")
    compliance_status: str | None
    why: str = Field(description="One line: the tier and why not the tier above.")
    capacity_applied: bool | None
    rulebook_id: str
    rulebook_version: str
    rulebook_hash: str
    as_of: dt.date
    decision_id: int | None


class CrmBatch(BaseModel):
    as_of: dt.date
    rulebook_hash: str
    decisions: list[CrmDecision]
    errors: list[AccountError]
    summary: BatchSummary


class Problem(BaseModel):
    file: str | None
    line: int | None
    column: int | None
    at: str | None = Field(description="file:line:column")
    message: str


class ReloadErrorInfo(BaseModel):
    at: dt.datetime
    message: str
    problems: list[Problem]


class RulebookInfo(BaseModel):
    id: str
    version: str
    content_hash: str
    rulebook_hash: str
    loaded_at: dt.datetime
    files: list[str]
    tiers: list[str]
    placement: str | None = Field(None, description="The portfolio placement single accounts are placed against.")
    profile: ProfileRef | None = Field(None, description="The CRM profile posted records are read through (--crm).")
    last_reload_error: ReloadErrorInfo | None


class ReloadResult(BaseModel):
    reloaded: bool
    changed: bool
    rulebook: RulebookInfo


class ErrorBody(BaseModel):
    error: str = Field(description="A stable code: unauthorized, too_large, too_many_records, invalid_json, ...")
    message: str
    rulebook_hash: str
    request_id: str | None = None
    errors: list[AccountError] | None = None
    problems: list[Problem] | None = None


class HistoryItem(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    account_id: str
    as_of: dt.date
    decided_at: dt.datetime
    tier: str
    tier_changed: bool
    moved_by: list[str]


class History(BaseModel):
    account_id: str
    rulebook_hash: str
    decisions: list[HistoryItem]


class Explained(BaseModel):
    decision: Decision
    what_it_takes: dict[str, Any] | None = Field(
        None, description="With ?to=TIER: the smallest verified fact changes to reach that tier, and as text."
    )
    rulebook_hash: str


class PlanCheck(BaseModel):
    plan: dict[str, Any] = Field(description="The plan's compliance, as `kamrules check-plan --format json`.")
    actions: list[dict[str, Any]] = Field(description="What is missing, who acts and by when.")
    rulebook_hash: str


class _Batch(BaseModel):
    as_of: dt.date
    rulebook_hash: str
    errors: list[AccountError] = Field(description="One per record that could not be decided.")
    decision_ids: list[int] | None = Field(
        None, description="The register's id of each decision, in order (when a register is kept)."
    )
    summary: BatchSummary


class ExplainedBatch(_Batch):
    """A list of accounts explained: a result per decided account (results + errors == records)."""

    results: list[Explained]


class PlanCheckBatch(_Batch):
    """A list of accounts' plan checks: a result per decided account (results + errors == records)."""

    results: list[PlanCheck]


class Health(BaseModel):
    status: str
    rulebook_hash: str
    register_status: str | None = None
