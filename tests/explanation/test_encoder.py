"""The fast JSON encoder against the model it must reproduce: ``decision().model_dump_json()``.

Every comparison is of the whole document, byte for byte, so a field added to ``Decision``
(or to any part of it) that the encoder does not write fails here instead of going missing.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from pydantic_core import PydanticSerializationError

from kamrules import Engine, load_rulebook, load_rulebook_text
from kamrules.evaluation.engine import Outcome
from kamrules.evaluation.exact import score2
from kamrules.explanation.encoder import json_any, json_float, json_str
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.capacity import apply_capacity
from tests.conftest import AS_OF, ROOT, SMALL_RULEBOOK

NESTED = ("plan", "contacts", "team", "relationships", "restrictions")
EXAMPLES = [json.loads(line) for line in (ROOT / "examples" / "accounts.jsonl").read_text().splitlines() if line]
FLAT = [{k: v for k, v in r.items() if k not in NESTED} for r in EXAMPLES]
DATES = [AS_OF, dt.date(2027, 6, 1), dt.date(2026, 12, 31)]

_ANY: TypeAdapter[Any] = TypeAdapter(Any)


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(load_rulebook(ROOT / "rules"))


def same(outcome: Outcome) -> None:
    """The encoder's JSON is the model's, byte for byte (the first difference shown)."""
    expected = outcome.decision().model_dump_json()
    actual = outcome.decision_json()
    if actual != expected:
        at = next((i for i, (a, b) in enumerate(zip(actual, expected, strict=False)) if a != b), None)
        at = min(len(actual), len(expected)) if at is None else at
        pytest.fail(
            f"differs at {at}:\n  encoder {actual[at - 120 : at + 120]!r}\n  model   {expected[at - 120 : at + 120]!r}"
        )


def decide(engine: Engine, raw: dict[str, Any], as_of: dt.date) -> Outcome | None:
    try:
        return engine.evaluate(engine.validate(raw), as_of)
    except InvalidRecord:
        return None


@pytest.mark.parametrize("as_of", DATES)
@pytest.mark.parametrize("rows", [EXAMPLES, FLAT], ids=["nested", "flat"])
def test_every_example_account_encodes_as_the_model_does(
    engine: Engine, rows: list[dict[str, Any]], as_of: dt.date
) -> None:
    decided = 0
    for raw in rows:
        outcome = decide(engine, raw, as_of)
        if outcome is not None:
            same(outcome)
            decided += 1
    assert decided >= 250  # the examples are decided, not skipped as errors


def test_the_encoder_is_what_bulk_output_writes(engine: Engine) -> None:
    """The JSON Lines writer and ``decision_json`` give the same text as the model."""
    import io

    from kamrules.portfolio.batch import Summary, run
    from kamrules.portfolio.sources import RawRecord
    from kamrules.portfolio.writers import write_decisions

    records = [RawRecord(data=r, line=n) for n, r in enumerate([*EXAMPLES[:40], {"id": "X", "strategic_fit": 9}], 1)]
    handle = io.StringIO()
    write_decisions(engine, run(engine, records, AS_OF, Summary()), "jsonl", handle, Summary())
    lines = handle.getvalue().splitlines()
    expected = [engine.decide(r, AS_OF).model_dump_json() for r in EXAMPLES[:40]]
    assert lines[:40] == expected
    assert json.loads(lines[40])["kind"] == "error"


def test_the_json_document_is_what_the_model_gives(engine: Engine) -> None:
    """The one-document writer reads the encoder's text back; the document is the one the
    models' ``model_dump(mode="json")`` gives, floats and text included."""
    import io

    from kamrules.portfolio.batch import Summary, run
    from kamrules.portfolio.sources import RawRecord
    from kamrules.portfolio.writers import write_decisions

    rows = [*EXAMPLES[:20], {"id": "odd", "name": 'a\x00\u2028"b', "gross_margin_pct": 1e-7, "annual_revenue": 1e16}]
    summary = Summary()
    handle = io.StringIO()
    write_decisions(
        engine, run(engine, [RawRecord(data=r, line=1) for r in rows], AS_OF, summary), "json", handle, summary
    )
    expected = [engine.decide(r, AS_OF).model_dump(mode="json") for r in rows]
    written = json.loads(handle.getvalue())["decisions"]
    assert written == expected
    assert json.dumps(written, indent=2, ensure_ascii=False) == json.dumps(expected, indent=2, ensure_ascii=False)


def test_the_memos_stay_bounded_and_right_when_emptied(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """With room for only a few fragments the memos are emptied again and again, and every
    decision is still written as the model writes it."""
    from kamrules.explanation import encoder as module

    monkeypatch.setattr(module, "MEMO_LIMIT", 3)
    small = module.DecisionEncoder(engine)
    for raw in [*EXAMPLES[:40], *FLAT[:40]]:
        outcome = decide(engine, raw, AS_OF)
        assert outcome is not None
        assert small.encode(outcome) == outcome.decision().model_dump_json()
    memos = [small._centi, small._ratio, small._not_applying, small._not_applicable, small._applying, small._flat]
    memos += [tails for _, _, criteria in small._cards for *_, tails in criteria]
    assert max(len(memo) for memo in memos) <= 3


# -- generated records ------------------------------------------------------------------

ODD_NUMBERS = [0.0, -0.0, 1e16, 1e-7, 1e-5, 0.0001, 123456789.125, 2.5e15, 1e300, 5e-324, 7, 0]
ODD_TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ['a"b', "back\\slash", "tab\tnew\nline\r", "\x00\x1f\x7f", "\u2028\u2029", "Ünïcødé 😀", ""]
)
NUMBER_FACTS = [
    "annual_revenue",
    "gross_margin_pct",
    "revenue_growth_pct",
    "wallet_size",
    "share_of_wallet_pct",
    "years_as_customer",
    "nps",
]


@st.composite
def records(draw: Any, nested: bool) -> dict[str, Any]:
    """An example account, changed the ways a CRM changes them: facts dropped or odd,
    stability and overrides, exclusion, and plans with items at fault."""
    raw = copy.deepcopy(draw(st.sampled_from(EXAMPLES if nested else FLAT)))
    for key in draw(st.lists(st.sampled_from(sorted(k for k in raw if k != "id")), max_size=6)):
        raw.pop(key, None)
    if draw(st.booleans()):
        raw["name"] = draw(ODD_TEXT)
    for fact in draw(st.lists(st.sampled_from(NUMBER_FACTS), max_size=3)):
        raw[fact] = draw(st.sampled_from(ODD_NUMBERS) | st.floats(-1e6, 1e18, allow_nan=False))
    if draw(st.integers(0, 3)) == 0:
        raw["current_tier"] = draw(st.sampled_from(["Gold", "Silver", "Bronze", "Standard", "Platinum"]))
    if draw(st.integers(0, 5)) == 0:
        raw["wants_key_account"] = False
    if draw(st.integers(0, 4)) == 0:
        raw["override_tier"] = draw(st.sampled_from(["Gold", "Silver", "Standard"]))
        raw["override_reason"] = draw(ODD_TEXT)
        raw["override_approver"] = "Director Sales"
        raw["override_expires"] = draw(st.sampled_from(["2026-10-31", "2026-11-01", "2027-03-01"]))
    if nested and isinstance(raw.get("contacts"), list) and raw["contacts"]:
        for contact in draw(st.lists(st.sampled_from(raw["contacts"]), max_size=4)):
            contact["stance"] = draw(st.sampled_from(["opponent", "neutral", "mentor", "supporter"]))
            if draw(st.booleans()):
                contact["name"] = draw(ODD_TEXT)
            if draw(st.booleans()):
                contact.pop("owner", None)
    if nested and isinstance(raw.get("plan"), dict):
        plan = raw["plan"]
        for key in draw(st.lists(st.sampled_from(sorted(plan)), max_size=3)):
            plan.pop(key, None)
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_generated_records_encode_as_the_model_does(engine: Engine, data: st.DataObject) -> None:
    raw = data.draw(records(nested=data.draw(st.booleans())))
    as_of = data.draw(st.sampled_from(DATES))
    outcome = decide(engine, raw, as_of)
    if outcome is not None:
        same(outcome)


def test_generated_records_are_mostly_decided(engine: Engine) -> None:
    """The generator above is not vacuous: most of what it makes is decided and compared."""
    decided = 0

    @settings(max_examples=60, deadline=None, database=None, derandomize=True)
    @given(data=st.data())
    def count(data: st.DataObject) -> None:
        nonlocal decided
        decided += decide(engine, data.draw(records(nested=True)), AS_OF) is not None

    count()
    assert decided >= 20  # about 60% are decided; the rest are refused for an odd value


# -- other rulebooks: capacity, stability, caps, missing-fact policies ------------------

VARIETY = """\
rulebook: variety
version: "2"
facts:
  custom:
    - {name: score_x, type: number, description: A number with a tricky name "x".}
    - {name: shares_business_plans, type: boolean, description: Joint planning.}
    - {name: nps, type: number, description: Net promoter score.}
scorecards:
  - id: main
    title: Main card
    criteria:
      - {id: revenue, weight: 30, fact: account.annual_revenue, missing: drop,
         bands: [{at_least: 1000000, points: 100, label: "big \\"one\\""}, {at_least: 1000, points: 12.5}]}
      - {id: margin, weight: 20.5, fact: account.gross_margin_pct, missing: zero, scale: {from: 0, to: 40}}
      - {id: risk, weight: 10, fact: account.credit_risk, map: {low: 100, medium: 50, high: 0, severe: 0}}
      - {id: industry, weight: 3, fact: account.industry, map: {Pharmaceuticals: 100, 'Bäckerei "Nord"': 50},
         otherwise: 12.5}
      - {id: joint, weight: 5, fact: account.shares_business_plans, boolean: {"true": 100, "false": 0}}
      - {id: custom, weight: 7, fact: account.score_x, scale: {from: -1, to: 1e6}}
      - id: breadth
        weight: 9.99
        expression: "min(100, 10 * count(contacts) + account.strategic_fit)"
  - id: other
    criteria:
      - {id: fit, weight: 1, fact: account.strategic_fit, scale: {from: 1, to: 5}}
gates:
  - {id: no_kam, when: "account.wants_key_account == false", effect: exclude, reason: "Declines."}
  - {id: risky, when: "account.credit_risk in ['high', 'severe']", effect: cap, at_most: Silver,
     missing: apply, reason: "Risk, or not known."}
  - {id: growth, when: "account.revenue_growth_pct < -10", effect: cap, at_most: Bronze, reason: Shrinking.}
tiers:
  - name: Gold
    min_score: 60
    capacity: 2
    requires:
      - {when: "account.strategic_fit >= 4", reason: Fit.}
      - "score.other >= 50"
  - {name: Silver, min_score: 40, capacity: 25%, min_scores: {other: 20}}
  - {name: Bronze, min_score: 20}
  - name: Standard
tie_breakers:
  - {by: account.annual_revenue, order: descending}
stability:
  margin: 5
segments:
  - {name: Star, when: "score.main >= 50 and account.nps > 0"}
  - {name: Rest}
"""


@st.composite
def variety_records(draw: Any, number: int) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": f"V{number:03d}"}

    def maybe(key: str, value: Any) -> None:
        if draw(st.integers(0, 5)):
            raw[key] = value

    maybe("name", draw(ODD_TEXT))
    maybe("annual_revenue", draw(st.sampled_from([0, 999, 1000, 1e6, 2.5e6, 1e16])))
    maybe("gross_margin_pct", draw(st.sampled_from([-0.0, 1e-7, 12.345, 40.0, 39.99])))
    maybe("industry", draw(st.sampled_from(["Pharmaceuticals", 'Bäckerei "Nord"', "Retail"]) | ODD_TEXT))
    maybe("credit_risk", draw(st.sampled_from(["low", "medium", "high", "severe"])))
    maybe("shares_business_plans", draw(st.booleans()))
    maybe("score_x", draw(st.floats(-1e20, 1e20, allow_nan=False) | st.sampled_from([1e-7, -0.0, 5e-324])))
    maybe("strategic_fit", draw(st.integers(1, 5)))
    maybe("wants_key_account", draw(st.booleans()))
    maybe("revenue_growth_pct", draw(st.sampled_from([-20, -10, 0, 5.5])))
    maybe("nps", draw(st.sampled_from([-100, 0, 0.5, 70])))
    maybe("account_manager", draw(st.sampled_from(["kim", "lee"])))
    if draw(st.integers(0, 2)) == 0:
        raw["current_tier"] = draw(st.sampled_from(["Gold", "Silver", "Bronze", "Standard", "Gould"]))
    if draw(st.integers(0, 3)) == 0:
        raw["contacts"] = [{"id": f"C{i}", "name": draw(ODD_TEXT)} for i in range(draw(st.integers(0, 3)))]
    return raw


@pytest.mark.parametrize("excluded", ["", 'excluded: {name: "Not a key account"}\n'], ids=["tier", "outcome"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_portfolio_placed_by_capacity_encodes_as_the_model_does(excluded: str, data: st.DataObject) -> None:
    """Capacity notes, stability, caps and ``missing: apply``; excluded accounts holding the
    last tier, or the rulebook's excluded outcome."""
    engine = Engine(load_rulebook_text(VARIETY + excluded))
    raws = [data.draw(variety_records(n)) for n in range(data.draw(st.integers(1, 12)))]
    outcomes = [o for o in (decide(engine, raw, AS_OF) for raw in raws) if o is not None]
    for outcome in outcomes:  # decided alone: capacity not applied, and the summary says so
        same(outcome)
    for outcome in apply_capacity(engine, outcomes):
        same(outcome.with_capacity(True, None, "placed with the portfolio"))
        same(outcome.with_capacity(False, "run-7", 'saved "placement"'))


def test_the_small_rulebook_without_plan_checks_or_capacity() -> None:
    engine = Engine(load_rulebook_text(SMALL_RULEBOOK))
    for raw in [*EXAMPLES[:60], {"id": "A"}, {"id": "B", "credit_risk": "high", "annual_revenue": 1e16}]:
        outcome = decide(engine, raw, AS_OF)
        assert outcome is not None
        same(outcome)


def test_the_policy_tests_rulebook() -> None:
    engine = Engine(load_rulebook(ROOT / "examples" / "policy-tests" / "rules"))
    for raw in EXAMPLES[:100]:
        outcome = decide(engine, raw, AS_OF)
        if outcome is not None:
            same(outcome)


# -- odd values, one by one -------------------------------------------------------------


@given(st.floats())
def test_floats_are_written_as_pydantic_writes_them(x: float) -> None:
    assert json_float(x) == TypeAdapter(float).dump_json(x).decode()
    assert json_any(x) == _ANY.dump_json(x).decode()


@pytest.mark.parametrize(
    "x", [1e16, 1e-7, -0.0, 0.0, 1e-4, 9.999e-5, 1e-5, 9999999999999998.0, math.inf, -math.inf, math.nan]
)
def test_float_boundaries(x: float) -> None:
    assert json_float(x) == TypeAdapter(float).dump_json(x).decode()


@given(st.text())
def test_text_is_escaped_as_pydantic_escapes_it(s: str) -> None:
    assert json_str(s) == _ANY.dump_json(s).decode()


def test_a_lone_surrogate_fails_as_in_the_model() -> None:
    with pytest.raises(PydanticSerializationError):
        _ANY.dump_json("\ud800")
    with pytest.raises(PydanticSerializationError):
        json_str("\ud800")


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.dates()
    | st.decimals(allow_nan=True, allow_infinity=True)
)


@given(st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.tuples(inner, inner), max_leaves=6))
def test_any_value_is_written_as_pydantic_infers_it(value: Any) -> None:
    assert json_any(value) == _ANY.dump_json(value).decode()


@given(st.fractions(min_value=0, max_value=100))
def test_a_score_is_shown_to_two_places_rounded_down(value: Fraction) -> None:
    assert json_any(value) == _ANY.dump_json(score2(value)).decode()


def test_decimal_specials() -> None:
    for d in [Decimal("1E+2"), Decimal("-0"), Decimal("0.00"), Decimal("NaN"), Decimal("-Infinity")]:
        assert json_any(d) == _ANY.dump_json(d).decode()


# -- the compliance of flat accounts, remembered ----------------------------------------

FLAT_CHECKS = """\
plan_checks:
  - id: margin_known
    title: The margin is known and positive.
    severity: major
    tiers: [Gold, Silver, Bronze, Standard]
    require: account.gross_margin_pct > 0 or plan.status == 'active'
    owner: account.account_manager
    due: add_days(plan.buying_process_updated, 30)
    remediation: Ask finance.
  - id: fit_counted
    title: The fit is counted.
    severity: minor
    tiers: [Gold, Silver, Bronze, Standard]
    require: account.strategic_fit + count(contacts) >= 3
    owner: plan.owner
    remediation: Map the buying centre.
"""


def test_the_compliance_of_flat_accounts_is_remembered_only_as_written() -> None:
    """Flat accounts (no plan, no items) share one compliance text per tier, stage, date,
    owner and typed evidence: values equal in Python but written differently (``1``, ``1.0``,
    ``0.0``, ``-0.0``) and different managers each get their own, in any order."""
    engine = Engine(load_rulebook_text(VARIETY.replace("stability:", FLAT_CHECKS + "stability:")))
    encoder = engine.encoder
    base = {"id": "F", "annual_revenue": 2e6, "strategic_fit": 5, "credit_risk": "low", "wants_key_account": True}
    variants = [
        {"gross_margin_pct": 1, "account_manager": "kim"},
        {"gross_margin_pct": 1.0, "account_manager": "kim"},
        {"gross_margin_pct": 0.0, "account_manager": "kim"},
        {"gross_margin_pct": -0.0, "account_manager": "kim"},
        {"gross_margin_pct": 1, "account_manager": "lee"},
        {"gross_margin_pct": 1, "account_manager": None},
        {"gross_margin_pct": 1, "account_manager": "kim", "stage": "review"},
        {"gross_margin_pct": 1, "account_manager": "kim", "strategic_fit": 1},
        {"gross_margin_pct": 1, "account_manager": "kim", "contacts": [{"id": "C1", "name": "Dana"}]},
    ]
    texts = set()
    for as_of in DATES[:2]:
        for changes in [*variants, *reversed(variants)]:
            outcome = decide(engine, {**base, **changes}, as_of)
            assert outcome is not None
            same(outcome)
            texts.add(json.dumps(json.loads(outcome.decision_json())["compliance"]))
    assert len(encoder._flat) >= 8  # remembered, one text per distinct account above
    assert len(texts) >= 8


@given(st.integers(-(10**30), 10**30) | st.integers(-(10**6), 10**6))
def test_hundredths_are_written_as_decimal_writes_them(q: int) -> None:
    from kamrules.evaluation.exact import hundredths_text

    assert hundredths_text(q) == str(Decimal(q).scaleb(-2))


@given(st.integers(-(10**30), 10**30), st.sampled_from([100, 10_000]))
def test_hundredths_json_is_the_decimal_number(n: int, scale: int) -> None:
    from kamrules.explanation.encoder import _hundredths_json, json_number

    assert _hundredths_json(n, scale) == json_number(Decimal(n) / scale)
