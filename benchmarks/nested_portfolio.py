"""Nested portfolios for benchmarks: a seeded generator, and the default rulebook by hand.

``examples/generate.py`` draws accounts one by one in plain Python, which is right for 300
example accounts and far too slow for a million. This module draws accounts of the same
shape (the flat facts under their CRM column names, an account plan with its objectives,
competitors, metrics, reviews and sign-offs, a team of three to six, about ten contacts
and twelve relationships each, restrictions on some accounts, some facts missing and some
plans missing altogether) with NumPy, a chunk at a time, into Arrow struct and list
columns, and writes Parquet (one row group per chunk) and JSON Lines. A million accounts
take a few minutes and a bounded amount of memory.

:func:`reference` is the default rulebook (``rules/`` with the capacities of
:func:`capacity_rulebook`) written by hand in polars: the 12 criteria, 3 gates, 4 tiers,
capacity with overflow, the segments, and each of the 30 plan checks (applicability by
tier and stage, and whether it holds) with the plan's compliance status. It is written for
the data this generator draws: it reads a missing fact only where a rule says what a
missing fact means (``present``, ``coalesce``, a freshness date), so it does not repeat
every missing-evidence rule of the language; the benchmark checks it against kamrules.

Only NumPy, pyarrow and polars are needed (the ``dataframes`` extra), not kamrules.
"""

from __future__ import annotations

import datetime as dt
import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

AS_OF = dt.date(2026, 11, 1)
"""Every date is drawn relative to this date; decide the portfolio as of it."""
SEED = 2026
CHUNK = 50_000

INDUSTRIES = (
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
REGIONS = (
    "DACH",
    "France & Benelux",
    "Nordics",
    "Central & Eastern Europe",
    "UK & Ireland",
    "Iberia & Latin America",
    "North America",
)
MANAGERS = ("Anna Kowalska", "James O'Connor", "Sofía Martínez", "Lars Øvergaard", "Priya Raman", "Thomas Becker")
COLLEAGUES = (
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
PEOPLE = MANAGERS + COLLEAGUES + ("Former Colleague",)
"""Our side: an index into this tuple names a team member, a contact's owner, a signer."""
MENTORS = (
    "Catherine Moore (VP Sales)",
    "Dr. Klaus Wendt (COO)",
    "Margarethe Solberg (CFO)",
    "Vikram Nair (Head of Strategy)",
)
TEAM_ROLES = ("key account manager", "service lead", "technical specialist", "finance partner", "product manager")
STAGES = ("pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation")
ROLES = ("user", "influencer", "specifier", "decision_maker", "gatekeeper", "champion", "executive_sponsor")
ROLE_WEIGHTS = (24, 20, 14, 15, 10, 9, 5)
LEVELS = ("board", "executive", "senior_management", "middle_management", "operational")
LEVELS_BY_ROLE = ((4, 4, 3), (3, 2, 4), (3, 4, 2), (2, 1, 0), (3, 4, 4), (3, 2, 3), (1, 0, 1))
"""For each role, three levels (indexes into LEVELS) it is drawn from."""
INFLUENCE_BY_LEVEL = (5, 4, 4, 3, 2)
STANCES = ("mentor", "supporter", "neutral", "non_supporter", "enemy")
DEPARTMENTS = (
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
FIRST = ("Zoë", "Jürgen", "François", "Małgorzata", "Søren", "José", "Björn", "Siobhán", "Łukasz", "Inés", "Peter")
LAST = ("Schmidt", "Dubois", "Kowalski", "García", "Murphy", "Novák", "Wójcik", "Lefèbvre", "O'Neill", "Chen")
CONTACT_NAMES = tuple(f"{f} {last}" for f in FIRST for last in LAST)
CITIES = ("Stuttgart", "Lyon", "Göteborg", "Łódź", "Manchester", "São Paulo", "Chicago", "Zürich")
PRODUCT_LINES = ("Drives & Motion", "Spare Parts & Service", "Automation", "Sensors", "Digital Services")
PLAN_STATUSES = ("draft", "agreed", "active", "retired")
OBJECTIVE_STATUSES = ("open", "on_track", "at_risk", "done", "dropped")
POSITIONS = ("leader", "strong", "equal", "weak", "exited")
REVIEW_KINDS = ("mentor", "team", "joint")
TEXTS = {
    "buying_process": "Sites order from a catalogue agreed with Procurement; new products need Quality approval.",
    "financial_requirements": "Payment 60 days end of month; invoices through Coupa with the PO number.",
    "legal_requirements": "Frame contract under the customer's law; supplier code of conduct signed.",
    "business_policies": "Key-account pricing applies group-wide; local deals need the manager's approval.",
    "contract_terms": "Five-year partnership agreement covering all sites, with a joint cost-down target.",
    "order_processing": "Vendor-managed inventory at the two main plants, replenished twice a week.",
    "development_plan": "Win the specification for the next product generation through joint engineering.",
}
OBJECTIVES = ("Deliver the joint cost-down programme", "Raise our share of wallet", "Introduce the service contract")
CUSTOMER_OBJECTIVES = ("Digitise maintenance across all sites.", "Move the premium range to make-to-order.")
COMPETITORS = ("Apex Industrial Supply", "Nordwerk Industrietechnik", "Kestrel Systems", "Meridian Components")
METRICS = ("On-time delivery (%)", "Order lead time (days)", "Invoice accuracy (%)", "Complaints per 1000 lines")
OPPORTUNITIES = ("Spare-parts consignment", "Retrofit of the older lines", "Service contract for the new plant")
FEEDBACK = ("Growth potential high: capacity expansion planned.", "Growth flat: the customer consolidates suppliers.")
RESTRICTION_NOTES = ("Asked us not to contact them directly; go through Procurement.",)


def capacity_rulebook(target: Path, root: Path) -> Path:
    """The default rulebook with tier capacities, Gold 2% and Silver 10% of the portfolio,
    so that a batch must rank the whole portfolio before any tier is final."""
    shutil.copytree(root / "rules", target)
    tiers = target / "tiers.yaml"
    text = tiers.read_text(encoding="utf-8")
    text = text.replace("    min_score: 75\n", "    min_score: 75\n    capacity: 2%\n", 1)
    text = text.replace("    min_score: 60\n", "    min_score: 60\n    capacity: 10%\n", 1)
    tiers.write_text(text, encoding="utf-8")
    return target


# -- the generator ---------------------------------------------------------------------------------


def _strings(pool: tuple[str, ...], index: Any) -> pa.Array:
    return pa.array(pool, pa.string()).take(pa.array(np.asarray(index, dtype=np.int64)))


def _dates(days_ago: Any, missing: Any = None) -> pa.Array:
    """Dates as days before the as-of date (negative: after it), null where ``missing``."""
    epoch = (AS_OF - dt.date(1970, 1, 1)).days
    values = (epoch - np.asarray(days_ago, dtype=np.int64)).astype(np.int32)
    return pa.array(values, pa.int32(), mask=missing).cast(pa.date32())


def _ragged(counts: Any) -> tuple[Any, Any, Any]:
    """For per-row counts: the row of each item, its position in the row, and the offsets."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    row = np.repeat(np.arange(len(counts)), counts)
    position = np.arange(offsets[-1]) - offsets[row]
    return row, position, offsets


def _list(offsets: Any, fields: dict[str, pa.Array], missing: Any = None) -> pa.Array:
    values = pa.StructArray.from_arrays(list(fields.values()), names=list(fields))
    mask = None if missing is None else pa.array(missing, pa.bool_())
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values, mask=mask)


def chunk_table(start: int, m: int, seed: int = SEED) -> pa.Table:
    """Accounts ``start + 1`` to ``start + m``: the same accounts whatever the chunk size is
    not a goal (each chunk has its own stream, seeded from ``seed`` and ``start``), the same
    bytes for the same arguments is."""
    rng = np.random.default_rng([seed, start])
    attract = rng.beta(1.5, 1.8, m)
    strength = np.clip(0.25 * attract + 0.75 * rng.beta(2.0, 2.0, m), 0.0, 1.0)
    discipline = rng.beta(3.0, 1.4, m)

    def rating(trait: Any, noise: float) -> Any:
        return np.clip(np.round(1 + 4 * (trait + rng.normal(0, noise, m))), 1, 5).astype(np.int64)

    def lapse(rate: float, size: int | None = None, who: Any = None) -> Any:
        """Gaps come with a weak team: ``rate`` at average discipline, more below it."""
        scale = 1.0 if who is None else 2.0 * (1.0 - discipline[who])
        return rng.random(m if size is None else size) < rate * (scale if who is not None else 1.0)

    def missing(rate: float) -> Any:
        return rng.random(m) < rate

    numbers = np.arange(start + 1, start + m + 1)
    ids = pa.array([f"ACC-{i:07d}" for i in numbers], pa.string())
    wallet = np.maximum(150_000.0, np.round(np.exp(rng.normal(math.log(4_000_000) + 1.6 * attract, 1.0)), -4))
    share = np.round(np.clip(4 + 55 * strength + rng.normal(0, 9, m), 1.0, 90.0), 1)
    revenue = np.round(wallet * share / 100, -3).astype(np.int64)
    years = np.round(np.clip(rng.normal(1 + 14 * strength, 4, m), 0.2, 45.0), 1)
    early = years < 1.0
    middle = (years >= 1.0) & (years < 3.0)
    weights = np.where(
        early[:, None],
        [0.40, 0.35, 0.25, 0, 0],
        np.where(middle[:, None], [0.08, 0.15, 0.40, 0.25, 0.12], [0.03, 0.07, 0.15, 0.25, 0.50]),
    )
    stage = (rng.random(m)[:, None] > np.cumsum(weights, axis=1)).sum(axis=1).clip(0, 4)
    q = 0.7 * attract + 0.3 * strength + rng.normal(0, 0.07, m)
    current = np.select([q > 0.72, q > 0.6, q > 0.5], [0, 1, 2], 3)
    nps = np.clip(np.round(rng.normal(-15 + 70 * strength, 18, m)), -100, 100).astype(np.int64)
    manager = rng.integers(0, len(MANAGERS), m)

    columns: dict[str, pa.Array] = {
        "Account ID": ids,
        "Account Name": pa.array([f"Customer {i} Ltd" for i in numbers], pa.string()),
        "Industry": pa.array(np.array(INDUSTRIES)[rng.integers(0, len(INDUSTRIES), m)], mask=missing(0.01)),
        "Sales_Region__c": _strings(REGIONS, rng.integers(0, len(REGIONS), m)),
        "Account Owner": _strings(MANAGERS, manager),
        "AnnualRevenue": pa.array(revenue),
        "Gross_Margin_Pct__c": pa.array(
            np.round(np.clip(rng.normal(15 + 20 * attract, 6), -8.0, 60.0), 1), mask=missing(0.03)
        ),
        "Revenue_Growth_Pct__c": pa.array(
            np.round(np.clip(rng.normal(-3 + 20 * attract, 9), -60.0, 120.0), 1), mask=early
        ),
        "Wallet_Size__c": pa.array(wallet.astype(np.int64)),
        "Share_of_Wallet_Pct__c": pa.array(share),
        "Growth_Potential__c": pa.array(rating(attract, 0.2)),
        "Strategic_Fit__c": pa.array(rating(attract, 0.3)),
        "Relationship_Strength__c": pa.array(rating(strength, 0.18)),
        "Competitive_Position__c": pa.array(rating(strength, 0.22)),
        "Reference_Value__c": pa.array(rating((attract + strength) / 2, 0.25)),
        "Years_as_Customer__c": pa.array(years),
        "Credit_Risk__c": _strings(("low", "medium", "high", "severe"), rng.choice(4, m, p=[0.62, 0.32, 0.05, 0.01])),
        "Wants_Key_Account__c": pa.array(rng.random(m) >= 0.05, mask=missing(0.01)),
        "stage": _strings(STAGES, stage),
        "current_tier": pa.array(np.array(["Gold", "Silver", "Bronze", "Standard"])[current], mask=missing(0.15)),
        "NPS__c": pa.array(nps, mask=missing(0.10)),
        "Shares_Business_Plans__c": pa.array(rng.random(m) < 0.1 + 0.6 * strength, mask=missing(0.05)),
    }

    # The team: the account manager first, then two to five colleagues (distinct).
    team_size = rng.integers(3, 7, m)
    colleagues = np.argsort(rng.random((m, len(COLLEAGUES))), axis=1)[:, :5] + len(MANAGERS)
    members = np.concatenate([manager[:, None], colleagues], axis=1)  # (m, 6) indexes into PEOPLE
    row, pos, offsets = _ragged(team_size)
    columns["team"] = _list(
        offsets,
        {
            "name": _strings(PEOPLE, members[row, pos]),
            "role": _strings(TEAM_ROLES, np.minimum(pos, len(TEAM_ROLES) - 1)),
        },
    )

    def member_of(account: Any) -> Any:
        """A random current team member of each account given (an index into PEOPLE)."""
        return members[account, (rng.random(len(account)) * team_size[account]).astype(np.int64)]

    # Contacts: about ten, more where our position is strong.
    n_contacts = np.clip(rng.poisson(6 + 8 * strength), 1, 30)
    c_acct, c_pos, c_off = _ragged(n_contacts)
    k = len(c_acct)
    role = rng.choice(len(ROLES), k, p=np.array(ROLE_WEIGHTS) / sum(ROLE_WEIGHTS))
    level = np.array(LEVELS_BY_ROLE)[role, rng.integers(0, 3, k)]
    cstrength = strength[c_acct]
    stance = np.select(
        [rng.random(k) < 0.1 * cstrength, rng.random(k) < 0.25 + 0.5 * cstrength, rng.random(k) < 0.7],
        [0, 1, 2],
        np.where(rng.random(k) < 0.75, 3, 4),
    )
    influence = np.clip(np.array(INFLUENCE_BY_LEVEL)[level] + rng.integers(-1, 2, k), 1, 5)
    owner = np.where(rng.random(k) < 0.04, len(PEOPLE) - 1, member_of(c_acct))
    opposing = stance >= 3
    contacted = np.minimum(rng.exponential(12 + 60 * (1 - discipline[c_acct])), 900).astype(np.int64)
    contact_ids = pa.compute.binary_join_element_wise(
        ids.take(pa.array(c_acct)), _strings(tuple(f"-C{i:02d}" for i in range(1, 31)), c_pos), ""
    )
    columns["contacts"] = _list(
        c_off,
        {
            "id": contact_ids,
            "name": _strings(CONTACT_NAMES, rng.integers(0, len(CONTACT_NAMES), k)),
            "role": _strings(ROLES, role),
            "level": _strings(LEVELS, level),
            "department": _strings(DEPARTMENTS, rng.integers(0, len(DEPARTMENTS), k)),
            "location": _strings(CITIES, rng.integers(0, len(CITIES), k)),
            "stance": _strings(STANCES, stance),
            "influence": pa.array(influence, mask=rng.random(k) < 0.05),
            "owner": pa.array(np.array(PEOPLE)[owner], mask=rng.random(k) < 0.03),
            "product_line": _strings(PRODUCT_LINES, rng.integers(0, len(PRODUCT_LINES), k)),
            "last_contacted": _dates(contacted, rng.random(k) < 0.04),
            "mitigation": pa.array(
                np.full(k, "Win over through the engineering project."), mask=~opposing | (rng.random(k) < 0.35)
            ),
        },
    )

    # Relationships: decision makers usually know two of us, others one, some nobody;
    # a weak team has one member holding them all (single-threading).
    per_contact = np.where(role == 3, 1 + (rng.random(k) < 0.55 + 0.45 * discipline[c_acct]), rng.random(k) < 0.85)
    per_contact = per_contact.astype(np.int64)
    r_contact, _, _ = _ragged(per_contact)
    r_acct = c_acct[r_contact]
    r = len(r_acct)
    single = rng.random(m) < 0.3 * (1 - discipline)
    r_member = np.where(single[r_acct], manager[r_acct], member_of(r_acct))
    r_off = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(r_acct, minlength=m), out=r_off[1:])
    columns["relationships"] = _list(
        r_off,
        {
            "member": _strings(PEOPLE, r_member),
            "contact": contact_ids.take(pa.array(r_contact)),
            "strength": pa.array(rng.integers(1, 6, r)),
            "last_contact": _dates(contacted[r_contact] + rng.integers(0, 30, r)),
        },
    )

    # Restrictions: one on about one account in twelve, some of them breached; the others
    # have an empty list, as a CRM export gives it.
    restricted = rng.random(m) < 0.08
    n_restr = restricted.astype(np.int64)
    s_acct, _, s_off = _ragged(n_restr)
    first_contact = c_off[:-1][s_acct]
    s_contact = first_contact + (rng.random(len(s_acct)) * n_contacts[s_acct]).astype(np.int64)
    columns["restrictions"] = _list(
        s_off,
        {
            "contact": contact_ids.take(pa.array(s_contact)),
            "department": _strings(DEPARTMENTS, rng.integers(0, len(DEPARTMENTS), len(s_acct))),
            "note": _strings(RESTRICTION_NOTES, np.zeros(len(s_acct), dtype=np.int64)),
            "since": _dates(rng.integers(10, 400, len(s_acct))),
        },
    )

    columns["plan"] = _plan(rng, m, stage, attract, discipline, members, team_size, manager, member_of, lapse)
    return pa.table(columns)


def _plan(
    rng: Any,
    m: int,
    stage: Any,
    attract: Any,
    discipline: Any,
    members: Any,
    team_size: Any,
    manager: Any,
    member_of: Any,
    lapse: Any,
) -> pa.Array:
    """The account plan: missing on about one account in twelve, more often early on."""
    no_plan = rng.random(m) < np.where(stage == 0, 0.3, 0.05)
    every = np.arange(m)
    status = np.where(
        stage == 0,
        rng.choice(4, m, p=[0.5, 0.3, 0.18, 0.02]),
        rng.choice(4, m, p=[0.03, 0.2, 0.75, 0.02]),
    )
    version = rng.integers(1, 5, m)
    updated = rng.integers(5, 400, m)
    fields: dict[str, pa.Array] = {
        "owner": _strings(PEOPLE, manager),
        "status": _strings(PLAN_STATUSES, status),
        "version": pa.array(version),
        "last_updated": _dates(updated),
        "last_reviewed": _dates(rng.integers(0, 120, m)),
        "mentor": pa.array(
            np.where(rng.random(m) < 0.04, np.array(PEOPLE)[manager], np.array(MENTORS)[rng.integers(0, 4, m)]),
            mask=lapse(0.05, who=every),
        ),
        "horizon_months": pa.array(rng.choice([12, 24, 36], m)),
    }
    for name in ("buying_process", "financial_requirements", "legal_requirements", "business_policies"):
        fields[name] = pa.array(np.full(m, TEXTS[name]), mask=lapse(0.06, who=every))
        if name == "buying_process":
            fields["buying_process_updated"] = _dates(rng.integers(20, 300, m) + 200 * lapse(0.15, who=every))
    fields["contract_terms"] = pa.array(np.full(m, TEXTS["contract_terms"]))
    fields["contract_end"] = _dates(-rng.integers(30, 1500, m))
    fields["order_processing"] = pa.array(np.full(m, TEXTS["order_processing"]), mask=lapse(0.05, who=every))
    fields["development_plan"] = pa.array(np.full(m, TEXTS["development_plan"]), mask=lapse(0.08, who=every))
    target = np.round(np.exp(rng.normal(14, 1.0, m)), -3).astype(np.int64)
    fields["revenue_target"] = pa.array(target, mask=lapse(0.04, who=every))
    fields["margin_target_pct"] = pa.array(np.round(rng.uniform(15, 35, m), 1), mask=lapse(0.04, who=every))
    fields["revenue_actual"] = pa.array(np.round(target * rng.uniform(0.7, 1.2, m), -3).astype(np.int64))
    fields["margin_actual_pct"] = pa.array(np.round(rng.uniform(12, 35, m), 1))
    fields["actuals_updated"] = _dates(rng.integers(0, 60, m) + 80 * lapse(0.2, who=every))

    def items(low: int, high: int) -> tuple[Any, Any, Any]:
        return _ragged(rng.integers(low, high + 1, m))

    o_acct, _, o_off = items(1, 4)
    n = len(o_acct)
    fields["objectives"] = _list(
        o_off,
        {
            "title": _strings(OBJECTIVES, rng.integers(0, len(OBJECTIVES), n)),
            "owner": _strings(PEOPLE, np.where(rng.random(n) < 0.04, len(PEOPLE) - 1, member_of(o_acct))),
            "status": _strings(OBJECTIVE_STATUSES, rng.choice(5, n, p=[0.3, 0.35, 0.1, 0.2, 0.05])),
            "due": _dates(-rng.integers(-40, 500, n), rng.random(n) < 0.03),
        },
    )
    co_acct, _, co_off = items(1, 3)
    n = len(co_acct)
    fields["customer_objectives"] = _list(
        co_off,
        {
            "description": _strings(CUSTOMER_OBJECTIVES, rng.integers(0, 2, n)),
            "updated": _dates(rng.integers(0, 150, n) + 120 * (rng.random(n) < 0.06)),
        },
    )
    cp_acct, _, cp_off = items(1, 4)
    n = len(cp_acct)
    fields["competitors"] = _list(
        cp_off,
        {
            "name": _strings(COMPETITORS, rng.integers(0, len(COMPETITORS), n)),
            "position": _strings(POSITIONS, rng.choice(5, n, p=[0.25, 0.25, 0.2, 0.2, 0.1])),
            "assessed": _dates(rng.integers(0, 150, n) + 100 * (rng.random(n) < 0.12)),
        },
    )
    sm_acct, _, sm_off = items(1, 4)
    n = len(sm_acct)
    fields["service_metrics"] = _list(
        sm_off,
        {
            "name": _strings(METRICS, rng.integers(0, len(METRICS), n)),
            "target": pa.array(np.round(rng.uniform(1, 100, n), 1), mask=rng.random(n) < 0.04),
            "actual": pa.array(np.round(rng.uniform(1, 100, n), 1)),
            "measured": _dates(rng.integers(0, 80, n) + 60 * (rng.random(n) < 0.04)),
        },
    )
    go_acct, _, go_off = items(1, 3)
    n = len(go_acct)
    fields["growth_opportunities"] = _list(
        go_off,
        {
            "title": _strings(OPPORTUNITIES, rng.integers(0, len(OPPORTUNITIES), n)),
            "value": pa.array(np.round(rng.uniform(1e4, 5e5, n), -3).astype(np.int64)),
            "identified": _dates(rng.integers(0, 600, n)),
        },
    )
    mf_acct, _, mf_off = items(1, 3)
    n = len(mf_acct)
    fields["management_feedback"] = _list(
        mf_off,
        {"date": _dates(rng.integers(0, 200, n)), "summary": _strings(FEEDBACK, rng.integers(0, 2, n))},
    )
    rv_acct, _, rv_off = items(2, 9)
    n = len(rv_acct)
    fields["reviews"] = _list(
        rv_off,
        {
            "date": _dates(rng.exponential(30 + 100 * (1 - discipline[rv_acct])).astype(np.int64)),
            "kind": _strings(REVIEW_KINDS, rng.choice(3, n, p=[0.4, 0.35, 0.25])),
            "reviewer": _strings(MENTORS, rng.integers(0, 4, n)),
            "version": pa.array(np.maximum(1, version[rv_acct] - rng.integers(0, 2, n))),
        },
    )
    # Sign-offs: each team member signs the current version, or only the previous one.
    so_acct, so_pos, so_off = _ragged(team_size)
    n = len(so_acct)
    behind = rng.random(n) < 0.06 * 2 * (1 - discipline[so_acct])
    fields["sign_offs"] = _list(
        so_off,
        {
            "member": _strings(PEOPLE, members[so_acct, so_pos]),
            "version": pa.array(np.maximum(1, version[so_acct] - behind)),
            "date": _dates(rng.integers(0, 100, n)),
        },
    )
    return pa.StructArray.from_arrays(list(fields.values()), names=list(fields), mask=pa.array(no_plan, pa.bool_()))


def chunks(n: int, seed: int = SEED, size: int = CHUNK) -> Iterator[pa.Table]:
    for start in range(0, n, size):
        yield chunk_table(start, min(size, n - start), seed)


def generate(n: int, parquet: Path | None = None, jsonl: Path | None = None, seed: int = SEED) -> None:
    """Write N accounts as Parquet (a row group per chunk) and/or JSON Lines, chunk by chunk."""
    import polars as pl
    import pyarrow.parquet as pq

    writer = None
    text = jsonl.open("wb") if jsonl is not None else None
    try:
        for table in chunks(n, seed):
            if parquet is not None:
                if writer is None:
                    writer = pq.ParquetWriter(parquet, table.schema, compression="zstd")
                writer.write_table(table)
            if text is not None:
                # polars writes every struct field, missing ones as null, which the
                # validator reads as a missing fact; dates as YYYY-MM-DD.
                pl.from_arrow(table).write_ndjson(text)  # type: ignore[union-attr]
    finally:
        if writer is not None:
            writer.close()
        if text is not None:
            text.close()


# -- the reference: the default rulebook with capacities, by hand, in polars ----------------------

TIERS = ("Gold", "Silver", "Bronze", "Standard")
CAPACITY = ((0, 2), (1, 10))
"""(tier, percent of the portfolio) as :func:`capacity_rulebook` sets them."""
BLOCKER, MAJOR, MINOR = "blocker", "major", "minor"
KEY_TIERS = (0, 1, 2)
FROM_NEGOTIATION = (1, 2, 3, 4)
CHECKS: tuple[tuple[str, str, tuple[int, ...], tuple[int, ...] | None], ...] = (
    # (id, severity, tiers, stages or None for every stage), in the rulebook's order
    ("plan_in_place", BLOCKER, KEY_TIERS, None),
    ("plan_agreed", BLOCKER, KEY_TIERS, FROM_NEGOTIATION),
    ("plan_signed_by_team", MAJOR, KEY_TIERS, FROM_NEGOTIATION),
    ("objectives_owned_and_on_schedule", MAJOR, KEY_TIERS, None),
    ("customer_objectives_confirmed", MAJOR, KEY_TIERS, None),
    ("buying_process_documented", MAJOR, KEY_TIERS, None),
    ("competitor_activity_assessed", MAJOR, KEY_TIERS, None),
    ("business_objectives_and_policies", MINOR, KEY_TIERS, None),
    ("financial_legal_requirements", BLOCKER, KEY_TIERS, FROM_NEGOTIATION),
    ("revenue_margin_targets", MAJOR, KEY_TIERS, FROM_NEGOTIATION),
    ("development_plan", MAJOR, KEY_TIERS, FROM_NEGOTIATION),
    ("plan_against_actual", MAJOR, KEY_TIERS, (3, 4)),
    ("growth_opportunities", MINOR, KEY_TIERS, (3, 4)),
    ("order_processing_and_service", MAJOR, KEY_TIERS, (2, 3, 4)),
    ("mentor_independent", MAJOR, KEY_TIERS, None),
    ("mentor_review_gold", MAJOR, (0,), None),
    ("mentor_review_silver_bronze", MAJOR, (1, 2), None),
    ("joint_review_gold", MAJOR, (0,), (3, 4)),
    ("joint_review_silver", MAJOR, (1,), (3, 4)),
    ("joint_review_bronze", MINOR, (2,), (3, 4)),
    ("management_feedback", MINOR, KEY_TIERS, None),
    ("decision_makers_covered", MAJOR, KEY_TIERS, None),
    ("executive_sponsor", MAJOR, (0,), None),
    ("supportive_key_player", MAJOR, KEY_TIERS, FROM_NEGOTIATION),
    ("levels_and_departments", MAJOR, KEY_TIERS, FROM_NEGOTIATION),
    ("key_players_owned", MAJOR, KEY_TIERS, None),
    ("opponents_mitigated", MAJOR, KEY_TIERS, None),
    ("key_players_in_touch", MAJOR, KEY_TIERS, None),
    ("no_single_threading", MAJOR, KEY_TIERS, FROM_NEGOTIATION),
    ("restrictions_respected", BLOCKER, KEY_TIERS, None),
)


def reference(frame: Any, as_of: dt.date = AS_OF) -> Any:
    """Every account of ``frame`` (the generator's columns) decided by hand: ``tier``,
    ``segment``, ``compliance`` and, per plan check, ``check.<id>``: "pass", "fail", or null
    where it does not apply (tier or stage). Rows stay in input order."""
    import polars as pl

    tier, segment = _selection(frame)
    base = pl.DataFrame({"i": np.arange(frame.height, dtype=np.int64), "tier": tier}).with_columns(
        stage=frame.get_column("stage").cast(pl.String).replace_strict(STAGES, range(5), default=None)
    )
    # The plan checks are per account: computed a slice at a time, so that the exploded
    # contacts and plan lists of a million accounts are never all in memory at once.
    holds = pl.concat(
        _checks(frame.slice(start, CHUNK), as_of).with_columns(pl.col("i") + start)
        for start in range(0, max(frame.height, 1), CHUNK)
    )
    base = base.join(holds, on="i", how="left", maintain_order="left")
    status = []
    for check_id, _severity, tiers, stages in CHECKS:
        applies = pl.col("tier").is_in(list(tiers))
        if stages is not None:
            applies = applies & pl.col("stage").is_in(list(stages)).fill_null(False)
        held = pl.col(check_id).fill_null(False)
        status.append(
            pl.when(applies)
            .then(pl.when(held).then(pl.lit("pass")).otherwise(pl.lit("fail")))
            .alias(f"check.{check_id}")
        )
    base = base.with_columns(status)

    def failing(severity: str) -> Any:
        cols = [pl.col(f"check.{c}") == "fail" for c, s, _, _ in CHECKS if s == severity]
        return pl.any_horizontal(cols).fill_null(False)

    applicable = pl.any_horizontal([pl.col(f"check.{c}").is_not_null() for c, *_ in CHECKS])
    base = base.with_columns(
        compliance=pl.when(~applicable)
        .then(pl.lit("not_applicable"))
        .when(failing(BLOCKER))
        .then(pl.lit("non_compliant"))
        .when(failing(MAJOR))
        .then(pl.lit("at_risk"))
        .otherwise(pl.lit("compliant"))
    )
    return base.select(
        frame.get_column("Account ID").alias("account_id"),
        pl.col("tier").replace_strict(range(4), TIERS, return_dtype=pl.String),
        pl.Series("segment", segment),
        pl.col("compliance"),
        *[pl.col(f"check.{c}") for c, *_ in CHECKS],
    )


def _selection(frame: Any) -> tuple[Any, Any]:
    """Scores, gates, tiers with capacity and segments, in exact integers over NumPy arrays
    (centipoints times weights, as kamrules' evaluation/scoring.py documents)."""
    import polars as pl

    def num(name: str) -> tuple[Any, Any]:
        series = frame.get_column(name).cast(pl.Float64)
        return series.fill_null(0).to_numpy(), series.is_null().to_numpy()

    revenue, _ = num("AnnualRevenue")
    wallet, _ = num("Wallet_Size__c")
    margin, margin_missing = num("Gross_Margin_Pct__c")
    growth, _ = num("Growth_Potential__c")
    fit, _ = num("Strategic_Fit__c")
    relationship, _ = num("Relationship_Strength__c")
    position, _ = num("Competitive_Position__c")
    share, _ = num("Share_of_Wallet_Pct__c")
    nps, nps_missing = num("NPS__c")
    joint = frame.get_column("Shares_Business_Plans__c").fill_null(False).to_numpy()
    wants = frame.get_column("Wants_Key_Account__c").to_numpy()
    risk = (
        frame.get_column("Credit_Risk__c")
        .cast(pl.String)
        .replace_strict(["low", "medium", "high", "severe"], [0, 1, 2, 3], default=-1)
        .to_numpy()
    )
    ids = frame.get_column("Account ID").to_numpy().astype("U")
    contacts = frame.get_column("contacts")
    mapped = contacts.list.len().fill_null(0).to_numpy()
    allies = (
        contacts.list.eval(
            (
                pl.element().struct.field("role").is_in(["decision_maker", "executive_sponsor", "champion"])
                & pl.element().struct.field("stance").is_in(["mentor", "supporter"])
            ).cast(pl.Int64)
        )
        .list.sum()
        .fill_null(0)
        .to_numpy()
    )

    def bands(value: Any, thresholds: list[float], points: list[int]) -> Any:
        return np.select([value >= t for t in thresholds], points, 0)

    def scale(value: Any, low: float, high: float) -> Any:
        t = np.clip((value - low) / (high - low), 0.0, 1.0)
        return np.floor(t * 10_000 + 0.5).astype(np.int64)

    a = 1500 * bands(revenue, [20e6, 10e6, 5e6, 2e6, 5e5], [10000, 8000, 6000, 4000, 2000])
    a += 1000 * bands(wallet, [50e6, 20e6, 8e6, 3e6], [10000, 7500, 5000, 2500])
    a += 1500 * np.where(margin_missing, 0, scale(margin, 10, 40))
    a += 2500 * bands(growth, [5, 4, 3, 2], [10000, 7500, 5000, 2500])
    a += 2500 * bands(fit, [5, 4, 3, 2], [10000, 7500, 4500, 1500])
    a += 1000 * np.array([10000, 6000, 2000, 0])[risk]
    a_total = 10000
    s = 2500 * bands(relationship, [5, 4, 3, 2], [10000, 8000, 5500, 2500])
    s += 2000 * scale(share, 0, 60)
    s += 1500 * bands(position, [5, 4, 3, 2], [10000, 7500, 5000, 2500])
    s += 1000 * np.where(nps_missing, 0, scale(nps, -20, 60))
    s += 1000 * np.where(joint, 10000, 0)
    s += 2000 * np.minimum(10000, 100 * (20 * allies + 5 * mapped))
    s_total = np.where(nps_missing, 9000, 10000)
    ceiling = np.where((wants == False) | (risk == 3), 3, np.where(risk == 2, 1, 0))  # noqa: E712
    gold = (a >= 7500 * a_total) & (s >= 4000 * s_total) & (fit >= 4)
    silver = a >= 6000 * a_total
    bronze = a >= 4500 * a_total
    tier = np.select([gold & (ceiling <= 0), silver & (ceiling <= 1), bronze & (ceiling <= 2)], [0, 1, 2], 3)
    n = len(tier)
    order = np.lexsort((ids, -a))
    eligible = [gold, silver, bronze]
    for index, percent in CAPACITY:
        capacity = math.floor(percent * n / 100)
        ranked = order[tier[order] == index]
        over = ranked[capacity:]
        target = np.full(len(over), 3)
        for candidate in (2, 1):
            if candidate > index:
                target = np.where(eligible[candidate][over] & (ceiling[over] <= candidate), candidate, target)
        tier[over] = target
    strong = s >= 5000 * s_total
    attractive = a >= 6000 * a_total
    segment = np.select([attractive & strong, attractive, strong], ["Strategic", "Star", "Status"], "Streamline")
    return tier, segment


def _checks(frame: Any, as_of: dt.date) -> Any:
    """Whether each plan check holds for each account (True only when it surely holds; a
    missing plan or fact makes it False, as missing evidence fails a check)."""
    import polars as pl

    f = pl.col
    today = pl.lit(as_of)

    def age(col: Any) -> Any:
        return (today - col).dt.total_days()

    acc = (
        frame.select("stage", "team", "contacts", "relationships", "restrictions", "plan")
        .with_row_index("i")
        .with_columns(f("i").cast(pl.Int64))
    )
    plan_fields = acc.select("i", has_plan=f("plan").is_not_null()).with_columns(acc.get_column("plan").struct.unnest())

    def explode(column: str, source: Any = acc, keep: tuple[str, ...] = ()) -> Any:
        return source.select("i", *keep, column).explode(column).drop_nulls(column).unnest(column)

    def per_account(long: Any, **aggs: Any) -> Any:
        return long.group_by("i").agg(**aggs)

    team = explode("team").select("i", "name")
    plan_lists = plan_fields.select(
        "i",
        "version",
        "objectives",
        "customer_objectives",
        "competitors",
        "service_metrics",
        "growth_opportunities",
        "management_feedback",
        "reviews",
        "sign_offs",
    )
    out = plan_fields.select(
        "i",
        plan_in_place=f("status").is_in(["draft", "agreed", "active"]).fill_null(False),
        plan_agreed=f("status").is_in(["agreed", "active"]).fill_null(False),
        buying_process_documented=f("buying_process").is_not_null()
        & (age(f("buying_process_updated")) <= 365).fill_null(False),
        business_objectives_and_policies=f("business_policies").is_not_null(),
        financial_legal_requirements=f("financial_requirements").is_not_null() & f("legal_requirements").is_not_null(),
        revenue_margin_targets=f("revenue_target").is_not_null() & f("margin_target_pct").is_not_null(),
        development_plan=f("development_plan").is_not_null(),
        plan_against_actual=(age(f("actuals_updated")) <= 90).fill_null(False),
        has_plan=f("has_plan"),
        has_order_processing=f("order_processing").is_not_null(),
        mentor=f("mentor"),
    )

    def join(left: Any, right: Any, fill: dict[str, Any]) -> Any:
        joined = left.join(right, on="i", how="left")
        return joined.with_columns(f(k).fill_null(v) for k, v in fill.items())

    # plan_signed_by_team: every member has signed the current version.
    signed = (
        explode("sign_offs", plan_lists.rename({"version": "plan_version"}), keep=("plan_version",))
        .filter(f("version") == f("plan_version"))
        .select("i", name=f("member"))
        .unique()
    )
    unsigned = per_account(team.join(signed, on=["i", "name"], how="anti"), unsigned=pl.len())
    out = join(out, unsigned, {"unsigned": 0}).with_columns(plan_signed_by_team=f("has_plan") & (f("unsigned") == 0))

    objectives = explode("objectives", plan_lists).join(
        team.with_columns(on_team=pl.lit(True)), left_on=["i", "owner"], right_on=["i", "name"], how="left"
    )
    objectives = per_account(
        objectives,
        n_obj=pl.len(),
        bad_obj=(f("on_team").is_null() | f("due").is_null()).sum(),
        late_obj=(f("status").is_in(["open", "on_track", "at_risk"]) & (f("due") < today)).fill_null(False).sum(),
    )
    out = join(out, objectives, {"n_obj": 0, "bad_obj": 0, "late_obj": 0}).with_columns(
        objectives_owned_and_on_schedule=(f("n_obj") >= 1) & (f("bad_obj") == 0) & (f("late_obj") == 0)
    )

    def fresh(column: str, date: str, days: int, name: str, where: Any = None) -> None:
        nonlocal out
        long = explode(column, plan_lists)
        if where is not None:
            long = long.filter(where)
        agg = per_account(long, **{f"{name}_date": f(date).min() if name.startswith("min:") else f(date).max()})
        out = join(out, agg, {}).with_columns(
            (age(f(f"{name}_date")) <= days).fill_null(False).alias(name.split(":")[-1])
        )

    fresh("customer_objectives", "updated", 180, "min:customer_objectives_confirmed")
    fresh("competitors", "assessed", 180, "min:competitor_activity_assessed", f("position") != "exited")
    fresh("reviews", "date", 60, "mentor_review_gold", f("kind") == "mentor")
    fresh("reviews", "date", 90, "mentor_review_silver_bronze", f("kind") == "mentor")
    fresh("reviews", "date", 100, "joint_review_gold", f("kind") == "joint")
    fresh("reviews", "date", 190, "joint_review_silver", f("kind") == "joint")
    fresh("reviews", "date", 370, "joint_review_bronze", f("kind") == "joint")
    fresh("management_feedback", "date", 180, "management_feedback")

    recent = per_account(
        explode("growth_opportunities", plan_lists).filter(age(f("identified")) <= 365), n_recent=pl.len()
    )
    out = join(out, recent, {"n_recent": 0}).with_columns(growth_opportunities=f("has_plan") & (f("n_recent") >= 1))
    metrics = per_account(
        explode("service_metrics", plan_lists),
        n_metrics=pl.len(),
        bad_metrics=(f("target").is_null() | f("measured").is_null() | (age(f("measured")) > 90)).fill_null(True).sum(),
    )
    out = join(out, metrics, {"n_metrics": 0, "bad_metrics": 0}).with_columns(
        order_processing_and_service=f("has_order_processing") & (f("n_metrics") >= 1) & (f("bad_metrics") == 0)
    )
    mentor_on_team = (
        out.select("i", name=f("mentor"))
        .drop_nulls()
        .join(team, on=["i", "name"], how="semi")
        .select("i", mot=pl.lit(True))
    )
    out = join(out, mentor_on_team, {"mot": False}).with_columns(
        mentor_independent=f("mentor").is_not_null() & ~f("mot")
    )

    # The relationship map.
    contacts = explode("contacts").with_columns(
        kp=f("role").is_in(["decision_maker", "executive_sponsor", "champion"]) | (f("influence").fill_null(0) >= 4),
        sup=f("stance").is_in(["mentor", "supporter"]),
    )
    relationships = explode("relationships")
    restrictions = explode("restrictions")
    known_by = relationships.group_by("i", "contact").agg(n_rel=pl.len())
    contacts = contacts.join(known_by, left_on=["i", "id"], right_on=["i", "contact"], how="left").with_columns(
        f("n_rel").fill_null(0)
    )
    contacts = contacts.join(
        team.with_columns(owned=pl.lit(True)), left_on=["i", "owner"], right_on=["i", "name"], how="left"
    ).with_columns(f("owned").fill_null(False))
    restricted = restrictions.select("i", "department").unique().with_columns(restricted=pl.lit(True))
    contacts = contacts.join(restricted, on=["i", "department"], how="left").with_columns(
        f("restricted").fill_null(False)
    )
    is_dm = f("role") == "decision_maker"
    cagg = per_account(
        contacts,
        n_dm=is_dm.sum(),
        dm_thin=(is_dm & (f("n_rel") < 2)).sum(),
        exec_support=(((f("role") == "executive_sponsor") | f("level").is_in(["board", "executive"])) & f("sup")).any(),
        kp_support=(f("kp") & f("sup")).any(),
        levels=f("level").n_unique(),
        departments=f("department").n_unique(),
        unowned=(f("kp") & ~f("owned")).sum(),
        unmitigated=(f("kp") & f("stance").is_in(["non_supporter", "enemy"]) & f("mitigation").is_null()).sum(),
        out_of_touch=(
            f("kp")
            & ~(f("last_contacted").is_not_null() & (age(f("last_contacted")) <= 90)).fill_null(False)
            & ~f("restricted")
        ).sum(),
    )
    out = join(
        out,
        cagg,
        {
            "n_dm": 0,
            "dm_thin": 0,
            "exec_support": False,
            "kp_support": False,
            "levels": 0,
            "departments": 0,
            "unowned": 0,
            "unmitigated": 0,
            "out_of_touch": 0,
        },
    ).with_columns(
        decision_makers_covered=(f("n_dm") >= 1) & (f("dm_thin") == 0),
        executive_sponsor=f("exec_support"),
        supportive_key_player=f("kp_support"),
        levels_and_departments=(f("levels") >= 2) & (f("departments") >= 3),
        key_players_owned=f("unowned") == 0,
        opponents_mitigated=f("unmitigated") == 0,
        key_players_in_touch=f("out_of_touch") == 0,
    )
    by_member = (
        relationships.group_by("i", "member")
        .agg(n=pl.len())
        .group_by("i")
        .agg(n_rels=f("n").sum(), busiest=f("n").max())
    )
    out = join(out, by_member, {"n_rels": 0, "busiest": 0}).with_columns(
        no_single_threading=(f("n_rels") >= 3) & (f("busiest") * 5 <= f("n_rels") * 3)
    )
    breaches = (
        restrictions.join(contacts.select("i", "department", "last_contacted"), on=["i", "department"])
        .filter(f("last_contacted").is_not_null() & (f("last_contacted") >= f("since")))
        .select("i")
        .unique()
        .with_columns(breached=pl.lit(True))
    )
    out = join(out, breaches, {"breached": False}).with_columns(restrictions_respected=~f("breached"))
    return out.select("i", *[c for c, *_ in CHECKS])
