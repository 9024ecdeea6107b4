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
