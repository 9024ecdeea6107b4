"""Write the CRM-shaped example exports from the example accounts, deterministically.

Each export holds the same accounts as ``examples/accounts.jsonl`` (Salesforce: the first 60,
HubSpot: the next 40, Dynamics 365: the next 20), written as that CRM writes them: its column
names, picklist labels or option-set codes, its date and number formats. Read through the
shipped profile, each decides exactly as the original accounts do (tested), which is what
makes them worked examples of a profile rather than just sample files.

    python examples/crm/generate.py
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
ACCOUNTS = HERE.parent / "accounts.jsonl"

STAGE_LABELS = {
    "pre_sales": "Pre-Sales",
    "contract_negotiation": "Contract Negotiation",
    "implementation_delivery": "Implementation & Delivery",
    "review": "Review",
    "exploitation": "Exploitation",
}
POTENTIAL = {1: "Very Low", 2: "Low", 3: "Medium", 4: "High", 5: "Very High"}
TIERS = {"Gold": "Key Account - Gold", "Silver": "Key Account - Silver", "Bronze": "Key Account - Bronze"}


def _label(value: str) -> str:
    """``senior_management`` as a picklist shows it: ``Senior Management`` (``non_supporter``
    becomes ``Non-Supporter``)."""
    return (
        "-".join(w.capitalize() for w in value.split("_"))
        if value == "non_supporter"
        else value.replace("_", " ").title()
    )


def _money(value: float | int) -> str:
    return f"USD {value:,.2f}"


def _epoch_ms(day: str) -> str:
    date = dt.date.fromisoformat(day)
    return str((date - dt.date(1970, 1, 1)).days * 86_400_000)


def _split_plan(account: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    plan = account.get("plan")
    if plan is None:
        return None, None
    plan = dict(plan)
    return plan, plan.pop("last_reviewed", None)


def salesforce(accounts: list[dict[str, Any]]) -> None:
    columns = [
        "Id", "Name", "Industry", "Region__c", "OwnerId", "Owner.Name", "AnnualRevenue", "Gross_Margin__c",
        "Revenue_Growth__c", "Wallet_Size__c", "Share_of_Wallet__c", "Growth_Potential__c", "Strategic_Fit__c",
        "Relationship_Strength__c", "Competitive_Position__c", "Reference_Value__c", "Years_as_Customer__c",
        "Credit_Risk__c", "KAM_Opt_In__c", "KAM_Stage__c", "KAM_Tier__c", "NPS__c", "Shares_Business_Plans__c",
        "Plan_Last_Reviewed__c", "Account_Plan__c", "Contacts", "Account_Team__c", "Relationships__c",
        "Restrictions__c",
    ]  # fmt: skip
    owners: dict[str, str] = {}
    with (HERE / "salesforce_accounts.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\r\n")  # as Salesforce writes it
        writer.writerow(columns)
        for n, a in enumerate(accounts):
            plan, reviewed = _split_plan(a)
            manager = a.get("account_manager")
            owner_id = owners.setdefault(manager, f"0055g00000Kam{len(owners):03d}") if manager else ""
            contacts = [
                {
                    "Id": c.get("id"), "Name": c.get("name"),
                    "Buying_Role__c": _label(c["role"]) if c.get("role") else None,
                    "Level__c": _label(c["level"]) if c.get("level") else None,
                    "Department": c.get("department"), "MailingCity": c.get("location"),
                    "Stance__c": _label(c["stance"]) if c.get("stance") else None,
                    "Influence__c": c.get("influence"), "Relationship_Owner__c": c.get("owner"),
                    "Product_Line__c": c.get("product_line"),
                    "LastActivityDate": f"{c['last_contacted']}T09:30:00.000Z" if c.get("last_contacted") else None,
                    "Mitigation__c": c.get("mitigation"),
                }
                for c in a.get("contacts", [])
            ]  # fmt: skip
            share = a.get("share_of_wallet_pct")
            row = {
                "Id": a["id"], "Name": a.get("name"), "Industry": a.get("industry"), "Region__c": a.get("region"),
                "OwnerId": owner_id, "Owner.Name": manager,
                "AnnualRevenue": _money(a["annual_revenue"]) if n % 3 == 0 and "annual_revenue" in a
                else a.get("annual_revenue"),
                "Gross_Margin__c": a.get("gross_margin_pct"), "Revenue_Growth__c": a.get("revenue_growth_pct"),
                "Wallet_Size__c": _money(a["wallet_size"]) if "wallet_size" in a else None,
                "Share_of_Wallet__c": f"{share}%" if share is not None and n % 2 else share,
                "Growth_Potential__c": POTENTIAL.get(a.get("growth_potential", 0)),
                "Strategic_Fit__c": a.get("strategic_fit"),
                "Relationship_Strength__c": a.get("relationship_strength"),
                "Competitive_Position__c": a.get("competitive_position"),
                "Reference_Value__c": a.get("reference_value"),
                "Years_as_Customer__c": a.get("years_as_customer"),
                "Credit_Risk__c": a["credit_risk"].capitalize() if a.get("credit_risk") else None,
                "KAM_Opt_In__c": a.get("wants_key_account"),
                "KAM_Stage__c": STAGE_LABELS.get(a.get("stage", "")),
                "KAM_Tier__c": TIERS.get(a.get("current_tier", ""), a.get("current_tier")),
                "NPS__c": a.get("nps"), "Shares_Business_Plans__c": a.get("shares_business_plans"),
                "Plan_Last_Reviewed__c": dt.date.fromisoformat(reviewed).strftime("%d/%m/%Y") if reviewed else None,
                "Account_Plan__c": json.dumps(plan, ensure_ascii=False) if plan is not None else None,
                "Contacts": json.dumps(contacts, ensure_ascii=False) if contacts else None,
                "Account_Team__c": _json(a.get("team")),
                "Relationships__c": _json(a.get("relationships")),
                "Restrictions__c": _json(a.get("restrictions")),
            }  # fmt: skip
            writer.writerow(["" if row[c] is None else _cell(row[c]) for c in columns])


def _json(items: list[Any] | None) -> str | None:
    return json.dumps(items, ensure_ascii=False) if items else None


def _cell(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _text(value: Any) -> str | None:
    """HubSpot's API gives every property as text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hubspot(accounts: list[dict[str, Any]]) -> None:
    with (HERE / "hubspot_companies.jsonl").open("w", encoding="utf-8", newline="\n") as handle:
        for a in accounts:
            plan, reviewed = _split_plan(a)
            contacts = [
                {
                    "hs_object_id": c.get("id"), "name": c.get("name"),
                    "kam_buying_role": _label(c["role"]) if c.get("role") else None,
                    "kam_level": _label(c["level"]) if c.get("level") else None,
                    "department": c.get("department"), "city": c.get("location"),
                    "kam_stance": _label(c["stance"]) if c.get("stance") else None,
                    "kam_influence": _text(c.get("influence")), "kam_relationship_owner": c.get("owner"),
                    "kam_product_line": c.get("product_line"),
                    "notes_last_contacted": _epoch_ms(c["last_contacted"]) if c.get("last_contacted") else None,
                    "kam_mitigation": c.get("mitigation"),
                }
                for c in a.get("contacts", [])
            ]  # fmt: skip
            record = {
                "hs_object_id": a["id"], "name": a.get("name"), "industry": a.get("industry"),
                "kam_region": a.get("region"), "hubspot_owner_name": a.get("account_manager"),
                "annualrevenue": f"{a['annual_revenue']:,}" if "annual_revenue" in a else None,
                # HubSpot keeps a percentage as 0-1: the original figure over 100 (see _hundredth)
                "kam_gross_margin": _text(a.get("gross_margin_pct")),
                "kam_revenue_growth": _text(a.get("revenue_growth_pct")),
                "kam_wallet_size": _text(a.get("wallet_size")),
                "kam_share_of_wallet": _text(a.get("share_of_wallet_pct")),
                "kam_growth_potential": _text(a.get("growth_potential")),
                "kam_strategic_fit": _text(a.get("strategic_fit")),
                "kam_relationship_strength": _text(a.get("relationship_strength")),
                "kam_competitive_position": _text(a.get("competitive_position")),
                "kam_reference_value": _text(a.get("reference_value")),
                "kam_years_as_customer": _text(a.get("years_as_customer")),
                "kam_credit_risk": a["credit_risk"].upper() if a.get("credit_risk") else None,
                "kam_wants_key_account": _text(a.get("wants_key_account")),
                "kam_stage": _label(a["stage"]) if a.get("stage") not in (None, "implementation_delivery")
                else "Implementation & Delivery" if a.get("stage") else None,
                "kam_current_tier": f"Key Account {a['current_tier']}" if a.get("current_tier") in TIERS
                else a.get("current_tier"),
                "kam_nps": _text(a.get("nps")), "kam_shares_business_plans": _text(a.get("shares_business_plans")),
                "kam_plan_last_reviewed": _epoch_ms(reviewed) if reviewed else None,
                "kam_plan": plan, "contacts": contacts, "kam_team": a.get("team"),
                "kam_relationships": a.get("relationships"), "kam_restrictions": a.get("restrictions"),
            }  # fmt: skip
            for key in ("kam_gross_margin", "kam_revenue_growth", "kam_share_of_wallet"):
                if record[key] is not None:
                    record[key] = _hundredth(float(record[key]))
            handle.write(json.dumps({k: v for k, v in record.items() if v is not None}, ensure_ascii=False) + "\n")


def _hundredth(value: float) -> str:
    """A percentage on HubSpot's 0-1 scale, as decimal text: 53.3 is ``0.533``."""
    return str(Decimal(repr(value)) / 100)


INDUSTRY_CODES = {
    "Accounting": 1, "Consulting": 3, "Financial Services": 6, "Manufacturing": 12, "Pharmaceuticals": 19,
    "Retail": 27, "Technology": 33, "Chemicals": 100000000, "Energy": 100000001, "Logistics": 100000002,
    "Automotive": 100000003, "Food & Beverage": 100000004,
}  # fmt: skip
CODES = {
    "credit_risk": {"low": 100000000, "medium": 100000001, "high": 100000002, "severe": 100000003},
    "stage": {s: 100000000 + i for i, s in enumerate(STAGE_LABELS)},
    "current_tier": {"Gold": 100000000, "Silver": 100000001, "Bronze": 100000002, "Standard": 100000003},
}


def dynamics(accounts: list[dict[str, Any]]) -> None:
    rows = []
    for n, a in enumerate(accounts):
        plan, reviewed = _split_plan(a)
        contacts = [
            {
                "contactid": c.get("id"), "fullname": c.get("name"), "new_buyingrole": c.get("role"),
                "new_level": c.get("level"), "department": c.get("department"), "address1_city": c.get("location"),
                "new_stance": c.get("stance"), "new_influence": c.get("influence"),
                "new_relationshipowner": c.get("owner"), "new_productline": c.get("product_line"),
                "lastonholdtime": f"{c['last_contacted']}T00:00:00Z" if c.get("last_contacted") else None,
                "new_mitigation": c.get("mitigation"),
            }
            for c in a.get("contacts", [])
        ]  # fmt: skip
        industry = a.get("industry")
        record = {
            "@odata.etag": f'W/"{4_800_000 + n}"',
            "accountid": a["id"], "name": a.get("name"),
            "industrycode": INDUSTRY_CODES.get(industry, industry) if industry else None,
            "new_region": a.get("region"),
            "_ownerid_value": f"7d1c52a4-0000-4000-8000-{n:012d}",
            "_ownerid_value@OData.Community.Display.V1.FormattedValue": a.get("account_manager"),
            "revenue": a.get("annual_revenue"), "new_grossmarginpct": a.get("gross_margin_pct"),
            "new_revenuegrowthpct": a.get("revenue_growth_pct"), "new_walletsize": a.get("wallet_size"),
            "new_shareofwalletpct": a.get("share_of_wallet_pct"), "new_growthpotential": a.get("growth_potential"),
            "new_strategicfit": a.get("strategic_fit"), "new_relationshipstrength": a.get("relationship_strength"),
            "new_competitiveposition": a.get("competitive_position"),
            "new_referencevalue": a.get("reference_value"), "new_yearsascustomer": a.get("years_as_customer"),
            "new_creditrisk": CODES["credit_risk"].get(a.get("credit_risk", "")),
            "new_wantskeyaccount": a.get("wants_key_account"),
            "new_kamstage": CODES["stage"].get(a.get("stage", "")),
            "new_currenttier": CODES["current_tier"].get(a.get("current_tier", "")),
            "new_nps": a.get("nps"), "new_sharesbusinessplans": a.get("shares_business_plans"),
            "new_planlastreviewed": f"{reviewed}T00:00:00Z" if reviewed else None,
            "new_accountplan": plan, "contact_customer_accounts": contacts, "new_accountteam": a.get("team"),
            "new_relationships": a.get("relationships"), "new_restrictions": a.get("restrictions"),
        }  # fmt: skip
        rows.append({k: v for k, v in record.items() if v is not None})
    # the "value" array of the Web API's response, saved as a JSON list
    text = json.dumps(rows, ensure_ascii=False, indent=1)
    (HERE / "dynamics_accounts.json").write_text(text + "\n", encoding="utf-8")


def main() -> None:
    accounts = [json.loads(line) for line in ACCOUNTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    salesforce(accounts[:60])
    hubspot(accounts[60:100])
    dynamics(accounts[100:120])


if __name__ == "__main__":
    main()
