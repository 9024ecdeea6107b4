"""The rulebook as policy owners write it: pydantic models that are the single source of
validation and of the JSON Schema offered to editors (``kamrules schema``).

These models check shape and local consistency (a band's points lie in 0..100, a criterion
has exactly one scoring method). Checks that need the whole rulebook (duplicate ids, tiers
in order, a gate naming a tier that exists, expressions that type-check against the fact
schema) live in ``kamrules.rulebook.semantics`` so that each error can still carry a
position in the file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from kamrules.rulebook.alerts import AlertRule

Identifier = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_]*$", max_length=64),
    Field(description="A lower-case identifier: letters, digits and underscores."),
]
RulebookId = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z][a-z0-9_-]*$", max_length=64),
    Field(description="The rulebook's id: lower-case letters, digits, '-' and '_'."),
]
TierName = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]
NUMBER_LIMIT = 1_000_000_000_000_000
"""The largest magnitude of a number in a rule file (a threshold, a scale end, a fact's
bound): 10**15. Above it a float no longer holds every whole number nor every cent, so
two engines could round a threshold differently; no KAM fact comes near it."""

WEIGHT_LIMIT = 1_000_000
"""The largest weight. Weights are relative, so no rulebook needs more; the bound keeps a
scorecard's exact weighted sum within the columnar engine's 64-bit integers."""

COUNT_LIMIT = 1_000_000_000
"""The largest capacity count: more accounts than any portfolio holds."""

RuleNumber = Annotated[
    float,
    Field(
        ge=-NUMBER_LIMIT,
        le=NUMBER_LIMIT,
        allow_inf_nan=False,
        description="A finite number between -10^15 and 10^15.",
    ),
]

Points = Annotated[
    Decimal,
    Field(ge=0, le=100, decimal_places=2, description="Points from 0 to 100, at most 2 decimals."),
]
Weight = Annotated[
    Decimal,
    Field(
        ge=0,
        le=WEIGHT_LIMIT,
        decimal_places=2,
        description="A criterion's relative weight, from 0 to 1,000,000, at most 2 decimals.",
    ),
]
Expression = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2000),
    Field(description="An expression in the kamrules rule language (see docs/rules.md)."),
]

LintCode = Literal["KAM001", "KAM002", "KAM003", "KAM004", "KAM005", "KAM006", "KAM007", "KAM008", "KAM009", "KAM010"]
"""The codes of ``kamrules lint`` (see ``kamrules.workbench.lint``)."""

LintSuppressions = Annotated[
    dict[LintCode, Annotated[str, StringConstraints(min_length=1, strip_whitespace=True)]] | None,
    Field(
        description="Lint warnings switched off for this rule, each code with the reason why "
        "(e.g. KAM001: Revenue leads this year by board decision).",
    ),
]

MissingPolicy = Literal["zero", "drop", "error"]
"""What a criterion does when its fact is missing: score 0 points, leave the criterion (and
its weight) out of the score, or refuse to decide the account."""


class _Strict(BaseModel):
    """Unknown keys are errors: a misspelt key silently ignored is a rule silently lost."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Strict):
    """A threshold: values at or above ``at_least`` earn ``points``."""

    at_least: RuleNumber = Field(description="The lowest fact value that earns these points.")
    points: Points
    label: str | None = Field(default=None, description="A name for the band, shown in explanations.")


class Scale(_Strict):
    """Linear points between two fact values, clamped outside them.

    ``from`` may be larger than ``to`` for facts where less is better (days to pay).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    from_value: RuleNumber = Field(alias="from", description="The fact value that earns `points_from`.")
    to_value: RuleNumber = Field(alias="to", description="The fact value that earns `points_to`.")
    points_from: Points = Decimal(0)
    points_to: Points = Decimal(100)

    @model_validator(mode="after")
    def _distinct_ends(self) -> Scale:
        if self.from_value == self.to_value:
            raise ValueError("a scale needs two different values for `from` and `to`")
        return self


class Criterion(_Strict):
    """One weighted factor of selection, scored from account facts into 0..100 points.

    Exactly one scoring method is given: ``bands``, ``scale``, ``map``, ``boolean`` (all
    read ``fact``) or ``expression`` (computes the points itself).
    """

    id: Identifier
    title: str | None = None
    description: str | None = None
    weight: Weight
    fact: str | None = Field(default=None, description="The fact the criterion reads, e.g. account.annual_revenue.")
    bands: list[Band] | None = Field(default=None, description="Thresholds, highest first.")
    below_bands: Points = Field(default=Decimal(0), description="Points for a value below every band.")
    scale: Scale | None = None
    map: dict[str, Points] | None = Field(default=None, description="Points per category (or text) value.")
    otherwise: Points | None = Field(
        default=None,
        description="With map: the points of any value the map does not name (required for a text fact).",
    )
    boolean: dict[Literal["true", "false"], Points] | None = Field(
        default=None, description="Points when the fact is true and when it is false."
    )
    expression: Expression | None = Field(default=None, description="An expression that gives the points.")
    missing: MissingPolicy | None = Field(
        default=None, description="When the fact is missing: zero, drop or error (default: the rulebook's)."
    )
    lint: LintSuppressions = None

    @property
    def method(self) -> str:
        for name in ("bands", "scale", "map", "boolean", "expression"):
            if getattr(self, name) is not None:
                return name
        raise AssertionError("validated criterion without a method")

    @model_validator(mode="after")
    def _one_method(self) -> Criterion:
        given = [n for n in ("bands", "scale", "map", "boolean", "expression") if getattr(self, n) is not None]
        if len(given) != 1:
            listed = ", ".join(given) if given else "none"
            raise ValueError(
                "a criterion needs exactly one scoring method of bands, scale, map, boolean, "
                f"expression (found: {listed})"
            )
        if given[0] != "expression" and self.fact is None:
            raise ValueError(f"a criterion scored by {given[0]} needs the `fact` it reads")
        if given[0] == "expression" and self.fact is not None:
            raise ValueError("a criterion scored by an expression reads its facts there; remove `fact`")
        if self.bands is not None and not self.bands:
            raise ValueError("`bands` needs at least one band")
        if self.map is not None and not self.map:
            raise ValueError("`map` needs at least one category value")
        if self.otherwise is not None and self.map is None:
            raise ValueError("`otherwise` gives the points of values a `map` does not name; it needs a `map`")
        if self.boolean is not None and set(self.boolean) != {"true", "false"}:
            raise ValueError("`boolean` needs the points for both `true` and `false`")
        return self


class Scorecard(_Strict):
    """A named weighted score (e.g. customer attractiveness, our relative strength)."""

    id: Identifier
    title: str | None = None
    description: str | None = None
    criteria: list[Criterion] = Field(min_length=1)
    lint: LintSuppressions = None


class Requirement(_Strict):
    """A condition an account must meet to hold a tier, with the reason shown if it fails."""

    when: Expression
    reason: str | None = None


CapacityShare = Annotated[
    str,
    StringConstraints(pattern=r"^(100(\.0{1,2})?|[0-9]{1,2}(\.[0-9]{1,2})?)%$"),
    Field(description="A share of the portfolio's decided accounts from 0% to 100%, such as '5%' or '12.5%'."),
]


def _requirement_from_text(value: object) -> object:
    """Let a requirement be written as a bare expression, the common case."""
    return {"when": value} if isinstance(value, str) else value


class Tier(_Strict):
    """A grade of account. Tiers are listed best first; the last one is the default."""

    name: TierName
    description: str | None = None
    min_score: Decimal | None = Field(
        default=None,
        ge=0,
        le=100,
        decimal_places=2,
        description="The minimum score on the primary scorecard.",
    )
    min_scores: dict[Identifier, Annotated[Decimal, Field(ge=0, le=100, decimal_places=2)]] | None = Field(
        default=None, description="Minimum scores on named scorecards."
    )
    requires: list[Annotated[Requirement, BeforeValidator(_requirement_from_text)]] | None = Field(
        default=None, description="Conditions an account must also meet to hold this tier."
    )
    key_account: bool | None = Field(
        default=None,
        description="Whether accounts in this tier are key accounts (default: every tier but the last).",
    )
    capacity: Annotated[int, Field(ge=0, le=COUNT_LIMIT)] | CapacityShare | None = Field(
        default=None,
        description="How many accounts the tier can hold in a portfolio: a count (20) or a share ('5%').",
    )
    capacity_per_manager: int | None = Field(
        default=None, gt=0, le=COUNT_LIMIT, description="At most this many accounts of the tier per account manager."
    )
    lint: LintSuppressions = None



class Gate(_Strict):
    """A hard condition, the explicit exception to compensation.

    ``exclude`` gives the account no key tier; ``cap`` lets it reach at most ``at_most``.
    """

    id: Identifier
    title: str | None = None
    description: str | None = None
    when: Expression
    effect: Literal["exclude", "cap"]
    at_most: TierName | None = Field(default=None, description="The best tier a capped account may hold.")
    reason: str = Field(min_length=1, description="Why the gate exists, shown when it applies.")
    missing: Literal["skip", "apply", "error"] = Field(
        default="skip",
        description="When a fact the gate reads is missing: do not apply it (flagged), apply it, or refuse.",
    )
    lint: LintSuppressions = None

    @model_validator(mode="after")
    def _cap_names_tier(self) -> Gate:
        if self.effect == "cap" and self.at_most is None:
            raise ValueError("a `cap` gate needs `at_most`: the best tier an account may hold")
        if self.effect == "exclude" and self.at_most is not None:
            raise ValueError("an `exclude` gate takes no `at_most`; use effect: cap to cap a tier")
        return self


class ExcludedOutcome(_Strict):
    """What an account an ``exclude`` gate applies to is called: an outcome, not a tier.

    Without it, an excluded account falls to the first tier that is not a key-account tier.
    With it, the policy names the outcome (``Excluded``, ``Not a key account``...), so that
    its last tier can stay a real, served tier (key account or not) and a CRM can store
    "excluded" apart from every grade."""

    name: TierName = Field(description="The name decisions give excluded accounts, e.g. Excluded.")
    description: str | None = None


class Segment(_Strict):
    """A portfolio segment (Strategic / Star / Status / Streamline ...). First match wins;
    the last segment may omit ``when`` and catches the rest."""

    name: TierName
    description: str | None = None
    when: Expression | None = None


class CustomFact(_Strict):
    """An account fact the rulebook adds to the built-in schema."""

    name: Identifier
    type: Literal["number", "integer", "text", "boolean", "date", "category"]
    description: str = Field(min_length=1)
    values: list[str] | None = Field(default=None, description="The allowed values of a category.")
    column: str | None = Field(default=None, description="The CRM export column the fact is read from.")
    required: bool = False
    minimum: RuleNumber | None = Field(default=None, description="The smallest value a record may give.")
    maximum: RuleNumber | None = Field(default=None, description="The largest value a record may give.")
    past: bool = Field(
        default=False,
        description="For a date of something that happened (a visit, a review): a date after the as-of date "
        "makes the record an error instead of a very fresh event.",
    )
    lint: LintSuppressions = None

    @model_validator(mode="after")
    def _category_values(self) -> CustomFact:
        if self.type == "category" and not self.values:
            raise ValueError("a category fact needs its `values`")
        if self.type != "category" and self.values is not None:
            raise ValueError("only a category fact takes `values`")
        bounds = [(k, v) for k, v in (("minimum", self.minimum), ("maximum", self.maximum)) if v is not None]
        if bounds and self.type not in ("number", "integer"):
            raise ValueError(f"only a number or integer fact takes `{bounds[0][0]}`")
        if self.type == "integer":
            for key, value in bounds:
                if value != int(value):
                    raise ValueError(f"an integer fact's `{key}` must be a whole number, not {value}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"`minimum` ({self.minimum:g}) is larger than `maximum` ({self.maximum:g})")
        return self


class CustomList(_Strict):
    """A list of records the rulebook adds (site visits, executive meetings, certifications),
    read with aggregates like the built-in lists: ``count(site_visits, days_since(date) <= 90)``."""

    name: Identifier = Field(description="The list's name, e.g. site_visits (on the plan: plan.site_visits).")
    item: Identifier = Field(description="The word for one item inside an aggregate, e.g. visit.")
    description: str = Field(min_length=1)
    on: Literal["account", "plan"] = Field(
        default="account", description="Whether the list is the account's or its plan's."
    )
    named_by: list[Identifier] = Field(
        default_factory=list, description="The item facts that name one item in an explanation, first shown first."
    )
    fields: list[CustomFact] = Field(min_length=1, description="The facts of one item.")


class Vocabulary(_Strict):
    """A built-in vocabulary (stance, contact_level, ...) as this policy words it."""

    add: list[Annotated[str, StringConstraints(min_length=1, max_length=64)]] = Field(
        default_factory=list, description="Values this policy adds, e.g. opponent for stance."
    )
    synonyms: dict[str, str] = Field(
        default_factory=dict,
        description="Values a CRM records, read as one of the vocabulary's values, e.g. management: senior_management.",
    )


class Facts(_Strict):
    """The rulebook's additions to the fact schema and its CRM column mapping."""

    custom: list[CustomFact] = Field(default_factory=list)
    records: dict[Identifier, list[CustomFact]] = Field(
        default_factory=dict,
        description="Custom facts of the nested records, by record: plan, contact, member, relationship, "
        "restriction, objective, review, ... (`kamrules facts` lists them).",
    )
    lists: list[CustomList] = Field(default_factory=list, description="Custom lists of records.")
    vocabularies: dict[Identifier, Vocabulary] = Field(
        default_factory=dict,
        description="Built-in category vocabularies extended or given synonyms: credit_risk, stage, contact_role, "
        "stance, contact_level, plan_status, objective_status, competitor_position, review_kind.",
    )
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="CRM export column per built-in account fact, e.g. annual_revenue: AnnualRevenue__c "
        "(a CRM profile, `--crm`, maps an export without changing the policy).",
    )


Stage = Literal["pre_sales", "contract_negotiation", "implementation_delivery", "review", "exploitation"]
"""Relationship stages, in their order (see ``kamrules.facts.schema.STAGES``)."""

Severity = Literal["blocker", "major", "minor"]
"""How much a failed plan check weighs: a blocker makes the plan non-compliant, a major
puts it at risk, a minor is a finding to fix."""


class Freshness(_Strict):
    """ "Done within N days": the check passes while ``date`` is at most ``within_days``
    before the as-of date, and falls due ``within_days`` after ``date``."""

    date: Expression = Field(description="A date expression, e.g. plan.last_reviewed.")
    within_days: int = Field(gt=0, le=3660, description="How many days the date stays fresh.")


class PlanCheck(_Strict):
    """One rule a complete, current account plan must satisfy, maybe only at some stages
    and tiers. Exactly one of ``require`` and ``fresh`` says what must hold."""

    id: Identifier
    title: str = Field(min_length=1, description="What a complete plan shows, as a sentence.")
    description: str | None = None
    area: str | None = Field(default=None, description="A heading to group checks under in reports.")
    severity: Severity
    require: Expression | None = Field(default=None, description="A condition that must hold.")
    fresh: Freshness | None = None
    due: Expression | None = Field(
        default=None, description="With `require`: a date expression for when the check next falls due."
    )
    stages: list[Stage] | None = Field(default=None, description="The stages the check applies in.")
    from_stage: Stage | None = Field(default=None, description="The first stage the check applies in.")
    to_stage: Stage | None = Field(default=None, description="The last stage the check applies in.")
    tiers: list[TierName] | None = Field(
        default=None, description="The tiers the check applies to (default: every key-account tier)."
    )
    owner: str | None = Field(
        default=None,
        description="Who acts when the check fails: a fact such as plan.owner or plan.mentor, or a role name.",
    )
    remediation: str = Field(min_length=1, description="What to do to pass the check.")
    lint: LintSuppressions = None

    @model_validator(mode="after")
    def _one_condition(self) -> PlanCheck:
        if (self.require is None) == (self.fresh is None):
            raise ValueError("a plan check needs exactly one of `require` and `fresh`")
        if self.fresh is not None and self.due is not None:
            raise ValueError("a `fresh` check computes its own due date; remove `due`")
        if self.stages is not None and (self.from_stage is not None or self.to_stage is not None):
            raise ValueError("give either `stages` or `from_stage`/`to_stage`, not both")
        return self


class RelationshipMap(_Strict):
    """Who counts as a key player and as supportive, for every rule over contacts.

    Defined once here so that every plan check and the map status agree on the words.
    """

    key_player: Expression = Field(
        default="role in ['decision_maker', 'executive_sponsor'] or coalesce(influence, 0) >= 4",
        description="A condition over one contact's facts.",
    )
    supportive: Expression = Field(
        default="stance in ['mentor', 'supporter']", description="A condition over one contact's facts."
    )


class TieBreaker(_Strict):
    """How to order accounts with equal scores when a tier's capacity is short."""

    by: Expression = Field(description="A fact or expression, e.g. account.annual_revenue.")
    order: Literal["descending", "ascending"] = "descending"


class Stability(_Strict):
    """KAM is long-term: an account keeps its current tier unless its score moves past the
    tier's threshold by more than ``margin`` points, so tiers do not flip on small changes."""

    margin: Decimal = Field(gt=0, le=50, decimal_places=2, description="Points on each tier score test.")


class Defaults(_Strict):
    missing: MissingPolicy = Field(default="zero", description="The missing-fact policy of criteria.")


class RulebookSpec(_Strict):
    """A whole rulebook, after the files of a folder are merged."""

    rulebook: RulebookId
    version: str = Field(min_length=1, description="The rulebook's version, e.g. 2026.11.")
    title: str | None = None
    description: str | None = None
    defaults: Defaults = Field(default_factory=Defaults)
    facts: Facts = Field(default_factory=Facts)
    primary_scorecard: Identifier | None = Field(
        default=None, description="The scorecard that `min_score` refers to (default: the first)."
    )
    scorecards: list[Scorecard] | None = None
    criteria: list[Criterion] | None = Field(
        default=None, description="Shorthand for a single scorecard named `score`."
    )
    gates: list[Gate] = Field(default_factory=list)
    tiers: list[Tier] = Field(min_length=1)
    excluded: ExcludedOutcome | None = Field(
        default=None,
        description="The outcome of accounts an exclude gate applies to (default: the first non-key-account tier).",
    )
    segments: list[Segment] = Field(default_factory=list)
    tie_breakers: list[TieBreaker] = Field(
        default_factory=list, description="Order of equal scores for capacity; the account id comes last."
    )
    stability: Stability | None = None
    relationship_map: RelationshipMap = Field(default_factory=RelationshipMap)
    plan_checks: list[PlanCheck] = Field(default_factory=list)
    alerts: list[AlertRule] = Field(
        default_factory=list, description="What the account monitor reports (kamrules watch); unlisted kinds are off."
    )

    @model_validator(mode="after")
    def _one_way_to_score(self) -> RulebookSpec:
        if (self.scorecards is None) == (self.criteria is None):
            raise ValueError("a rulebook needs either `scorecards` or `criteria` (a single scorecard), not both")
        return self

    def all_scorecards(self) -> list[Scorecard]:
        if self.scorecards is not None:
            return self.scorecards
        assert self.criteria is not None
        return [Scorecard(id="score", title="Score", criteria=self.criteria)]


def rulebook_json_schema(whole: bool = False) -> dict[str, Any]:
    """The JSON Schema editors validate rule files with.

    A rulebook is usually a folder of files, each holding some of the top-level keys
    (``gates.yaml`` holds only ``gates:``), so by default the schema is that of *a part*: every
    key is checked as strictly as ``validate`` checks it, but none is required. ``whole``
    gives the schema of a complete rulebook in one file (``rulebook``, ``version`` and
    ``tiers`` required). What needs the whole rulebook (a gate naming a tier, expressions
    against the facts) only ``kamrules validate`` can check.
    """
    document = RulebookSpec.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    if whole:
        document["title"] = "kamrules rulebook"
    else:
        document["title"] = "kamrules rule file (any part of a rulebook)"
        document.pop("required", None)
    return document
