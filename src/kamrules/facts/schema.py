"""The fact schema: which facts an account record carries, built-in and rulebook-declared.

The built-in fields are the KAM facts a selection or plan policy needs (see DOMAIN.md); a
rulebook adds its own under ``facts:``. The schema is the single source for three things:
validating records, type-checking expressions and mapping CRM export columns onto facts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from kamrules.facts.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    CategoryType,
    FactField,
    FactType,
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
OBJECTIVE_STATUS = CategoryType(("open", "on_track", "at_risk", "done", "dropped"), name="objective status")
COMPETITOR_POSITION = CategoryType(("leader", "strong", "equal", "weak", "exited"), name="competitor position")
REVIEW_KIND = CategoryType(("mentor", "team", "joint"), name="review kind")


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
    FactField("current_tier", TEXT, "The tier the account holds today, if any (for stability)."),
    FactField("override_tier", TEXT, "A tier a policy owner pinned the account to, overriding the rules."),
    FactField("override_reason", TEXT, "Why the tier was pinned."),
    FactField("override_approver", TEXT, "Who approved the override."),
    FactField("override_expires", DATE, "The last day the override applies."),
)

CONTACT_FIELDS: dict[str, FactField] = _fields(
    FactField("id", TEXT, "The contact's id in the CRM; relationships and restrictions name it."),
    FactField("name", TEXT, "The contact's name."),
    FactField("role", CONTACT_ROLE, "The contact's role in buying decisions."),
    FactField("level", CONTACT_LEVEL, "The contact's level in the customer organisation."),
    FactField("department", TEXT, "The contact's department."),
    FactField("location", TEXT, "Where the contact works."),
    FactField("product_line", TEXT, "The product line the contact buys, specifies or uses."),
    FactField("stance", STANCE, "The contact's stance toward us."),
    FactField("influence", INTEGER, "The contact's influence on decisions, 1 (low) to 5 (high).", minimum=1, maximum=5),
    FactField("owner", TEXT, "The member of our team who owns the relationship."),
    FactField("last_contacted", DATE, "When our team was last in touch with the contact.", past=True),
    FactField("mitigation", TEXT, "Our planned action to win over or work around an opposing contact."),
    FactField(
        "key_player",
        BOOLEAN,
        "Whether the contact is a key player, by the rulebook's relationship_map.key_player definition.",
        derived=True,
    ),
    FactField(
        "supportive",
        BOOLEAN,
        "Whether the contact supports us, by the rulebook's relationship_map.supportive definition.",
        derived=True,
    ),
)

TEAM_MEMBER_FIELDS: dict[str, FactField] = _fields(
    FactField("name", TEXT, "The team member's name.", required=True),
    FactField("role", TEXT, "The member's role on the account team (account manager, service, technical, ...)."),
)

RELATIONSHIP_FIELDS: dict[str, FactField] = _fields(
    FactField("member", TEXT, "The member of our team in the relationship.", required=True),
    FactField("contact", TEXT, "The id of the customer's contact in the relationship.", required=True),
    FactField("strength", INTEGER, "Strength of the relationship, 1 (weak) to 5 (strong).", minimum=1, maximum=5),
    FactField("last_contact", DATE, "When the two were last in touch.", past=True),
)

RESTRICTION_FIELDS: dict[str, FactField] = _fields(
    FactField("contact", TEXT, "The id of the contact who asked for the restriction."),
    FactField("department", TEXT, "The department or division we must not approach.", required=True),
    FactField("note", TEXT, "What was asked, in the contact's words."),
    FactField("since", DATE, "When the restriction was asked for.", past=True),
)

OBJECTIVE_FIELDS: dict[str, FactField] = _fields(
    FactField("title", TEXT, "What the objective is."),
    FactField("owner", TEXT, "Who on our team owns the objective."),
    FactField("due", DATE, "When it is due."),
    FactField("status", OBJECTIVE_STATUS, "Where the objective stands."),
)

CUSTOMER_OBJECTIVE_FIELDS: dict[str, FactField] = _fields(
    FactField("description", TEXT, "The customer's business objective or direction."),
    FactField("updated", DATE, "When we last confirmed it with the customer.", past=True),
)

COMPETITOR_FIELDS: dict[str, FactField] = _fields(
    FactField("name", TEXT, "The competitor."),
    FactField("position", COMPETITOR_POSITION, "The competitor's position at this customer."),
    FactField("assessed", DATE, "When the competitor's activity was last assessed.", past=True),
)

METRIC_FIELDS: dict[str, FactField] = _fields(
    FactField("name", TEXT, "The order-processing or service metric (on-time delivery, ...)."),
    FactField("target", NUMBER, "The target agreed with the customer."),
    FactField("actual", NUMBER, "The latest measured value."),
    FactField("measured", DATE, "When it was measured.", past=True),
)

OPPORTUNITY_FIELDS: dict[str, FactField] = _fields(
    FactField("title", TEXT, "The growth opportunity."),
    FactField("value", NUMBER, "Its estimated yearly revenue.", minimum=0),
    FactField("identified", DATE, "When it was identified.", past=True),
)

FEEDBACK_FIELDS: dict[str, FactField] = _fields(
    FactField("date", DATE, "When senior management was briefed.", past=True),
    FactField("summary", TEXT, "What was reported on the account's growth potential."),
)

REVIEW_FIELDS: dict[str, FactField] = _fields(
    FactField("date", DATE, "When the review took place.", past=True),
    FactField("kind", REVIEW_KIND, "mentor (long-term plan review), team, or joint (with the customer)."),
    FactField("reviewer", TEXT, "Who reviewed."),
    FactField("version", INTEGER, "The plan version reviewed.", minimum=1),
)

SIGN_OFF_FIELDS: dict[str, FactField] = _fields(
    FactField("member", TEXT, "The team member who signed.", required=True),
    FactField("version", INTEGER, "The plan version signed.", minimum=1),
    FactField("date", DATE, "When it was signed.", past=True),
)


def _list(name: str, item: str, fields: dict[str, FactField], description: str, named_by: tuple[str, ...]) -> FactField:
    assert all(n in fields for n in named_by), named_by
    return FactField(name, ListType(RecordType(item, fields, named_by)), description)


PLAN_FIELDS: dict[str, FactField] = _fields(
    FactField("owner", TEXT, "The key account manager who drafted the plan and monitors it."),
    FactField("status", PLAN_STATUS, "Where the plan is in its life: draft, agreed, active, retired."),
    FactField("version", INTEGER, "The current version of the plan.", minimum=1),
    FactField("last_updated", DATE, "When the plan was last changed.", past=True),
    FactField("last_reviewed", DATE, "When the mentor last reviewed the plan.", past=True),
    FactField("mentor", TEXT, "The mentor, outside day-to-day management, who reviews the plan."),
    FactField("horizon_months", INTEGER, "How far ahead the plan looks, in months.", minimum=0),
    FactField("buying_process", TEXT, "How the customer buys: steps, approvals, who signs."),
    FactField("buying_process_updated", DATE, "When the buying process was last confirmed.", past=True),
    FactField("financial_requirements", TEXT, "The customer's financial requirements (terms, credit, invoicing)."),
    FactField("legal_requirements", TEXT, "The customer's legal requirements (contracts, compliance)."),
    FactField("business_policies", TEXT, "Our business objectives and policies as they apply to the account."),
    FactField("contract_terms", TEXT, "The terms of the current contract."),
    FactField("contract_end", DATE, "When the current contract ends."),
    FactField("order_processing", TEXT, "How orders are processed for the customer."),
    FactField("development_plan", TEXT, "The account development plan: how we grow the account."),
    FactField("revenue_target", NUMBER, "The yearly revenue target for the account.", minimum=0),
    FactField("margin_target_pct", NUMBER, "The margin target, in percent.", minimum=-100, maximum=100),
    FactField("revenue_actual", NUMBER, "Revenue so far against the target.", minimum=0),
    FactField("margin_actual_pct", NUMBER, "Margin so far, in percent.", minimum=-100, maximum=100),
    FactField("actuals_updated", DATE, "When plan-against-actual figures were last updated.", past=True),
    _list(
        "objectives",
        "objective",
        OBJECTIVE_FIELDS,
        "Our objectives for the account, each with owner and due date.",
        ("title", "owner"),
    ),
    _list(
        "customer_objectives",
        "customer_objective",
        CUSTOMER_OBJECTIVE_FIELDS,
        "The customer's business objectives and direction, kept up to date.",
        ("description",),
    ),
    _list("competitors", "competitor", COMPETITOR_FIELDS, "Competitor activity at the customer.", ("name",)),
    _list("service_metrics", "metric", METRIC_FIELDS, "Order-processing and service metrics with targets.", ("name",)),
    _list("growth_opportunities", "opportunity", OPPORTUNITY_FIELDS, "Growth opportunities identified.", ("title",)),
    _list(
        "management_feedback",
        "feedback",
        FEEDBACK_FIELDS,
        "Feedback to senior management on the account's growth potential.",
        ("date",),
    ),
    _list(
        "reviews",
        "review",
        REVIEW_FIELDS,
        "Reviews of the plan: by the mentor, the team, jointly with the customer.",
        ("kind", "date"),
    ),
    _list(
        "sign_offs", "sign_off", SIGN_OFF_FIELDS, "Team members' sign-offs, per plan version.", ("member", "version")
    ),
)

PLAN = RecordType("plan", PLAN_FIELDS)
CONTACT = RecordType("contact", CONTACT_FIELDS, ("name", "id"))

NESTED_ACCOUNT_FIELDS: dict[str, FactField] = _fields(
    FactField("plan", PLAN, "The account plan; missing when no plan has been drafted."),
    _list(
        "contacts", "contact", CONTACT_FIELDS, "The relationship map: the customer's people we know.", ("name", "id")
    ),
    _list("team", "member", TEAM_MEMBER_FIELDS, "Our account team.", ("name",)),
    _list(
        "relationships",
        "relationship",
        RELATIONSHIP_FIELDS,
        "Who on our team is in touch with which contact, how strongly, and when last.",
        ("contact", "member"),
    ),
    _list(
        "restrictions",
        "restriction",
        RESTRICTION_FIELDS,
        "What contacts asked us not to do, such as approaching another division.",
        ("department", "contact"),
    ),
)


VOCABULARIES: dict[str, CategoryType] = {
    "credit_risk": CREDIT_RISK,
    "stage": STAGE,
    "contact_role": CONTACT_ROLE,
    "stance": STANCE,
    "contact_level": CONTACT_LEVEL,
    "plan_status": PLAN_STATUS,
    "objective_status": OBJECTIVE_STATUS,
    "competitor_position": COMPETITOR_POSITION,
    "review_kind": REVIEW_KIND,
}
"""The built-in category vocabularies a rulebook may extend or give synonyms, by the name
a rulebook uses for them."""


@dataclass(frozen=True, slots=True)
class CustomList:
    """A list of records a rulebook adds, on the account or on its plan."""

    name: str
    item: RecordType
    description: str
    on_plan: bool = False


@dataclass(frozen=True, slots=True)
class FactSchema:
    """Everything an expression may read, and how records are shaped.

    ``account`` is the whole record: scalar facts, the ``plan`` record (which may be
    missing) and the lists (``contacts``, ``team``, ``relationships``, ``restrictions``,
    and the plan's own lists). At evaluation time a path reads attributes of the same
    names: ``account.X`` (or bare ``X``) is ``record.X``, ``plan.X`` is ``record.plan.X``,
    lists are Python lists (never ``None``) of records. ``score.X`` is the score of
    scorecard ``X`` (a ``fractions.Fraction`` from 0 to 100, exact).
    """

    account: RecordType
    scorecards: tuple[str, ...] = field(default=())

    @property
    def plan(self) -> RecordType:
        plan = self.account.fields["plan"].type
        assert isinstance(plan, RecordType)
        return plan

    @property
    def contact(self) -> RecordType:
        return self.contacts.item

    @property
    def contacts(self) -> ListType:
        contacts = self.account.fields["contacts"].type
        assert isinstance(contacts, ListType)
        return contacts

    def records(self) -> dict[str, RecordType]:
        """Every nested record type by its name (plan, contact, member, review, ...)."""
        found: dict[str, RecordType] = {}

        def walk(record: RecordType) -> None:
            for f in record.fields.values():
                t = f.type
                if isinstance(t, RecordType):
                    found.setdefault(t.name, t)
                    walk(t)
                elif isinstance(t, ListType):
                    found.setdefault(t.item.name, t.item)
                    walk(t.item)

        walk(self.account)
        return found


def build_schema(
    custom_fields: Iterable[FactField] = (),
    scorecards: Iterable[str] = (),
    column_overrides: Mapping[str, str] | None = None,
    *,
    record_fields: Mapping[str, Iterable[FactField]] | None = None,
    lists: Iterable[CustomList] = (),
    vocabularies: Mapping[str, CategoryType] | None = None,
) -> FactSchema:
    """The built-in schema extended by a rulebook: custom account facts, custom facts of the
    nested records (``record_fields`` by record name: plan, contact, member, ...), custom
    lists of records on the account or its plan, and built-in vocabularies extended or given
    synonyms (``vocabularies``: the replacement category type by the built-in one's name).

    Custom fields may not shadow built-ins: a rulebook that redefines ``annual_revenue``
    would silently change what every other rule means, so the loader refuses it earlier.
    """
    replaced = {VOCABULARIES[key].name: value for key, value in (vocabularies or {}).items()}
    extra = {name: list(fields) for name, fields in (record_fields or {}).items()}
    lists = list(lists)

    def retype(t: FactType) -> FactType:
        if isinstance(t, CategoryType):
            return replaced.get(t.name, t)
        if isinstance(t, RecordType):
            return rebuild(t)
        if isinstance(t, ListType):
            return ListType(rebuild(t.item))
        return t

    def rebuild(record: RecordType) -> RecordType:
        fields = {name: replace(f, type=retype(f.type)) for name, f in record.fields.items()}
        for custom in extra.get(record.name, ()):
            fields[custom.name] = custom
        if record.name == "plan":
            for added in lists:
                if added.on_plan:
                    fields[added.name] = FactField(added.name, ListType(added.item), added.description, custom=True)
        return RecordType(record.name, fields, record.named_by)

    account = {name: replace(f, type=retype(f.type)) for name, f in ACCOUNT_FIELDS.items()}
    for custom in custom_fields:
        account[custom.name] = custom
    for name, column in (column_overrides or {}).items():
        if name in account:
            account[name] = replace(account[name], column=column)
    for name, f in NESTED_ACCOUNT_FIELDS.items():
        account[name] = replace(f, type=retype(f.type))
    for added in lists:
        if not added.on_plan:
            account[added.name] = FactField(added.name, ListType(added.item), added.description, custom=True)
    return FactSchema(account=RecordType("account", account), scorecards=tuple(scorecards))


DEFAULT_SCHEMA = build_schema()
