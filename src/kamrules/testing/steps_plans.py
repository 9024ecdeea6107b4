"""Steps for account plans and relationship maps: describing them, and checking the plan checks.

Part of the step library (see :mod:`kamrules.testing.steps` for the whole vocabulary).
Setting the scene::

    account "A-1" has a plan with:             | fact | value | rows of plan facts (status, version,
                                               mentor, buying process, ...); an empty value removes one
    account "A-1" has these contacts:          a header row of the items' facts, one row per item; also
                                               team members, relationships, restrictions, plan reviews,
                                               sign-offs, objectives, customer objectives, competitors,
                                               service metrics, growth opportunities, management feedback
    account "A-1" has no plan                  (or: has no contacts, has no plan reviews, ...)

Checking::

    check "plan_agreed" passes for account "A-1"
    check "plan_agreed" fails for account "A-1"
    check "plan_agreed" fails for account "A-1" because "evidence missing"
    check "plan_agreed" does not apply to account "A-1"
    check "plan_agreed" of account "A-1" says "does not hold"   its note, whatever the result
    the plan checks of account "A-1" are:      | check | result | with passes, fails or does not apply
    check "mentor_review_gold" of account "A-1" falls due on 2026-12-01
    check "mentor_review_gold" of account "A-1" is 12 days overdue
    the plan of account "A-1" is compliant     (or at risk, non compliant, not applicable)
    the plan of account "A-1" scores 83.33     the compliance score: passing check weight / applicable
    the plan of account "A-1" falls due next on 2026-12-01
    the relationship map of account "A-1" has status 3
    the plan report of account "A-1" says "Book the plan review"   the account manager's Markdown report

A check is named by its id or its title.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pytest_bdd import given, then

from kamrules.explanation.decision import Compliance, Decision, PlanCheckResult
from kamrules.explanation.render import compliance_markdown
from kamrules.facts.schema import NESTED_ACCOUNT_FIELDS, PLAN_FIELDS
from kamrules.facts.types import ListType
from kamrules.testing.steps import (
    PolicyWorld,
    _cell,
    _date,
    _fact_rows,
    _facts,
    _fail,
    _find,
    _flat,
    _header_table,
    _hint,
    _listing,
    _number,
    _show,
    _words,
    phrase,
)

# -- the lists an account record holds, by the names people give them ------------------------------


def _list_names() -> dict[str, tuple[str | None, str]]:
    """Each list's names in words (as an identifier) -> (None for the account or "plan", field)."""
    names: dict[str, tuple[str | None, str]] = {}
    for parent, fields in ((None, NESTED_ACCOUNT_FIELDS), ("plan", PLAN_FIELDS)):
        for fact in fields.values():
            if not isinstance(fact.type, ListType):
                continue
            where = (parent, fact.name)
            for name in (fact.name, f"{fact.type.item.name}s"):
                names[name] = where
                if parent:
                    names[f"{parent}_{name}"] = where
    names.update(
        {
            "team_members": (None, "team"),
            "account_team": (None, "team"),
            "members_of_the_team": (None, "team"),
            "our_objectives": ("plan", "objectives"),
            "management_briefings": ("plan", "management_feedback"),
        }
    )
    return names


LISTS = _list_names()
_SHOWN_LISTS = (
    "contacts, team members, relationships, restrictions, plan reviews, sign-offs, objectives, customer "
    "objectives, competitors, service metrics, growth opportunities, management feedback"
)


def _list_key(words: str) -> str:
    return _words(words).replace("-", "_")


def _list_of(policy: PolicyWorld, account: str, things: str) -> list[Any]:
    """The list (in the account's raw record) that ``things`` names, created if need be."""
    where = LISTS.get(_list_key(things))
    if where is None:
        _fail(f'an account has no list of "{things}"{_hint(_list_key(things), LISTS)}; the lists are {_SHOWN_LISTS}')
    parent, name = where
    holder = policy.record(account)
    if parent is not None:
        holder = holder.setdefault(parent, {})
        if not isinstance(holder, dict):
            _fail(f'the plan of account "{account}" was given as {holder!r}; describe it with a table of facts')
    items = holder.setdefault(name, [])
    if not isinstance(items, list):
        _fail(f'the {things} of account "{account}" were given as {items!r}; describe them with a table')
    return items


# -- Given -------------------------------------------------------------------------------------


@given(phrase('account "{account}" has a plan with:'))
def plan_with(policy: PolicyWorld, account: str, datatable: Sequence[Sequence[object]]) -> None:
    """The account plan's facts, | fact | value |; a plan described before is changed (empty value: removed)."""
    record = policy.record(account)
    plan = record.get("plan")
    if not isinstance(plan, dict):
        plan = record["plan"] = {}
    for key, cell in _fact_rows(account, datatable):
        for same in [k for k in plan if _words(k) == _words(key)]:
            del plan[same]
        value = _cell(key, cell)
        if value is not None:
            plan[key] = value
    policy.forget_decisions()
    policy.check_facts(account)


@given(phrase('account "{account}" has these {things}:'))
def these_items(policy: PolicyWorld, account: str, things: str, datatable: Sequence[Sequence[object]]) -> None:
    """Items of one of the account's lists: a header row of the items' facts, then one row per item.

    The items are added to those described before (say, in a Background).
    """
    items = _list_of(policy, account, things)
    header, rows = _header_table(datatable, f"a table of {things}")
    items.extend(_facts(header, row) for row in rows)
    policy.forget_decisions()
    policy.check_facts(account)


@given(phrase('account "{account}" has no {things}'))
def has_none(policy: PolicyWorld, account: str, things: str) -> None:
    """No plan at all, or none of a list's items (the list's items described before are removed)."""
    if _list_key(things) in ("plan", "account_plan"):
        policy.record(account).pop("plan", None)
    else:
        _list_of(policy, account, things).clear()
    policy.forget_decisions()


# -- Then: looking up what was decided -------------------------------------------------------------


def _compliance(policy: PolicyWorld, account: str) -> tuple[Decision, Compliance]:
    decision = policy.decision(account)
    if decision.compliance is None:
        _fail(f"the rulebook {decision.rulebook.id} has no plan checks, so no account plan is checked")
    return decision, decision.compliance


def _check(policy: PolicyWorld, account: str, name: str) -> PlanCheckResult:
    _, compliance = _compliance(policy, account)
    return _find("plan check", "plan checks", name, compliance.checks)


def _state(result: PlanCheckResult) -> str:
    """What happened to a check, in words, with the why."""
    if not result.applies:
        return f"does not apply: {result.note}"
    if result.passed:
        return f"passes: {result.note}" + (f"; next due {result.due.isoformat()}" if result.due else "")
    todo = f"; to do: {result.remediation}" if result.remediation else ""
    return f"fails: {result.note}{todo}"


_RESULTS = {"passes": "passes", "holds": "passes", "fails": "fails", "does_not_apply": "does not apply"}


def _result_word(result: PlanCheckResult) -> str:
    return "does not apply" if not result.applies else "passes" if result.passed else "fails"


# -- Then: plan checks -----------------------------------------------------------------------


@then(phrase('check "{check}" passes for account "{account}"'))
def check_passes(policy: PolicyWorld, check: str, account: str) -> None:
    result = _check(policy, account, check)
    if not (result.applies and result.passed):
        _fail(f'check "{result.id}" {_state(result)} (for account "{account}", not passes)')


@then(phrase('check "{check}" fails for account "{account}"'))
def check_fails(policy: PolicyWorld, check: str, account: str) -> None:
    result = _check(policy, account, check)
    if not result.applies or result.passed:
        _fail(f'check "{result.id}" {_state(result)} (for account "{account}", not fails)')


@then(phrase('check "{check}" fails for account "{account}" because "{text:text}"'))
def check_fails_because(policy: PolicyWorld, check: str, account: str, text: str) -> None:
    """The check fails, and what it says about it (its note or remediation) contains the text."""
    result = _check(policy, account, check)
    if not result.applies or result.passed:
        _fail(f'check "{result.id}" {_state(result)} (for account "{account}", not fails)')
    if not _says(result, text):
        _fail(f'check "{result.id}" fails for account "{account}", but not because "{text}": {_state(result)}')


@then(phrase('check "{check}" of account "{account}" says "{text:text}"'))
def check_says(policy: PolicyWorld, check: str, account: str, text: str) -> None:
    """What the check says about the account, whatever its result: its note (why it holds,
    fails or does not apply) or its remediation contains the text."""
    result = _check(policy, account, check)
    if not _says(result, text):
        _fail(f'check "{result.id}" of account "{account}" does not say "{text}": it {_state(result)}')


def _says(result: PlanCheckResult, text: str) -> bool:
    """Whether the check's note or remediation contains the text, spacing aside."""
    return _flat(text) in _flat(f"{result.note} {result.remediation or ''}")


@then(phrase('check "{check}" does not apply to account "{account}"'))
def check_does_not_apply(policy: PolicyWorld, check: str, account: str) -> None:
    result = _check(policy, account, check)
    if result.applies:
        _fail(f'check "{result.id}" applies to account "{account}" and {_state(result)}')


@then(phrase('the plan checks of account "{account}" are:'))
def plan_checks_are(policy: PolicyWorld, account: str, datatable: Sequence[Sequence[object]]) -> None:
    """A table | check | result |, the result being passes, fails or does not apply."""
    header, rows = _header_table(datatable, "a table of plan checks")
    if [_words(h) for h in header] != ["check", "result"]:
        _fail(f"a table of plan checks has two columns, | check | result |; got | {' | '.join(header)} |")
    _, compliance = _compliance(policy, account)
    mismatches = []
    for name, want in rows:
        expected = _RESULTS.get(_words(want))
        if expected is None:
            _fail(f'write passes, fails or does not apply in the result column, not "{want}" (check "{name}")')
        result = _find("plan check", "plan checks", name.strip(), compliance.checks)
        if _result_word(result) != expected:
            mismatches.append(f'  check "{result.id}" {_state(result)} (not {expected})')
    if mismatches:
        _fail(f'{len(mismatches)} plan checks of account "{account}" differ from the table:\n' + "\n".join(mismatches))


@then(phrase('check "{check}" of account "{account}" falls due on {date:text}'))
def check_falls_due(policy: PolicyWorld, check: str, account: str, date: str) -> None:
    result = _check(policy, account, check)
    expected = _date(date)
    if result.due != expected:
        shown = result.due.isoformat() if result.due else "no due date"
        _fail(f'check "{result.id}" of account "{account}" falls due on {shown}, not {expected}: {_state(result)}')


@then(phrase('check "{check}" of account "{account}" is {days:int} days overdue'))
def check_overdue(policy: PolicyWorld, check: str, account: str, days: str) -> None:
    result = _check(policy, account, check)
    if result.overdue_days != int(days):
        shown = f"{result.overdue_days} days overdue" if result.overdue_days else "not overdue"
        _fail(f'check "{result.id}" of account "{account}" is {shown}, not {days} days: {_state(result)}')


# -- Then: the plan as a whole ---------------------------------------------------------------------

_STATUSES = {
    "compliant": "compliant",
    "at risk": "at_risk",
    "non compliant": "non_compliant",
    "non-compliant": "non_compliant",
    "not compliant": "non_compliant",
    "not applicable": "not_applicable",
}


def _failures(compliance: Compliance) -> str:
    failed = [c for c in compliance.checks if c.applies and not c.passed]
    if not failed:
        return "every check that applies passes"
    return "failing: " + "; ".join(f"{c.id} ({c.severity}, {c.note})" for c in failed)


@then(phrase('the plan of account "{account}" is {status:status}', status="|".join(_STATUSES)))
def plan_status(policy: PolicyWorld, account: str, status: str) -> None:
    """compliant, at risk (a major check fails), non compliant (a blocker fails) or not applicable."""
    _, compliance = _compliance(policy, account)
    if compliance.status != _STATUSES[status]:
        shown = compliance.status.replace("_", " ")
        _fail(f'the plan of account "{account}" is {shown}, not {status}: {_failures(compliance)}')


@then(phrase('the plan of account "{account}" scores {score:number}'))
def plan_score(policy: PolicyWorld, account: str, score: str) -> None:
    """The compliance score: the weight of passing checks over the weight of those that apply
    (blocker 3, major 2, minor 1), as a percentage to two decimals."""
    _, compliance = _compliance(policy, account)
    expected = _number(score)
    if compliance.score != expected:
        shown = "no score (no check applies)" if compliance.score is None else str(compliance.score)
        _fail(f'the plan of account "{account}" scores {shown}, not {_show(expected)}: {_failures(compliance)}')


@then(phrase('the plan of account "{account}" falls due next on {date:text}'))
def plan_next_due(policy: PolicyWorld, account: str, date: str) -> None:
    """The earliest date a passing check falls due."""
    _, compliance = _compliance(policy, account)
    expected = _date(date)
    if compliance.next_due != expected:
        shown = compliance.next_due.isoformat() if compliance.next_due else "nothing"
        dues = [f"{c.id} {c.due.isoformat()}" for c in compliance.checks if c.applies and c.passed and c.due]
        _fail(
            f'the plan of account "{account}" falls due next on {shown}, not {expected}; the passing checks fall '
            f"due: {', '.join(dues) or 'never'}"
        )


@then(phrase('the relationship map of account "{account}" has status {status:int}'))
def map_status(policy: PolicyWorld, account: str, status: str) -> None:
    """0 no contacts mapped, 1 no key players, 2 key players but none supportive, 3 a supportive key player."""
    _, compliance = _compliance(policy, account)
    if compliance.map_status != int(status):
        roles = [
            f"{c.get('name') or c.get('id') or '?'} ({c.get('role') or 'no role'}, {c.get('stance') or 'no stance'})"
            for c in _contacts(policy, account)
        ]
        _fail(
            f'the relationship map of account "{account}" has status {compliance.map_status} '
            f"({compliance.map_status_label}), not {status}; its contacts: {_listing(roles) if roles else 'none'}"
        )


def _contacts(policy: PolicyWorld, account: str) -> list[dict[str, Any]]:
    if account not in policy.written:
        return []
    contacts = policy.record(account).get("contacts") or []
    return [c for c in contacts if isinstance(c, dict)]


@then(phrase('the plan report of account "{account}" says "{text:text}"'))
def plan_report_says(policy: PolicyWorld, account: str, text: str) -> None:
    """The account manager's plan report (Markdown) contains the text; spacing, line breaks and
    Markdown emphasis (* and `) do not matter."""
    report = compliance_markdown(policy.decision(account))
    plain = report.replace("**", "").replace("*", "").replace("`", "")
    if _flat(text) not in _flat(report) and _flat(text) not in _flat(plain):
        _fail(f'the plan report of account "{account}" does not say "{text}". It reads:\n\n{report}')
