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
wallet, more contacts and more supporters). The account plan, the account team and the
details of the relationship map (who on the team knows whom, what contacts asked us not to
do) add a third trait, the team's discipline, and carry the gaps the plan checks in
``rules/plan_checks.yaml`` and ``rules/relationships.yaml`` exist to find.

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
"""Account team members besides the account managers. The main stream draws each account a
team of its manager and four of them (who own the contacts it draws); the account's own
stream then keeps three to six of them as the account team (see ``AccountDetails.team``)."""

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
    """Draws accounts one by one from a single seeded random stream, the main stream,
    and each account's plan and relationship details from a stream of its own.

    The main stream draws the selection facts and the contacts; changing how one of them is
    drawn changes every later account, which is fine for example data that is regenerated
    and committed as a whole. The account's own stream (seeded from ``--seed`` and the
    account's number) draws everything the plan checks read, so plan data can grow without
    moving a single score or tier.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
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

        had_plan = rng.random() < 0.72 + 0.25 * strength
        if had_plan:
            self.skip_first_plan_draws()
        contacts = self.contacts(strength, team, region)
        # Everything above comes from the main stream, exactly as before the account plans
        # were modelled, so the selection facts (and the tiers) of every account stay the
        # same. The plan, the team and the details of the relationship map come from a
        # stream of the account's own: drawing more or less of them never shifts another
        # account.
        details = AccountDetails(
            random.Random(f"{self.seed}:{number}"),
            record,
            attract=attract,
            strength=strength,
            full_team=team,
        )
        details.fill(contacts, has_plan=had_plan or details.rng.random() < 0.3)
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

    def skip_first_plan_draws(self) -> None:
        """The draws the first, six-field plan took from the main stream, taken and unused.

        Plans now come from each account's own stream (:class:`AccountDetails`); keeping
        these draws keeps every later account's selection facts as they were committed.
        """
        rng = self.rng
        rng.random()
        rng.choices((0, 1, 2, 3), weights=(55, 20, 20, 5))
        rng.expovariate(0.5)
        rng.randint(0, 200)
        rng.choice(MENTORS)
        rng.choice((12, 18, 24, 24, 36))
        rng.random()
        rng.random()

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


TEAM_ROLES: tuple[str, ...] = (
    "customer service lead",
    "technical specialist",
    "sales engineer",
    "supply chain planner",
    "finance business partner",
    "product manager",
)
"""Roles on an account team besides the key account manager, in the order they are added."""

PRODUCT_LINES: tuple[str, ...] = (
    "Drives & Motion",
    "Automation Software",
    "Sensors & Safety",
    "Power Distribution",
    "Spare Parts & Service",
)

COMPETITORS: tuple[str, ...] = (
    "Nordwerk Industrietechnik",
    "Apex Industrial Supply",
    "Valmont & Frères",
    "Kestrel Systems",
    "Orion Components",
    "Baltic Precision",
    "Sierra Automation",
)

BUYING_PROCESSES: tuple[str, ...] = (
    "Framework tender every three years run by central Procurement; call-offs approved by "
    "plant managers up to 250k, above that by the CFO.",
    "Engineering specifies and shortlists two suppliers; Procurement runs a reverse auction; "
    "the Operations board signs.",
    "Yearly supplier review in Q3; the Executive Board decides on the COO's proposal.",
    "Sites order from a catalogue agreed with Procurement; new products need Quality approval "
    "after a three-month trial.",
    "Capex projects over 500k go to the investment committee; Engineering owns the technical "
    "evaluation, Finance the business case.",
)
FINANCIAL_REQUIREMENTS: tuple[str, ...] = (
    "Payment 60 days end of month; invoices through Coupa with the PO number; credit limit 1.5M reviewed yearly.",
    "Payment 90 days; yearly volume rebate of 2% above 5M; prices fixed for 12 months.",
    "Payment 45 days; consolidated monthly invoice per site; bank guarantee for projects.",
)
LEGAL_REQUIREMENTS: tuple[str, ...] = (
    "Customer's general purchasing terms with our liability cap of 2M; data processing agreement under GDPR.",
    "Frame contract under the customer's law; supplier code of conduct signed; REACH declarations with every delivery.",
    "Our terms of sale with the customer's amendments on warranty (36 months) and penalties for late delivery.",
)
BUSINESS_POLICIES: tuple[str, ...] = (
    "Discounts up to 12% without director approval; no consignment stock; price increases "
    "passed on with 60 days' notice.",
    "Grow the automation share to 40% of the account's revenue; no projects below 18% margin.",
    "Key-account pricing applies group-wide; local deals need the key account manager's approval.",
)
CONTRACT_TERMS: tuple[str, ...] = (
    "Three-year frame contract with yearly price review and 98% on-time delivery guarantee.",
    "Two-year supply agreement, renewable yearly; service level agreement with penalties.",
    "Five-year partnership agreement covering all sites, with a joint cost-down target of 3% a year.",
)
ORDER_PROCESSING: tuple[str, ...] = (
    "EDI orders from the customer's SAP; confirmation within 24 hours; weekly call-offs against the frame contract.",
    "Orders through our web shop with the customer's catalogue; urgent orders by phone to the customer service lead.",
    "Vendor-managed inventory at the two main plants, replenished twice a week.",
)
DEVELOPMENT_PLANS: tuple[str, ...] = (
    "Extend from the two pilot plants to all European sites by 2028; add service contracts.",
    "Win the specification for the next product generation through an early joint engineering project.",
    "Move from spot orders to a frame contract, then cross-sell sensors into Quality.",
    "Defend the core business against the low-cost challenger; grow spare parts and service.",
)
OBJECTIVE_TITLES: tuple[str, ...] = (
    "Sign the frame contract for all sites",
    "Raise our share of wallet by five points",
    "Qualify our sensors for the new production line",
    "Set up vendor-managed inventory at the main plant",
    "Deliver the joint cost-down programme (3%)",
    "Get on the approved supplier list for Engineering",
    "Run the energy-efficiency audit with Operations",
    "Introduce the service contract at two pilot sites",
)
CUSTOMER_OBJECTIVES: tuple[str, ...] = (
    "Cut energy use in production by 20% by 2028.",
    "Consolidate suppliers from about 40 to 12 preferred partners.",
    "Open a second plant and double capacity within three years.",
    "Move the premium range to make-to-order.",
    "Reach carbon-neutral operations by 2030.",
    "Digitise maintenance with predictive analytics across all sites.",
    "Halve the time to market of new products.",
)
SERVICE_METRICS: tuple[tuple[str, float, float], ...] = (
    ("On-time delivery (%)", 97.0, 2.5),
    ("Order confirmation within 24 h (%)", 95.0, 3.0),
    ("Invoice accuracy (%)", 99.5, 0.6),
    ("Order lead time (days)", 10.0, 2.0),
    ("Complaints per 1000 order lines", 2.0, 0.8),
)
"""Name, the target usually agreed, and how far the actual strays from it."""
OPPORTUNITIES: tuple[str, ...] = (
    "Retrofit of the packaging lines",
    "Service contract for the installed base",
    "New plant in the east: first equipment package",
    "Spare-parts consignment at the central warehouse",
    "Automation software for the assembly halls",
)
FEEDBACK: tuple[str, ...] = (
    "Growth potential high: the customer's expansion plans need twice today's capacity.",
    "Growth potential moderate: supplier consolidation favours us if we hold our prices.",
    "Growth potential limited this year: capex frozen until the new CEO's review.",
    "Growth potential high in service; product share is near its ceiling.",
)
MITIGATIONS: tuple[str, ...] = (
    "Reference visit to a plant we supply, hosted by a peer they respect.",
    "Technical workshop on the quality problems behind their objection.",
    "Executive-to-executive meeting to reset the relationship after the 2025 delays.",
    "Trial order with guaranteed service levels to rebuild trust.",
    "Keep informed through the steering committee; no direct pitch.",
    "Work through their deputy, who supports the change.",
)
RESTRICTION_NOTES: tuple[str, ...] = (
    "Go through Procurement; do not approach {department} directly.",
    "Not to talk to {department} about the new line until the budget is approved.",
    "Asked us not to contact {department} while the reorganisation is under way.",
)
STRENGTH_BY_STANCE: dict[str, int] = {"mentor": 5, "supporter": 4, "neutral": 3, "non_supporter": 2, "enemy": 1}


class AccountDetails:
    """The account plan, the account team and the details of the relationship map, drawn
    from the account's own random stream.

    One hidden trait drives the gaps: the team's *discipline* (0..1, higher where our
    position is strong). :meth:`lapse` makes a gap far more likely for an undisciplined
    team, so that gaps cluster the way they do in practice: most plans are nearly complete,
    a few are missing a lot.

    The contacts' names, roles, stances, levels and count come from the main stream (the
    ``relationship_breadth`` criterion scores them). This class only changes what that
    criterion does not read, so every score stays the same: a disciplined team has found
    out who decides (a contact becomes a decision maker, never turning one more decision
    maker, executive sponsor or champion supportive), and on attractive accounts has won a
    supporter at executive level (a supportive contact's level and influence).
    """

    def __init__(
        self,
        rng: random.Random,
        record: dict[str, Any],
        *,
        attract: float,
        strength: float,
        full_team: list[str],
    ) -> None:
        self.rng = rng
        self.record = record
        self.attract = attract
        self.strength = strength
        self.full_team = full_team
        self.stage = STAGES.index(record["stage"])
        self.discipline = clamp(0.25 * strength + 0.75 * rng.betavariate(2.5, 1.5), 0.0, 1.0)

    def lapse(self, rate: float) -> bool:
        """True when a gap of base ``rate`` occurs: about 3x the rate for the least
        disciplined team, next to never for the most disciplined."""
        return self.rng.random() < rate * 3.0 * (1.0 - self.discipline) ** 2

    def age(self, every: float, late: float, cycles: tuple[float, float] = (0.5, 2.0)) -> float:
        """How long ago something done every ``every`` days was last done; with chance
        ``late`` (see :meth:`lapse`) it is overdue by a number of ``cycles``."""
        days = self.rng.uniform(0, every)
        if self.lapse(late):
            days += self.rng.uniform(*cycles) * every
        return days

    def ago(self, days: float) -> str:
        """The date ``days`` before the reference date (never after it)."""
        return days_before(REFERENCE_DATE, max(0, int(days)))

    def fill(self, contacts: list[dict[str, Any]], *, has_plan: bool) -> None:
        team = self.team()
        contacts, relationships, restrictions = self.relationship_map(contacts, team)
        if has_plan:
            self.record["plan"] = self.plan(team, contacts)
        self.record["team"] = team
        self.record["contacts"] = contacts
        self.record["relationships"] = relationships
        if restrictions:
            self.record["restrictions"] = restrictions

    # --- the account team ------------------------------------------------------------------

    def team(self) -> list[dict[str, str]]:
        """3 to 6 people, more on attractive accounts: the manager and colleagues."""
        rng = self.rng
        size = int(clamp(round(2.6 + 3.2 * self.attract + rng.gauss(0, 0.6)), 3, 6))
        names = self.full_team[:size]
        if size > len(names):
            names.append(rng.choice([c for c in COLLEAGUES if c not in names]))
        return [
            {"name": name, "role": "key account manager" if i == 0 else TEAM_ROLES[i - 1]}
            for i, name in enumerate(names)
        ]

    # --- the relationship map --------------------------------------------------------------

    def homework(self, contacts: list[dict[str, Any]]) -> None:
        """What a disciplined team has found out (see the class docstring)."""
        rng = self.rng
        senior = ("board", "executive", "senior_management")
        if not any(c["role"] == "decision_maker" for c in contacts) and rng.random() < self.discipline:
            # Only champions (counted by the criterion either way) or contacts who do not
            # support us (counted neither way) may turn out to be the decision maker.
            candidates = [
                c
                for c in contacts
                if c["role"] == "champion"
                or (c["role"] != "executive_sponsor" and c["stance"] not in ("mentor", "supporter"))
            ]
            if candidates:
                best = [c for c in candidates if c["level"] in senior] or candidates
                chosen = rng.choice(best)
                chosen["role"] = "decision_maker"
                if chosen["level"] not in senior:
                    chosen["level"] = "senior_management"
                chosen["influence"] = max(chosen["influence"], INFLUENCE_BY_LEVEL[chosen["level"]])
        supportive = [c for c in contacts if c["stance"] in ("mentor", "supporter")]
        top = [c for c in supportive if c["level"] in ("board", "executive") or c["role"] == "executive_sponsor"]
        if self.attract >= 0.55 and not top and rng.random() < self.discipline:
            rising = [c for c in supportive if c["level"] == "senior_management"]
            if rising:
                chosen = rng.choice(rising)
                chosen["level"] = "executive"
                chosen["influence"] = max(chosen["influence"], 4)

    def relationship_map(
        self, drawn: list[dict[str, Any]], team: list[dict[str, str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
        """Contacts with ids, product lines and mitigations; who on our team knows whom;
        and what contacts asked us not to do."""
        rng = self.rng
        members = [m["name"] for m in team]
        manager = members[0]
        account_id = self.record["id"]
        lines = rng.sample(PRODUCT_LINES, rng.randint(2, 3))
        lone_wolf = len(drawn) >= 3 and self.lapse(0.12)  # the manager keeps every contact
        self.homework(drawn)
        contacts: list[dict[str, Any]] = []
        for k, base in enumerate(drawn, start=1):
            owner = base["owner"]
            if owner not in members and not self.lapse(0.1):
                owner = rng.choice(members)  # handed over when its owner left the team
            if lone_wolf and rng.random() < 0.85:
                owner = manager
            contact: dict[str, Any] = {
                "id": f"{account_id}-C{k:02d}",
                "name": base["name"],
                "role": base["role"],
                "level": base["level"],
                "department": base["department"],
                "location": base["location"],
                "stance": base["stance"],
                "influence": base["influence"],
                "owner": owner,
            }
            if base["role"] in ("user", "specifier", "influencer", "champion") or (
                base["role"] == "decision_maker" and base["level"] != "board" and rng.random() < 0.5
            ):
                contact["product_line"] = rng.choice(lines)
            if base["stance"] in ("non_supporter", "enemy") and not self.lapse(0.25):
                contact["mitigation"] = rng.choice(MITIGATIONS)
            contacts.append(contact)

        relationships: list[dict[str, Any]] = []
        for contact in contacts:
            key = contact["role"] in ("decision_maker", "executive_sponsor", "champion") or contact["influence"] >= 4
            warmth = STRENGTH_BY_STANCE[contact["stance"]]
            stale = self.lapse(0.05 if key else 0.15)
            relationships.append(
                {
                    "member": contact["owner"],
                    "contact": contact["id"],
                    "strength": int(clamp(warmth + rng.choice((-1, 0, 0, 1)), 1, 5)),
                    "last_contact": self.ago(rng.randint(100, 400) if stale else rng.expovariate(1 / 25)),
                }
            )
            if lone_wolf:
                continue
            # Others on the team know the contact too: most often the decision makers.
            chance = 0.25 if key else 0.1
            if contact["role"] == "decision_maker":
                chance = 0.3 + 0.45 * self.discipline
            for member in members:
                if member != contact["owner"] and rng.random() < chance:
                    relationships.append(
                        {
                            "member": member,
                            "contact": contact["id"],
                            "strength": int(clamp(warmth - 1 + rng.choice((0, 0, 1)), 1, 5)),
                            "last_contact": self.ago(rng.randint(0, 240)),
                        }
                    )

        restrictions = self.restrictions(contacts, relationships)
        for contact in contacts:
            dates = [r["last_contact"] for r in relationships if r["contact"] == contact["id"]]
            contact["last_contacted"] = max(dates)
            if "mitigation" in contact:
                contact["mitigation"] = contact.pop("mitigation")  # keep it last, after the dates
        return contacts, relationships, restrictions

    def restrictions(self, contacts: list[dict[str, Any]], relationships: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """For about one account in nine: a contact asked us not to approach another
        department. Most teams respect it; about one time in four someone did not."""
        rng = self.rng
        if len(contacts) < 3 or rng.random() >= 0.11:
            return []
        askers = [c for c in contacts if c["role"] in ("gatekeeper", "decision_maker", "influencer")] or contacts
        asker = rng.choice(askers)
        departments = sorted({c["department"] for c in contacts} - {asker["department"]})
        if not departments:
            return []
        department = rng.choice(departments)
        since_days = rng.randint(45, 400)
        inside = {c["id"] for c in contacts if c["department"] == department}
        mine = [r for r in relationships if r["contact"] in inside]
        for r in mine:  # respected: nobody was in touch with the department since
            r["last_contact"] = self.ago(since_days + rng.randint(5, 200))
        if rng.random() < 0.25:  # breached: someone was
            rng.choice(mine)["last_contact"] = self.ago(rng.randint(0, since_days - 1))
        return [
            {
                "contact": asker["id"],
                "department": department,
                "note": rng.choice(RESTRICTION_NOTES).format(department=department),
                "since": self.ago(since_days),
            }
        ]

    # --- the account plan ------------------------------------------------------------------

    def plan(self, team: list[dict[str, str]], contacts: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        stage = self.stage
        members = [m["name"] for m in team]

        if stage >= 2 and rng.random() < 0.015:
            status = "retired"  # the old plan ran out and nobody replaced it
        elif stage == 0:
            status = weighted(rng, (("draft", 55), ("agreed", 35), ("active", 10)))
        elif self.lapse(0.10 if stage == 1 else 0.04):
            status = "draft"  # still not agreed with the team, though the stage needs it
        else:
            status = weighted(rng, (("agreed", 45), ("active", 55)) if stage == 1 else (("agreed", 15), ("active", 85)))
        if stage == 0:
            version = 1 + (rng.random() < 0.3)
        elif stage == 1:
            version = rng.randint(1, 3)
        else:
            version = min(9, 2 + int(rng.expovariate(0.45)))
        # Days since the plan was first drafted, and since its current version.
        started = (90, 200, 500, 800, 1100)[stage] + rng.randint(0, 300)
        updated = int(min(started - 10, self.age(90, 0.15)))
        if version == 1:
            updated = max(updated, started - rng.randint(10, 40))  # version 1 is the first draft

        plan: dict[str, Any] = {
            "owner": members[0] if rng.random() < 0.95 else members[1],
            "status": status,
            "version": version,
            "last_updated": self.ago(updated),
        }
        mentor: str | None = rng.choice(MENTORS)
        if self.lapse(0.04):
            mentor = None  # no mentor assigned
        elif self.lapse(0.05):
            mentor = members[-1]  # a team member doubles as mentor: no outside view
        reviews = self.reviews(mentor, version, updated, started, contacts)
        mentor_dates = [r["date"] for r in reviews if r["kind"] == "mentor"]
        if mentor_dates:
            plan["last_reviewed"] = max(mentor_dates)
        if mentor is not None:
            plan["mentor"] = mentor
        plan["horizon_months"] = rng.choice((12, 18, 24, 24, 36))

        if not self.lapse(0.2 if stage == 0 else 0.05):
            plan["buying_process"] = rng.choice(BUYING_PROCESSES)
            plan["buying_process_updated"] = self.ago(min(started, self.age(240, 0.1)))
        if (stage >= 1 and not self.lapse(0.03)) or (stage == 0 and rng.random() < 0.5):
            plan["financial_requirements"] = rng.choice(FINANCIAL_REQUIREMENTS)
            if not self.lapse(0.02):
                plan["legal_requirements"] = rng.choice(LEGAL_REQUIREMENTS)
        if not self.lapse(0.1):
            plan["business_policies"] = rng.choice(BUSINESS_POLICIES)
        if stage >= 2 or (stage == 1 and rng.random() < 0.3):
            plan["contract_terms"] = rng.choice(CONTRACT_TERMS)
            # An end date, so it lies ahead: the one kind of plan date after 2026-11-01
            # (with the objectives' due dates).
            plan["contract_end"] = (REFERENCE_DATE + dt.timedelta(days=rng.randint(30, 1000))).isoformat()
        if stage >= 2 and not self.lapse(0.05):
            plan["order_processing"] = rng.choice(ORDER_PROCESSING)
        if (stage >= 1 and not self.lapse(0.06)) or (stage == 0 and rng.random() < 0.4):
            plan["development_plan"] = rng.choice(DEVELOPMENT_PLANS)
        if (stage >= 1 and not self.lapse(0.05)) or (stage == 0 and rng.random() < 0.5):
            self.targets(plan)

        plan["objectives"] = self.objectives(members)
        if not self.lapse(0.04):
            plan["customer_objectives"] = self.customer_objectives(started)
        if not self.lapse(0.03):
            plan["competitors"] = self.competitors(started)
        if stage >= 2:
            plan["service_metrics"] = self.service_metrics()
        plan["growth_opportunities"] = self.opportunities(started)
        if not self.lapse(0.05):
            plan["management_feedback"] = self.feedback(started)
        plan["reviews"] = reviews
        plan["sign_offs"] = self.sign_offs(members, status, version, updated)
        return plan

    def targets(self, plan: dict[str, Any]) -> None:
        """Revenue and margin targets, and (once we deliver) the actuals against them."""
        rng = self.rng
        revenue = self.record["annual_revenue"]
        margin = self.record.get("gross_margin_pct", 20.0)
        target = int(round(max(revenue, 100_000) * (1 + rng.uniform(0.0, 0.25)), -3))
        plan["revenue_target"] = target
        plan["margin_target_pct"] = round(margin + rng.uniform(0.5, 3.0), 1)
        if self.stage >= 2:
            plan["revenue_actual"] = int(round(target * 10 / 12 * rng.gauss(0.95, 0.12), -3))
            plan["margin_actual_pct"] = round(margin + rng.gauss(0.0, 2.0), 1)
            plan["actuals_updated"] = self.ago(self.age(40, 0.12))  # monthly finance report

    def objectives(self, members: list[str]) -> list[dict[str, Any]]:
        """Two to five objectives; a careless team leaves one past its date and still
        open, one owned by someone who left the team, or one without a date."""
        rng = self.rng
        former = [c for c in self.full_team if c not in members] or [c for c in COLLEAGUES if c not in members]
        result = []
        for title in rng.sample(OBJECTIVE_TITLES, rng.randint(2, 5)):
            due = rng.randint(-200, 400)  # days after the reference date
            if due < 0:
                status = weighted(rng, (("done", 85), ("dropped", 15)))
            else:
                status = weighted(rng, (("open", 30), ("on_track", 55), ("at_risk", 15)))
            objective = {"title": title, "owner": rng.choice(members), "status": status}
            objective["due"] = (REFERENCE_DATE + dt.timedelta(days=due)).isoformat()
            result.append(objective)
        late = [o for o in result if o["status"] in ("done", "dropped")]
        if late and self.lapse(0.12):
            rng.choice(late)["status"] = "at_risk"  # past its date, never closed
        if self.lapse(0.06):
            rng.choice(result)["owner"] = rng.choice(former)  # its owner left the team
        if self.lapse(0.03):
            del rng.choice(result)["due"]
        return result

    def customer_objectives(self, started: int) -> list[dict[str, Any]]:
        """Confirmed together at the last strategy session; a careless team leaves an old
        one unconfirmed."""
        rng = self.rng
        session = min(started, self.age(120, 0.1))
        chosen = rng.sample(CUSTOMER_OBJECTIVES, rng.randint(1, 4))
        result = [{"description": text, "updated": self.ago(session)} for text in chosen]
        if len(result) > 1 and self.lapse(0.1):
            result[-1]["updated"] = self.ago(min(started, session + rng.randint(120, 400)))
        return result

    def competitors(self, started: int) -> list[dict[str, Any]]:
        rng = self.rng
        assessed = min(started, self.age(120, 0.1))
        result = []
        for name in rng.sample(COMPETITORS, rng.randint(1, 3)):
            position = weighted(rng, (("leader", 15), ("strong", 30), ("equal", 30), ("weak", 20), ("exited", 5)))
            when = assessed + (rng.randint(200, 500) if position == "exited" else 0)
            result.append({"name": name, "position": position, "assessed": self.ago(min(started, when))})
        return result

    def service_metrics(self) -> list[dict[str, Any]]:
        """Measured monthly; some teams stopped measuring, some never agreed a target."""
        rng = self.rng
        stopped = self.lapse(0.08)
        result = []
        for name, target, spread in rng.sample(SERVICE_METRICS, rng.randint(2, 4)):
            metric: dict[str, Any] = {"name": name, "target": target}
            actual = target + rng.gauss(-0.3 * spread, spread)
            metric["actual"] = round(min(actual, 100.0) if "%" in name else max(actual, 0.0), 1)
            metric["measured"] = self.ago(rng.randint(95, 250) if stopped else rng.randint(0, 35))
            result.append(metric)
        if self.lapse(0.04):
            del result[0]["target"]
        return result

    def opportunities(self, started: int) -> list[dict[str, Any]]:
        rng = self.rng
        count = rng.choice((0, 1, 1, 2, 3, 3)) if self.stage >= 2 else rng.choice((0, 0, 1))
        if self.stage >= 3 and self.lapse(0.1):
            count = 0
        return [
            {
                "title": title,
                "value": int(round(self.record["annual_revenue"] * rng.uniform(0.05, 0.4), -3)),
                "identified": self.ago(min(started, rng.randint(0, 420))),
            }
            for title in rng.sample(OPPORTUNITIES, count)
        ]

    def feedback(self, started: int) -> list[dict[str, Any]]:
        """Briefings of senior management, about every four months, latest last."""
        rng = self.rng
        latest = min(started, self.age(150, 0.15))
        result = []
        for _ in range(rng.randint(1, 3)):
            if latest > started:
                break
            result.append({"date": self.ago(latest), "summary": rng.choice(FEEDBACK)})
            latest += rng.randint(90, 160)
        return result[::-1]

    def reviews(
        self, mentor: str | None, version: int, updated: int, started: int, contacts: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Mentor reviews every month or two, team reviews every quarter, and (from
        delivery on) joint reviews with the customer as often as the account's tier
        promises: quarterly for the most attractive accounts, yearly for the least."""
        rng = self.rng
        reviews: list[tuple[int, str, str]] = []

        def cadence(kind: str, reviewer: str, every: float, late: float, cycles: tuple[float, float]) -> None:
            """The last few reviews of a kind (at most three)."""
            age = self.age(every, late, cycles)
            for _ in range(3):
                if age > started:
                    break
                reviews.append((int(age), kind, reviewer))
                age += every * rng.uniform(0.8, 1.2)

        if mentor is not None:
            # A mentor review that slips tends to slip by months, not days.
            cadence("mentor", mentor, 30 + 25 * (1 - self.discipline), 0.25, (1.0, 3.0))
        cadence("team", self.full_team[0], 90, 0.1, (0.5, 2.0))
        if self.stage >= 2:
            every = 85 if self.attract >= 0.6 else 170 if self.attract >= 0.45 else 340
            senior = [c for c in contacts if c["level"] in ("board", "executive", "senior_management")]
            guest = rng.choice(senior or contacts)["name"] if contacts else "the customer"
            cadence("joint", f"{self.full_team[0]} with {guest}", every, 0.25, (0.5, 1.5))
        reviews.sort(key=lambda r: (-r[0], r[1]))
        return [
            {
                "date": self.ago(age),
                "kind": kind,
                "reviewer": reviewer,
                "version": version if age <= updated else max(1, version - 1),
            }
            for age, kind, reviewer in reviews
        ]

    def sign_offs(self, members: list[str], status: str, version: int, updated: int) -> list[dict[str, Any]]:
        """Every member signs each version; some signed only the previous one, a new
        member may not have signed at all, and a draft is signed by few."""
        rng = self.rng
        behind = rng.choice(members[1:]) if version >= 2 and self.lapse(0.08) else None
        missing = rng.choice(members[1:]) if self.lapse(0.04) else None
        result = []
        for member in members:
            if version >= 2 and rng.random() < 0.5:
                result.append(
                    {"member": member, "version": version - 1, "date": self.ago(updated + rng.randint(20, 200))}
                )
            if member in (behind, missing) or (status == "draft" and rng.random() < 0.6):
                continue
            result.append({"member": member, "version": version, "date": self.ago(rng.uniform(0, updated))})
        if behind is not None and not any(s["member"] == behind for s in result):
            result.append({"member": behind, "version": version - 1, "date": self.ago(updated + rng.randint(20, 200))})
        return result


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
