"""Checks that need the whole rulebook, and the compiled :class:`Rulebook` they produce.

Shape errors are pydantic's job (``model``); here live the rules that relate one part of
the rulebook to another: ids are unique, tiers and bands are in order, a gate names a
tier that exists, weights are not all zero, every expression type-checks against the fact
schema. All problems are gathered before stopping, each with its place in the files.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from kamrules.errors import ExpressionError, Problem
from kamrules.expressions import CompiledExpression, compile_expression
from kamrules.facts.schema import ACCOUNT_FIELDS, STAGES, VOCABULARIES, CustomList, FactSchema, build_schema
from kamrules.facts.types import (
    BOOLEAN,
    DATE,
    INTEGER,
    NUMBER,
    TEXT,
    CategoryType,
    FactField,
    FactType,
    RecordType,
    ScalarType,
)
from kamrules.rulebook.alerts import check_alerts
from kamrules.rulebook.model import Criterion, CustomFact, RulebookSpec, Scorecard
from kamrules.rulebook.yaml_source import Path, SourceMap
from kamrules.suggestions import did_you_mean

_SCALAR_TYPES: dict[str, ScalarType] = {
    "number": NUMBER,
    "integer": INTEGER,
    "text": TEXT,
    "boolean": BOOLEAN,
    "date": DATE,
}


@dataclass(frozen=True, slots=True)
class Rulebook:
    """A validated rulebook with every expression compiled, ready to evaluate.

    This is what the rest of kamrules receives: evaluation never goes back to YAML.
    ``scorecards`` is the normalised list (top-level ``criteria`` become the scorecard
    ``score``); ``expressions`` holds each compiled expression by its path in the spec.
    """

    spec: RulebookSpec
    schema: FactSchema
    scorecards: tuple[Scorecard, ...]
    primary_scorecard: str
    expressions: Mapping[Path, CompiledExpression]
    content_hash: str
    sources: tuple[str, ...]
    source_map: SourceMap

    @property
    def id(self) -> str:
        return self.spec.rulebook

    @property
    def version(self) -> str:
        return self.spec.version

    @property
    def tier_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.spec.tiers)


def canonical_hash(spec: RulebookSpec) -> str:
    """A content hash that ignores comments, layout and how the rulebook is split.

    Two rulebooks with the same meaning have the same hash, so a decision names the policy
    that made it, not the formatting of the files it happened to be written in.
    """
    data = _canonical(spec.model_dump(mode="python", by_alias=True, exclude_none=True))
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value: object) -> object:
    """Numbers by value, not by spelling: 60, 60.0 and 6e1 are the same weight."""
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, Decimal | float | int):
        number = Decimal(value).normalize() if not isinstance(value, float) else Decimal(repr(value)).normalize()
        return format(number, "f")
    return str(value)


class _Checker:
    def __init__(self, spec: RulebookSpec, source_map: SourceMap) -> None:
        self.spec = spec
        self.source_map = source_map
        self.problems: list[Problem] = []
        self.expressions: dict[Path, CompiledExpression] = {}

    def problem(self, path: Path, message: str, hint: str | None = None, *, key: bool = False) -> None:
        where = self.source_map.key_location(path) if key else self.source_map.location(path)
        self.problems.append(Problem(message, where, hint))

    def compile(
        self,
        path: Path,
        source: str,
        schema: FactSchema,
        what: str,
        *,
        expect: Literal["boolean", "number", "any"],
        allow_scores: bool,
        item: RecordType | None = None,
    ) -> CompiledExpression | None:
        try:
            compiled = compile_expression(source, schema, expect=expect, allow_scores=allow_scores, item=item)
        except ExpressionError as exc:
            position = self.source_map.find(path)
            location = position.at_offset(exc.offset) if position else None
            self.problems.append(Problem(f"{what}: {exc.message}", location, exc.hint))
            return None
        self.expressions[path] = compiled
        return compiled


def check(spec: RulebookSpec, source_map: SourceMap, sources: Iterable[str]) -> Rulebook | list[Problem]:
    """Check cross-references and compile expressions; the problems if any, else the rulebook."""
    c = _Checker(spec, source_map)
    scorecards = tuple(spec.all_scorecards())
    card_path: Path = ("scorecards",) if spec.scorecards is not None else ()

    custom = _custom_fields(c, spec.facts.custom)
    _check_columns(c, spec, custom)
    vocabularies = _vocabularies(c, spec)
    record_fields = _record_fields(c, spec, vocabularies)
    lists = _custom_lists(c, spec, custom, vocabularies)
    schema = build_schema(
        custom,
        [s.id for s in scorecards],
        spec.facts.columns,
        record_fields=record_fields,
        lists=lists,
        vocabularies=vocabularies,
    )

    _unique(c, [(("scorecards", i, "id"), s.id) for i, s in enumerate(spec.scorecards or [])], "scorecard")
    criteria_ids: list[tuple[Path, str]] = []
    for i, card in enumerate(scorecards):
        base: Path = (*card_path, i, "criteria") if card_path else ("criteria",)
        for j, criterion in enumerate(card.criteria):
            criteria_ids.append(((*base, j, "id"), criterion.id))
            _check_criterion(c, criterion, (*base, j), schema)
        if sum((cr.weight for cr in card.criteria), Decimal(0)) == 0:
            c.problem(base, f"every weight of scorecard '{card.id}' is zero; at least one criterion must count")
    _unique(c, criteria_ids, "criterion")

    primary = spec.primary_scorecard or scorecards[0].id
    if spec.primary_scorecard is not None and spec.primary_scorecard not in {s.id for s in scorecards}:
        c.problem(
            ("primary_scorecard",),
            f"there is no scorecard '{spec.primary_scorecard}'",
            did_you_mean(spec.primary_scorecard, [s.id for s in scorecards]),
        )

    _check_tiers(c, spec, schema, [s.id for s in scorecards])
    _check_gates(c, spec, schema)
    _check_segments(c, spec, schema)
    _check_relationship_map(c, spec, schema)
    _check_portfolio(c, spec, schema)
    _check_plan_checks(c, spec, schema)
    check_alerts(c, spec, schema)

    if c.problems:
        return c.problems
    return Rulebook(
        spec=spec,
        schema=schema,
        scorecards=scorecards,
        primary_scorecard=primary,
        expressions=c.expressions,
        content_hash=canonical_hash(spec),
        sources=tuple(sources),
        source_map=source_map,
    )


def _unique(c: _Checker, items: list[tuple[Path, str]], what: str) -> None:
    counts = Counter(name for _, name in items)
    reported: set[str] = set()
    for _, name in items:
        if counts[name] > 1 and name not in reported:
            reported.add(name)
            first = next(p for p, n in items if n == name)
            places = [str(c.source_map.location(p)) for p, n in items if n == name]
            c.problem(
                first, f"the {what} id '{name}' is used {counts[name]} times ({', '.join(places)}); ids must be unique"
            )


def _custom_fields(
    c: _Checker,
    customs: list[CustomFact],
    base: Path = ("facts", "custom"),
    builtin: Mapping[str, FactField] = ACCOUNT_FIELDS,
    where: str = "",
) -> list[FactField]:
    fields: list[FactField] = []
    for i, custom in enumerate(customs):
        path: Path = (*base, i)
        if custom.name in builtin:
            c.problem(
                (*path, "name"),
                f"the custom fact '{custom.name}'{where} has the name of a built-in fact; choose another name",
            )
            continue
        if where and custom.column is not None:
            c.problem(
                (*path, "column"),
                f"the custom fact '{custom.name}'{where} is inside a record: map CRM columns onto it in a CRM "
                "profile (--crm), not here",
            )
        fact_type: FactType = (
            CategoryType(tuple(custom.values or ()), name=custom.name)
            if custom.type == "category"
            else _SCALAR_TYPES[custom.type]
        )
        fields.append(
            FactField(
                custom.name,
                fact_type,
                custom.description,
                custom.required,
                custom.column,
                custom.minimum,
                custom.maximum,
                custom=True,
                past=custom.past and custom.type == "date",
            )
        )
    _unique(c, [((*base, i, "name"), f.name) for i, f in enumerate(customs)], "custom fact")
    return fields


def _vocabularies(c: _Checker, spec: RulebookSpec) -> dict[str, CategoryType]:
    """The built-in vocabularies as the rulebook extends them or gives them synonyms."""
    result: dict[str, CategoryType] = {}
    for key, change in spec.facts.vocabularies.items():
        path: Path = ("facts", "vocabularies", key)
        builtin = VOCABULARIES.get(key)
        if builtin is None:
            c.problem(
                path,
                f"there is no built-in vocabulary '{key}' (vocabularies: {', '.join(VOCABULARIES)})",
                did_you_mean(key, VOCABULARIES),
                key=True,
            )
            continue
        if key == "stage" and change.add:
            c.problem(
                (*path, "add"),
                "the relationship stages are fixed and ordered (plan checks apply from and to a stage); "
                "give a CRM's own stage names as synonyms instead",
            )
            continue
        values = list(builtin.values)
        for k, value in enumerate(change.add):
            if value in values:
                c.problem((*path, "add", k), f"'{value}' is already a value of {key}")
            values.append(value)
        for word, meaning in change.synonyms.items():
            if word in values:
                c.problem(
                    (*path, "synonyms", word),
                    f"'{word}' is a value of {key} itself; a synonym is a word a CRM uses for one of its values",
                    key=True,
                )
            if meaning not in values:
                c.problem(
                    (*path, "synonyms", word),
                    f"the synonym '{word}' stands for '{meaning}', which is not a value of {key} ({', '.join(values)})",
                    did_you_mean(meaning, values),
                )
        result[key] = CategoryType(tuple(values), builtin.name, tuple(sorted(change.synonyms.items())))
    return result


def _record_fields(
    c: _Checker, spec: RulebookSpec, vocabularies: Mapping[str, CategoryType]
) -> dict[str, list[FactField]]:
    """Custom facts of the nested records, by record name."""
    known = build_schema(vocabularies=vocabularies).records()
    result: dict[str, list[FactField]] = {}
    for name, customs in spec.facts.records.items():
        record = known.get(name)
        if record is None:
            c.problem(
                ("facts", "records", name),
                f"there is no record '{name}' to add facts to (records: {', '.join(sorted(known))})",
                did_you_mean(name, known),
                key=True,
            )
            continue
        result[name] = _custom_fields(c, customs, ("facts", "records", name), record.fields, f" of {name}")
    return result


def _custom_lists(
    c: _Checker, spec: RulebookSpec, custom: list[FactField], vocabularies: Mapping[str, CategoryType]
) -> list[CustomList]:
    """The rulebook's own lists of records, on the account or on its plan."""
    known = build_schema(vocabularies=vocabularies)
    records = known.records()
    taken_account = set(known.account.fields) | {f.name for f in custom}
    taken_plan = set(known.plan.fields)
    result: list[CustomList] = []
    for i, spec_list in enumerate(spec.facts.lists):
        path: Path = ("facts", "lists", i)
        taken = taken_plan if spec_list.on == "plan" else taken_account
        where = "the plan" if spec_list.on == "plan" else "the account"
        if spec_list.name in taken:
            c.problem(
                (*path, "name"), f"{where} already has a fact '{spec_list.name}'; choose another name for the list"
            )
            continue
        if spec_list.item in records or spec_list.item in ("account", "plan", "score"):
            c.problem(
                (*path, "item"),
                f"'{spec_list.item}' already names a record; choose another word for one item of {spec_list.name}",
            )
            continue
        fields = _custom_fields(c, spec_list.fields, (*path, "fields"), {}, f" of {spec_list.item}")
        names = {f.name for f in fields}
        for k, named in enumerate(spec_list.named_by):
            if named not in names:
                c.problem(
                    (*path, "named_by", k),
                    f"'{named}' is not a fact of {spec_list.item}",
                    did_you_mean(named, names),
                )
        taken.add(spec_list.name)
        records[spec_list.item] = RecordType(spec_list.item, {})
        item = RecordType(spec_list.item, {f.name: f for f in fields}, tuple(spec_list.named_by))
        result.append(CustomList(spec_list.name, item, spec_list.description, spec_list.on == "plan"))
    return result


def _check_columns(c: _Checker, spec: RulebookSpec, custom: list[FactField]) -> None:
    for name in spec.facts.columns:
        if name not in ACCOUNT_FIELDS:
            hint = did_you_mean(name, ACCOUNT_FIELDS)
            if any(f.name == name for f in custom):
                hint = "give a custom fact's column in its own `column:`"
            c.problem(("facts", "columns", name), f"'{name}' is not a built-in account fact", hint, key=True)
    columns: list[tuple[Path, str]] = [(("facts", "columns", n), col) for n, col in spec.facts.columns.items()]
    columns += [(("facts", "custom", i, "column"), f.column) for i, f in enumerate(spec.facts.custom) if f.column]
    seen: dict[str, Path] = {}
    for path, column in columns:
        if column in seen:
            c.problem(
                path,
                f"the CRM column '{column}' is mapped to two facts (also at {c.source_map.location(seen[column])})",
            )
        seen[column] = path


def _is_number(t: FactType) -> bool:
    return isinstance(t, ScalarType) and t.kind in ("number", "integer")


def _check_criterion(c: _Checker, criterion: Criterion, path: Path, schema: FactSchema) -> None:
    what = f"criterion '{criterion.id}'"
    if criterion.expression is not None:
        c.compile((*path, "expression"), criterion.expression, schema, what, expect="number", allow_scores=False)
        return
    assert criterion.fact is not None
    compiled = c.compile(
        (*path, "fact"), criterion.fact, schema, f"{what} reads `fact`", expect="any", allow_scores=False
    )
    if compiled is None:
        return
    if len(compiled.evidence) != 1 or compiled.evidence[0] != _canonical_fact(criterion.fact):
        c.problem(
            (*path, "fact"),
            f"{what}: `fact` must name one fact, such as account.annual_revenue; "
            "to compute points, use `expression:` instead",
        )
        return
    fact_type = compiled.type
    method = criterion.method
    if method in ("bands", "scale") and not _is_number(fact_type):
        c.problem(
            (*path, "fact"),
            f"{what} is scored by {method}, which needs a number, but {criterion.fact} is {fact_type.describe()}",
        )
    if method == "boolean" and fact_type != BOOLEAN:
        c.problem((*path, "fact"), f"{what} is scored by boolean, but {criterion.fact} is {fact_type.describe()}")
    if method == "map":
        if fact_type == TEXT:
            if criterion.otherwise is None:
                c.problem(
                    (*path, "map"),
                    f"{what} maps the text fact {criterion.fact}, whose values are open: give `otherwise`, the "
                    "points of every value the map does not name",
                )
        elif not isinstance(fact_type, CategoryType):
            c.problem(
                (*path, "fact"),
                f"{what} is scored by map, which needs a category or text fact, but {criterion.fact} is "
                f"{fact_type.describe()}",
            )
        else:
            assert criterion.map is not None
            for key in criterion.map:
                if key not in fact_type.values:
                    c.problem(
                        (*path, "map", key),
                        f"{what}: '{key}' is not a value of {criterion.fact} ({', '.join(fact_type.values)})",
                        did_you_mean(key, fact_type.values),
                        key=True,
                    )
            unmapped = [v for v in fact_type.values if v not in criterion.map]
            if unmapped and criterion.otherwise is None:
                c.problem(
                    (*path, "map"),
                    f"{what}: the map gives no points for {', '.join(repr(v) for v in unmapped)}; "
                    "give every value its points (0 is fine), or `otherwise` for the rest",
                )
    if criterion.bands is not None:
        for k in range(1, len(criterion.bands)):
            high, low = criterion.bands[k - 1], criterion.bands[k]
            if low.at_least >= high.at_least:
                c.problem(
                    (*path, "bands", k, "at_least"),
                    f"{what}: bands out of order; list them highest first "
                    f"(at_least {_num(low.at_least)} comes after {_num(high.at_least)})",
                )


def _canonical_fact(path: str) -> str:
    """The evidence label of a fact path: ``account.x`` for account facts, ``plan.x`` for plan facts."""
    if path.startswith("account.plan."):
        return path[len("account.") :]
    return path if "." in path else f"account.{path}"


def _num(value: float) -> str:
    text = f"{value:,}"
    return text[:-2] if text.endswith(".0") else text


def _check_tiers(c: _Checker, spec: RulebookSpec, schema: FactSchema, scorecards: list[str]) -> None:
    tiers = spec.tiers
    _unique(c, [(("tiers", i, "name"), t.name) for i, t in enumerate(tiers)], "tier")
    last = tiers[-1]
    if last.min_score is not None or last.min_scores or last.requires:
        c.problem(
            ("tiers", len(tiers) - 1),
            f"the last tier '{last.name}' is the default every other account falls to; "
            "it cannot have min_score, min_scores or requires",
        )
    if spec.excluded is not None and spec.excluded.name in {t.name for t in tiers}:
        c.problem(
            ("excluded", "name"),
            f"the excluded outcome '{spec.excluded.name}' has the name of a tier; an excluded account holds "
            "no tier, so give the outcome a name of its own",
        )
    previous: tuple[str, Decimal] | None = None
    for i, tier in enumerate(tiers):
        if tier.min_score is not None:
            if previous is not None and tier.min_score > previous[1]:
                c.problem(
                    ("tiers", i, "min_score"),
                    f"tiers out of order: '{tier.name}' (min_score {tier.min_score}) is listed below "
                    f"'{previous[0]}' (min_score {previous[1]}); list tiers best first",
                )
            previous = (tier.name, tier.min_score)
        for card in tier.min_scores or {}:
            if card not in scorecards:
                c.problem(
                    ("tiers", i, "min_scores", card),
                    f"tier '{tier.name}': there is no scorecard '{card}'",
                    did_you_mean(card, scorecards),
                    key=True,
                )
        for k, requirement in enumerate(tier.requires or []):
            c.compile(
                ("tiers", i, "requires", k, "when"),
                requirement.when,
                schema,
                f"tier '{tier.name}' requirement",
                expect="boolean",
                allow_scores=True,
            )


def _check_gates(c: _Checker, spec: RulebookSpec, schema: FactSchema) -> None:
    _unique(c, [(("gates", i, "id"), g.id) for i, g in enumerate(spec.gates)], "gate")
    names = [t.name for t in spec.tiers]
    for i, gate in enumerate(spec.gates):
        if gate.at_most is not None and gate.at_most not in names:
            c.problem(
                ("gates", i, "at_most"),
                f"gate '{gate.id}' caps at the tier '{gate.at_most}', which does not exist",
                did_you_mean(gate.at_most, names),
            )
        c.compile(("gates", i, "when"), gate.when, schema, f"gate '{gate.id}'", expect="boolean", allow_scores=True)


def _check_segments(c: _Checker, spec: RulebookSpec, schema: FactSchema) -> None:
    _unique(c, [(("segments", i, "name"), s.name) for i, s in enumerate(spec.segments)], "segment")
    for i, segment in enumerate(spec.segments):
        if segment.when is None:
            if i != len(spec.segments) - 1:
                c.problem(
                    ("segments", i),
                    f"segment '{segment.name}' has no `when`; only the last segment may catch every remaining account",
                )
            continue
        c.compile(
            ("segments", i, "when"),
            segment.when,
            schema,
            f"segment '{segment.name}'",
            expect="boolean",
            allow_scores=True,
        )


def _check_relationship_map(c: _Checker, spec: RulebookSpec, schema: FactSchema) -> None:
    definitions = spec.relationship_map
    for name in ("key_player", "supportive"):
        c.compile(
            ("relationship_map", name),
            getattr(definitions, name),
            schema,
            f"relationship_map.{name} (a condition over one contact)",
            expect="boolean",
            allow_scores=False,
            item=schema.contact,
        )


def _check_plan_checks(c: _Checker, spec: RulebookSpec, schema: FactSchema) -> None:
    _unique(c, [(("plan_checks", i, "id"), check.id) for i, check in enumerate(spec.plan_checks)], "plan check")
    tiers = [t.name for t in spec.tiers]
    for i, check in enumerate(spec.plan_checks):
        path: Path = ("plan_checks", i)
        what = f"plan check '{check.id}'"
        for k, tier in enumerate(check.tiers or []):
            if tier not in tiers:
                c.problem(
                    (*path, "tiers", k),
                    f"{what} names the tier '{tier}', which does not exist",
                    did_you_mean(tier, tiers),
                )
        if check.from_stage and check.to_stage and STAGES.index(check.from_stage) > STAGES.index(check.to_stage):
            c.problem(
                (*path, "to_stage"),
                f"{what}: to_stage '{check.to_stage}' comes before from_stage "
                f"'{check.from_stage}' (stages in order: {', '.join(STAGES)})",
            )
        if check.require is not None:
            c.compile((*path, "require"), check.require, schema, what, expect="boolean", allow_scores=True)
        if check.fresh is not None:
            _date_expression(c, (*path, "fresh", "date"), check.fresh.date, schema, f"{what} `fresh.date`")
        if check.due is not None:
            _date_expression(c, (*path, "due"), check.due, schema, f"{what} `due`")
        if check.owner is not None and "." in check.owner:
            compiled = c.compile(
                (*path, "owner"), check.owner, schema, f"{what} `owner`", expect="any", allow_scores=False
            )
            if compiled is not None and compiled.type != TEXT:
                c.problem(
                    (*path, "owner"),
                    f"{what}: `owner` must name a text fact such as plan.owner, "
                    f"but {check.owner} is {compiled.type.describe()}",
                )


def _date_expression(c: _Checker, path: Path, source: str, schema: FactSchema, what: str) -> None:
    compiled = c.compile(path, source, schema, what, expect="any", allow_scores=False)
    if compiled is not None and compiled.type != DATE:
        c.problem(path, f"{what} must give a date, such as plan.last_reviewed, but it gives {compiled.type.describe()}")


def _check_portfolio(c: _Checker, spec: RulebookSpec, schema: FactSchema) -> None:
    last = len(spec.tiers) - 1
    for i, tier in enumerate(spec.tiers):
        if i == last and (tier.capacity is not None or tier.capacity_per_manager is not None):
            c.problem(
                ("tiers", i),
                f"the last tier '{tier.name}' takes every account that overflows; it cannot have a capacity",
            )
    for i, breaker in enumerate(spec.tie_breakers):
        c.compile(("tie_breakers", i, "by"), breaker.by, schema, "tie breaker", expect="any", allow_scores=True)
