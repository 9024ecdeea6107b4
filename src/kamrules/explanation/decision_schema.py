"""The decision's JSON Schema for integrators, with a description on every field.

The descriptions live here rather than on the models in ``decision.py`` so that the models
stay readable as code; :func:`decision_json_schema` puts them in, and a test fails when a
field of the decision has none (a new field is documented when it is added).
"""

from __future__ import annotations

from typing import Any

from kamrules.explanation.decision import Decision

DESCRIPTIONS: dict[str, dict[str, str]] = {
    "Decision": {
        "kind": "Always 'decision' (an account that could not be decided is an error record, kind 'error').",
        "account_id": "The account's id in the CRM.",
        "account_name": "The account's name, when the record gives one.",
        "as_of": "The date the decision was made for (YYYY-MM-DD); 'within 60 days' is measured from it.",
        "tier": "The tier the account holds, after stability, overrides and capacity.",
        "tier_rank": "The tier's position in the rulebook, 1 for the best tier.",
        "key_account": "Whether the tier is a key-account tier.",
        "excluded": "Whether an exclude gate applies: the account holds no key-account tier.",
        "segment": "The portfolio segment (Strategic, Star, ...), or null when the rulebook has none.",
        "summary": "One sentence a person reads: the tier and the main reason for it.",
        "tier_by_rules": "The tier the rules alone give, before stability, overrides and capacity.",
        "placement": "The steps that moved the account away from tier_by_rules, in order.",
        "capacity": "Whether tier capacity shaped the decision; null when no tier has a capacity.",
        "scores": "Each scorecard's result, by scorecard id.",
        "gates": "Every gate, applied or not, with the facts it read.",
        "tier_tests": "Every tier's tests, best tier first: what the account passed and failed.",
        "segment_tests": "The segment conditions tested, in order, until one matched.",
        "compliance": "Whether the account plan is complete and current; null when not checked.",
        "missing_facts": "Facts the selection needed and the record did not give.",
        "rulebook": "The rulebook that made the decision: id, version and content hash.",
        "profile": "The CRM profile that read the facts, when one did.",
        "kamrules_version": "The kamrules version that made the decision.",
    },
    "CapacityApplied": {
        "applied": "Whether capacity was applied (false: the account was decided alone, without its portfolio).",
        "placement": "The saved placement the account was placed against, when not its own batch.",
        "note": "In words: how capacity was applied, or why it was not.",
    },
    "ScorecardResult": {
        "id": "The scorecard's id.",
        "title": "The scorecard's title, when the rulebook gives one.",
        "score": "The score, 0 to 100, to two decimals rounded down (never above a threshold it missed).",
        "weighted_points": "The exact sum of weight times points over the criteria counted.",
        "total_weight": "The exact sum of the weights counted; score = weighted_points / total_weight.",
        "criteria": "Every criterion of the scorecard, with its fact value, points and weight.",
    },
    "CriterionResult": {
        "id": "The criterion's id.",
        "title": "The criterion's title, when the rulebook gives one.",
        "method": "How the criterion scores: bands, scale, map, boolean or expression.",
        "fact": "The fact the criterion reads (null for an expression criterion).",
        "value": "The fact's value (or the expression's result); null when missing.",
        "evidence": "For an expression criterion: the value of each fact it read.",
        "matched": "What matched, in words: the band, the scale position, the category.",
        "points": "The points, 0 to 100.",
        "weight": "The criterion's weight (0 when its missing fact dropped it).",
        "contribution": "Points times weight over the total weight: what it adds to the score, rounded half to even.",
        "missing": "Whether the fact was missing (the criterion's missing-fact policy then decided).",
        "dropped": "Whether the criterion was left out of the score (missing: drop).",
    },
    "GateResult": {
        "id": "The gate's id.",
        "title": "The gate's title, when the rulebook gives one.",
        "effect": "exclude (no key-account tier) or cap (at most the tier at_most).",
        "at_most": "For a cap gate: the best tier an account it applies to may hold.",
        "applied": "Whether the gate applies to the account.",
        "unknown": "Whether a fact it reads was missing, so its policy (skip, apply) decided.",
        "evidence": "The value of each fact the gate read.",
        "reason": "Why the gate exists, as the rulebook words it.",
        "note": "What the gate did to this account, in words.",
    },
    "TierTest": {
        "tier": "The tier tested.",
        "eligible": "Whether the account passed every test of the tier.",
        "checks": "Each test: minimum scores, requirements and gates.",
    },
    "TierCheck": {
        "kind": "What is tested: min_score, requirement, gate or segment.",
        "test": "The test as the rulebook writes it.",
        "segment": "For a segment condition: the segment.",
        "passed": "Whether the test passed.",
        "actual": "The value tested (a score, or the facts a condition read).",
        "note": "Why it failed, or what was missing, in words.",
    },
    "Compliance": {
        "status": "compliant, at_risk (a major check fails), non_compliant (a blocker fails) or not_applicable.",
        "score": "The weighted share of applicable checks passed, 0 to 100; null when none applies.",
        "stage": "The relationship stage the checks applied for.",
        "map_status": "The relationship map's status, 0 (none) to 4 (mapped and managed).",
        "map_status_label": "The relationship map's status in words.",
        "failed": "How many checks failed, by severity.",
        "next_due": "The earliest date a check falls due (a review, a refresh).",
        "checks": "Every plan check, applicable or not, with its evidence.",
        "missing_facts": "Facts the plan checks needed and did not find.",
    },
    "PlanCheckResult": {
        "id": "The plan check's id.",
        "title": "What a complete plan shows, as the rulebook words it.",
        "area": "The heading the check is grouped under in reports.",
        "severity": "blocker, major or minor.",
        "applies": "Whether the check applies at the account's stage and tier.",
        "passed": "Whether the check holds.",
        "unknown": "Whether a fact it reads was missing.",
        "evidence": "The value of each fact the check read.",
        "note": "The outcome in words, naming the items at fault.",
        "remediation": "What to do to pass the check.",
        "owner": "Who acts when the check fails.",
        "due": "When the check next falls due.",
        "overdue_days": "How many days past due, for an overdue check.",
        "at_fault": "For a failed check: the items of each list that made it fail.",
    },
    "ItemsAtFault": {
        "condition": "The aggregate, as in the check's evidence.",
        "items_of": "The list (contacts, plan.sign_offs, ...).",
        "total": "How many items the list has.",
        "count": "How many of them are at fault.",
        "names": "The first ten at fault, in list order, named by their own facts.",
    },
    "PlacementStep": {
        "kind": "What moved the account: stability, override or capacity.",
        "note": "What happened, in words ('ranked 23rd of 40 eligible for Gold, capacity 20').",
    },
    "RulebookRef": {
        "id": "The rulebook's id.",
        "version": "The rulebook's version.",
        "content_hash": "A hash of the rulebook's content (not its layout): the exact policy.",
    },
    "ProfileRef": {
        "name": "The CRM profile's name.",
        "content_hash": "A hash of the profile's content.",
    },
}


def decision_json_schema() -> dict[str, Any]:
    """The decision's JSON Schema with every field described (see the module docstring)."""
    schema = Decision.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    models = {"Decision": schema, **schema.get("$defs", {})}
    for model, definition in models.items():
        for field, prop in definition.get("properties", {}).items():
            description = DESCRIPTIONS.get(model, {}).get(field)
            if description is not None and "description" not in prop:
                prop["description"] = description
    return schema


def undescribed() -> list[str]:
    """Fields of the decision's JSON Schema without a description, as Model.field."""
    schema = decision_json_schema()
    models = {"Decision": schema, **schema.get("$defs", {})}
    return [
        f"{model}.{field}"
        for model, definition in models.items()
        for field, prop in definition.get("properties", {}).items()
        if "description" not in prop
    ]
