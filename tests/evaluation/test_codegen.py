"""The generated scorecard function agrees with the criterion scorers, value for value."""

from __future__ import annotations

from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from kamrules import Engine, load_rulebook, load_rulebook_text
from kamrules.evaluation.codegen import compile_scorecard
from tests.conftest import AS_OF, ROOT

ENGINE = Engine(load_rulebook(ROOT / "rules"))
SCALES = Engine(
    load_rulebook_text("""\
rulebook: scales
version: "1"
facts:
  custom:
    - {name: x, type: number, description: a number}
criteria:
  - {id: up, weight: 1, fact: account.x, scale: {from: -3.7, to: 11.3, points_from: 12.5, points_to: 87.25}}
  - {id: down, weight: 1, fact: account.x, scale: {from: 40, to: 10}}
  - {id: tiny, weight: 1, fact: account.x, scale: {from: 0.1, to: 0.3}}
tiers:
  - {name: Any}
""")
)

numbers = st.one_of(
    st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.sampled_from([0, 0.1, 0.2, 0.3, 10, 40, 11.3, -3.7, 1e-9, 2_000_000, 19_999_999.999]),
)


@settings(max_examples=300, deadline=None)
@given(value=numbers)
def test_scales_agree_bit_for_bit(value: float) -> None:
    (card,) = SCALES.cards
    function = compile_scorecard(card.criteria)
    scored = function(SimpleNamespace(x=value), AS_OF)
    assert not isinstance(scored, int)
    _, _, rows = scored
    for c, row in zip(card.criteria, rows, strict=True):
        assert c.scorer is not None
        assert row[1:3] == c.scorer(value), c.spec.id


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_default_rulebook_criteria_agree(data: st.DataObject) -> None:
    for card in ENGINE.cards:
        for c in card.criteria:
            if c.scorer is None or c.read is None:
                continue
            spec = c.spec
            if spec.map is not None:
                value: object = data.draw(st.sampled_from(sorted(spec.map)))
            elif spec.boolean is not None:
                value = data.draw(st.booleans())
            else:
                value = data.draw(numbers)
            name = c.fact.split(".", 1)[1] if c.fact else ""
            scored = compile_scorecard([c])(SimpleNamespace(**{name: value}), AS_OF)
            assert not isinstance(scored, int)
            assert scored[2][0][1:3] == c.scorer(value), spec.id


# -- the tier tests, generated --------------------------------------------------------

TIERED = Engine(
    load_rulebook_text("""\
rulebook: tiered
version: "1"
scorecards:
  - id: first
    criteria:
      - {id: revenue, weight: 3, fact: account.annual_revenue, bands: [{at_least: 1000000, points: 100}]}
      - {id: fit, weight: 1, fact: account.strategic_fit, missing: drop, scale: {from: 1, to: 5}}
  - id: second
    criteria:
      - {id: strength, weight: 1, fact: account.relationship_strength, missing: zero, scale: {from: 1, to: 5}}
tiers:
  - name: Top
    min_score: 80
    min_scores: {second: 33.33}
    requires:
      - {when: "account.strategic_fit >= 4", reason: Fit.}
      - "score.second >= score.first or account.annual_revenue > 5000000"
  - {name: Mid, min_scores: {second: 25}}
  - {name: Low, min_score: 75}
  - name: None
""")
)


def reference_tiers(engine: Engine, record: object, cards: list[tuple[int, int, object]], ceiling: int) -> object:
    """The rule as the documentation states it: a tier's minimums are met when each score,
    exactly, is at least its minimum; it is eligible when they and all its requirements are
    met (an unknown requirement is not); the account gets the best eligible tier the gates
    allow, else the last."""
    from fractions import Fraction

    scores = {card.id: Fraction(w, t * 100) for card, (w, t, _) in zip(engine.cards, cards, strict=True)}
    rows = []
    chosen = None
    for index, tier in enumerate(engine.tiers):
        tests = tuple(scores[card] >= minimum for card, minimum, _ in tier.min_scores)
        requirements = tuple(expr.evaluate(record, scores, AS_OF) for expr, _ in tier.requirements)
        eligible = all(tests) and all(result is True for result, _ in requirements)
        rows.append((eligible, tests, requirements))
        if chosen is None and eligible and index >= ceiling:
            chosen = index
    return tuple(rows), len(engine.tiers) - 1 if chosen is None else chosen


@settings(max_examples=200, deadline=None)
@given(
    revenue=st.none() | st.sampled_from([0, 999_999, 1_000_000, 6e6]),
    fit=st.none() | st.integers(1, 5),
    strength=st.none() | st.integers(1, 5),
    ceiling=st.integers(0, 3),
    default=st.booleans(),
)
def test_generated_tier_tests_follow_the_rule(
    revenue: float | None, fit: int | None, strength: int | None, ceiling: int, default: bool
) -> None:
    engine = ENGINE if default else TIERED
    raw = {"id": "T", "annual_revenue": revenue, "strategic_fit": fit, "relationship_strength": strength}
    record = engine.validate({k: v for k, v in raw.items() if v is not None})
    cards = []
    for score_card in engine.card_functions:
        scored = score_card(record, AS_OF)
        assert not isinstance(scored, int)
        cards.append(scored)
    if any(total == 0 for _, total, _ in cards):
        return
    from fractions import Fraction

    scores = {card.id: Fraction(w, t * 100) for card, (w, t, _) in zip(engine.cards, cards, strict=True)}
    rows, chosen = engine.decide_tiers(record, scores, cards, AS_OF, ceiling)
    assert (rows, chosen) == reference_tiers(engine, record, cards, ceiling)
    assert all(type(eligible) is bool and all(type(t) is bool for t in tests) for eligible, tests, _ in rows)
