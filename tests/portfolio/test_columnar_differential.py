"""Differential test: the columnar evaluator against ``Engine`` + ``apply_capacity``.

Hypothesis writes random rulebooks (criteria of every method and missing policy, gates that
exclude or cap with every missing policy, tiers with min_score, min_scores, requirements,
capacities as counts and shares and per manager, tie-breakers, stability, segments, plan
checks) and random portfolios (missing facts, values exactly on thresholds, numbers given
as text, bad values, overrides, unknown current tiers, nested facts, duplicate ids), and
every decision of the columnar evaluator must equal the per-account decision: tier, segment,
points, exact weighted sums, gates, compliance, each plan check's result, tier by rules,
placement, errors.
"""

from __future__ import annotations

import datetime as dt
import random
import warnings
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

pl = pytest.importorskip("polars")

import yaml  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kamrules import Engine, load_rulebook_text  # noqa: E402
from kamrules.evaluation.engine import Outcome, account_error  # noqa: E402
from kamrules.evaluation.exact import score2  # noqa: E402
from kamrules.explanation.decision import AccountError  # noqa: E402
from kamrules.facts.records import InvalidRecord  # noqa: E402
from kamrules.portfolio import evaluate_portfolio  # noqa: E402
from kamrules.portfolio.batch import repeated_account  # noqa: E402
from kamrules.portfolio.capacity import apply_capacity  # noqa: E402

AS_OF = dt.date(2026, 11, 1)

CUSTOM = [
    {"name": "n1", "type": "number", "description": "A number.", "column": "N1__c"},
    {"name": "n2", "type": "number", "description": "A bounded number.", "minimum": -50, "maximum": 50},
    {"name": "i1", "type": "integer", "description": "A bounded integer.", "minimum": 0, "maximum": 10},
    {"name": "b1", "type": "boolean", "description": "A flag."},
    {"name": "c1", "type": "category", "description": "A colour.", "values": ["red", "green", "blue"]},
    {"name": "d1", "type": "date", "description": "A date."},
]
THRESHOLDS = [0, 1, 2.5, 5, 10, 33.33, 50]
POINTS = ["0", "12.5", "33.33", "50", "75", "100"]
WEIGHTS = ["0", "0.5", "1", "3", "10", "33.33"]
MISSING = [None, "zero", "drop", "error"]

NUMBER_EXPRESSIONS = [
    "n1 * 2",
    "coalesce(i1, 3) * 10",
    "n1 / i1",
    "clamp(n2, 0, 100)",
    "min(n1, i1 * 10)",
    "abs(n2) / 3",
    "100 if b1 else 25.5",
    "days_since(d1) / 10",
    "count(contacts) * 5 + 40",
    "n2 + 50.125",
    "annual_revenue / 1000000",
]
CONDITIONS = [
    "n1 > 10",
    "n1 >= 2.5",
    "c1 == 'red'",
    "b1 == false",
    "not b1",
    "i1 >= 3 and n2 < 0",
    "i1 in [1, 2, 5]",
    "c1 not in ['blue']",
    "present(d1) and d1 < date('2026-01-01')",
    "score.a < 30",
    "score.a >= 50",
    "score.a >= score.b",
    "25 <= score.b < 75",
    "score.b > i1 * 10",
    "credit_risk == 'high'",
    "strategic_fit >= 4",
    "account_manager == 'kim'",
    "any(contacts, role == 'decision_maker')",
    "plan.status == 'agreed'",
    "missing(n1) or n1 < 0",
    "stage in ['review', 'exploitation']",
]
RARE_CONDITIONS = ["score.a + score.b > 100"]  # no columnar form: the whole rulebook goes per account
TIE_BREAKERS = ["n1", "i1", "account_manager", "d1", "score.b", "b1", "n2 * 2", "c1"]
DATES = ["d1", "max(plan.reviews, date)", "add_days(d1, 30)", "plan.last_reviewed"]
MANAGERS = ["kim", "lee", "max", None]


def _criterion(draw: Any, index: int) -> dict[str, Any]:
    method = draw(st.sampled_from(["bands", "scale", "map", "boolean", "expression"]))
    criterion: dict[str, Any] = {"id": f"c{index}", "weight": draw(st.sampled_from(WEIGHTS))}
    if method == "bands":
        fact = draw(st.sampled_from(["account.n1", "account.n2", "account.i1", "account.annual_revenue"]))
        at = sorted(draw(st.sets(st.sampled_from(THRESHOLDS), min_size=1, max_size=4)), reverse=True)
        criterion.update(
            fact=fact,
            bands=[{"at_least": a, "points": draw(st.sampled_from(POINTS))} for a in at],
            below_bands=draw(st.sampled_from(POINTS)),
        )
    elif method == "scale":
        low, high = draw(st.sampled_from([(0, 10), (10, 0), (-50, 50), (2.5, 33.33), (0, 3)]))
        criterion.update(
            fact=draw(st.sampled_from(["account.n1", "account.n2", "account.i1"])),
            scale={
                "from": low,
                "to": high,
                "points_from": draw(st.sampled_from(POINTS)),
                "points_to": draw(st.sampled_from(POINTS)),
            },
        )
    elif method == "map":
        criterion.update(fact="account.c1", map={c: draw(st.sampled_from(POINTS)) for c in ("red", "green", "blue")})
    elif method == "boolean":
        criterion.update(
            fact="account.b1", boolean={"true": draw(st.sampled_from(POINTS)), "false": draw(st.sampled_from(POINTS))}
        )
    else:
        criterion["expression"] = draw(st.sampled_from(NUMBER_EXPRESSIONS))
    missing = draw(st.sampled_from([*MISSING, None, None]))
    if missing is not None:
        criterion["missing"] = missing
    return criterion


@st.composite
def rulebooks(draw: Any) -> dict[str, Any]:
    count = draw(st.integers(2, 7))
    criteria = [_criterion(draw, i) for i in range(count)]
    criteria[0]["weight"] = "10"  # a scorecard needs some weight
    split = draw(st.integers(1, count - 1))
    two_cards = draw(st.booleans())
    spec: dict[str, Any] = {
        "rulebook": "random",
        "version": "1",
        "defaults": {"missing": draw(st.sampled_from(["zero", "drop"]))},
        "facts": {"custom": CUSTOM, "columns": {"annual_revenue": "Revenue"}},
    }
    if two_cards:
        criteria[split]["weight"] = "3"
        spec["scorecards"] = [{"id": "a", "criteria": criteria[:split]}, {"id": "b", "criteria": criteria[split:]}]
    else:
        spec["scorecards"] = [{"id": "a", "criteria": criteria}, {"id": "b", "criteria": [criteria[0] | {"id": "cb"}]}]
    conditions = st.sampled_from(CONDITIONS)
    if draw(st.integers(0, 9)) == 0:
        conditions = st.sampled_from(CONDITIONS + RARE_CONDITIONS)
    tier_count = draw(st.integers(2, 4))
    mins = sorted(
        draw(
            st.lists(
                st.sampled_from(["80", "62.5", "50", "33.33", "20", "0"]),
                min_size=tier_count - 1,
                max_size=tier_count - 1,
            )
        ),
        key=Decimal,
        reverse=True,
    )
    tiers: list[dict[str, Any]] = []
    for i in range(tier_count - 1):
        tier: dict[str, Any] = {"name": f"T{i}"}
        if draw(st.integers(0, 4)):
            tier["min_score"] = mins[i]
        if draw(st.integers(0, 3)) == 0:
            tier["min_scores"] = {"b": draw(st.sampled_from(["20", "40.5", "60"]))}
        if draw(st.integers(0, 2)) == 0:
            tier["requires"] = [draw(conditions) for _ in range(draw(st.integers(1, 2)))]
        capacity = draw(st.sampled_from([None, None, 0, 1, 3, "10%", "25.5%", "50%"]))
        if capacity is not None:
            tier["capacity"] = capacity
        if draw(st.integers(0, 3)) == 0:
            tier["capacity_per_manager"] = draw(st.integers(1, 3))
        if draw(st.integers(0, 5)) == 0:
            tier["key_account"] = False
        tiers.append(tier)
    tiers.append({"name": "Rest"})
    spec["tiers"] = tiers
    gates = []
    for i in range(draw(st.integers(0, 3))):
        gate: dict[str, Any] = {"id": f"g{i}", "when": draw(conditions), "reason": "Because."}
        if draw(st.booleans()):
            gate["effect"] = "exclude"
        else:
            gate["effect"] = "cap"
            gate["at_most"] = draw(st.sampled_from([t["name"] for t in tiers]))
        gate["missing"] = draw(st.sampled_from(["skip", "apply", "error", "skip"]))
        gates.append(gate)
    spec["gates"] = gates
    segments = [{"name": f"S{i}", "when": draw(conditions)} for i in range(draw(st.integers(0, 3)))]
    if segments and draw(st.booleans()):
        segments.append({"name": "Other"})
    spec["segments"] = segments
    spec["tie_breakers"] = [
        {"by": draw(st.sampled_from(TIE_BREAKERS)), "order": draw(st.sampled_from(["descending", "ascending"]))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    if draw(st.booleans()):
        spec["stability"] = {"margin": draw(st.sampled_from(["2.5", "5", "10"]))}
    checks = []
    for i in range(draw(st.integers(0, 3))):
        check: dict[str, Any] = {
            "id": f"p{i}",
            "title": "A check.",
            "severity": draw(st.sampled_from(["blocker", "major", "minor"])),
            "remediation": "Fix it.",
        }
        if draw(st.booleans()):
            check["require"] = draw(conditions)
        else:
            check["fresh"] = {"date": draw(st.sampled_from(DATES)), "within_days": draw(st.sampled_from([30, 365]))}
        if draw(st.booleans()):
            check["from_stage"] = draw(st.sampled_from(["contract_negotiation", "review"]))
        if draw(st.integers(0, 2)) == 0:
            check["tiers"] = draw(
                st.lists(st.sampled_from([t["name"] for t in tiers]), min_size=1, max_size=2, unique=True)
            )
        checks.append(check)
    spec["plan_checks"] = checks
    return spec


def _number(rng: random.Random, bounded: bool) -> Any:
    roll = rng.random()
    value: Any
    if roll < 0.4:
        value = rng.choice([*THRESHOLDS, -1, 0.0, 100, 1e6, 2_000_000, 5_000_000])  # on the thresholds
    elif roll < 0.7:
        value = rng.randint(-60, 60) if bounded else rng.randint(-100, 10_000_000)
    else:
        value = rng.uniform(-60, 60) if bounded else rng.uniform(-1e7, 1e7)
    if bounded and not -50 <= value <= 50 and rng.random() < 0.9:
        value = max(-50, min(50, value))
    if rng.random() < 0.1:
        return str(value)  # as a CSV export gives it
    return value


def _account(rng: random.Random, number: int) -> Any:
    """One raw record: mostly sound, with the faults a CRM export has at realistic rates."""
    if rng.random() < 0.005:
        return rng.choice([["not", "a", "record"], {"name": "no id"}])
    bad = rng.random() < 0.04  # one in 25 records carries a value the validator refuses
    duplicate = rng.random() < 0.03
    record: dict[str, Any] = {"id": f"A{rng.randint(0, 40) if duplicate else number:03d}"}

    def maybe(key: str, value: Any, faulty: list[Any] | None = None) -> None:
        if rng.random() < 0.12:
            return
        if bad and faulty and rng.random() < 0.3:
            value = rng.choice(faulty)
        record[key] = value

    maybe("n1" if rng.random() < 0.5 else "N1__c", _number(rng, False), ["1_0x"])
    maybe("n2", _number(rng, True), [51, "-50.5"])
    maybe("i1", rng.choice([*range(11), 3.0, "4", 10]), [11, -1, 2.5, "2.0"])
    maybe("b1", rng.choice([True, False, "true", "no", 1, 0]), ["maybe", 2])
    maybe("c1", rng.choice(["red", "green", "blue"]), ["Red", "purple"])
    maybe(
        "d1",
        rng.choice(["2026-11-01", "2025-12-31", "2026-01-01", dt.date(2026, 10, 2), "2026-10-02"]),
        ["01/02/2026", "2026-02-30"],
    )
    revenue = _number(rng, False)
    if isinstance(revenue, int | float) and rng.random() < 0.9:
        revenue = abs(revenue)
    maybe("Revenue" if rng.random() < 0.5 else "annual_revenue", revenue, [-1])
    maybe("strategic_fit", rng.randint(1, 5), [0, 6])
    maybe("credit_risk", rng.choice(["low", "medium", "high", "severe"]), ["none"])
    maybe("stage", rng.choice(["pre_sales", "contract_negotiation", "review", "exploitation"]), ["done"])
    manager = rng.choice(MANAGERS)
    if manager is not None:
        record["account_manager"] = manager
    if rng.random() < 0.3:
        record["current_tier"] = rng.choice(["T0", "T1", "T2", "Rest", "Gold"])
    if rng.random() < 0.06:
        record["override_tier"] = rng.choice(["T0", "T1", "Rest", "Platinum"])
        for key, value in (
            ("override_reason", "Strategic."),
            ("override_approver", "Director"),
            ("override_expires", rng.choice(["2026-10-31", "2026-11-01", "2027-01-01"])),
        ):
            if rng.random() < 0.9:
                record[key] = value
    if rng.random() < 0.05:
        record["contacts"] = [{"id": "C1", "role": "decision_maker", "stance": "supporter"}]
    if rng.random() < 0.03:
        record["plan"] = {"status": "agreed", "reviews": [{"date": "2026-09-01", "kind": "mentor"}]}
    if rng.random() < 0.03:
        record["contacts"] = []
    return record


def portfolio(rng: random.Random, size: int) -> list[Any]:
    return [_account(rng, i) for i in range(size)]


def reference(engine: Engine, rows: list[Any]) -> list[Outcome | AccountError]:
    """The per-account decisions, placed by capacity over the portfolio."""
    items: list[Outcome | AccountError] = []
    for number, raw in enumerate(rows, start=1):
        try:
            items.append(engine.evaluate(engine.validate(raw), AS_OF))
        except InvalidRecord as exc:
            items.append(account_error(number, exc))
    seen: dict[str, int] = {}
    for i, item in enumerate(items):  # an account id given again is an error for the repeat
        if isinstance(item, Outcome):
            first = seen.setdefault(item.account_id, i)
            if first != i:
                items[i] = repeated_account(i + 1, i + 1, item.account_id, first + 1)
    placed = iter(apply_capacity(engine, [i for i in items if isinstance(i, Outcome)]))
    return [next(placed) if isinstance(i, Outcome) else i for i in items]


def compare(engine: Engine, frame: pl.DataFrame, expected: list[Outcome | AccountError]) -> None:
    assert frame.height == len(expected)
    for row, item in zip(frame.iter_rows(named=True), expected, strict=True):
        where = f"record {row['record']}"
        if isinstance(item, AccountError):
            assert row["status"] == "error", where
            assert row["error"] == "; ".join(f"{e.field}: {e.message}" for e in item.errors), where
            assert row["account_id"] == item.account_id, where
            continue
        assert row["status"] == "decided", (where, row["error"])
        assert row["account_id"] == item.account_id, where
        assert row["tier"] == item.tier, where
        assert row["tier_by_rules"] == engine.tiers[item.rules_index].name, where
        assert row["key_account"] == engine.tiers[item.tier_index].key_account, where
        assert row["segment"] == item.segment, where
        assert row["placement"] == ("; ".join(note for _, note in item.placement) or None), where
        assert row["compliance"] == item.compliance_status, where
        for card, (weighted, total, crows) in zip(engine.cards, item._cards, strict=True):
            assert row[f"weighted.{card.id}"] == weighted, where
            assert row[f"total_weight.{card.id}"] == total, where
            assert row[f"score.{card.id}"] == score2(Fraction(weighted, total * 100)), where
            for c, crow in zip(card.criteria, crows, strict=True):
                expected_points = None if crow[3] == 2 else Decimal(crow[1]) / 100
                assert row[f"points.{c.spec.id}"] == expected_points, (where, c.spec.id)
        for gate, (applied, unknown, _) in zip(engine.gates, item._gates, strict=True):
            assert row[f"gate.{gate.spec.id}"] == ("applies" if applied else "unknown" if unknown else "no"), where
        not_passed = []
        for check, (kind, passed, *_) in zip(engine.checks, item._check_rows, strict=True):
            # kind 0: evaluated at the final tier and stage; passed None: unknown
            status = "not_applicable" if kind else {True: "passed", False: "failed", None: "evidence_missing"}[passed]
            assert row[f"check.{check.spec.id}"] == status, (where, check.spec.id)
            if status in ("failed", "evidence_missing"):
                not_passed.append(check.spec.id)
        if engine.checks:
            assert row["failed_checks"] == not_passed, where


@pytest.mark.slow
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(spec=rulebooks(), data=st.data())
def test_columnar_decisions_equal_per_account_decisions(spec: dict[str, Any], data: st.DataObject) -> None:
    rulebook = load_rulebook_text(yaml.safe_dump(spec, sort_keys=False))
    engine = Engine(rulebook)
    size = data.draw(st.integers(20, 80))
    rows = portfolio(random.Random(data.draw(st.integers(0, 2**32))), size)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = evaluate_portfolio(engine, rows, AS_OF, engine="columnar")
    compare(engine, result.frame, reference(engine, rows))
    assert result.summary.read == size
    assert result.summary.decided + result.summary.errors == size


def test_a_portfolio_without_trouble_is_decided_entirely_in_columns() -> None:
    spec = {
        "rulebook": "plain",
        "version": "1",
        "facts": {"custom": CUSTOM},
        "criteria": [
            {"id": "x", "weight": 1, "fact": "account.n2", "scale": {"from": -50, "to": 50}},
            {"id": "y", "weight": 2, "fact": "account.i1", "bands": [{"at_least": 5, "points": 100}]},
        ],
        "tiers": [{"name": "Top", "min_score": 50, "capacity": "10%"}, {"name": "Rest"}],
    }
    engine = Engine(load_rulebook_text(yaml.safe_dump(spec)))
    rows = [{"id": f"A{i}", "n2": (i % 101) - 50, "i1": i % 11} for i in range(2000)]
    result = evaluate_portfolio(engine, rows, AS_OF, engine="columnar")
    assert result.engine == "columnar" and result.per_account_rows == 0 and result.fallback is None
    compare(engine, result.frame, reference(engine, rows))
