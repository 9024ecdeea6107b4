"""An explicit excluded outcome for exclude gates, which is not a tier (issue 10 part 3)."""

from __future__ import annotations

import pytest

from kamrules import Engine, RulebookError, load_rulebook_text
from kamrules.portfolio.batch import Summary, flat_values, run
from kamrules.portfolio.sources import RawRecord
from tests.conftest import AS_OF

RULEBOOK = """\
rulebook: excluded
version: "1"
criteria:
  - id: fit
    weight: 1
    fact: account.strategic_fit
    scale: {from: 1, to: 5}
gates:
  - id: declines_kam
    when: account.wants_key_account == false
    effect: exclude
    reason: The customer does not want key-account treatment.
tiers:
  - {name: Platinum, min_score: 75, capacity: 1}
  - {name: Gold, min_score: 50}
  - {name: Standard, key_account: true}
excluded:
  name: Excluded
  description: Customers we do not treat as key accounts, whatever they score.
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook_text(RULEBOOK))


def test_an_excluded_account_gets_the_outcome_not_a_tier(engine: Engine) -> None:
    decision = engine.decide({"id": "A", "strategic_fit": 5, "wants_key_account": False}, AS_OF)
    assert decision.tier == "Excluded"
    assert decision.excluded is True
    assert decision.key_account is False
    assert decision.tier_rank == 4  # after the three tiers
    assert decision.summary == (
        "Excluded: score score 100.00; excluded from key-account tiers by gate 'declines_kam': "
        "The customer does not want key-account treatment."
    )


def test_the_last_tier_stays_a_key_account_tier_for_those_not_excluded(engine: Engine) -> None:
    decision = engine.decide({"id": "B", "strategic_fit": 1, "wants_key_account": True}, AS_OF)
    assert decision.tier == "Standard" and decision.key_account is True and decision.excluded is False


def test_excluded_accounts_take_no_place_in_capacity(engine: Engine) -> None:
    rows = [
        RawRecord(1, {"id": "A", "strategic_fit": 5, "wants_key_account": False}),
        RawRecord(2, {"id": "B", "strategic_fit": 4}),
    ]
    summary = Summary()
    items = list(run(engine, rows, AS_OF, summary))
    by_id = {
        flat_values(engine, item, n)["account_id"]: flat_values(engine, item, n) for n, item in enumerate(items, 1)
    }
    assert by_id["A"]["tier"] == "Excluded" and by_id["A"]["key_account"] is False
    assert by_id["B"]["tier"] == "Platinum"  # ranked 1st of 1: the excluded account did not compete
    assert summary.tiers["Excluded"] == 1 and summary.tiers["Platinum"] == 1
    assert summary.key_accounts == 1


def test_without_the_outcome_an_exclude_gate_falls_to_the_first_non_key_tier() -> None:
    text = RULEBOOK.split("excluded:\n")[0].replace("{name: Standard, key_account: true}", "{name: Standard}")
    decision = Engine(load_rulebook_text(text)).decide(
        {"id": "A", "strategic_fit": 5, "wants_key_account": False}, AS_OF
    )
    assert decision.tier == "Standard" and decision.excluded is True and decision.tier_rank == 3


def test_the_outcome_may_not_take_a_tier_name() -> None:
    with pytest.raises(RulebookError, match="the excluded outcome 'Gold' has the name of a tier"):
        load_rulebook_text(RULEBOOK.replace("  name: Excluded", "  name: Gold"))
