"""Account-plan compliance: which plan checks apply to an account, and which hold.

A check applies by the account's relationship stage and tier (by default every key-account
tier); what it requires is either a condition or a freshness rule ("reviewed within 60
days"), measured from the as-of date. Like the selection engine, the hot path returns
tuples; the explained :class:`~kamrules.explanation.decision.Compliance` model is built
when read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kamrules.evaluation.exact import round_ratio, shown
from kamrules.explanation.decision import Compliance, ItemsAtFault
from kamrules.explanation.render import show_value
from kamrules.expressions import CompiledExpression
from kamrules.facts.schema import STAGES
from kamrules.facts.types import RecordType
from kamrules.rulebook.model import PlanCheck
from kamrules.rulebook.semantics import Rulebook

SEVERITY_WEIGHT = {"blocker": 3, "major": 2, "minor": 1}
"""Weights of the compliance score: the share of applicable check weight that passes."""

MAP_STATUS = (
    "no contacts mapped",
    "contacts mapped, but no key players",
    "key players mapped, but none supportive",
    "a supportive key player",
)

# Why a check does not apply (row kind); APPLIES means it was evaluated.
APPLIES, OTHER_TIER, OTHER_STAGE, STAGE_UNKNOWN = 0, 1, 2, 3

# (kind, passed (True/False/None unknown), condition value, evidence). The due date and the
# owner are only shown, so they are computed when the explained model is built.
CheckRow = tuple[int, bool | None, Any, tuple[Any, ...]]
NOT_EVALUATED: dict[int, CheckRow] = {kind: (kind, None, None, ()) for kind in (1, 2, 3)}


@dataclass(frozen=True, slots=True)
class CompiledCheck:
    spec: PlanCheck
    stages: frozenset[str] | None
    tiers: frozenset[int]
    condition: CompiledExpression
    within_days: int | None
    due: CompiledExpression | None
    owner: CompiledExpression | None
    weight: int

    def applicability(self) -> str:
        """Where the check applies, in words, for explanations and reports."""
        spec = self.spec
        if spec.stages:
            return "at stages " + ", ".join(_words(s) for s in spec.stages)
        if spec.from_stage and spec.to_stage:
            return f"from {_words(spec.from_stage)} to {_words(spec.to_stage)}"
        if spec.from_stage:
            return f"from {_words(spec.from_stage)} on"
        if spec.to_stage:
            return f"up to and including {_words(spec.to_stage)}"
        return "at every stage"


def _words(stage: str) -> str:
    """A stage as people write it: implementation delivery, not implementation_delivery."""
    return stage.replace("_", " ")


def _stages(spec: PlanCheck) -> frozenset[str] | None:
    if spec.stages is not None:
        return frozenset(spec.stages)
    if spec.from_stage is None and spec.to_stage is None:
        return None
    first = STAGES.index(spec.from_stage) if spec.from_stage else 0
    last = STAGES.index(spec.to_stage) if spec.to_stage else len(STAGES) - 1
    return frozenset(STAGES[first : last + 1])


def compile_checks(rulebook: Rulebook, key_tiers: Sequence[bool]) -> tuple[CompiledCheck, ...]:
    names = list(rulebook.tier_names)
    default_tiers = frozenset(i for i, key in enumerate(key_tiers) if key)
    compiled = []
    for i, spec in enumerate(rulebook.spec.plan_checks):
        exprs = rulebook.expressions
        base = ("plan_checks", i)
        condition = exprs[(*base, "require")] if spec.require is not None else exprs[(*base, "fresh", "date")]
        compiled.append(
            CompiledCheck(
                spec=spec,
                stages=_stages(spec),
                tiers=frozenset(names.index(t) for t in spec.tiers) if spec.tiers else default_tiers,
                condition=condition,
                within_days=spec.fresh.within_days if spec.fresh else None,
                due=exprs.get((*base, "due")),
                owner=exprs.get((*base, "owner")),
                weight=SEVERITY_WEIGHT[spec.severity],
            )
        )
    return tuple(compiled)


def evaluate_checks(
    checks: Sequence[CompiledCheck],
    record: Any,
    scores: Mapping[str, Fraction],
    tier: int,
    as_of: dt.date,
    keep: Sequence[CheckRow | None] | None = None,
) -> tuple[CheckRow, ...]:
    """Each check's row. ``keep``: per check, a previous row whose condition value and
    evidence still hold (its inputs unchanged, :mod:`kamrules.evaluation.incremental`), or
    None; applicability and a fresh check's age are decided here again all the same."""
    stage = record.stage
    rows: list[CheckRow] = []
    for number, check in enumerate(checks):
        if tier not in check.tiers:
            rows.append(NOT_EVALUATED[OTHER_TIER])
            continue
        if check.stages is not None:
            if stage is None:
                rows.append(NOT_EVALUATED[STAGE_UNKNOWN])
                continue
            if stage not in check.stages:
                rows.append(NOT_EVALUATED[OTHER_STAGE])
                continue
        kept = keep[number] if keep is not None else None
        if kept is not None and kept[0] == APPLIES:
            if check.within_days is None:  # its value is whether it passed
                rows.append(kept)
                continue
            value, evidence = kept[2], kept[3]
        else:
            value, evidence = check.condition.evaluate(record, scores, as_of)
        if check.within_days is None:
            passed = value
        else:
            passed = None if value is None else (as_of - value).days <= check.within_days
        rows.append((APPLIES, passed, value, evidence))
    return tuple(rows)


def map_status(record: Any) -> int:
    """0 no contacts, 1 contacts but no key players, 2 key players but none supportive,
    3 a supportive key player."""
    contacts = record.contacts
    if not contacts:
        return 0
    status = 1
    for contact in contacts:
        if contact.key_player:
            if contact.supportive:
                return 3
            status = 2
    return status


CheckExplained = tuple[
    bool, bool, bool, dict[str, Any], str, str | None, str | None, dt.date | None, int | None, list[ItemsAtFault]
]
"""One check as an explanation shows it: applies, passed, unknown, evidence, note, remediation,
owner, due, overdue days, items at fault (the fields of a ``PlanCheckResult`` after its id,
title, area and severity)."""

ComplianceExplained = tuple[str, Decimal | None, dict[str, int], dt.date | None, list[CheckExplained], list[str]]
"""status, score, failed per severity, next due, the checks, missing facts."""


def explain_checks(
    checks: Sequence[CompiledCheck],
    rows: Sequence[CheckRow],
    record: Any,
    scores: Mapping[str, Fraction],
    tier_name: str,
    as_of: dt.date,
) -> ComplianceExplained:
    """Everything an explained compliance says, as plain values: the one implementation of
    its words, shared by :func:`compliance_model` and the JSON encoder."""
    missing: list[str] = []
    results: list[CheckExplained] = []
    applicable_weight = passed_weight = 0
    failed = {"blocker": 0, "major": 0, "minor": 0}
    upcoming: list[dt.date] = []
    for check, (kind, passed, value, evidence) in zip(checks, rows, strict=True):
        spec = check.spec
        if kind != APPLIES:
            if kind == OTHER_TIER:
                note = f"does not apply to tier {tier_name}"
            elif kind == OTHER_STAGE:
                note = f"does not apply at stage {_words(record.stage)}; it applies {check.applicability()}"
            else:
                note = f"not checked: the account's stage is missing, and the check applies {check.applicability()}"
            if kind == STAGE_UNKNOWN:
                missing.append("account.stage")
            results.append((False, False, False, {}, note, None, None, None, None, []))
            continue
        values = {label: shown(v) for label, v in zip(check.condition.evidence, evidence, strict=True)}
        due = _due(check, value, record, scores, as_of)
        owner = check.owner.evaluate(record, scores, as_of)[0] if check.owner is not None else None
        unknown = passed is None
        ok = passed is True
        applicable_weight += check.weight
        if ok:
            passed_weight += check.weight
            if due is not None and due >= as_of:
                upcoming.append(due)
        else:
            failed[spec.severity] += 1
        at_fault = [] if ok or unknown else _at_fault(check.condition, values, record, scores, as_of)
        if unknown:
            gaps = [label for label, v in values.items() if v is None]
            missing.extend(gaps)
            note = "evidence missing: " + (_why_unknown(gaps, check.condition, record) or "a fact it reads is missing")
        elif check.within_days is not None:
            age = (as_of - value).days
            note = f"last done {value.isoformat()}, {age} days ago; must be within {check.within_days} days"
        else:
            note = "holds" if ok else _why_not(values, at_fault)
        overdue = (as_of - due).days if (due is not None and not ok and due < as_of) else None
        results.append(
            (
                True,
                ok,
                unknown,
                values,
                note,
                None if ok else spec.remediation,
                _owner(spec, owner),
                due,
                overdue,
                at_fault,
            )
        )
    if applicable_weight == 0:
        status = "not_applicable"
        score = None
    else:
        status = "non_compliant" if failed["blocker"] else "at_risk" if failed["major"] else "compliant"
        score = round_ratio(passed_weight * 100, applicable_weight)
    return status, score, failed, min(upcoming) if upcoming else None, results, sorted(set(missing))


CHECK_FIELDS = (
    "applies",
    "passed",
    "unknown",
    "evidence",
    "note",
    "remediation",
    "owner",
    "due",
    "overdue_days",
    "at_fault",
)


def compliance_model(
    checks: Sequence[CompiledCheck],
    rows: Sequence[CheckRow],
    record: Any,
    scores: Mapping[str, Fraction],
    tier_name: str,
    status_of_map: int,
    as_of: dt.date,
) -> Compliance:
    status, score, failed, next_due, results, missing = explain_checks(checks, rows, record, scores, tier_name, as_of)
    return Compliance.model_validate(
        {
            "status": status,
            "score": score,
            "stage": record.stage,
            "map_status": status_of_map,
            "map_status_label": MAP_STATUS[status_of_map],
            "failed": failed,
            "next_due": next_due,
            "checks": [_result(check.spec, result) for check, result in zip(checks, results, strict=True)],
            "missing_facts": missing,
        }
    )


def _why_unknown(gaps: Sequence[str], condition: CompiledExpression, record: Any) -> str:
    """The facts a check could not read, and why where the record says: the record they
    belong to is missing ("there is no plan", said once), or an aggregate's list is empty
    (the oldest review date of a plan with no reviews) or has no item with the fact."""
    absent: list[str] = []
    said: list[str] = []
    for label in gaps:
        path = condition.lists.get(label)
        parent = (path or label).rpartition(".")[0]
        # "account." and "score." name no record of their own; "plan" may be missing
        if parent not in ("", "account", "score") and _at(record, parent) is None:
            if parent not in absent:
                absent.append(parent)
        elif path is None:
            said.append(label)
        elif not _list_at(record, path):
            said.append(f"{label}, as no {path} are recorded")
        else:
            said.append(f"{label}, as no item of {path} has a value for it")
    return "; ".join([*(f"there is no {parent}" for parent in absent), *said])


def _due(check: CompiledCheck, value: Any, record: Any, scores: Mapping[str, Fraction], as_of: dt.date) -> Any:
    """When the check falls due: the date checked plus its freshness, or its ``due`` rule."""
    if check.within_days is not None:
        return None if value is None else value + dt.timedelta(days=check.within_days)
    return check.due.evaluate(record, scores, as_of)[0] if check.due is not None else None


def _result(spec: PlanCheck, result: CheckExplained) -> dict[str, Any]:
    """A check's result as the fields of a :class:`PlanCheckResult`: the whole compliance is
    validated in one call, which costs a third of building each result on its own."""
    return {"id": spec.id, "title": spec.title, "area": spec.area, "severity": spec.severity} | dict(
        zip(CHECK_FIELDS, result, strict=True)
    )


AT_FAULT_NAMED = 10
"""How many items at fault a result names; the count says how many there are."""


def _at_fault(
    condition: CompiledExpression,
    values: Mapping[str, Any],
    record: Any,
    scores: Mapping[str, Fraction],
    as_of: dt.date,
) -> list[ItemsAtFault]:
    """Which items made a failed condition false, through each aggregate that can be blamed."""
    groups = []
    for label, finder in condition.finders.items():
        if values.get(label) is not finder.blames:
            continue
        found = finder.find(record, scores, as_of)
        if not found:
            continue
        items = _list_at(record, finder.items)
        names = [item_name(item, finder.item, items) for item in found[:AT_FAULT_NAMED]]
        groups.append(
            ItemsAtFault(condition=label, items_of=finder.items, total=len(items), count=len(found), names=names)
        )
    return groups


def _at(record: Any, path: str) -> Any:
    """The record or list at a dotted path, or None when it or a record on the way is missing."""
    target = record
    for part in path.split("."):
        target = getattr(target, part, None) if target is not None else None
    return target


def _list_at(record: Any, path: str) -> Sequence[Any]:
    found = _at(record, path)
    return found if found is not None else ()


def item_name(item: Any, kind: RecordType, items: Sequence[Any]) -> str:
    """One item of ``items`` as a report names it: its first naming fact, the others in
    brackets with their names ("Dana Kim (id C042)"), or its position when none is
    recorded ("contact 4")."""
    first = None
    rest = []
    for name in kind.named_by:
        value = getattr(item, name, None)
        if value is None:
            continue
        if first is None:
            first = show_value(value)
        else:
            rest.append(f"{name} {show_value(value)}")
    if first is None:
        position = next(n for n, other in enumerate(items, 1) if other is item)
        return f"{kind.name} {position}"
    return f"{first} ({', '.join(rest)})" if rest else first


def _fails_for(group: ItemsAtFault) -> str:
    return f"fails for {group.described()}"


def _why_not(values: Mapping[str, Any], at_fault: Sequence[ItemsAtFault]) -> str:
    """A failed condition with the facts it read, so a report says what to look at; an
    ``all``/``none`` that has items at fault is shown by them rather than as "= no"."""
    named = {group.condition for group in at_fault}
    read = [(label, v) for label, v in values.items() if label not in named]
    parts = [f"{label} = {show_value(v)}" for label, v in read[:3]]
    if len(read) > 3:
        parts[-1] += f" and {len(read) - 3} more"
    parts += [_fails_for(group) for group in at_fault]
    return "does not hold: " + "; ".join(parts) if parts else "does not hold"


def compliance_status(checks: Sequence[CompiledCheck], rows: Sequence[CheckRow]) -> str:
    """The status alone, without building the explained model (for flat batch output)."""
    applicable = False
    major = False
    for check, (kind, passed, *_) in zip(checks, rows, strict=True):
        if kind != APPLIES:
            continue
        applicable = True
        if passed is not True:
            if check.spec.severity == "blocker":
                return "non_compliant"
            major = major or check.spec.severity == "major"
    return "not_applicable" if not applicable else "at_risk" if major else "compliant"


def _owner(spec: PlanCheck, value: Any) -> str | None:
    if spec.owner is None:
        return None
    if "." not in spec.owner:
        return spec.owner
    return f"{value} ({spec.owner})" if value else f"{spec.owner} (not recorded)"
