"""The decision layout generated per rulebook (``encoder._compile_layout``), on a rulebook
made to break it: quotes, backslashes, braces (the layout is an f-string), new lines and
characters beyond ASCII in every name, title, reason and label; every criterion method,
missing-fact policies, a gate and a requirement reading one fact twice, a cap to a tier of an
odd name, a minimum of a second scorecard, a requirement without a reason, and capacity."""

from __future__ import annotations

import ast
import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamrules import Engine, load_rulebook_text
from kamrules.evaluation.compliance import evaluate_checks
from kamrules.explanation.encoder import capacity_json
from kamrules.portfolio.capacity import apply_capacity
from tests.conftest import AS_OF
from tests.explanation.test_encoder import DATES, FLAT_CHECKS, ODD_TEXT, VARIETY, decide, same

ODD = r"""
rulebook: odd_one
version: "1 {0}"
facts:
  custom:
    - {name: x_score, type: number, description: "A {brace} \"quoted\" \\ fact ünïcødé 😀"}
    - {name: flag, type: boolean, description: "f"}
scorecards:
  - id: main
    title: "Main {card} \"one\" \\ 😀"
    criteria:
      - {id: revenue, title: "Rev {0} 'x' \"y\"", weight: 30, fact: account.annual_revenue, missing: drop,
         bands: [{at_least: 1000000, points: 100, label: "big {} \"one\" \n ü"}, {at_least: 1000, points: 12.5}]}
      - {id: margin, weight: 20.5, fact: account.gross_margin_pct, missing: zero, scale: {from: 0, to: 40}}
      - {id: risk, weight: 10, fact: account.credit_risk, map: {low: 100, medium: 50, high: 0, severe: 0}, otherwise: 5}
      - {id: flagged, weight: 5, fact: account.flag, boolean: {"true": 100, "false": 0}}
      - id: twice
        weight: 9.99
        expression: "min(100, account.x_score + account.x_score + 10 * count(contacts))"
  - id: other
    title: null
    criteria:
      - {id: fit, weight: 1, fact: account.strategic_fit, scale: {from: 1, to: 5}}
gates:
  - {id: no_kam, title: "No {kam} \"at all\"", when: "account.wants_key_account == false", effect: exclude,
     reason: "Declines {x} \"q\" \\ 😀\n2nd line."}
  - {id: risky, when: "account.credit_risk in ['high', 'severe'] or account.x_score > account.x_score + 1",
     effect: cap, at_most: "Sïlver \"S\"",
     missing: apply, reason: "Risk, or not known."}
tiers:
  - name: "Gold {g}"
    min_score: 60
    requires:
      - {when: "account.strategic_fit >= 4 and account.strategic_fit <= 5", reason: "Fit {f} \"q\"."}
      - "score.other >= 50"
      - {when: "account.flag", reason: null}
  - {name: "Sïlver \"S\"", min_score: 40, min_scores: {other: 20}}
  - {name: "Bronze\\B", min_score: 20}
  - name: "Ständard 😀"
segments:
  - {name: "Star {s} \"q\"", when: "score.main >= 50 and account.x_score > 0"}
  - {name: Twice, when: "score.main >= score.main and account.x_score >= 0"}
  - {name: "Rest 😀"}
"""


@st.composite
def odd_records(draw: Any, number: int) -> dict[str, Any]:
    raw: dict[str, Any] = {"id": draw(st.sampled_from([f"O{number}", f'O"{number}{{}}', f"Ö{number} 😀"]))}

    def maybe(key: str, value: Any) -> None:
        if draw(st.integers(0, 5)):
            raw[key] = value

    maybe("name", draw(ODD_TEXT))
    maybe("annual_revenue", draw(st.sampled_from([0, 999, 1000, 1e6, 2.5e6, 1e16, -0.0])))
    maybe("gross_margin_pct", draw(st.sampled_from([-0.0, 1e-7, 12.345, 40.0, 39.99, 7])))
    maybe("credit_risk", draw(st.sampled_from(["low", "medium", "high", "severe", "unrated"])))
    maybe("flag", draw(st.booleans()))
    maybe("x_score", draw(st.floats(-1e20, 1e20, allow_nan=False) | st.sampled_from([1e-7, -0.0, 5e-324, 3])))
    maybe("strategic_fit", draw(st.integers(1, 5)))
    maybe("wants_key_account", draw(st.booleans()))
    if draw(st.integers(0, 3)) == 0:
        raw["contacts"] = [{"id": f"C{i}", "name": draw(ODD_TEXT)} for i in range(draw(st.integers(0, 3)))]
    return raw


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_an_odd_rulebook_encodes_as_the_model_does(data: st.DataObject) -> None:
    capacity = data.draw(st.booleans())
    text = ODD.replace("    min_score: 60\n", "    min_score: 60\n    capacity: 1\n") if capacity else ODD
    engine = Engine(load_rulebook_text(text))
    assert engine.has_capacity is capacity
    raws = [data.draw(odd_records(n)) for n in range(data.draw(st.integers(1, 8)))]
    as_of = data.draw(st.sampled_from(DATES))
    outcomes = [o for o in (decide(engine, raw, as_of) for raw in raws) if o is not None]
    for outcome in outcomes:
        same(outcome)
    if capacity:
        for outcome in apply_capacity(engine, outcomes):
            placed = outcome.with_capacity(True, None, 'placed "with" {the} portfolio')
            same(placed)
            before, after = engine.encoder.encode_around_capacity(placed)
            other = outcome.with_capacity(False, "run-1", "saved")
            assert before + capacity_json(False, "run-1", "saved") + after == other.decision().model_dump_json()


def test_the_odd_rulebook_is_decided_in_every_part() -> None:
    """The generator above reaches what it is for: tiers, caps, exclusion, missing facts."""
    engine = Engine(load_rulebook_text(ODD))
    base = {"annual_revenue": 2e6, "gross_margin_pct": 30, "credit_risk": "low", "flag": True, "x_score": 90}
    rows = [
        {"id": "gold", **base, "strategic_fit": 5},
        {"id": "capped", **base, "strategic_fit": 5, "credit_risk": "high"},
        {"id": "unknown risk", **base, "strategic_fit": 5, "credit_risk": None},
        {"id": "excluded", **base, "wants_key_account": False},
        {"id": "bare"},
    ]
    seen = set()
    for raw in rows:
        outcome = decide(engine, raw, AS_OF)
        assert outcome is not None
        same(outcome)
        seen.add((outcome.tier, outcome.excluded, outcome.segment))
    assert len({tier for tier, _, _ in seen}) >= 3


def test_rule_text_enters_the_generated_source_only_as_literals() -> None:
    """Every name the generated layout uses is one of its own locals or a name the
    generator passes in; the rule files' text (an f-string's braces included) is in string
    literals only."""
    engine = Engine(load_rulebook_text(ODD))
    layout = engine.encoder._encode
    source = layout.__doc__
    assert source is not None
    tree = ast.parse(source)
    stored = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}
    loaded = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)}
    assert loaded <= stored | set(layout.__globals__) | {"o"}
    texts = [node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)]
    assert any('"title":"Main {card} \\"one\\" \\\\ 😀"' in text for text in texts)


def test_flat_check_rows_are_remembered_only_as_computed() -> None:
    """A flat account's check rows come from the engine's memo, and are the rows
    ``evaluate_checks`` gives for it, whatever accounts came before: equal facts of other
    types or signs (``1``, ``1.0``, ``0.0``, ``-0.0``) are not taken for one another."""
    engine = Engine(load_rulebook_text(VARIETY.replace("stability:", FLAT_CHECKS + "stability:")))
    flat = engine.flat_checks
    assert flat is not None and "gross_margin_pct" in flat.facts
    base = {"id": "F", "annual_revenue": 2e6, "strategic_fit": 5, "credit_risk": "low", "wants_key_account": True}
    variants: list[dict[str, Any]] = [
        {"gross_margin_pct": 1},
        {"gross_margin_pct": 1.0},
        {"gross_margin_pct": 0.0},
        {"gross_margin_pct": -0.0},
        {"gross_margin_pct": None},
        {"gross_margin_pct": 1, "stage": "review"},
        {"gross_margin_pct": 1, "strategic_fit": 1},
        {"gross_margin_pct": 1, "contacts": [{"id": "C1", "name": "Dana"}]},
    ]
    for as_of in (AS_OF, dt.date(2027, 6, 1)):
        for changes in [*variants, *reversed(variants)]:
            outcome = decide(engine, {**base, **changes}, as_of)
            assert outcome is not None
            fresh = evaluate_checks(engine.checks, outcome.record, outcome.scores, outcome.tier_index, as_of)
            assert repr(outcome._check_rows) == repr(fresh)
            same(outcome)
    assert len(engine._flat_rows) >= 6
