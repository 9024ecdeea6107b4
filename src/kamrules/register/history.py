"""Reading the register: an account's tiers over time and what moved them, and replay.

Both work from the stored explanation JSON alone, so they answer for decisions made by any
kamrules version that wrote the same decision model.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from kamrules.evaluation.engine import Engine
from kamrules.register.store import Register, RegisterError, StoredDecision, load_stored_rulebook


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    decision: StoredDecision
    changed: bool
    """The tier differs from the previous decision's (the first decision is a change)."""
    moved_by: list[str]
    """What differs from the previous decision: rulebook, scores, criteria, gates, tier
    tests and placement steps; empty for the first decision."""

    def as_dict(self) -> dict[str, Any]:
        return {**self.decision.summary(), "tier_changed": self.changed, "moved_by": self.moved_by}


def history(register: Register, account_id: str) -> list[HistoryEntry]:
    """The account's decisions oldest first, each with what changed since the one before."""
    stored = register.decisions_of(account_id)
    if not stored:
        raise RegisterError(f"no decision for account '{account_id}' in the register")
    entries: list[HistoryEntry] = []
    previous: StoredDecision | None = None
    for decision in stored:
        if previous is None:
            entries.append(HistoryEntry(decision, True, []))
        else:
            entries.append(
                HistoryEntry(
                    decision,
                    decision.tier != previous.tier,
                    what_moved(json.loads(previous.explanation), json.loads(decision.explanation)),
                )
            )
        previous = decision
    return entries


def what_moved(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The criteria, gates, tier tests and placement steps that differ between two decisions."""
    moved: list[str] = []
    rb_before, rb_after = before["rulebook"], after["rulebook"]
    if rb_before["content_hash"] != rb_after["content_hash"]:
        moved.append(
            f"rulebook {rb_before['id']} {rb_before['version']} -> {rb_after['id']} {rb_after['version']} "
            f"({rb_after['content_hash'][:19]})"
        )
    if before["as_of"] != after["as_of"]:
        moved.append(f"as-of date {before['as_of']} -> {after['as_of']}")
    for card, result in after["scores"].items():
        old = before["scores"].get(card)
        if old is None:
            moved.append(f"scorecard {card} is new ({_num(result['score'])})")
            continue
        if old["score"] != result["score"]:
            moved.append(f"score {card} {_num(old['score'])} -> {_num(result['score'])}")
        old_criteria = {c["id"]: c for c in old["criteria"]}
        for criterion in result["criteria"]:
            was = old_criteria.get(criterion["id"])
            if was is None:
                moved.append(f"criterion {criterion['id']} is new: {_criterion(criterion)}")
            elif (was["matched"], was["points"], was["weight"]) != (
                criterion["matched"],
                criterion["points"],
                criterion["weight"],
            ):
                moved.append(f"criterion {criterion['id']}: {_criterion(was)} -> {_criterion(criterion)}")
    old_gates = {g["id"]: g for g in before["gates"]}
    for gate in after["gates"]:
        was = old_gates.get(gate["id"])
        if was is not None and was["applied"] == gate["applied"]:
            continue
        if gate["applied"]:
            moved.append(f"gate {gate['id']} now applies: {gate['reason']}")
        elif was is not None:
            moved.append(f"gate {gate['id']} no longer applies")
    old_tests = {t["tier"]: t for t in before["tier_tests"]}
    for test in after["tier_tests"]:
        was = old_tests.get(test["tier"])
        if was is not None and was["eligible"] == test["eligible"]:
            continue
        if test["eligible"]:
            moved.append(f"tier {test['tier']}: now eligible")
        else:
            failed = [c["test"] for c in test["checks"] if not c["passed"]]
            moved.append(f"tier {test['tier']}: no longer eligible" + (f" ({'; '.join(failed)})" if failed else ""))
    old_steps = [(s["kind"], s["note"]) for s in before.get("placement", [])]
    new_steps = [(s["kind"], s["note"]) for s in after.get("placement", [])]
    moved.extend(f"placement {kind}: {note}" for kind, note in new_steps if (kind, note) not in old_steps)
    moved.extend(f"placement {kind} no longer: {note}" for kind, note in old_steps if (kind, note) not in new_steps)
    return moved


def _criterion(result: dict[str, Any]) -> str:
    return f"{result['matched']}, {_num(result['points'])} points"


def _num(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass(frozen=True, slots=True)
class Replay:
    stored: StoredDecision
    replayed: str
    differences: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return self.replayed == self.stored.explanation


def replay(register: Register, decision_id: int) -> Replay:
    """Decide a stored decision again from its stored facts and stored rulebook.

    Identical bytes prove the register can explain the decision on its own. A decision placed
    against a saved portfolio placement (the service's, with tier capacities) is placed
    against the same stored placement again, and a decision of a batch with capacities
    against the placement that batch saved. Any difference (another kamrules version, a
    placement no longer in the register) is listed by JSON path."""
    stored = register.decision(decision_id)
    if stored.facts is None:
        raise RegisterError(
            f"decision {decision_id} was recorded without its facts (facts storage was off), so it cannot be replayed"
        )
    document = json.loads(stored.explanation)
    engine = Engine(load_stored_rulebook(register.rulebook_files(stored.rulebook_hash)))
    if document.get("profile"):
        # The facts are stored as the CRM profile read them (fact names, converted values), so
        # they are decided as they are; the decision names the profile that read them.
        from kamrules.explanation.decision import ProfileRef

        engine.profile = ProfileRef.model_validate(document["profile"])
    outcome = engine.evaluate(engine.validate(stored.facts), stored.as_of)
    capacity = document.get("capacity") or {}
    if capacity.get("applied") and engine.has_capacity:
        from kamrules.portfolio.capacity import place_as_in_batch, place_outcome

        if capacity.get("placement"):
            # Placed alone against a saved portfolio placement: against the same one again.
            placement = register.placement(capacity["placement"], engine)
            if placement is not None:
                outcome = place_outcome(engine, outcome, placement)
        elif stored.request_id is not None:
            # Placed with its batch (`evaluate --register`), which saved its placement under
            # the run's id: placed against it again, as the batch placed it.
            placement = register.placement(stored.request_id, engine)
            if placement is not None:
                outcome = place_as_in_batch(engine, outcome, placement)
    text = outcome.decision_json()
    differences = (
        [] if text == stored.explanation else json_differences(json.loads(stored.explanation), json.loads(text))
    )
    if text != stored.explanation and not differences:
        differences = ["the same JSON values, written with different bytes"]
    return Replay(stored, text, differences)


def json_differences(before: Any, after: Any, path: str = "") -> list[str]:
    """Each JSON path where two documents differ, with both values."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[str] = []
        for key in list(before) + [k for k in after if k not in before]:
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                out.append(f"{sub}: {_short(before[key])} -> (absent)")
            elif key not in before:
                out.append(f"{sub}: (absent) -> {_short(after[key])}")
            else:
                out.extend(json_differences(before[key], after[key], sub))
        return out
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        out = []
        for index, (a, b) in enumerate(zip(before, after, strict=True)):
            out.extend(json_differences(a, b, f"{path}[{index}]"))
        return out
    if before == after and type(before) is type(after):
        return []
    return [f"{path or '(document)'}: {_short(before)} -> {_short(after)}"]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."
