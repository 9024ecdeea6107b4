"""Rule coverage: the cases of a rulebook, and which decisions exercise them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from kamrules import Engine, load_rulebook_text
from kamrules.testing.coverage import Case, CoverageCollector, RulebookCoverage
from tests.conftest import AS_OF

RULEBOOK = """\
rulebook: covered
version: "1"
scorecards:
  - id: attractiveness
    criteria:
      - id: revenue
        weight: 1
        fact: account.annual_revenue
        bands:
          - {at_least: 10_000_000, points: 100, label: big}
          - {at_least: 1_000_000, points: 50}
      - id: risk
        weight: 1
        fact: account.credit_risk
        map: {low: 100, medium: 60, high: 20, severe: 0}
      - id: plans
        weight: 1
        fact: account.wants_key_account
        boolean: {"true": 100, "false": 0}
      - id: margin
        weight: 1
        fact: account.gross_margin_pct
        scale: {from: 0, to: 100}
      - id: reach
        weight: 1
        expression: 10 * count(contacts)
gates:
  - id: declines
    when: account.wants_key_account == false
    effect: exclude
    reason: Declines.
tiers:
  - {name: Gold, min_score: 60}
  - {name: Standard}
segments:
  - {name: Big, when: account.annual_revenue >= 10_000_000}
  - {name: Rest}
plan_checks:
  - id: has_plan
    title: A plan
    severity: blocker
    require: present(plan.status)
    remediation: Write one.
"""


def coverage_of(*accounts: dict[str, Any]) -> RulebookCoverage:
    engine = Engine(load_rulebook_text(RULEBOOK))
    coverage = RulebookCoverage(engine, "rules")
    coverage.record(engine.evaluate(engine.validate(a), AS_OF) for a in accounts)
    return coverage


def test_every_kind_of_rule_has_its_cases() -> None:
    cases = coverage_of().cases
    assert [c.case for c in cases if c.rule == "revenue"] == [
        "at least 10,000,000 (big)",
        "at least 1,000,000",
        "below every band",
    ]
    assert [c.case for c in cases if c.rule == "risk"] == ["'low'", "'medium'", "'high'", "'severe'"]
    assert [c.case for c in cases if c.rule == "plans"] == ["true", "false"]
    assert [c.case for c in cases if c.rule in ("margin", "reach")] == [
        "scored on its scale",
        "scored on its expression",
    ]
    assert Case("gate", "declines", "applied") in cases
    assert [c.rule for c in cases if c.kind == "tier"] == ["Gold", "Standard"]
    assert [c.rule for c in cases if c.kind == "segment"] == ["Big", "Rest"]
    assert [c.case for c in cases if c.kind == "plan check"] == ["holds", "fails"]
    assert len(cases) == 3 + 4 + 2 + 1 + 1 + 1 + 2 + 2 + 2


def test_nothing_decided_covers_nothing() -> None:
    coverage = coverage_of()
    assert coverage.percent == 0
    assert coverage.missed() == coverage.cases


def test_decisions_exercise_the_cases_they_go_through() -> None:
    coverage = coverage_of(
        # revenue band 1, risk low, plans true, margin, reach (0 contacts still computes 0 points);
        # 100 + 100 + 100 + 50 + 0 = 350 / 5 = 70: Gold, Big; key account without a plan: check fails
        {"id": "A", "annual_revenue": 20_000_000, "credit_risk": "low", "wants_key_account": True,
         "gross_margin_pct": 50},
        # below every band; plans false: the gate applies; margin and risk missing: not exercised
        {"id": "B", "annual_revenue": 10, "wants_key_account": False},
    )  # fmt: skip
    missed = {(c.rule, c.case) for c in coverage.missed()}
    assert missed == {
        ("revenue", "at least 1,000,000"),
        ("risk", "'medium'"),
        ("risk", "'high'"),
        ("risk", "'severe'"),
        ("has_plan", "holds"),
    }
    assert coverage.decisions == 2
    # 18 cases, 13 exercised: 72.22..., shown rounded down
    assert coverage.percent == Decimal("72.2")
    assert coverage.by_kind() == [("criterion", 11, 7), ("gate", 1, 1), ("tier", 2, 2), ("segment", 2, 2),
                                  ("plan check", 2, 1)]  # fmt: skip


def test_the_collector_reports_rulebooks_from_files_and_leaves_inline_ones_out() -> None:
    engine = Engine(load_rulebook_text(RULEBOOK))
    outcome = engine.evaluate(engine.validate({"id": "A", "annual_revenue": 5_000_000}), AS_OF)
    collector = CoverageCollector()
    collector.record(engine, "rules", [outcome])
    collector.record(engine, None, [outcome])
    report = "\n".join(collector.report(Decimal(90)))
    assert "kamrules rule coverage of covered 1 (rules):" in report
    assert "    criterion    revenue  at least 10,000,000 (big)" in report
    assert "FAIL:" in report and "is below the required 90%" in report
    assert "(1 rulebook written inside features is not counted" in report
    assert [c.source for c in collector.below(Decimal(90))] == ["rules"]
    assert collector.below(Decimal(0)) == []


def test_a_loaded_rulebook_with_no_decision_is_reported_at_zero() -> None:
    engine = Engine(load_rulebook_text(RULEBOOK))
    collector = CoverageCollector()
    collector.loaded(engine, "rules")
    assert "0.0% (0 of 18 rule cases, from 0 decisions)" in collector.report()[0]
