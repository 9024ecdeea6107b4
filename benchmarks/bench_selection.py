"""Selection throughput and rulebook load time of kamrules, against a hand-written loop.

Run from the repository root::

    .venv/bin/python benchmarks/bench_selection.py                  # N = 50,000 accounts
    .venv/bin/python benchmarks/bench_selection.py --n 10000 --repeat 3 --json /tmp/bench.json
    .venv/bin/python benchmarks/bench_selection.py --only validated hand   # a subset

Measures, single-threaded (pinned to one CPU where the OS allows), with the default
rulebook ``rules/`` and the example accounts cycled to N records, as of 2026-11-01:

1. validated-record throughput: ``engine.evaluate(record, as_of)`` on records validated
   beforehand, and the same followed by ``.decision()`` (the pydantic explanation model);
2. raw-dict throughput: ``engine.evaluate(engine.validate(raw), as_of)``, and with ``.decision()``;
3. a hand-written plain-Python implementation of the same rulebook over the same validated
   records, producing scores, tier, segment and an explanation as plain dicts. Its results
   are checked against kamrules for every account (a disagreement ends the run with exit 1),
   then timed in passes alternating with kamrules' ``evaluate()`` for a paired ratio;
4. loading and compiling a generated rulebook of about 200 rules
   (``load_rulebook`` + ``Engine``): the median of repeated loads, and the cold first load in
   a new interpreter (after ``import kamrules``, timed separately).

When the rulebook has plan checks, parts 1-3 run twice: ``[full]`` is the rulebook as it is,
``[selection]`` the same rulebook with its ``plan_checks:`` blocks left out, which is the
like-for-like comparison with the hand-written loop (that loop implements the selection
rules only: criteria, gates, tiers and segments).

Throughput figures are the median of ``--repeat`` timed passes after a warm-up pass.
The targets are informational: the exit code is 0 unless the hand-written loop disagrees.
Needs only the standard library and kamrules.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import kamrules
from kamrules.facts.records import FactRecord

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT / "rules"
DEFAULT_ACCOUNTS = ROOT / "examples" / "accounts.jsonl"
AS_OF = dt.date(2026, 11, 1)
PARTS = ("validated", "raw", "hand", "load")

TARGET_VALIDATED = 50_000.0  # accounts/s, evaluate() on validated records
TARGET_RAW = 20_000.0  # accounts/s, validate() + evaluate() on raw dicts
TARGET_RATIO = 0.5  # kamrules validated throughput / hand-written loop throughput
TARGET_LOAD = 0.5  # seconds, load_rulebook + Engine for a ~200-rule rulebook


# =============================================================================================
# Timing
# =============================================================================================


@dataclass
class Timing:
    """Wall-clock times of repeated passes over ``count`` accounts."""

    label: str
    count: int
    seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def rate(self) -> float:
        """Accounts per second, from the median pass."""
        return self.count / self.median

    @property
    def per_account_us(self) -> float:
        return self.median / self.count * 1e6

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "accounts": self.count,
            "seconds": [round(s, 6) for s in self.seconds],
            "median_seconds": round(self.median, 6),
            "accounts_per_second": round(self.rate, 1),
            "microseconds_per_account": round(self.per_account_us, 3),
        }


def time_loop(label: str, loop: Callable[[Sequence[Any]], None], items: Sequence[Any], repeat: int) -> Timing:
    """Warm up on a slice, then time ``repeat`` full passes of ``loop(items)``."""
    loop(items[: min(len(items), 2_000)])
    timing = Timing(label, len(items))
    for _ in range(repeat):
        start = time.perf_counter()
        loop(items)
        timing.seconds.append(time.perf_counter() - start)
    print(f"  {label:<58} {timing.rate:>12,.0f} accounts/s  ({timing.per_account_us:,.1f} µs/account)", flush=True)
    return timing


# =============================================================================================
# The loops timed
# =============================================================================================


def kamrules_loops(engine: kamrules.Engine, as_of: dt.date) -> dict[str, Callable[[Sequence[Any]], None]]:
    evaluate = engine.evaluate
    validate = engine.validate

    def validated(records: Sequence[Any]) -> None:
        for record in records:
            evaluate(record, as_of)

    def validated_decision(records: Sequence[Any]) -> None:
        for record in records:
            evaluate(record, as_of).decision()

    def raw(raws: Sequence[Any]) -> None:
        for item in raws:
            evaluate(validate(item), as_of)

    def raw_decision(raws: Sequence[Any]) -> None:
        for item in raws:
            evaluate(validate(item), as_of).decision()

    return {
        "validated": validated,
        "validated_decision": validated_decision,
        "raw": raw,
        "raw_decision": raw_decision,
    }


# =============================================================================================
# The default rulebook (rules/*.yaml) written by hand
#
# Same arithmetic contract as kamrules (src/kamrules/evaluation/scoring.py): points are integer
# hundredths (centipoints), weights integer hundredths, a scorecard's weighted sum is an exact
# integer and thresholds are compared exactly; a linear scale is rounded as
# floor(t * (points_to - points_from) + 0.5) in float64. Missing facts follow the rulebook:
# `zero` by default, `drop` for customer_satisfaction (nps); gates whose fact is missing are
# skipped (missing: skip).
# =============================================================================================

# (at_least, centipoints), highest first; below every band: 0 points.
REVENUE_BANDS = ((20_000_000, 10_000), (10_000_000, 8_000), (5_000_000, 6_000), (2_000_000, 4_000), (500_000, 2_000))
WALLET_BANDS = ((50_000_000, 10_000), (20_000_000, 7_500), (8_000_000, 5_000), (3_000_000, 2_500))
GROWTH_BANDS = ((5, 10_000), (4, 7_500), (3, 5_000), (2, 2_500))
FIT_BANDS = ((5, 10_000), (4, 7_500), (3, 4_500), (2, 1_500))
RELATIONSHIP_BANDS = ((5, 10_000), (4, 8_000), (3, 5_500), (2, 2_500))
COMPETITIVE_BANDS = ((5, 10_000), (4, 7_500), (3, 5_000), (2, 2_500))
CREDIT_MAP = {"low": 10_000, "medium": 6_000, "high": 2_000, "severe": 0}
BREADTH_ROLES = frozenset({"decision_maker", "executive_sponsor", "champion"})
BREADTH_STANCES = frozenset({"mentor", "supporter"})

# Exact thresholds: score >= m  <=>  weighted >= m * total * 100 (weighted in centiweight x
# centipoints, total in centiweights).
GOLD_MIN, GOLD_MIN_STRENGTH, SILVER_MIN, BRONZE_MIN = 75 * 100, 40 * 100, 60 * 100, 45 * 100
STRATEGIC_MIN_ATTRACTIVENESS, STRATEGIC_MIN_STRENGTH = 60 * 100, 50 * 100
TIERS = ("Gold", "Silver", "Bronze", "Standard")
EXCLUDED, SILVER = 3, 1  # tier indexes: where an excluded account falls, and the high-risk cap


def _bands(value: Any, bands: tuple[tuple[int, int], ...]) -> int:
    for at_least, points in bands:
        if value >= at_least:
            return points
    return 0


def _scale(value: Any, low: float, high: float) -> int:
    t = (float(value) - low) / (high - low)
    if t < 0.0:
        t = 0.0
    elif t > 1.0:
        t = 1.0
    return math.floor(t * 10_000 + 0.5)


def _criterion(
    rows: list[dict[str, Any]], cid: str, value: Any, points: int, weight: int, drop: bool = False
) -> tuple[int, int]:
    """Append a criterion's explanation; return its (weighted, counted weight)."""
    if value is None and drop:
        rows.append({"id": cid, "value": None, "points": 0.0, "weight": weight / 100, "missing": True, "dropped": True})
        return 0, 0
    rows.append({"id": cid, "value": value, "points": points / 100, "weight": weight / 100, "missing": value is None})
    return weight * points, weight


def _contributions(rows: list[dict[str, Any]], total: int) -> None:
    for row in rows:
        row["contribution"] = 0.0 if row.get("dropped") else row["weight"] * row["points"] / (total / 100)


def hand_evaluate(r: Any) -> dict[str, Any]:
    """The default rulebook, by hand, over one validated record."""
    # -- scorecard: attractiveness --------------------------------------------------------
    att: list[dict[str, Any]] = []
    wa = ta = 0
    v = r.annual_revenue
    w, t = _criterion(att, "annual_revenue", v, 0 if v is None else _bands(v, REVENUE_BANDS), 1_500)
    wa, ta = wa + w, ta + t
    v = r.wallet_size
    w, t = _criterion(att, "wallet_size", v, 0 if v is None else _bands(v, WALLET_BANDS), 1_000)
    wa, ta = wa + w, ta + t
    v = r.gross_margin_pct
    w, t = _criterion(att, "gross_margin", v, 0 if v is None else _scale(v, 10.0, 40.0), 1_500)
    wa, ta = wa + w, ta + t
    v = r.growth_potential
    w, t = _criterion(att, "growth_potential", v, 0 if v is None else _bands(v, GROWTH_BANDS), 2_500)
    wa, ta = wa + w, ta + t
    v = r.strategic_fit
    w, t = _criterion(att, "strategic_fit", v, 0 if v is None else _bands(v, FIT_BANDS), 2_500)
    wa, ta = wa + w, ta + t
    v = r.credit_risk
    w, t = _criterion(att, "credit_risk", v, 0 if v is None else CREDIT_MAP[v], 1_000)
    wa, ta = wa + w, ta + t
    _contributions(att, ta)

    # -- scorecard: strength ----------------------------------------------------------------
    stg: list[dict[str, Any]] = []
    ws = ts = 0
    v = r.relationship_strength
    w, t = _criterion(stg, "relationship_strength", v, 0 if v is None else _bands(v, RELATIONSHIP_BANDS), 2_500)
    ws, ts = ws + w, ts + t
    v = r.share_of_wallet_pct
    w, t = _criterion(stg, "share_of_wallet", v, 0 if v is None else _scale(v, 0.0, 60.0), 2_000)
    ws, ts = ws + w, ts + t
    v = r.competitive_position
    w, t = _criterion(stg, "competitive_position", v, 0 if v is None else _bands(v, COMPETITIVE_BANDS), 1_500)
    ws, ts = ws + w, ts + t
    v = r.nps
    w, t = _criterion(stg, "customer_satisfaction", v, 0 if v is None else _scale(v, -20.0, 60.0), 1_000, drop=True)
    ws, ts = ws + w, ts + t
    v = r.shares_business_plans
    w, t = _criterion(stg, "joint_planning", v, 10_000 if v else 0, 1_000)
    ws, ts = ws + w, ts + t
    contacts = r.contacts
    on_side = 0
    for c in contacts:
        if c.role in BREADTH_ROLES and c.stance in BREADTH_STANCES:
            on_side += 1
    breadth = min(100, 20 * on_side + 5 * len(contacts))
    w, t = _criterion(stg, "relationship_breadth", breadth, max(0, min(10_000, breadth * 100)), 2_000)
    stg[-1]["evidence"] = {"on_side": on_side, "contacts": len(contacts)}
    ws, ts = ws + w, ts + t
    _contributions(stg, ts)

    # -- gates ------------------------------------------------------------------------------
    ceiling = 0
    wants = r.wants_key_account
    risk = r.credit_risk
    declines = wants is False
    severe = risk == "severe"
    high = risk == "high"
    gates = [
        {"id": "declines_kam", "applied": declines, "value": wants},
        {"id": "severe_credit_risk", "applied": severe, "value": risk},
        {"id": "high_credit_risk", "applied": high, "value": risk},
    ]
    if declines or severe:
        ceiling = EXCLUDED
    elif high:
        ceiling = SILVER

    # -- tiers: the first eligible tier the gates allow ----------------------------------------
    fit = r.strategic_fit
    gold_score = wa >= GOLD_MIN * ta
    gold_strength = ws >= GOLD_MIN_STRENGTH * ts
    gold_fit = fit is not None and fit >= 4
    silver_score = wa >= SILVER_MIN * ta
    bronze_score = wa >= BRONZE_MIN * ta
    eligible = (gold_score and gold_strength and gold_fit, silver_score, bronze_score, True)
    tier_tests = {
        "Gold": {
            "score.attractiveness >= 75": gold_score,
            "score.strength >= 40": gold_strength,
            "account.strategic_fit >= 4": gold_fit,
            "allowed by gates": ceiling <= 0,
        },
        "Silver": {"score.attractiveness >= 60": silver_score, "allowed by gates": ceiling <= 1},
        "Bronze": {"score.attractiveness >= 45": bronze_score, "allowed by gates": ceiling <= 2},
        "Standard": {},
    }
    tier = 3
    for index in range(ceiling, 4):
        if eligible[index]:
            tier = index
            break

    # -- segment: the portfolio matrix -----------------------------------------------------------
    attractive = wa >= STRATEGIC_MIN_ATTRACTIVENESS * ta
    strong = ws >= STRATEGIC_MIN_STRENGTH * ts
    if attractive and strong:
        segment = "Strategic"
    elif attractive:
        segment = "Star"
    elif strong:
        segment = "Status"
    else:
        segment = "Streamline"

    return {
        "account_id": r.id,
        "scores": {"attractiveness": wa / (ta * 100), "strength": ws / (ts * 100)},
        "exact": {"attractiveness": (wa, ta), "strength": (ws, ts)},
        "criteria": {"attractiveness": att, "strength": stg},
        "gates": gates,
        "tier_tests": tier_tests,
        "tier": TIERS[tier],
        "key_account": tier != 3,
        "segment": segment,
    }


def hand_loop(records: Sequence[Any]) -> None:
    evaluate = hand_evaluate
    for record in records:
        evaluate(record)


def _cents(weighted: int, total: int) -> int:
    """A score to hundredths, rounded half to even exactly (as kamrules shows it)."""
    return round(Fraction(weighted, total * 100) * 100)


def check_hand_loop(engine: kamrules.Engine, records: Sequence[Any], as_of: dt.date, decisions: int) -> list[str]:
    """Every disagreement between the hand-written loop and kamrules, at most 20."""
    problems: list[str] = []
    for number, record in enumerate(records):
        ours = hand_evaluate(record)
        outcome = engine.evaluate(record, as_of)
        where = f"record {number} ({outcome.account_id})"
        if ours["tier"] != outcome.tier:
            problems.append(f"{where}: tier {ours['tier']} by hand, {outcome.tier} by kamrules")
        if ours["segment"] != outcome.segment:
            problems.append(f"{where}: segment {ours['segment']} by hand, {outcome.segment} by kamrules")
        for card, score in outcome.scores.items():
            mine = _cents(*ours["exact"][card])
            theirs = round(score * 100)
            if mine != theirs:
                problems.append(f"{where}: {card} score {mine / 100:.2f} by hand, {theirs / 100:.2f} by kamrules")
        for card, (_, _, rows) in zip(outcome.scores, outcome._cards, strict=True):
            for mine_row, row in zip(ours["criteria"][card], rows, strict=True):
                if round(mine_row["points"] * 100) != row[1]:
                    problems.append(
                        f"{where}: {mine_row['id']} points {mine_row['points']} by hand, {row[1] / 100} by kamrules"
                    )
        applied = [g["applied"] for g in ours["gates"]]
        if applied != [g[0] for g in outcome._gates]:
            problems.append(f"{where}: gates {applied} by hand, {[g[0] for g in outcome._gates]} by kamrules")
        if number < decisions:  # the public model must say the same as the outcome
            decision = outcome.decision()
            if (decision.tier, decision.segment) != (ours["tier"], ours["segment"]):
                problems.append(f"{where}: Decision says {decision.tier}/{decision.segment}")
            for card, result in decision.scores.items():
                # Shown to two places; whether rounded or cut, it is within 0.01 of the exact score.
                weighted, total = ours["exact"][card]
                if abs(Fraction(str(result.score)) - Fraction(weighted, total * 100)) >= Fraction(1, 100):
                    problems.append(f"{where}: Decision {card} score {result.score}, by hand {weighted / total / 100}")
        if len(problems) >= 20:
            break
    return problems


def time_paired(variants: Sequence[Variant], as_of: dt.date, repeat: int) -> tuple[Timing, dict[str, Timing]]:
    """The hand-written loop and kamrules' ``evaluate()`` timed in alternating passes.

    Each round times one pass of the hand-written loop, then one of kamrules per variant, so
    that both sides of a ratio see the same machine load: on a shared machine a background
    job would otherwise favour whichever loop ran at a quiet moment.
    """
    records = variants[0].records
    hand = Timing("hand-written loop (plain dicts, full explanation)", len(records))
    paired = {
        v.key: Timing(f"[{v.key}] evaluate(record, as_of), alternating with it", len(v.records)) for v in variants
    }
    loops = {v.key: kamrules_loops(v.engine, as_of)["validated"] for v in variants}
    hand_loop(records[:2_000])
    for v in variants:
        loops[v.key](v.records[:2_000])
    for _ in range(repeat):
        start = time.perf_counter()
        hand_loop(records)
        hand.seconds.append(time.perf_counter() - start)
        for v in variants:
            start = time.perf_counter()
            loops[v.key](v.records)
            paired[v.key].seconds.append(time.perf_counter() - start)
    for timing in (hand, *paired.values()):
        print(f"  {timing.label:<58} {timing.rate:>12,.0f} accounts/s  ({timing.per_account_us:,.1f} µs/account)")
    return hand, paired


def paired_ratio(hand: Timing, kam: Timing) -> float:
    """The median over rounds of kamrules' throughput / the hand-written loop's."""
    return statistics.median((kam.count / k) / (hand.count / h) for h, k in zip(hand.seconds, kam.seconds, strict=True))


# =============================================================================================
# A generated rulebook of about 200 rules
# =============================================================================================

NUMERIC = (  # fact, bands (highest first) or scale ends
    ("annual_revenue", (20e6, 10e6, 5e6, 2e6, 5e5), (0, 25e6)),
    ("gross_margin_pct", (40, 30, 20, 10), (0, 45)),
    ("revenue_growth_pct", (25, 15, 5, 0), (-10, 30)),
    ("wallet_size", (50e6, 20e6, 8e6, 3e6), (0, 60e6)),
    ("share_of_wallet_pct", (60, 40, 25, 10), (0, 70)),
    ("years_as_customer", (10, 5, 3, 1), (0, 15)),
    ("nps", (60, 30, 0, -20), (-50, 70)),
    ("growth_potential", (5, 4, 3, 2), (1, 5)),
    ("strategic_fit", (5, 4, 3, 2), (1, 5)),
    ("relationship_strength", (5, 4, 3, 2), (1, 5)),
    ("competitive_position", (5, 4, 3, 2), (1, 5)),
    ("reference_value", (5, 4, 3, 2), (1, 5)),
)
MAPS = (
    ("credit_risk", {"low": 100, "medium": 60, "high": 20, "severe": 0}),
    (
        "stage",
        {"pre_sales": 10, "contract_negotiation": 30, "implementation_delivery": 60, "review": 80, "exploitation": 100},
    ),
)
BOOLEANS = ("wants_key_account", "shares_business_plans")
EXPRESSIONS = (
    "min(100, 20 * count(contacts, role in ['decision_maker', 'executive_sponsor', 'champion']"
    " and stance in ['mentor', 'supporter']) + 5 * count(contacts))",
    "min(100, 25 * count(contacts, stance == 'mentor'))",
    "clamp(2 * coalesce(account.gross_margin_pct, 0) + coalesce(account.revenue_growth_pct, 0), 0, 100)",
    "100 if present(plan.mentor) else 0",
    "min(100, 3 * coalesce(plan.horizon_months, 0))",
    "max(0, 100 - coalesce(days_since(plan.last_reviewed), 400) / 4)",
    "min(100, 15 * distinct(contacts, department))",
    "100 if any(contacts, role == 'executive_sponsor' and influence >= 4) else 20",
    "20 * coalesce(account.strategic_fit, 0) if account.credit_risk != 'severe' else 0",
    "min(100, 10 * distinct(contacts, level, stance in ['mentor', 'supporter']))",
    "0 if count(contacts) == 0 else 100 * count(contacts, stance in ['mentor', 'supporter']) / count(contacts)",
)
CARDS = ("value", "position", "potential", "health")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _criterion_yaml(card: int, j: int) -> str:
    kind = (j + card) % 5
    cid = f"{CARDS[card]}_{j:02d}"
    weight = 1 + (j * 7 + card * 3) % 10
    head = (
        f"      - id: {cid}\n"
        f"        title: Generated criterion {j} of the {CARDS[card]} scorecard\n"
        f"        description: >-\n"
        f"          A generated criterion for the load benchmark, scored by method {kind}; the text\n"
        f"          is here so that the rulebook is as long as a documented one.\n"
        f"        weight: {weight}\n"
    )
    missing = ("zero", "drop", "zero")[j % 3]
    if kind in (0, 1):
        fact, bands, (lo, hi) = NUMERIC[(j // 2 + card) % len(NUMERIC)]
        if kind == 0:
            lines = "".join(
                f"          - {{at_least: {_num(b)}, points: {100 - 20 * k}, label: band {k}}}\n"
                for k, b in enumerate(bands)
            )
            return head + f"        fact: account.{fact}\n        missing: {missing}\n        bands:\n{lines}"
        scale = f"{{from: {_num(lo)}, to: {_num(hi)}}}"
        return head + f"        fact: account.{fact}\n        missing: {missing}\n        scale: {scale}\n"
    if kind == 2:
        fact, points = MAPS[(j + card) % len(MAPS)]
        body = "".join(f"          {k}: {v}\n" for k, v in points.items())
        return head + f"        fact: account.{fact}\n        map:\n{body}"
    if kind == 3:
        fact = BOOLEANS[(j + card) % len(BOOLEANS)]
        return head + f'        fact: account.{fact}\n        boolean: {{"true": 100, "false": {j % 4 * 10}}}\n'
    expression = EXPRESSIONS[(j + card) % len(EXPRESSIONS)]
    return head + f"        expression: >-\n          {expression}\n"


def generated_rulebook(folder: Path, per_card: int = 45) -> dict[str, int]:
    """Write a rulebook of 4 scorecards x ``per_card`` criteria, 10 gates, 6 tiers and 4 segments."""
    rulebook = textwrap.dedent(
        """\
        rulebook: generated_benchmark
        version: "1.0"
        title: Generated rulebook for the load benchmark
        description: >-
          Four scorecards of many criteria, gates, six tiers and a portfolio matrix, generated
          by benchmarks/bench_selection.py to time loading and compiling a large rulebook.
        defaults:
          missing: zero
        primary_scorecard: value
        facts:
          custom:
            - name: nps
              type: integer
              minimum: -100
              maximum: 100
              column: NPS__c
              description: Net Promoter Score from the latest survey.
            - name: shares_business_plans
              type: boolean
              column: Shares_Business_Plans__c
              description: Whether the customer shares its plans with us.
          columns:
            annual_revenue: AnnualRevenue
            credit_risk: Credit_Risk__c
        """
    )
    cards = ["scorecards:\n"]
    for k, card in enumerate(CARDS):
        cards.append(f"  - id: {card}\n    title: The {card} scorecard\n    criteria:\n")
        cards.extend(_criterion_yaml(k, j) for j in range(per_card))
    gates = [
        ("declines_kam", "account.wants_key_account == false", "exclude", None),
        ("severe_credit_risk", "account.credit_risk == 'severe'", "exclude", None),
        ("high_credit_risk", "account.credit_risk == 'high'", "cap", "Gold"),
        ("negative_margin", "account.gross_margin_pct < 0", "exclude", None),
        ("detractors", "account.nps < -50", "cap", "Silver"),
        ("no_contacts", "count(contacts) == 0", "cap", "Bronze"),
        ("pre_sales", "account.stage == 'pre_sales'", "cap", "Copper"),
        ("stale_plan", "days_since(plan.last_reviewed) > 365", "cap", "Silver"),
        ("weak_everywhere", "score.value < 20 and score.position < 20", "cap", "Copper"),
        ("new_and_small", "account.years_as_customer < 0.5 and account.annual_revenue < 100000", "cap", "Bronze"),
    ]
    gate_text = ["gates:\n"]
    for gid, when, effect, at_most in gates:
        gate_text.append(
            f'  - id: {gid}\n    title: Gate {gid}\n    when: "{when}"\n    effect: {effect}\n'
            + (f"    at_most: {at_most}\n" if at_most else "")
            + f"    reason: The generated gate {gid} applies.\n"
        )
    tiers = textwrap.dedent(
        """\
        tiers:
          - name: Platinum
            min_score: 80
            min_scores: {position: 50, health: 40}
            requires:
              - when: account.strategic_fit >= 4
                reason: Platinum needs a strategic fit of 4 or 5.
              - when: count(contacts, stance == 'mentor') >= 1
                reason: Platinum needs a mentor at the customer.
          - name: Gold
            min_score: 70
            min_scores: {position: 40}
            requires:
              - account.strategic_fit >= 3
              - present(plan.owner)
          - name: Silver
            min_score: 60
            min_scores: {potential: 30}
            requires:
              - account.wants_key_account == true
          - name: Bronze
            min_score: 50
          - name: Copper
            min_score: 40
            requires:
              - when: score.health >= 20 or score.potential >= 30
                reason: Copper needs some health or potential.
          - name: Standard
        segments:
          - name: Strategic
            when: score.value >= 60 and score.position >= 50
          - name: Star
            when: score.value >= 60
          - name: Status
            when: score.position >= 50
          - name: Streamline
        """
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rulebook.yaml").write_text(rulebook, encoding="utf-8")
    (folder / "selection.yaml").write_text("".join(cards), encoding="utf-8")
    (folder / "gates.yaml").write_text("".join(gate_text), encoding="utf-8")
    (folder / "tiers.yaml").write_text(tiers, encoding="utf-8")
    criteria = len(CARDS) * per_card
    return {"criteria": criteria, "gates": len(gates), "tiers": 6, "segments": 4, "rules": criteria + len(gates) + 10}


@dataclass
class LoadTiming:
    rules: dict[str, int]
    bytes: int
    first: float
    """The first load in this process (kamrules already imported and used)."""
    warm: list[float]
    fresh_import: float
    """``import kamrules`` in a new interpreter."""
    fresh_load: float
    """The first load in a new interpreter, after the import: the truly cold figure."""

    @property
    def median(self) -> float:
        return statistics.median(self.warm)

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.rules,
            "yaml_bytes": self.bytes,
            "fresh_process_import_seconds": round(self.fresh_import, 6),
            "fresh_process_load_seconds": round(self.fresh_load, 6),
            "first_in_process_seconds": round(self.first, 6),
            "seconds": [round(s, 6) for s in self.warm],
            "median_seconds": round(self.median, 6),
        }


_FRESH = """\
import json, sys, time
start = time.perf_counter()
import kamrules
imported = time.perf_counter()
kamrules.Engine(kamrules.load_rulebook(sys.argv[1]))
done = time.perf_counter()
print(json.dumps({"import": imported - start, "load": done - imported}))
"""


def time_fresh_load(folder: Path) -> tuple[float, float]:
    """(import seconds, first load seconds) in a new interpreter."""
    output = subprocess.run(
        [sys.executable, "-c", _FRESH, str(folder)], check=True, capture_output=True, text=True
    ).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    return float(figures["import"]), float(figures["load"])


def time_load(runs: int, raws: Sequence[dict[str, Any]], as_of: dt.date) -> LoadTiming:
    with tempfile.TemporaryDirectory(prefix="kamrules-bench-") as tmp:
        folder = Path(tmp) / "rules"
        counts = generated_rulebook(folder)
        size = sum(p.stat().st_size for p in folder.iterdir())
        fresh_import, fresh_load = time_fresh_load(folder)
        times: list[float] = []
        engine = None
        for _ in range(runs + 1):  # the first run is reported on its own
            start = time.perf_counter()
            engine = kamrules.Engine(kamrules.load_rulebook(folder))
            times.append(time.perf_counter() - start)
        assert engine is not None
        # The generated rulebook must be a working one, not just a loadable one.
        tiers: dict[str, int] = {}
        for raw in raws:
            tier = engine.evaluate(engine.validate(raw), as_of).tier
            tiers[tier] = tiers.get(tier, 0) + 1
    print(f"  generated rulebook: {counts} ({size:,} bytes of YAML); tiers of the examples: {tiers}")
    return LoadTiming(counts, size, times[0], times[1:], fresh_import, fresh_load)


# =============================================================================================
# Main
# =============================================================================================


def read_accounts(path: Path, n: int) -> list[dict[str, Any]]:
    """The accounts of a JSON Lines file cycled to ``n`` records, each its own dict."""
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        raise SystemExit(f"no accounts in {path}")
    return [json.loads(lines[i % len(lines)]) for i in range(n)]


def pin_to_one_cpu() -> str:
    if not hasattr(os, "sched_setaffinity"):
        return "not pinned (no sched_setaffinity on this platform)"
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    return f"pinned to CPU {cpus[-1]} of {len(cpus)} available"


def git_state() -> str | None:
    """The commit of the repository kamrules is imported from, and whether the tree is dirty."""
    source = Path(kamrules.__file__).parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=source, check=True, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "."], cwd=source, check=True, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + (" with uncommitted changes to kamrules" if dirty else "")


def tree_digest(*roots: Path) -> str:
    """A digest of the files under ``roots`` (kamrules' sources, the rulebook), to notice
    when they change while the benchmark runs."""
    digest = hashlib.sha256()
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.suffix in (".py", ".yaml", ".yml"))
        for file in files:
            digest.update(str(file).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


@dataclass
class Variant:
    """A rulebook the kamrules loops are timed with, its engine and its validated records."""

    key: str
    title: str
    path: Path
    engine: kamrules.Engine
    raws: list[dict[str, Any]]
    records: list[FactRecord]


_TOP_LEVEL_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\s*:")


def without_plan_checks(text: str) -> tuple[str, bool]:
    """A rule file's text without its top-level ``plan_checks:`` block (up to the next
    top-level key), and whether there was one. Comments and other keys are kept."""
    kept: list[str] = []
    skipping = found = False
    for line in text.splitlines(keepends=True):
        match = _TOP_LEVEL_KEY.match(line)
        if match:
            skipping = match.group(1) == "plan_checks"
            found = found or skipping
        if not skipping:
            kept.append(line)
    return "".join(kept), found


def selection_only_copy(rules: Path, dest: Path) -> list[str]:
    """Copy a rulebook without its plan checks; the names of the files that had some."""
    files = [rules] if rules.is_file() else sorted(p for p in rules.iterdir() if p.suffix in (".yaml", ".yml"))
    changed: list[str] = []
    dest.mkdir(parents=True, exist_ok=True)
    for file in files:
        text, found = without_plan_checks(file.read_text(encoding="utf-8-sig"))
        if found:
            changed.append(file.name)
        (dest / file.name).write_text(text, encoding="utf-8")
    return changed


def make_variant(key: str, title: str, path: Path, raws: list[dict[str, Any]]) -> Variant:
    engine = kamrules.Engine(kamrules.load_rulebook(path))
    records: list[FactRecord] = []
    valid: list[dict[str, Any]] = []
    for raw in raws:
        try:
            records.append(engine.validate(raw))
        except kamrules.InvalidRecord:
            continue
        valid.append(raw)
    if len(valid) < len(raws):
        print(f"  note: {len(raws) - len(valid):,} of {len(raws):,} records do not validate against {title}; left out")
    return Variant(key, title, path, engine, valid, records)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=50_000, help="accounts per pass (the examples, cycled)")
    parser.add_argument("--repeat", type=int, default=5, help="timed passes per figure; the median is reported")
    parser.add_argument("--load-runs", type=int, default=5, help="timed loads (after a first one reported apart)")
    parser.add_argument("--rules", type=Path, default=DEFAULT_RULES, help="the rulebook (default: rules/)")
    parser.add_argument("--accounts", type=Path, default=DEFAULT_ACCOUNTS, help="JSON Lines accounts")
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=AS_OF, help="as-of date (YYYY-MM-DD)")
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS), help="run only these parts")
    parser.add_argument(
        "--no-selection-variant",
        action="store_true",
        help="when the rulebook has plan checks, do not also time it without them",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin the process to one CPU")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeat < 1 or args.load_runs < 1:
        parser.error("--n, --repeat and --load-runs must be at least 1")

    pinning = "not pinned (--no-pin)" if args.no_pin else pin_to_one_cpu()
    environment = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "cpu_pinning": pinning,
        "kamrules": kamrules.__version__,
        "kamrules_source": str(Path(kamrules.__file__).parent),
        "git": git_state(),
        "sources_digest": tree_digest(Path(kamrules.__file__).parent, args.rules),
    }
    print(f"kamrules {kamrules.__version__} selection benchmark")
    print(f"  Python {environment['python']} on {environment['platform']}, {environment['cpus']} CPUs, {pinning}")
    print(f"  kamrules from {environment['kamrules_source']} (git {environment['git']})")
    print(f"  rulebook {args.rules}, accounts {args.accounts} cycled to {args.n:,}, as of {args.as_of}")
    print(f"  figures: median of {args.repeat} passes after a warm-up")

    with tempfile.TemporaryDirectory(prefix="kamrules-bench-") as tmp:
        raws = read_accounts(args.accounts, args.n)
        full = make_variant("full", f"{args.rules.name}/", args.rules, raws)
        variants = [full]
        checks = len(getattr(full.engine, "checks", ()))
        if checks and not args.no_selection_variant:
            folder = Path(tmp) / "selection"
            changed = selection_only_copy(args.rules, folder)
            title = f"{args.rules.name}/ without the plan_checks of {', '.join(changed)}"
            selection = make_variant("selection", title, folder, raws)
            same = (
                len(getattr(selection.engine, "checks", ())) == 0
                and len(selection.engine.gates) == len(full.engine.gates)
                and [len(c.criteria) for c in selection.engine.cards] == [len(c.criteria) for c in full.engine.cards]
                and len(selection.engine.tiers) == len(full.engine.tiers)
            )
            if same:
                variants.append(selection)
            else:
                print("  note: could not strip the plan checks cleanly; no selection-only variant")
        for v in variants:
            own = len(getattr(v.engine, "checks", ()))
            print(f"  rulebook variant [{v.key}]: {v.title} ({own} plan checks)")
        print()
        results: dict[str, Any] = {
            "environment": environment,
            "parameters": _parameters(args, len(full.records)),
            "variants": {v.key: v.title for v in variants},
        }
        timings: dict[str, Timing] = {}
        failed = False

        gc.collect()
        if "validated" in args.only:
            print("1. validated records")
            for v in variants:
                loops = kamrules_loops(v.engine, args.as_of)
                timings[f"{v.key}:validated"] = time_loop(
                    f"[{v.key}] evaluate(record, as_of)", loops["validated"], v.records, args.repeat
                )
                timings[f"{v.key}:validated_decision"] = time_loop(
                    f"[{v.key}] evaluate(record, as_of).decision()", loops["validated_decision"], v.records, args.repeat
                )
        if "raw" in args.only:
            print("2. raw dicts (validation included)")
            for v in variants:
                loops = kamrules_loops(v.engine, args.as_of)
                timings[f"{v.key}:raw"] = time_loop(
                    f"[{v.key}] evaluate(validate(raw), as_of)", loops["raw"], v.raws, args.repeat
                )
                timings[f"{v.key}:raw_decision"] = time_loop(
                    f"[{v.key}] evaluate(validate(raw), as_of).decision()", loops["raw_decision"], v.raws, args.repeat
                )
        if "hand" in args.only:
            print("3. hand-written loop (the selection rules by hand, over the same validated records)")
            problems: list[str] = []
            for v in variants:
                found = check_hand_loop(v.engine, v.records, args.as_of, decisions=min(len(v.records), 300))
                problems += [f"[{v.key}] {p}" for p in found]
            agreed = not problems
            results["hand_written_agrees"] = agreed
            if agreed:
                print(
                    f"  agreement: tier, segment, scores, points and gates equal for all {len(full.records):,} "
                    f"accounts, with every variant"
                )
            else:
                failed = True
                print("  DISAGREEMENT between the hand-written loop and kamrules:")
                for problem in problems:
                    print(f"    {problem}")
            hand, paired = time_paired(variants, args.as_of, args.repeat)
            timings["hand"] = hand
            for key, timing in paired.items():
                timings[f"{key}:paired"] = timing
            ratios = {v.key: paired_ratio(hand, paired[v.key]) for v in variants}
            results["paired_ratios"] = ratios
            for v in variants:
                print(f"  [{v.key}] ratio evaluate() / hand-written, median of the passes paired: {ratios[v.key]:.2f}x")

        load: LoadTiming | None = None
        if "load" in args.only:
            print("4. load and compile a generated ~200-rule rulebook: load_rulebook(path) + Engine(rulebook)")
            load = time_load(args.load_runs, full.raws[:300], args.as_of)
            print(
                f"  new process: import kamrules {load.fresh_import:.3f} s, then first load {load.fresh_load:.3f} s; "
                f"this process: first {load.first:.3f} s, median of {args.load_runs} more {load.median:.3f} s"
            )
            results["load"] = load.as_dict()

    digest = tree_digest(Path(kamrules.__file__).parent, args.rules)
    results["sources_changed_during_run"] = digest != environment["sources_digest"]
    if results["sources_changed_during_run"]:
        print(
            "\nWARNING: kamrules' sources or the rulebook changed while the benchmark ran; the figures may mix versions"
        )
    results["timings"] = {name: t.as_dict() for name, t in timings.items()}
    targets = _targets(timings, results.get("paired_ratios", {}), load, [v.key for v in variants])
    results["targets"] = targets

    print("\nSummary")
    for v in variants:
        print(f"  [{v.key}] = {v.title}")
    for row in targets:
        print(f"  {row['figure']:<62} {row['measured']:>14}   target {row['target']:<16} {row['verdict']}")
    if "hand_written_agrees" in results:
        if results["hand_written_agrees"]:
            print(f"  hand-written loop agrees with kamrules on all {len(full.records):,} accounts")
        else:
            print("  hand-written loop DISAGREES with kamrules (see above): exit 1")
            print("hand-written loop disagrees with kamrules", file=sys.stderr)

    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
        print(f"\nwrote {args.json}")
    return 1 if failed else 0


def _valid(engine: kamrules.Engine, raw: dict[str, Any]) -> bool:
    try:
        engine.validate(raw)
    except kamrules.InvalidRecord:
        return False
    return True


def _parameters(args: argparse.Namespace, accounts: int) -> dict[str, Any]:
    return {
        "rules": str(args.rules),
        "accounts_file": str(args.accounts),
        "accounts": accounts,
        "as_of": args.as_of.isoformat(),
        "repeat": args.repeat,
        "load_runs": args.load_runs,
        "parts": list(args.only),
    }


def _targets(
    timings: dict[str, Timing], ratios: dict[str, float], load: LoadTiming | None, variants: list[str]
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []

    def row(figure: str, value: float, shown: str, target: str, ok: bool | None) -> None:
        rows.append(
            {
                "figure": figure,
                "value": round(value, 4),
                "measured": shown,
                "target": target,
                "verdict": "n/a" if ok is None else verdict(ok),
            }
        )

    def rate_row(key: str, figure: str, target: str = "(none)", minimum: float | None = None) -> None:
        if key in timings:
            rate = timings[key].rate
            row(figure, rate, f"{rate:,.0f} acc/s", target, None if minimum is None else rate >= minimum)

    for v in variants:
        rate_row(f"{v}:validated", f"[{v}] validated: evaluate()", ">= 50,000 acc/s", TARGET_VALIDATED)
        rate_row(f"{v}:validated_decision", f"[{v}] validated: evaluate().decision()")
        rate_row(f"{v}:raw", f"[{v}] raw: evaluate(validate())", ">= 20,000 acc/s", TARGET_RAW)
        rate_row(f"{v}:raw_decision", f"[{v}] raw: evaluate(validate()).decision()")
    if "hand" in timings:
        hand = timings["hand"].rate
        row("hand-written loop", hand, f"{hand:,.0f} acc/s", "(reference)", None)
        for v in variants:
            ratio = ratios[v]
            row(
                f"[{v}] ratio evaluate() / hand-written (paired)",
                ratio,
                f"{ratio:.2f}x",
                ">= 0.50x",
                ratio >= TARGET_RATIO,
            )
            if f"{v}:validated_decision" in timings:
                ratio = timings[f"{v}:validated_decision"].rate / hand
                row(f"[{v}] ratio evaluate().decision() / hand-written", ratio, f"{ratio:.3f}x", "(none)", None)
    if load is not None:
        rules = load.rules["rules"]
        row(
            f"load + compile {rules}-rule rulebook (median)",
            load.median,
            f"{load.median:.3f} s",
            "< 0.5 s",
            load.median < TARGET_LOAD,
        )
        cold = load.fresh_load
        row(
            f"load + compile {rules}-rule rulebook (cold, new process)",
            cold,
            f"{cold:.3f} s",
            "< 0.5 s",
            cold < TARGET_LOAD,
        )
        row("import kamrules (new process)", load.fresh_import, f"{load.fresh_import:.3f} s", "(none)", None)
    return rows


if __name__ == "__main__":
    sys.exit(main())
