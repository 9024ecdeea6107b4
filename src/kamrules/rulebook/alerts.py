"""The rulebook's ``alerts:`` section: which changes the account monitor reports, how loud,
to whom, and with which lead times. Policy, like the rest of the rulebook: a policy owner
turns an alert on by listing it, and the rulebook's hash changes with it.

The model checks each entry's shape; :func:`check_alerts` checks what needs the whole
rulebook (tiers and plan checks that exist, notify facts that are text), with file:line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from kamrules.suggestions import did_you_mean

if TYPE_CHECKING:
    from kamrules.facts.schema import FactSchema
    from kamrules.rulebook.model import RulebookSpec
    from kamrules.rulebook.semantics import _Checker

AlertKind = Literal[
    "tier_changed",
    "segment_changed",
    "plan_check_failing",
    "plan_check_passing",
    "review_due_soon",
    "review_overdue",
    "review_escalated",
    "key_player_left",
    "map_status_dropped",
    "single_threaded",
    "override_expiring",
    "override_expired",
    "illegal_stage_transition",
]
ALERT_KINDS: tuple[str, ...] = AlertKind.__args__  # type: ignore[attr-defined]

AlertSeverity = Literal["critical", "warning", "info"]
_Stage = Literal["pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation"]
_Tier = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
_Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]

_USES = {
    "lead_days": ("review_due_soon", "override_expiring"),
    "after_days": ("review_escalated",),
    "checks": ("plan_check_failing", "plan_check_passing", "review_due_soon", "review_overdue", "review_escalated"),
    "regressions": ("illegal_stage_transition",),
}


class AlertRule(BaseModel):
    """One kind of alert, turned on. Kinds not listed are off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: AlertKind
    severity: AlertSeverity
    notify: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1,
        description="Who is told: text facts such as plan.owner or account.account_manager, or a role in words.",
    )
    title: str | None = Field(default=None, description="The alert's headline (default: one per kind).")
    lead_days: int | dict[_Tier, Annotated[int, Field(ge=0, le=3660)]] | None = Field(
        default=None,
        description="review_due_soon, override_expiring: how many days ahead to warn, one number or per tier.",
    )
    after_days: int | None = Field(
        default=None, ge=1, le=3660, description="review_escalated: days overdue before the review escalates."
    )
    checks: list[_Id] | None = Field(
        default=None,
        description="plan_check_* (default: every check) and review_* (default: every `fresh` check): which ones.",
    )
    regressions: list[tuple[_Stage, _Stage]] | None = Field(
        default=None,
        description="illegal_stage_transition: backward moves that are allowed, as [from, to] pairs.",
    )

    @model_validator(mode="after")
    def _fields_of_kind(self) -> AlertRule:
        for name, kinds in _USES.items():
            if getattr(self, name) is not None and self.kind not in kinds:
                raise ValueError(f"`{name}` applies only to {', '.join(kinds)}, not to {self.kind}")
        if self.kind in ("review_due_soon", "override_expiring") and self.lead_days is None:
            raise ValueError(f"{self.kind} needs `lead_days`: how many days ahead to warn")
        if isinstance(self.lead_days, int) and not 0 <= self.lead_days <= 3660:
            raise ValueError("`lead_days` must be between 0 and 3660")
        if self.kind == "review_escalated" and self.after_days is None:
            raise ValueError("review_escalated needs `after_days`: how long overdue before it escalates")
        for old, new in self.regressions or []:
            order = _Stage.__args__  # type: ignore[attr-defined]
            if order.index(new) >= order.index(old):
                raise ValueError(f"[{old}, {new}] is not a regression: {new} does not come before {old}")
        return self


def check_alerts(c: _Checker, spec: RulebookSpec, schema: FactSchema) -> None:
    """Cross-references of the alerts section, each reported at its place in the file."""
    from kamrules.facts.types import TEXT

    seen: dict[str, int] = {}
    tiers = [t.name for t in spec.tiers]
    checks = [p.id for p in spec.plan_checks]
    fresh = {p.id for p in spec.plan_checks if p.fresh is not None}
    for i, rule in enumerate(spec.alerts):
        path: tuple[str | int, ...] = ("alerts", i)
        if rule.kind in seen:
            c.problem((*path, "kind"), f"the alert {rule.kind} is listed twice (first as alert {seen[rule.kind] + 1})")
        seen.setdefault(rule.kind, i)
        if isinstance(rule.lead_days, dict):
            for tier in rule.lead_days:
                if tier not in tiers:
                    c.problem(
                        (*path, "lead_days", tier),
                        f"alert {rule.kind}: there is no tier '{tier}'",
                        did_you_mean(tier, tiers),
                        key=True,
                    )
        for k, check in enumerate(rule.checks or []):
            if check not in checks:
                c.problem(
                    (*path, "checks", k),
                    f"alert {rule.kind}: there is no plan check '{check}'",
                    did_you_mean(check, checks),
                )
            elif rule.kind.startswith("review_") and check not in fresh:
                c.problem(
                    (*path, "checks", k),
                    f"alert {rule.kind}: plan check '{check}' has no `fresh:` date, so it has no review to be due",
                )
        for k, target in enumerate(rule.notify):
            if "." not in target:
                continue  # a role in words
            compiled = c.compile(
                (*path, "notify", k), target, schema, f"alert {rule.kind} `notify`", expect="any", allow_scores=False
            )
            if compiled is not None and compiled.type != TEXT:
                c.problem(
                    (*path, "notify", k),
                    f"alert {rule.kind}: `notify` must name a text fact such as plan.owner, "
                    f"but {target} is {compiled.type.describe()}",
                )
