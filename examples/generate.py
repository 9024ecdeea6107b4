"""Generate the example account portfolio: ``accounts.jsonl`` and ``accounts.csv``.

The examples have to serve three audiences at once: a policy owner trying the default
rulebook in ``rules/`` (so the tier spread must look like a real portfolio, not noise), the
test suite (so the data must be reproducible byte for byte and exercise the awkward cases:
missing facts, unicode names, commas and quotes in CSV cells, accounts without a plan or
contacts) and benchmarks (so any ``--count`` must work). Only the standard library is used,
so the generator runs before kamrules is installed.

Facts are drawn from two hidden traits per account, how attractive the customer is and how
strong our position is, so that related facts move together the way they do in a CRM
(a bigger wallet comes with bigger revenue, a strong relationship with a larger share of
wallet, more contacts and more supporters).

Run ``python examples/generate.py`` to rewrite the files next to this script; two runs with
the same ``--count`` and ``--seed`` give identical bytes.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import math
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REFERENCE_DATE = dt.date(2026, 11, 1)
"""Every date is relative to this fixed date, never to today, so the output never drifts."""

ACCOUNT_FACTS: tuple[str, ...] = (
    "id",
    "name",
    "industry",
    "region",
    "account_manager",
    "annual_revenue",
    "gross_margin_pct",
    "revenue_growth_pct",
    "wallet_size",
    "share_of_wallet_pct",
    "growth_potential",
    "strategic_fit",
    "relationship_strength",
    "competitive_position",
    "reference_value",
    "years_as_customer",
    "credit_risk",
    "wants_key_account",
    "stage",
    "current_tier",
    "nps",
    "shares_business_plans",
)
"""The flat account facts in the order of kamrules' fact schema, the custom facts last."""

CRM_COLUMNS: dict[str, str] = {
    "id": "Account ID",
    "name": "Account Name",
    "industry": "Industry",
    "region": "Sales_Region__c",
    "account_manager": "Account Owner",
    "annual_revenue": "AnnualRevenue",
    "gross_margin_pct": "Gross_Margin_Pct__c",
    "revenue_growth_pct": "Revenue_Growth_Pct__c",
    "wallet_size": "Wallet_Size__c",
    "share_of_wallet_pct": "Share_of_Wallet_Pct__c",
    "growth_potential": "Growth_Potential__c",
    "strategic_fit": "Strategic_Fit__c",
    "relationship_strength": "Relationship_Strength__c",
    "competitive_position": "Competitive_Position__c",
    "reference_value": "Reference_Value__c",
    "years_as_customer": "Years_as_Customer__c",
    "credit_risk": "Credit_Risk__c",
    "wants_key_account": "Wants_Key_Account__c",
    "nps": "NPS__c",
    "shares_business_plans": "Shares_Business_Plans__c",
}
"""The CSV header, as a CRM export names the columns. It must match ``facts.columns`` and
the custom facts' ``column:`` in ``rules/rulebook.yaml``; a fact not listed here keeps its
own name (``stage``, ``current_tier``), which shows that records may mix both."""

INDUSTRIES: tuple[str, ...] = (
    "Automotive",
    "Chemicals",
    "Energy",
    "Food & Beverage",
    "Healthcare",
    "Logistics",
    "Machinery",
    "Pharmaceuticals",
    "Retail",
    "Telecommunications",
)

SECTOR_WORDS: dict[str, tuple[str, ...]] = {
    "en": (
        "Automotive",
        "Chemicals",
        "Energy",
        "Foods",
        "Health",
        "Logistics",
        "Engineering",
        "Pharma",
        "Retail",
        "Telecom",
    ),
    "de": (
        "Fahrzeugtechnik",
        "Chemie",
        "Energietechnik",
        "Lebensmittel",
        "Medizintechnik",
        "Logistik",
        "Maschinenbau",
        "Pharma",
        "Handel",
        "Telekommunikation",
    ),
    "fr": (
        "Automobile",
        "Chimie",
        "Énergie",
        "Alimentaire",
        "Santé",
        "Transports",
        "Mécanique",
        "Pharmaceutique",
        "Distribution",
        "Télécom",
    ),
    "nordic": ("Fordon", "Kemi", "Energi", "Livsmedel", "Helse", "Logistikk", "Maskin", "Farma", "Handel", "Tele"),
    "pl": (
        "Motoryzacja",
        "Chemia",
        "Energetyka",
        "Żywność",
        "Zdrowie",
        "Logistyka",
        "Maszyny",
        "Farmacja",
        "Handel",
        "Telekom",
    ),
    "es": (
        "Automoción",
        "Química",
        "Energía",
        "Alimentos",
        "Salud",
        "Logística",
        "Maquinaria",
        "Farmacéutica",
        "Comercio",
        "Telecomunicaciones",
    ),
}
"""The industry's word in the region's language, in the order of ``INDUSTRIES``."""

REGIONS: dict[str, dict[str, Any]] = {
    "DACH": {
        "lang": "de",
        "stems": (
            "Müller",
            "Schäfer",
            "Weiß",
            "Böhm",
            "Krüger",
            "Hoffmann",
            "Brandt",
            "Vogel",
            "Kessler",
            "Lindner",
            "Rheintal",
            "Alpen",
        ),
        "suffixes": ("GmbH", "AG", "SE", "GmbH & Co. KG"),
        "cities": ("Stuttgart", "München", "Wien", "Zürich", "Düsseldorf", "Hamburg"),
    },
    "France & Benelux": {
        "lang": "fr",
        "stems": (
            "Lefèvre",
            "Dubois",
            "Moreau",
            "Girard",
            "Rivière",
            "Beaulieu",
            "Van Dijk",
            "Janssens",
            "Chevalier",
            "Mercier",
        ),
        "suffixes": ("SA", "SAS", "B.V.", "NV"),
        "cities": ("Lyon", "Paris", "Lille", "Bruxelles", "Liège", "Rotterdam"),
    },
    "Nordics": {
        "lang": "nordic",
        "stems": (
            "Åkesson",
            "Bjørnstad",
            "Nordvik",
            "Järvinen",
            "Lindqvist",
            "Søndergaard",
            "Fjeld",
            "Ekström",
            "Halvorsen",
            "Virtanen",
        ),
        "suffixes": ("AB", "AS", "A/S", "Oy"),
        "cities": ("Göteborg", "Malmö", "Århus", "Tromsø", "Oslo", "Helsinki"),
    },
    "Central & Eastern Europe": {
        "lang": "pl",
        "stems": (
            "Kowalczyk",
            "Wiśniewski",
            "Łódź",
            "Dvořák",
            "Szabó",
            "Nowak",
            "Zieliński",
            "Kraków",
            "Horváth",
            "Procházka",
        ),
        "suffixes": ("Sp. z o.o.", "S.A.", "s.r.o.", "Kft."),
        "cities": ("Łódź", "Kraków", "Wrocław", "Poznań", "Brno", "Győr"),
    },
    "UK & Ireland": {
        "lang": "en",
        "stems": (
            "Hartley",
            "O'Brien",
            "Pemberton",
            "Ashworth",
            "Kilbride",
            "Whitmore",
            "Thornbury",
            "McAllister",
            "Sefton",
            "Greaves",
        ),
        "suffixes": ("Ltd", "plc", "Group", "Holdings Ltd"),
        "cities": ("Manchester", "Leeds", "Dublin", "Glasgow", "Bristol", "Cork"),
    },
    "Iberia & Latin America": {
        "lang": "es",
        "stems": (
            "Martínez",
            "Gonçalves",
            "Ibáñez",
            "Fernández",
            "Peña",
            "Azevedo",
            "Castillo",
            "Núñez",
            "Oliveira",
            "Serrano",
        ),
        "suffixes": ("S.A.", "S.L.", "Ltda.", "S.A. de C.V."),
        "cities": ("Madrid", "Bilbao", "Sevilla", "São Paulo", "Monterrey", "Porto"),
    },
    "North America": {
        "lang": "en",
        "stems": (
            "Redwood",
            "Lakeshore",
            "Granite",
            "Bluewater",
            "Summit",
            "Prairie",
            "Harbor",
            "Ironbridge",
            "Maple",
            "Cascade",
        ),
        "suffixes": ("Inc.", "Corp.", "LLC", "Co."),
        "cities": ("Chicago", "Toronto", "Houston", "Atlanta", "Montréal", "Denver"),
    },
}

FEATURED_NAMES: tuple[tuple[str, str, str], ...] = (
    ("Müller Maschinenbau GmbH", "Machinery", "DACH"),
    ("Société Générale d'Équipement", "Machinery", "France & Benelux"),
    ("Łódź Logistics", "Logistics", "Central & Eastern Europe"),
    ("Hartley, Finch & Co. Ltd", "Retail", "UK & Ireland"),
    ('The "Blue Anchor" Shipping Company', "Logistics", "UK & Ireland"),
    ("Åkesson Kemi AB", "Chemicals", "Nordics"),
)
"""Names every portfolio carries (when it has room): unicode, a comma and double quotes
are the cases a CSV or JSON reader most often gets wrong."""

ACCOUNT_MANAGERS: tuple[str, ...] = (
    "Anna Kowalska",
    "James O'Connor",
    "Sofía Martínez",
    "Lars Øvergaard",
    "Priya Raman",
    "Thomas Becker",
)

COLLEAGUES: tuple[str, ...] = (
    "Chloé Laurent",
    "Daniel Fischer",
    "Emma Lindgren",
    "Hiroshi Tanaka",
    "Isabel Rocha",
    "Jakub Nowicki",
    "Kwame Mensah",
    "Laura Bianchi",
    "Mehmet Yılmaz",
    "Niamh Byrne",
    "Olivia Carter",
    "Rafael Domínguez",
)
"""Account team members besides the account managers; each account's team is its manager
and four of them, the team of five that owns the customer's relationships."""

MENTORS: tuple[str, ...] = (
    "Catherine Moore (VP Sales)",
    "Dr. Klaus Wendt (COO)",
    "Margarethe Solberg (CFO)",
    "Vikram Nair (Head of Strategy)",
)

FIRST_NAMES: tuple[str, ...] = (
    "Zoë",
    "Jürgen",
    "François",
    "Małgorzata",
    "Søren",
    "José",
    "Chloé",
    "Björn",
    "Agnieszka",
    "Siobhán",
    "Łukasz",
    "Inés",
    "Mikael",
    "Renée",
    "Tomás",
    "Ingrid",
    "Aoife",
    "Hélène",
    "Ole",
    "Marta",
    "Peter",
    "Sarah",
    "David",
    "Julia",
    "Michael",
    "Elena",
    "Paul",
    "Nina",
    "Ahmed",
    "Mei",
    "Kenji",
    "Fatima",
    "Carlos",
    "Grace",
    "Oskar",
    "Anja",
)
LAST_NAMES: tuple[str, ...] = (
    "Schmidt",
    "Dubois",
    "Kowalski",
    "Andersen",
    "García",
    "Murphy",
    "Rossi",
    "Novák",
    "Johansson",
    "Papadopoulos",
    "Wójcik",
    "Fernández",
    "Nieminen",
    "Müller",
    "Lefèbvre",
    "Smith",
    "Brown",
    "Jensen",
    "Horvát",
    "Costa",
    "Schneider",
    "Lindström",
    "O'Neill",
    "Kovačević",
    "Tanaka",
    "Chen",
    "Okafor",
    "Haddad",
    "Ivanova",
    "Berg",
)

DEPARTMENTS: tuple[str, ...] = (
    "Procurement",
    "Engineering",
    "Operations",
    "Finance",
    "IT",
    "Quality",
    "R&D",
    "Supply Chain",
    "Executive Board",
    "Marketing",
)

ROLES: tuple[tuple[str, int], ...] = (
    ("user", 24),
    ("influencer", 20),
    ("specifier", 14),
    ("decision_maker", 15),
    ("gatekeeper", 10),
    ("champion", 9),
    ("executive_sponsor", 5),
)
LEVELS_BY_ROLE: dict[str, tuple[str, ...]] = {
    "user": ("operational", "operational", "middle_management"),
    "influencer": ("middle_management", "senior_management", "operational"),
    "specifier": ("middle_management", "operational", "senior_management"),
    "decision_maker": ("senior_management", "executive", "board"),
    "gatekeeper": ("middle_management", "operational"),
    "champion": ("middle_management", "senior_management"),
    "executive_sponsor": ("executive", "board"),
}
"""Plausible levels per role, so a decision maker is rarely an operational employee."""

INFLUENCE_BY_LEVEL: dict[str, int] = {
    "board": 5,
    "executive": 4,
    "senior_management": 4,
    "middle_management": 3,
    "operational": 2,
}

STAGES: tuple[str, ...] = (
    "pre_sales",
    "contract_negotiation",
    "implementation_delivery",
    "review",
    "exploitation",
)


def clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def rating(rng: random.Random, trait: float, noise: float) -> int:
    """A 1-5 rating that follows a 0-1 trait, with the disagreement real assessors show."""
    return int(clamp(round(1 + 4 * (trait + rng.gauss(0, noise))), 1, 5))


def weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def days_before(reference: dt.date, days: int) -> str:
    return (reference - dt.timedelta(days=days)).isoformat()


class Generator:
    """Draws accounts one by one from a single seeded random stream.

    One stream (not one per account) keeps the code simple; the price is that changing how
    one fact is drawn changes every later account, which is fine for example data that is
    regenerated and committed as a whole.
    """

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used_names: set[str] = set()

    def company_name(self, region: str, industry: str) -> str:
        """A unique, plausible company name in the region's language."""
        spec = REGIONS[region]
        words = SECTOR_WORDS[spec["lang"]]
        sector = words[INDUSTRIES.index(industry)]
        for attempt in range(50):
            stem = self.rng.choice(spec["stems"])
            suffix = self.rng.choice(spec["suffixes"])
            if spec["lang"] == "fr" and self.rng.random() < 0.5:
                name = f"{sector} {stem} {suffix}"
            elif attempt > 20:
                other = self.rng.choice(spec["stems"])
                name = f"{stem} & {other} {sector} {suffix}"
            else:
                name = f"{stem} {sector} {suffix}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name
        raise RuntimeError(f"ran out of company names for {region}, {industry}")

    def account(self, number: int, featured: tuple[str, str, str] | None) -> dict[str, Any]:
        """One account record, fact names as keys; a missing fact is left out."""
        rng = self.rng
        attract = rng.betavariate(1.5, 1.8)
        strength = clamp(0.25 * attract + 0.75 * rng.betavariate(2.0, 2.0), 0.0, 1.0)

        if featured is not None:
            name, industry, region = featured
            self.used_names.add(name)
        else:
            region = rng.choice(list(REGIONS))
            industry = rng.choice(INDUSTRIES)
            name = self.company_name(region, industry)
        manager = rng.choice(ACCOUNT_MANAGERS)
        team = [manager, *rng.sample(COLLEAGUES, 4)]

        wallet = math.exp(rng.gauss(math.log(4_000_000) + 1.6 * attract, 1.0))
        wallet = max(150_000.0, round(wallet, -4))
        share = round(clamp(4 + 55 * strength + rng.gauss(0, 9), 1.0, 90.0), 1)
        revenue = int(round(wallet * share / 100, -3))
        years = round(clamp(rng.gauss(1 + 14 * strength, 4), 0.2, 45.0), 1)

        record: dict[str, Any] = {
            "id": f"ACC-{number:05d}",
            "name": name,
            "industry": industry,
            "region": region,
            "account_manager": manager,
            "annual_revenue": revenue,
            "gross_margin_pct": round(clamp(rng.gauss(15 + 20 * attract, 6), -8.0, 60.0), 1),
            "revenue_growth_pct": round(clamp(rng.gauss(-3 + 20 * attract, 9), -60.0, 120.0), 1),
            "wallet_size": int(wallet),
            "share_of_wallet_pct": share,
            "growth_potential": rating(rng, attract, 0.2),
            "strategic_fit": rating(rng, attract, 0.3),
            "relationship_strength": rating(rng, strength, 0.18),
            "competitive_position": rating(rng, strength, 0.22),
            "reference_value": rating(rng, (attract + strength) / 2, 0.25),
            "years_as_customer": years,
            "credit_risk": weighted(rng, (("low", 62), ("medium", 32), ("high", 5), ("severe", 1))),
            "wants_key_account": rng.random() >= 0.05,
            "stage": self.stage(years),
            "current_tier": self.current_tier(attract, strength),
            "nps": int(clamp(round(rng.gauss(-15 + 70 * strength, 18)), -100, 100)),
            "shares_business_plans": rng.random() < 0.1 + 0.6 * strength,
        }
        # Facts a real CRM lacks for some accounts, at roughly the rates seen in practice.
        if years < 1.0:
            del record["revenue_growth_pct"]  # no year-on-year growth in the first year
        if rng.random() < 0.10:
            del record["nps"]  # the customer did not answer the survey
        if rng.random() < 0.03:
            del record["gross_margin_pct"]  # the finance feed has not caught up
        if rng.random() < 0.05:
            del record["shares_business_plans"]
        if rng.random() < 0.01:
            del record["wants_key_account"]  # the account manager never asked
        if rng.random() < 0.01:
            del record["industry"]
        if record["current_tier"] is None:
            del record["current_tier"]

        if rng.random() < 0.72 + 0.25 * strength:
            record["plan"] = self.plan(manager, team)
        record["contacts"] = self.contacts(strength, team, region)
        return record

    def stage(self, years: float) -> str:
        """New relationships sit in the early stages, long ones mostly in exploitation."""
        if years < 1.0:
            weights = (40, 35, 25, 0, 0)
        elif years < 3.0:
            weights = (8, 15, 40, 25, 12)
        else:
            weights = (3, 7, 15, 25, 50)
        return self.rng.choices(STAGES, weights=weights)[0]

    def current_tier(self, attract: float, strength: float) -> str | None:
        """Last year's tier: close to what the rulebook would give, but not the same,
        because the portfolio moves and last year's policy was not this one."""
        rng = self.rng
        if rng.random() < 0.15:
            return None  # not graded yet
        q = 0.7 * attract + 0.3 * strength + rng.gauss(0, 0.07)
        if q > 0.72:
            return "Gold"
        if q > 0.6:
            return "Silver"
        if q > 0.5:
            return "Bronze"
        return "Standard"

    def plan(self, manager: str, team: list[str]) -> dict[str, Any]:
        rng = self.rng
        plan: dict[str, Any] = {
            "owner": manager if rng.random() < 0.9 else team[1],
            "status": weighted(rng, (("active", 55), ("agreed", 20), ("draft", 20), ("retired", 5))),
            "version": 1 + int(rng.expovariate(0.5)),
            "last_reviewed": days_before(REFERENCE_DATE, rng.randint(0, 200)),
            "mentor": rng.choice(MENTORS),
            "horizon_months": rng.choice((12, 18, 24, 24, 36)),
        }
        if rng.random() < 0.07:
            del plan["mentor"]  # no mentor assigned: what a plan check must catch
        if rng.random() < 0.04:
            del plan["last_reviewed"]  # never reviewed
        return plan

    def contacts(self, strength: float, team: list[str], region: str) -> list[dict[str, Any]]:
        """The relationship map: more contacts and more supporters where we are strong."""
        rng = self.rng
        count = int(clamp(round(rng.gauss(1 + 9 * strength, 2.5)), 0, 12))
        cities = REGIONS[region]["cities"]
        home = rng.choice(cities)
        names: list[str] = []
        while len(names) < count:
            candidate = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
            if candidate not in names:
                names.append(candidate)
        stances = (
            ("mentor", 0.04 + 0.12 * strength),
            ("supporter", 0.15 + 0.40 * strength),
            ("neutral", 0.45 - 0.25 * strength),
            ("non_supporter", 0.25 - 0.20 * strength),
            ("enemy", 0.06 - 0.05 * strength),
        )
        contacts = []
        for person in names:
            role = weighted(rng, ROLES)
            level = rng.choice(LEVELS_BY_ROLE[role])
            influence = int(clamp(INFLUENCE_BY_LEVEL[level] + rng.choice((-1, 0, 0, 1)), 1, 5))
            department = "Executive Board" if level == "board" else rng.choice(DEPARTMENTS[:-2])
            stale = rng.random() < 0.15
            contacts.append(
                {
                    "name": person,
                    "role": role,
                    "level": level,
                    "department": department,
                    "location": home if rng.random() < 0.6 else rng.choice(cities),
                    "stance": weighted(rng, stances),
                    "influence": influence,
                    "owner": rng.choice(team),
                    "last_contacted": days_before(
                        REFERENCE_DATE, rng.randint(120, 540) if stale else rng.randint(0, 90)
                    ),
                }
            )
        return contacts

    def portfolio(self, count: int) -> list[dict[str, Any]]:
        """``count`` accounts; the featured names go to fixed, seeded positions."""
        slots = self.rng.sample(range(count), min(count, len(FEATURED_NAMES)))
        featured = dict(zip(slots, FEATURED_NAMES[: len(slots)], strict=True))
        # Reserve the featured names first, so no generated name can take one of them.
        self.used_names.update(name for name, _, _ in FEATURED_NAMES)
        return [self.account(i + 1, featured.get(i)) for i in range(count)]


def csv_cell(value: Any) -> str:
    """How a CRM export writes a value: booleans as true/false, a missing value as empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def write_jsonl(accounts: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as out:
        for account in accounts:
            out.write(json.dumps(account, ensure_ascii=False) + "\n")


def write_csv(accounts: list[dict[str, Any]], path: Path) -> None:
    """Flat facts only: a CRM account export has no room for the plan or the contacts."""
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([CRM_COLUMNS.get(fact, fact) for fact in ACCOUNT_FACTS])
        for account in accounts:
            writer.writerow([csv_cell(account.get(fact)) for fact in ACCOUNT_FACTS])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300, help="accounts to generate (300)")
    parser.add_argument("--seed", type=int, default=2026, help="random seed (2026)")
    parser.add_argument(
        "--out-dir",
        type=Path,
        default=Path(__file__).resolve().parent,
        help="where to write accounts.jsonl and accounts.csv (this script's folder)",
    )
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must be 0 or more")
    accounts = Generator(args.seed).portfolio(args.count)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_jsonl(accounts, args.out_dir / "accounts.jsonl")
    write_csv(accounts, args.out_dir / "accounts.csv")
    print(f"wrote {len(accounts)} accounts to {args.out_dir}")


if __name__ == "__main__":
    main()
