"""Sensitivity: accounts that change tier when one weight moves."""

from __future__ import annotations

from decimal import Decimal

from kamrules import load_rulebook_text
from kamrules.portfolio.sources import RawRecord
from kamrules.workbench.sensitivity import sensitivity, with_weight
from tests.conftest import AS_OF, SMALL_RULEBOOK


def test_with_weight_changes_one_criterion_only() -> None:
    rulebook = load_rulebook_text(SMALL_RULEBOOK)
    changed = with_weight(rulebook, "fit", Decimal(10))
    weights = {c.id: c.weight for card in changed.scorecards for c in card.criteria}
    assert weights == {"revenue": 60, "fit": 10, "relationship": 1}
    assert changed.content_hash != rulebook.content_hash


def test_counts_accounts_that_cross_a_threshold() -> None:
    rulebook = load_rulebook_text(SMALL_RULEBOOK)
    # A: revenue 5M = 60 points, fit 4 = 75: (60 x 60 + 40 x 75) / 100 = 66, Silver; with any weight moved by 30
    #    it stays between 60 and 80 (62.1 to 68.6).
    # C: revenue 5M = 60, fit 5 = 100: (3600 + 4000) / 100 = 76, Silver.
    #    revenue weight 30: (1800 + 4000) / 70 = 82.86 -> Gold; weight 90: (5400 + 4000) / 130 = 72.3, Silver.
    #    fit weight 70: (3600 + 7000) / 130 = 81.54 -> Gold; weight 10: (3600 + 1000) / 70 = 65.7, Silver.
    rows = [
        {"id": "A", "annual_revenue": 5_000_000, "strategic_fit": 4, "relationship_strength": 4},
        {"id": "C", "annual_revenue": 5_000_000, "strategic_fit": 5, "relationship_strength": 4},
    ]
    records = [RawRecord(i, r) for i, r in enumerate(rows)]
    effects = {e.criterion: e for e in sensitivity(rulebook, records, AS_OF, Decimal(30))}
    assert (effects["revenue"].down, effects["revenue"].up) == (1, 0)
    assert (effects["fit"].down, effects["fit"].up, effects["fit"].promoted_up) == (0, 1, 1)
    assert effects["relationship"].down is None  # the only criterion of its scorecard cannot drop to zero
