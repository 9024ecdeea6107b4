"""Steps for a portfolio: tier capacity, stability and overrides.

Part of the step library (see :mod:`kamrules.testing.steps` for the whole vocabulary).
The accounts of a scenario are decided together, as a batch run decides a CRM export, so
tier capacities rank them against each other. Stability and overrides are account facts
(``current_tier``; ``override_tier``, ``override_reason``, ``override_approver``,
``override_expires``), written in the account tables like any other. Checking::

    the rules alone put account "A-1" in tier "Gold"      before stability, overrides and capacity
    account "A-1" is in the tier the rules alone give
    the placement of account "A-1" says "ranked 3rd of 3 eligible for Gold, capacity 2"
    tier "Gold" holds 2 accounts
"""

from __future__ import annotations

from pytest_bdd import then

from kamrules.explanation.decision import Decision
from kamrules.testing.steps import PolicyWorld, _check_tier_name, _fail, _flat, phrase


def _placement(decision: Decision) -> str:
    notes = [f"{step.kind}: {step.note}" for step in decision.placement]
    return "; ".join(notes) if notes else "nothing moved it from the tier the rules give"


@then(phrase('the rules alone put account "{account}" in tier "{tier}"'))
def rules_alone_give(policy: PolicyWorld, account: str, tier: str) -> None:
    """The tier from scores, gates and requirements, before stability, an override and capacity."""
    _check_tier_name(policy, tier)
    decision = policy.decision(account)
    if decision.tier_by_rules != tier:
        _fail(
            f'the rules alone put account "{account}" in tier {decision.tier_by_rules}, not {tier}: {decision.summary}'
        )


@then(phrase('account "{account}" is in the tier the rules alone give'))
def tier_as_the_rules_give(policy: PolicyWorld, account: str) -> None:
    decision = policy.decision(account)
    if decision.tier != decision.tier_by_rules:
        _fail(
            f'account "{account}" is in tier {decision.tier}, but the rules alone give {decision.tier_by_rules}: '
            f"{_placement(decision)}"
        )


@then(phrase('the placement of account "{account}" says "{text:text}"'))
def placement_says(policy: PolicyWorld, account: str, text: str) -> None:
    """What moved the account from the tier the rules give (stability, an override, capacity) contains the text."""
    decision = policy.decision(account)
    notes = " ".join(step.note for step in decision.placement)
    if _flat(text) not in _flat(notes):
        _fail(f'the placement of account "{account}" does not say "{text}"; it says: {_placement(decision)}')


@then(phrase('tier "{tier}" holds {count:int} accounts'))
@then(phrase('tier "{tier}" holds {count:int} account'))
def tier_holds(policy: PolicyWorld, tier: str, count: str) -> None:
    """How many of the scenario's decided accounts the tier holds."""
    _check_tier_name(policy, tier)
    members = sorted(account for account in policy.decided() if policy.decision(account).tier == tier)
    if len(members) != int(count):
        shown = ", ".join(f'"{m}"' for m in members) or "none"
        _fail(f'tier "{tier}" holds {len(members)} accounts, not {count}: {shown}')
