"""Impact of a rule change: rule diff, tier movement, and why each account moved."""

from __future__ import annotations

import json
from typing import Any

from kamrules import load_rulebook_text
from kamrules.portfolio.sources import RawRecord
from kamrules.workbench.impact import impact, rule_changes, to_markdown
from tests.conftest import AS_OF, SMALL_RULEBOOK, default_rules_with

NEW = (
    SMALL_RULEBOOK.replace('version: "1"', 'version: "2"')
    .replace("min_score: 60", "min_score: 70")
    .replace("    reason: High credit risk.\n", "    reason: High credit risk.\n    missing: apply\n")
)


def records(*rows: dict[str, Any]) -> list[RawRecord]:
    return [RawRecord(i, r) for i, r in enumerate(rows, 1)]


def test_rule_diff_names_each_changed_field() -> None:
    changes = [str(c) for c in rule_changes(load_rulebook_text(SMALL_RULEBOOK), load_rulebook_text(NEW))]
    assert changes == [
        "changed gate 'high_credit_risk': missing: skip -> apply",
        "changed tier 'Silver': min_score: 60 -> 70",
    ]


def test_movement_matrix_and_reasons() -> None:
    base = {"strategic_fit": 4, "relationship_strength": 4, "wants_key_account": True, "credit_risk": "low"}
    result = impact(
        load_rulebook_text(SMALL_RULEBOOK),
        load_rulebook_text(NEW),
        records(
            {
                "id": "STAYS",
                "annual_revenue": 50_000_000,
                "strategic_fit": 5,
                **{k: v for k, v in base.items() if k != "strategic_fit"},
            },
            {"id": "DROPS", "annual_revenue": 5_000_000, **base},  # 66: Silver before, Bronze after
            {
                "id": "CAPPED",
                "annual_revenue": 50_000_000,
                "strategic_fit": 5,
                "relationship_strength": 4,
                "wants_key_account": True,
            },  # credit risk unknown: the cap now applies when it is missing
            {"id": "BAD", "annual_revenue": "lots"},
        ),
        AS_OF,
    )
    assert result.accounts == 3 and len(result.errors) == 1
    assert result.tiers == {("Gold", "Gold"): 1, ("Silver", "Bronze"): 1, ("Gold", "Silver"): 1}
    moved = {m.account_id: m for m in result.moved}
    assert moved["DROPS"].reasons == ("tier 'Silver' now needs attractiveness 70 (was 60)",)
    assert moved["CAPPED"].reasons == ("gate 'high_credit_risk' now applies",)
    report = to_markdown(result)
    assert "| DROPS | Silver | Bronze | 66.00 | 66.00 | tier 'Silver' now needs attractiveness 70 (was 60) |" in report
    assert "- changed tier 'Silver': min_score: 60 -> 70" in report
    data = result.as_dict()
    assert json.loads(json.dumps(data))["tier_matrix"] == [
        {"from": "Gold", "to": "Gold", "accounts": 1},
        {"from": "Gold", "to": "Silver", "accounts": 1},
        {"from": "Silver", "to": "Bronze", "accounts": 1},
    ]


def test_columnar_and_per_account_impact_agree(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    from kamrules import load_rulebook
    from kamrules.workbench import impact as module
    from tests.conftest import ROOT

    proposed = default_rules_with(tmp_path / "rules", "tiers.yaml", ("min_score: 45", "min_score: 50"))
    lines = (ROOT / "examples" / "accounts.jsonl").read_text(encoding="utf-8").splitlines()
    flat = [
        RawRecord(i, {k: v for k, v in json.loads(line).items() if not isinstance(v, dict | list)})
        for i, line in enumerate(lines, 1)
    ]
    old, new = load_rulebook(ROOT / "rules"), load_rulebook(proposed)
    per_account = module.impact(old, new, flat, AS_OF).as_dict()
    monkeypatch.setattr(module, "COLUMNAR_FROM", 1)
    columnar = module.impact(old, new, flat, AS_OF).as_dict()
    assert columnar == per_account
    assert per_account["accounts"] == 300 and per_account["moved"]


def test_an_account_name_with_a_bar_keeps_the_impact_table_in_shape() -> None:
    base = {"strategic_fit": 4, "relationship_strength": 4, "wants_key_account": True, "credit_risk": "low"}
    result = impact(
        load_rulebook_text(SMALL_RULEBOOK),
        load_rulebook_text(NEW),
        records({"id": "DROPS", "name": "Acme | Partners", "annual_revenue": 5_000_000, **base}),
        AS_OF,
    )
    rows = [line for line in to_markdown(result).splitlines() if line.startswith("| DROPS")]
    assert rows == [
        "| DROPS (Acme \\| Partners) | Silver | Bronze | 66.00 | 66.00 | "
        "tier 'Silver' now needs attractiveness 70 (was 60) |"
    ]
    assert rows[0].replace("\\|", "").count("|") == 7  # six cells
