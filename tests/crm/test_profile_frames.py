"""A profile applied to a polars frame decides exactly as the per-account path does."""

from __future__ import annotations

import csv
import datetime as dt
import warnings
from pathlib import Path

import pytest

pytest.importorskip("polars")

import kamrules
from kamrules.portfolio.api import columnar_engine
from kamrules.portfolio.frames import from_records, read_table

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2026, 11, 1)
NESTED = {
    "Plan_Last_Reviewed__c",
    "Account_Plan__c",
    "Contacts",
    "Account_Team__c",
    "Relationships__c",
    "Restrictions__c",
}


@pytest.fixture(scope="module")
def engine() -> kamrules.Engine:
    return kamrules.Engine(kamrules.load_rulebook(ROOT / "rules"))


def _both(engine: kamrules.Engine, table: object) -> tuple[object, object]:
    compiled = columnar_engine(engine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fast = compiled.evaluate(table, AS_OF, engine="auto")  # type: ignore[arg-type]
        slow = compiled.evaluate(table, AS_OF, engine="per-account")  # type: ignore[arg-type]
    return fast, slow


def test_a_flat_salesforce_export_is_decided_in_columns_as_per_account(engine: kamrules.Engine, tmp_path: Path) -> None:
    source = ROOT / "examples" / "crm" / "salesforce_accounts.csv"
    flat = tmp_path / "flat.csv"
    with source.open(encoding="utf-8", newline="") as src, flat.open("w", encoding="utf-8", newline="") as out:
        rows = list(csv.DictReader(src))
        columns = [c for c in rows[0] if c not in NESTED]
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        # cells the profile cannot read, and a value that only an insensitive match reads
        writer.writerow({**rows[0], "Id": "BAD-1", "Credit_Risk__c": "Very High", "Wallet_Size__c": "USD 1.2M"})
        writer.writerow({**rows[1], "Id": "BAD-2", "Growth_Potential__c": "Huge", "KAM_Stage__c": "Closed"})
        writer.writerow({**rows[2], "Id": "ODD-3", "Credit_Risk__c": " sEvErE ", "Share_of_Wallet__c": "#N/A"})
    profiled = engine.with_profile("salesforce")
    table = read_table(flat, None, columnar_engine(profiled).nested)
    fast, slow = _both(profiled, table)
    assert fast.frame.equals(slow.frame)  # type: ignore[attr-defined]
    assert fast.summary.errors == 2  # type: ignore[attr-defined]
    # only the rows the columns cannot carry went per account
    assert fast.per_account_rows == 2  # type: ignore[attr-defined]
    status = dict(zip(fast.frame["account_id"].to_list(), fast.frame["status"].to_list(), strict=True))  # type: ignore[attr-defined]
    assert status["ODD-3"] == "decided"


def test_typed_hubspot_and_dynamics_records_in_columns(engine: kamrules.Engine) -> None:
    records = []
    for n in range(40):
        records.append(
            {
                "hs_object_id": f"H-{n}",
                "annualrevenue": f"{(n + 1) * 137_000:,}",
                "kam_gross_margin": str(n / 250),  # 0-1, scaled exactly
                "kam_share_of_wallet": n / 100,
                "kam_strategic_fit": str(n % 5 + 1),
                "kam_credit_risk": ["LOW", "Medium", "high", "SEVERE", "unknown"][n % 5],
                "kam_stage": ["Pre Sales", "Implementation & Delivery", "review", "Exploitation"][n % 4],
                "kam_wants_key_account": ["true", "false"][n % 2],
            }
        )
    profiled = engine.with_profile("hubspot")
    fast, slow = _both(profiled, from_records(records))
    assert fast.frame.equals(slow.frame)  # type: ignore[attr-defined]
    assert fast.per_account_rows == 8  # type: ignore[attr-defined]  # the 'unknown' credit risks
    assert fast.summary.errors == 8  # type: ignore[attr-defined]

    dynamics = engine.with_profile("dynamics")
    rows = [
        {
            "accountid": f"D-{n}",
            "revenue": 100_000.0 * n,
            "new_creditrisk": 100000000 + n % 4,
            "new_kamstage": 100000000 + n % 5,
            "industrycode": [12, 19, "Mining"][n % 3] if n % 3 != 2 else None,
            "new_planlastreviewed": None,
        }
        for n in range(30)
    ]
    fast, slow = _both(dynamics, from_records(rows))
    assert fast.frame.equals(slow.frame)  # type: ignore[attr-defined]
    assert fast.summary.errors == 0  # type: ignore[attr-defined]


def test_the_frame_api_finds_accounts_by_the_profiles_id_column(engine: kamrules.Engine) -> None:
    from kamrules.portfolio.api import decisions

    records = [{"Id": f"S-{n}", "Credit_Risk__c": "High", "AnnualRevenue": "USD 3,000,000"} for n in range(3)]
    (decision,) = decisions(engine.with_profile("salesforce"), records, AS_OF, accounts=["S-1"])
    assert isinstance(decision, kamrules.Decision)
    assert decision.account_id == "S-1"
    assert decision.profile is not None and decision.profile.name == "salesforce"
    assert decision.scores["attractiveness"].criteria[0].value == 3_000_000
