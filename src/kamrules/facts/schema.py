"""The fact schema: which facts an account record carries, built-in and rulebook-declared.

The built-in fields are the KAM facts a selection or plan policy needs (see DOMAIN.md); a
rulebook adds its own under ``facts:``. The schema is the single source for three things:
validating records, type-checking expressions and mapping CRM export columns onto facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from kamrules.facts.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    CategoryType,
    FactField,
    ListType,
    RecordType,
)

STAGES: tuple[str, ...] = (
    "pre_sales",
    "contract_negotiation",
    "implementation_delivery",
    "review",
    "exploitation",
)
"""Relationship stages in their order; plan checks apply "from" or "to" a stage."""

CREDIT_RISK = CategoryType(("low", "medium", "high", "severe"), name="credit risk")
STAGE = CategoryType(STAGES, name="stage")
CONTACT_ROLE = CategoryType(
    (
        "decision_maker",
        "influencer",
        "specifier",
        "user",
        "gatekeeper",
        "executive_sponsor",
        "champion",
    ),
    name="contact role",
)
STANCE = CategoryType(("mentor", "supporter", "neutral", "non_supporter", "enemy"), name="stance")
CONTACT_LEVEL = CategoryType(
    ("board", "executive", "senior_management", "middle_management", "operational"),
    name="level",
)
PLAN_STATUS = CategoryType(("draft", "agreed", "active", "retired"), name="plan status")


def _fields(*items: FactField) -> dict[str, FactField]:
    return {f.name: f for f in items}


ACCOUNT_FIELDS: dict[str, FactField] = _fields(
    FactField("id", TEXT, "The account's identifier in the CRM.", required=True),
    FactField("name", TEXT, "The customer organisation's name."),
    FactField("industry", TEXT, "The customer's industry or sector."),
    FactField("region", TEXT, "The sales region that owns the account."),
    FactField("account_manager", TEXT, "The key account manager who owns the account."),
    FactField(
        "annual_revenue",
        NUMBER,
        "Our revenue from the customer over the last 12 months.",
        minimum=0,
    ),
    FactField(
        "gross_margin_pct",
        NUMBER,
        "Our gross margin on that revenue, in percent.",
        minimum=-100,
        maximum=100,
    ),
    FactField(
        "revenue_growth_pct",
        NUMBER,
        "Growth of our revenue with the customer, year on year, in percent.",
        minimum=-100,
    ),
    FactField(
        "wallet_size",
        NUMBER,
        "The customer's total yearly spend in our categories (share-of-wallet base).",
        minimum=0,
    ),
    FactField(
        "share_of_wallet_pct",
        NUMBER,
        "Our share of the customer's spend in our categories, in percent.",
        minimum=0,
        maximum=100,
    ),
    FactField(
        "growth_potential",
        INTEGER,
        "Assessed growth potential of the account, 1 (none) to 5 (very high).",
        minimum=1,
        maximum=5,
    ),
    FactField(
        "strategic_fit",
        INTEGER,
        "Fit with our strategy and target markets, 1 (poor) to 5 (excellent).",
        minimum=1,
        maximum=5,
    ),
    FactField(
        "relationship_strength",
        INTEGER,
        "Strength of our relationship, 1 (transactional) to 5 (partnership).",
        minimum=1,
        maximum=5,
    ),
    FactField(
        "competitive_position",
        INTEGER,
        "Our position against competitors at this customer, 1 (weak) to 5 (leader).",
        minimum=1,
        maximum=5,
    ),
    FactField(
        "reference_value",
        INTEGER,
        "Value of the customer as a reference or innovation partner, 1 to 5.",
        minimum=1,
        maximum=5,
    ),
    FactField("years_as_customer", NUMBER, "Years since the first order.", minimum=0),
    FactField("credit_risk", CREDIT_RISK, "Credit risk rating of the customer."),
    FactField(
        "wants_key_account",
        BOOLEAN,
        "Whether the customer wants key-account treatment (customers are never forced into it).",
    ),
    FactField("stage", STAGE, "The stage the relationship is in."),
    FactField("current_tier", TEXT, "The tier the account holds today, if any."),
)

PLAN_FIELDS: dict[str, FactField] = _fields(
    FactField("owner", TEXT, "The key account manager who drafted the plan."),
    FactField("status", PLAN_STATUS, "Where the plan is in its life: draft, agreed, active, retired."),
    FactField("version", INTEGER, "The current version of the plan.", minimum=1),
    FactField("last_reviewed", DATE, "When the mentor last reviewed the plan."),
    FactField("mentor", TEXT, "The mentor, outside day-to-day management, who reviews the plan."),
    FactField("horizon_months", INTEGER, "How far ahead the plan looks, in months.", minimum=0),
)

CONTACT_FIELDS: dict[str, FactField] = _fields(
    FactField("name", TEXT, "The contact's name."),
    FactField("role", CONTACT_ROLE, "The contact's role in buying decisions."),
    FactField("level", CONTACT_LEVEL, "The contact's level in the customer organisation."),
    FactField("department", TEXT, "The contact's department."),
    FactField("location", TEXT, "Where the contact works."),
    FactField("stance", STANCE, "The contact's stance toward us."),
    FactField("influence", INTEGER, "The contact's influence on decisions, 1 (low) to 5 (high).", minimum=1, maximum=5),
    FactField("owner", TEXT, "The member of our team who owns the relationship."),
    FactField("last_contacted", DATE, "When our team was last in touch with the contact."),
)


@dataclass(frozen=True, slots=True)
class FactSchema:
    """Everything an expression may read, and how records are shaped.

    At evaluation time the namespaces map onto the runtime record like this:
    ``account.X`` (or bare ``X``) is ``record.X``; ``plan.X`` is ``record.plan.X`` where
    ``record.plan`` may be ``None``; ``contacts`` is ``record.contacts``, a list (never
    ``None``) whose items have the contact fields as attributes; ``score.X`` is the score
    of scorecard ``X`` (a ``fractions.Fraction`` from 0 to 100, exact).
    """

    account: RecordType
    plan: RecordType
    contact: RecordType
    scorecards: tuple[str, ...] = field(default=())

    @property
    def contacts(self) -> ListType:
        return ListType(self.contact)


def build_schema(
    custom_fields: Iterable[FactField] = (),
    scorecards: Iterable[str] = (),
    column_overrides: Mapping[str, str] | None = None,
) -> FactSchema:
    """The built-in schema extended by a rulebook's custom account fields.

    Custom fields may not shadow built-ins: a rulebook that redefines ``annual_revenue``
    would silently change what every other rule means, so the loader refuses it earlier.
    """
    account = dict(ACCOUNT_FIELDS)
    for custom in custom_fields:
        account[custom.name] = custom
    for name, column in (column_overrides or {}).items():
        if name in account:
            f = account[name]
            account[name] = FactField(f.name, f.type, f.description, f.required, column, f.minimum, f.maximum, f.custom)
    return FactSchema(
        account=RecordType("account", account),
        plan=RecordType("plan", dict(PLAN_FIELDS)),
        contact=RecordType("contact", dict(CONTACT_FIELDS)),
        scorecards=tuple(scorecards),
    )


DEFAULT_SCHEMA = build_schema()
