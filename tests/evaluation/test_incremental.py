"""``Engine.evaluate_after``: deciding an account again after a change, keeping the results of
the rules the change cannot move, gives the outcome a full ``evaluate`` gives, byte for byte.

Each chain starts from an example account and applies random changes the way a monitor does:
the new record shares every nested record and contact the change left alone with the
previous one (so the derived contact facts, computed in place, are shared too), and the
as-of date moves forward or stays."""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import shutil
from typing import Any

import pytest

from kamrules import Engine, InvalidRecord, load_rulebook
from kamrules.evaluation.incremental import reads_of
from kamrules.rulebook import Rulebook
from tests.conftest import ROOT

START = dt.date(2026, 11, 1)
KINDS = ["revenue", "fit", "unset", "stage", "review", "plan", "late", "stance", "role", "met", "left", "added"]
KINDS += ["override", "revoke", "tier", "nothing"]
STANCES = ["mentor", "supporter", "neutral", "non_supporter", "enemy"]
STAGES = ["pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation"]


@pytest.fixture(scope="module")
def rules() -> Rulebook:
    return load_rulebook(ROOT / "rules")


@pytest.fixture(scope="module")
def dated_rules(tmp_path_factory: pytest.TempPathFactory) -> Rulebook:
    """The default rulebook with a derived contact fact that reads the as-of date: a contact
    is supportive only while we met them in the last 30 days. Time alone then moves the
    derived facts of contacts no change touched."""
    folder = tmp_path_factory.mktemp("dated") / "rules"
    shutil.copytree(ROOT / "rules", folder)
    path = folder / "relationships.yaml"
    text = path.read_text(encoding="utf-8")
    old = "supportive: stance in ['mentor', 'supporter']"
    assert old in text
    new = old + " and present(last_contacted) and days_since(last_contacted) <= 30"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return load_rulebook(folder)


def examples() -> list[dict[str, Any]]:
    lines = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def change(raw: dict[str, Any], rng: random.Random, day: dt.date) -> dict[str, Any]:
    """``raw`` with one random change, as a CRM event would make it (a new dict; the nested
    dicts the change does not touch are the same objects)."""
    new = dict(raw)
    when = day.isoformat()
    kind = rng.choice(KINDS)
    contacts = list(raw.get("contacts") or [])
    if kind == "revenue":
        new["annual_revenue"] = rng.randrange(0, 40_000_000)
    elif kind == "fit":
        new["strategic_fit"] = rng.randint(1, 5)
    elif kind == "unset":
        new.pop(rng.choice(["strategic_fit", "relationship_strength", "growth_potential"]), None)
    elif kind == "stage":
        new["stage"] = rng.choice(STAGES)
    elif kind in ("review", "plan", "late"):
        plan = dict(raw.get("plan") or {})
        if kind == "review":
            plan["reviews"] = [*(plan.get("reviews") or []), {"date": when, "kind": rng.choice(["mentor", "joint"])}]
            plan["last_reviewed"] = when
        elif kind == "plan":
            plan["revenue_actual"] = rng.randrange(0, 5_000_000)
            plan["actuals_updated"] = when
        else:  # a date after the as-of date: the account is refused, as a full evaluation refuses it
            plan["actuals_updated"] = (day + dt.timedelta(days=3)).isoformat()
        new["plan"] = plan
    elif kind in ("stance", "role", "met", "left") and contacts:
        i = rng.randrange(len(contacts))
        if kind == "left":
            del contacts[i]
        elif kind == "stance":
            contacts[i] = {**contacts[i], "stance": rng.choice(STANCES)}
        elif kind == "role":
            contacts[i] = {**contacts[i], "role": rng.choice(["decision_maker", "user", "champion"])}
        else:
            contacts[i] = {**contacts[i], "last_contacted": when}
        new["contacts"] = contacts
    elif kind == "added":
        role = rng.choice(["decision_maker", "influencer", "user"])
        contacts.append({"id": f"N{rng.randrange(10**6)}", "name": "New", "role": role, "stance": "supporter"})
        new["contacts"] = contacts
    elif kind == "override":
        expires = (day + dt.timedelta(days=rng.randint(-5, 40))).isoformat()
        tier = rng.choice(["Gold", "Silver", "Bronze"])
        new.update(override_tier=tier, override_reason="r", override_approver="a", override_expires=expires)
    elif kind == "revoke":
        for fact in ("override_tier", "override_reason", "override_approver", "override_expires"):
            new.pop(fact, None)
    elif kind == "tier":
        new["current_tier"] = rng.choice(["Gold", "Silver", "Bronze", "Platinum"])
    return new


def shared(engine: Engine, raw: dict[str, Any], before: dict[str, Any], record: Any) -> Any:
    """``raw`` validated, with every nested record and list item that is the same object in
    ``before`` replaced by its instance in ``record`` (``before`` validated), as the monitor
    builds its records."""
    return share(raw, before, record, engine.validate(raw))


def share(value: Any, before: Any, old: Any, new: Any) -> Any:
    if value is before and value is not None:
        return old
    if isinstance(value, dict) and isinstance(before, dict) and old is not None and new is not None:
        update = {
            name: share(value.get(name), before.get(name), getattr(old, name), getattr(new, name))
            for name in type(new).model_fields
            if isinstance(value.get(name), dict | list)
        }
        return new.model_copy(update=update)
    if isinstance(value, list) and isinstance(before, list) and old is not None and new is not None:
        kept = {id(item): done for item, done in zip(before, old, strict=True)}
        return [kept.get(id(item), done) for item, done in zip(value, new, strict=True)]
    return new


def decided(engine: Engine, record: Any, as_of: dt.date, previous: Any = None, after: bool = False) -> Any:
    try:
        outcome = engine.evaluate_after(previous, record, as_of) if after else engine.evaluate(record, as_of)
    except InvalidRecord as exc:
        return None, str(exc)
    return outcome, outcome.decision_json()


@pytest.mark.parametrize("seed", range(6))
def test_evaluate_after_equals_a_full_evaluation_over_random_changes(rules: Rulebook, seed: int) -> None:
    chain(rules, seed)


@pytest.mark.parametrize("seed", range(3))
def test_derived_contact_facts_moved_by_time_alone_are_seen(dated_rules: Rulebook, seed: int) -> None:
    chain(dated_rules, seed)


def chain(rules: Rulebook, seed: int) -> None:
    """Chains of random changes on 12 accounts, each outcome held to a full evaluation."""
    rng = random.Random(seed)
    engine, reference = Engine(rules), Engine(rules)
    accounts = examples()
    compared = kept = 0
    for raw in rng.sample(accounts, 12):
        day = START
        record = engine.validate(raw)
        previous, _ = decided(engine, record, day, None, after=True)
        for _ in range(20):
            day += dt.timedelta(days=rng.choice([0, 0, 1, 3, 20, 45]))
            new_raw = change(raw, rng, day)
            new_record = shared(engine, new_raw, raw, record)
            outcome, got = decided(engine, new_record, day, previous, after=True)
            _, expected = decided(reference, reference.validate(copy.deepcopy(new_raw)), day)
            assert got == expected, (seed, raw["id"], day)
            compared += 1
            if outcome is not None and previous is not None:
                kept += sum(a is b for a, b in zip(outcome._check_rows, previous._check_rows, strict=True))
            if outcome is not None:  # a refused change is not taken, as the monitor refuses it
                raw, record, previous = new_raw, new_record, outcome
    assert compared == 12 * 20
    assert kept > 0  # rows were kept, not all computed again


def test_a_change_to_one_fact_keeps_the_rows_of_rules_that_do_not_read_it(rules: Rulebook) -> None:
    engine = Engine(rules)
    raw = examples()[20]
    record = engine.validate(raw)
    first = engine.evaluate_after(None, record, START)
    revenue = engine.validate({**raw, "annual_revenue": 12_345}).annual_revenue  # type: ignore[attr-defined]
    again = engine.evaluate_after(first, record.model_copy(update={"annual_revenue": revenue}), START)
    reads = engine.dependencies.reads
    base = engine.dependencies.check_base
    for i, (before, after) in enumerate(zip(first._check_rows, again._check_rows, strict=True)):
        if "annual_revenue" not in reads[base + i].facts and not reads[base + i].scores and before[0] == 0:
            assert after[2] is before[2] and after[3] is before[3], engine.checks[i].spec.id
    # and the result is a full evaluation's
    reference = Engine(rules)
    full = reference.evaluate(reference.validate({**raw, "annual_revenue": 12_345}), START)
    assert again.decision_json() == full.decision_json()
    assert again.tier != first.tier or again.scores != first.scores  # the change did move the decision


def test_reads_of_names_top_level_facts_scores_and_the_date(rules: Rulebook) -> None:
    schema = rules.schema
    reads = reads_of("count(contacts, key_player and stance == 'supporter') >= 1 and plan.version >= 1", schema)
    assert reads.facts == {"contacts", "contacts.key_player", "contacts.stance", "plan.version"}
    assert not reads.scores and not reads.today
    reads = reads_of("score.attractiveness >= 50 or days_since(plan.last_reviewed) <= 30", schema)
    assert reads.facts == {"plan.last_reviewed"} and reads.scores and reads.today
    nested = reads_of("all(plan.objectives, present(owner)) and any(contacts, account.stage == 'review')", schema)
    assert nested.facts == {"plan.objectives", "contacts", "stage"}
    assert reads_of("annual_revenue > 1000000", schema).facts == {"annual_revenue"}


def test_changed_names_the_facts_inside_the_plan_and_the_contacts(rules: Rulebook) -> None:
    engine = Engine(rules)
    raw = examples()[20]
    record = engine.validate(raw)
    dependencies = engine.dependencies
    contacts = list(raw["contacts"])
    contacts[1] = {**contacts[1], "last_contacted": "2026-11-01"}
    met = shared(engine, {**raw, "contacts": contacts}, raw, record)
    assert dependencies.changed(record, met) == {"contacts.last_contacted"}
    plan = {**raw["plan"], "revenue_actual": 1.0}
    assert dependencies.changed(record, shared(engine, {**raw, "plan": plan}, raw, record)) == {"plan.revenue_actual"}
    left = shared(engine, {**raw, "contacts": raw["contacts"][1:]}, raw, record)
    assert {"contacts", "contacts.stance", "contacts.key_player"} <= dependencies.changed(record, left)
    assert dependencies.changed(record, shared(engine, dict(raw), raw, record)) == set()
