"""CRM profiles: reading one CRM's export as kamrules facts, apart from the policy.

A :class:`Profile` is loaded from a YAML file (a path, or the name of a profile shipped in
``kamrules/crm/profiles``) and named in every decision with its own content hash, beside the
rulebook's: the rulebook's hash never depends on the CRM. Bound to a rulebook's fact schema
(:meth:`Profile.bind`), it checks that every fact it fills exists and that each declared
conversion suits the fact's type, then converts raw records: columns renamed to facts,
values mapped, dates and numbers read as declared. A value it cannot convert or map is a
field error of that record (:class:`~kamrules.facts.records.InvalidRecord`), never a guess
and never a crash; the batch records it and goes on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kamrules.crm.convert import (
    ConversionFailed,
    mapped,
    normalise,
    scale_percent,
    to_date,
    to_number,
)
from kamrules.crm.model import ColumnSpec, NumberFormat, ProfileSpec, RecordSpec
from kamrules.errors import KamrulesError, Problem, SourceLocation
from kamrules.explanation.decision import ProfileRef
from kamrules.facts.records import FieldProblem, InvalidRecord, RecordValidator
from kamrules.facts.schema import DEFAULT_SCHEMA, FactSchema
from kamrules.facts.types import CategoryType, FactField, ListType, RecordType, ScalarType
from kamrules.rulebook.yaml_source import SourceMap, YamlProblems, read_yaml
from kamrules.suggestions import did_you_mean

SHIPPED = "kamrules.crm.profiles"


class ProfileError(KamrulesError):
    """A profile that cannot be used: unreadable, malformed, or naming facts the rulebook
    does not have. Carries every problem found, each with its file:line:column."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = "the CRM profile is invalid" if count == 1 else f"the CRM profile is invalid ({count} problems)"
        return head + ":\n" + "\n".join(f"  {p}" for p in self.problems)


def shipped_profiles() -> list[str]:
    """The names of the profiles that come with kamrules (``salesforce``, ``hubspot``, ...)."""
    folder = resources.files(SHIPPED)
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_profile(source: str | Path | Profile) -> Profile:
    """A profile from a file path or a shipped profile's name."""
    if isinstance(source, Profile):
        return source
    path = Path(source)
    if path.is_file():
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise ProfileError([Problem(f"cannot read the CRM profile '{path}': {exc}")]) from None
        return Profile.from_text(text, str(path))
    name = str(source)
    shipped = shipped_profiles()
    if name in shipped:
        text = resources.files(SHIPPED).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        return Profile.from_text(text, f"{name}.yaml")
    hint = did_you_mean(name, shipped)
    raise ProfileError(
        [
            Problem(
                f"no CRM profile '{name}': it is not a file, nor a shipped profile ({', '.join(shipped)})",
                hint=hint,
            )
        ]
    )


def _problem(error: Mapping[str, Any], source_map: SourceMap, file: str) -> Problem:
    loc = tuple(error["loc"])
    # pydantic names the union member it tried ("str", "ColumnSpec"): not a place in the file
    path = tuple(p for p in loc if p not in ("str", "ColumnSpec", "RecordSpec"))
    where = ".".join(str(p) for p in path) or "(profile)"
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = f"unknown key '{path[-1]}'"
    location = source_map.location(path) or SourceLocation(file, 1, 1)
    return Problem(f"{where}: {message}", location)


class Profile:
    """A CRM profile as loaded: its spec, name and content hash."""

    def __init__(self, spec: ProfileSpec, source: str = "<profile>", source_map: SourceMap | None = None) -> None:
        self.spec = spec
        self.source = source
        self.source_map = source_map or SourceMap()
        canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        self.content_hash = "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
        self.ref = ProfileRef(name=spec.profile, content_hash=self.content_hash)
        self._bound: dict[int, tuple[FactSchema, BoundProfile]] = {}

    @property
    def name(self) -> str:
        return self.spec.profile

    @classmethod
    def from_text(cls, text: str, file: str = "<profile>") -> Profile:
        try:
            document, source_map = read_yaml(text, file)
        except YamlProblems as exc:
            raise ProfileError(exc.problems) from None
        if not isinstance(document, dict):
            raise ProfileError(
                [Problem("a CRM profile is a mapping with `profile:` and `columns:`", SourceLocation(file, 1, 1))]
            )
        try:
            spec = ProfileSpec.model_validate(document)
        except ValidationError as exc:
            raise ProfileError(_problem(e, source_map, file) for e in exc.errors(include_url=False)) from None
        return cls(spec, file, source_map)

    def bind(self, schema: FactSchema = DEFAULT_SCHEMA) -> BoundProfile:
        """The profile checked against a rulebook's facts, ready to convert records."""
        cached = self._bound.get(id(schema))
        if cached is not None and cached[0] is schema:
            return cached[1]
        bound = BoundProfile(self, schema)
        self._bound[id(schema)] = (schema, bound)
        return bound

    def apply(self, raw: Mapping[str, Any], schema: FactSchema = DEFAULT_SCHEMA) -> dict[str, Any]:
        """One raw CRM record as a record of facts (see :meth:`BoundProfile.apply`)."""
        return self.bind(schema).apply(raw)

    def __repr__(self) -> str:
        return f"Profile({self.name!r}, {self.content_hash[:19]}...)"


@dataclass
class Column:
    """One export column bound to its fact, with the conversions the profile declares."""

    column: str
    target: tuple[str, ...]
    fact: FactField
    values: dict[str, Any] | None
    insensitive: bool
    unmapped_error: bool
    categories: dict[str, str] | None
    dates: tuple[str, ...]
    number: NumberFormat | None
    percent: tuple[str, str] | None
    """(the CRM's scale, the fact's scale)."""

    @property
    def label(self) -> str:
        return ".".join(self.target)

    def convert(self, value: Any) -> Any:
        """The fact's value, or :class:`ConversionFailed` with what is wrong."""
        if self.values is not None:
            hit, result = mapped(value, self.values, self.insensitive)
            if hit:
                return result
        if self.categories is not None and isinstance(value, str):
            key = normalise(value.strip())
            if key in self.categories:
                return self.categories[key]
        if self.values is not None and self.unmapped_error:
            raise ConversionFailed(f"{value!r} has no mapping ({_listing(self.values, self.categories)})")
        if self.categories is not None and self.values is None:
            assert isinstance(self.fact.type, CategoryType)
            raise ConversionFailed(
                f"{value!r} is not a {self.fact.type.name} value ({', '.join(self.fact.type.values)})"
            )
        if self.dates:
            return to_date(value, self.dates)
        if self.percent is not None:
            return scale_percent(value, self.number, *self.percent)
        if self.number is not None:
            return to_number(value, self.number)
        return value


def _listing(values: Mapping[str, Any], categories: Mapping[str, str] | None) -> str:
    keys = list(values)
    shown = ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")
    extra = " or the fact's own values" if categories else ""
    return f"the profile maps {shown}{extra}"


@dataclass
class Level:
    """The columns of one record level: the account, or the items of a nested record or list."""

    record: RecordType
    columns: dict[str, Column] = field(default_factory=dict)
    nested: dict[str, tuple[str, Level, bool]] = field(default_factory=dict)
    """export column -> (fact, the level of its items, whether a list)."""
    keep_unmapped: bool = True

    def known(self) -> set[str]:
        return set(self.columns) | set(self.nested)


class BoundProfile:
    """A profile checked against one fact schema; converts raw records of that schema."""

    def __init__(self, profile: Profile, schema: FactSchema) -> None:
        self.profile = profile
        self.schema = schema
        self.problems: list[Problem] = []
        spec = profile.spec
        self.account = self._level(schema.account, spec.columns, spec.records, True, ("columns",), ("records",))
        if self.problems:
            raise ProfileError(self.problems)
        self.missing_values = frozenset(v.strip() for v in spec.missing_values) | {""}
        self.renames = {c.column: c.target[0] for c in self.account.columns.values() if len(c.target) == 1}
        """Top-level export column -> fact, for finding an account's id before it is converted."""

    # -- binding ------------------------------------------------------------------------------

    def _where(self, path: tuple[Any, ...]) -> SourceLocation | None:
        return self.profile.source_map.key_location(path) or SourceLocation(self.profile.source, 1, 1)

    def _level(
        self,
        record: RecordType,
        columns: Mapping[str, str | ColumnSpec],
        records: Mapping[str, RecordSpec],
        keep: bool,
        columns_path: tuple[Any, ...],
        records_path: tuple[Any, ...],
    ) -> Level:
        level = Level(record, keep_unmapped=keep)
        for column, entry in columns.items():
            spec = entry if isinstance(entry, ColumnSpec) else ColumnSpec(fact=entry)
            bound = self._column(record, column, spec, (*columns_path, column))
            if bound is not None:
                level.columns[column] = bound
        for fact_name, nested in records.items():
            fact = record.fields.get(fact_name)
            path = (*records_path, fact_name)
            if fact is None or not isinstance(fact.type, RecordType | ListType):
                nested_names = [n for n, f in record.fields.items() if isinstance(f.type, RecordType | ListType)]
                what = "no nested record or list" if fact is None else "not a nested record or list"
                self.problems.append(
                    Problem(
                        f"'{fact_name}' is {what} of the {record.name}",
                        self._where(path),
                        did_you_mean(fact_name, nested_names),
                    )
                )
                continue
            item = fact.type if isinstance(fact.type, RecordType) else fact.type.item
            inner = self._level(
                item, nested.fields, nested.records, nested.keep_unmapped, (*path, "fields"), (*path, "records")
            )
            level.nested[nested.column or fact_name] = (fact_name, inner, isinstance(fact.type, ListType))
        return level

    def _column(self, record: RecordType, column: str, spec: ColumnSpec, path: tuple[Any, ...]) -> Column | None:
        target = tuple(spec.fact.split("."))
        if target[0] == "account" and record is self.schema.account and len(target) > 1:
            target = target[1:]
        holder = record
        fact: FactField | None = None
        for i, part in enumerate(target):
            fact = holder.fields.get(part)
            if fact is None and spec.optional:
                return None
            if fact is None:
                self.problems.append(
                    Problem(
                        f"column '{column}': the {holder.name} has no fact '{part}'",
                        self._where(path),
                        did_you_mean(part, holder.fields),
                    )
                )
                return None
            if i < len(target) - 1:
                if isinstance(fact.type, RecordType):
                    holder = fact.type
                    continue
                kind = "a list: map its items under records:" if isinstance(fact.type, ListType) else "not a record"
                self.problems.append(Problem(f"column '{column}': '{part}' is {kind}", self._where(path)))
                return None
        assert fact is not None
        if fact.derived:
            self.problems.append(
                Problem(f"column '{column}': '{fact.name}' is derived by the rulebook, never read", self._where(path))
            )
            return None
        if isinstance(fact.type, RecordType | ListType):
            self.problems.append(
                Problem(
                    f"column '{column}': '{fact.name}' is a nested record or list: map it under records:",
                    self._where(path),
                )
            )
            return None
        kind = fact.type.kind if isinstance(fact.type, ScalarType) else "category"
        if spec.date is not None and kind != "date":
            self.problems.append(Problem(f"column '{column}': '{spec.fact}' is {kind}, not a date", self._where(path)))
        if (spec.number is not None or spec.percent is not None) and kind not in ("number", "integer"):
            self.problems.append(
                Problem(f"column '{column}': '{spec.fact}' is {kind}, not a number", self._where(path))
            )
        insensitive = (spec.match or self.profile.spec.match) == "insensitive"
        values = None
        if spec.values is not None:
            values = {(normalise(k.strip()) if insensitive else k.strip()): v for k, v in spec.values.items()}
            if isinstance(fact.type, CategoryType):
                words = set(fact.type.values) | set(fact.type.canonical())
                for label, value in spec.values.items():
                    if value not in words:
                        self.problems.append(
                            Problem(
                                f"column '{column}': '{label}' maps to '{value}', which is not a {fact.type.name} value"
                                f" ({', '.join(fact.type.values)})",
                                self._where((*path, "values", label)),
                                did_you_mean(str(value), fact.type.values),
                            )
                        )
        categories = None
        if isinstance(fact.type, CategoryType) and insensitive:
            # the rulebook's synonyms (a stance 'opponent' for 'enemy') match like its values
            categories = {normalise(w): v for w, v in fact.type.canonical().items()}
            categories.update({normalise(v): v for v in fact.type.values})
        percent = None
        if spec.percent is not None:
            fact_scale = "0-1" if fact.maximum is not None and fact.maximum <= 1 else "0-100"
            percent = (spec.percent, fact_scale)
        return Column(
            column=column,
            target=target,
            fact=fact,
            values=values,
            insensitive=insensitive,
            unmapped_error=spec.unmapped == "error" or isinstance(fact.type, CategoryType),
            categories=categories,
            dates=tuple(spec.date or ()),
            number=spec.number,
            percent=percent,
        )

    # -- converting ---------------------------------------------------------------------------

    @property
    def known_columns(self) -> frozenset[str]:
        return frozenset(self.account.known())

    def is_missing(self, value: Any) -> bool:
        return value is None or (isinstance(value, str) and value.strip() in self.missing_values)

    def apply(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The record of facts a raw CRM record gives; :class:`InvalidRecord` naming every
        value that cannot be converted (its fact, the column it came from and the value)."""
        problems: list[FieldProblem] = []
        out = self._convert(self.account, raw, "", problems)
        if problems:
            raise InvalidRecord(self.account_id(raw, out), problems)
        return out

    def convert_partial(self, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldProblem]]:
        """The facts that convert and the problems of those that do not, so that a validator
        can report both at once."""
        problems: list[FieldProblem] = []
        return self._convert(self.account, raw, "", problems), problems

    def account_id(self, raw: Mapping[str, Any], converted: Mapping[str, Any] | None = None) -> str | None:
        if converted is not None and converted.get("id") not in (None, ""):
            return str(converted["id"])
        for column, fact in self.renames.items():
            if fact == "id" and raw.get(column) not in (None, ""):
                return str(raw[column])
        value = raw.get("id")
        return str(value) if value not in (None, "") else None

    def _convert(
        self, level: Level, raw: Mapping[str, Any], prefix: str, problems: list[FieldProblem]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        given_by: dict[str, str] = {}
        for key, value in raw.items():
            if key in level.columns:
                continue
            nested = level.nested.get(key)
            if nested is not None:
                fact_name, inner, is_list = nested
                self._put(
                    out,
                    given_by,
                    (fact_name,),
                    self._nested(inner, value, is_list, f"{prefix}{fact_name}", problems),
                    key,
                    prefix,
                    problems,
                )
            elif level.keep_unmapped:
                self._put(out, given_by, (key,), value, key, prefix, problems)
        for key, column in level.columns.items():
            if key not in raw or self.is_missing(raw[key]):
                continue
            value = raw[key]
            try:
                converted = column.convert(value)
            except ConversionFailed as exc:
                problems.append(FieldProblem(f"{prefix}{column.label}", f"{exc} (column '{key}')", value))
                continue
            self._put(out, given_by, column.target, converted, key, prefix, problems)
        return out

    def _nested(self, level: Level, value: Any, is_list: bool, label: str, problems: list[FieldProblem]) -> Any:
        if isinstance(value, str):
            if not value.strip():
                return None
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                problems.append(FieldProblem(label, f"is not valid JSON ({exc.msg})", value))
                return None
        if is_list and isinstance(value, list):
            return [
                self._convert(level, item, f"{label}[{i}].", problems) if isinstance(item, Mapping) else item
                for i, item in enumerate(value)
            ]
        if not is_list and isinstance(value, Mapping):
            return self._convert(level, value, f"{label}.", problems)
        return value  # the validator names what is wrong with it

    @staticmethod
    def _put(
        out: dict[str, Any],
        given_by: dict[str, str],
        target: tuple[str, ...],
        value: Any,
        column: str,
        prefix: str,
        problems: list[FieldProblem],
    ) -> None:
        holder = out
        for part in target[:-1]:
            inner = holder.get(part)
            if inner is None:  # no plan given, or a null one: the column starts it
                inner = holder[part] = {}
            if not isinstance(inner, dict):
                problems.append(FieldProblem(f"{prefix}{part}", f"is given as a whole and by column '{column}'", inner))
                return
            holder = inner
        label = ".".join(target)
        last = target[-1]
        if last in holder:
            first = f"by column '{given_by[label]}'" if label in given_by else f"in the {target[0]} record"
            problems.append(FieldProblem(f"{prefix}{label}", f"is given twice: {first} and by column '{column}'"))
            return
        holder[last] = value
        given_by[label] = column


class ProfiledValidator:
    """A record validator that reads records through a profile first: the engine's validator
    when a profile is in use, so every path that validates (batch, single account, columnar
    fallback rows) converts the same way."""

    def __init__(self, base: RecordValidator, profile: BoundProfile) -> None:
        self.base = base
        self.profile = profile
        self.schema = base.schema
        self.model = base.model
        self.renames = {**base.renames, **profile.renames}
        self.known_keys = profile.known_columns | (base.known_keys if profile.account.keep_unmapped else frozenset())

    def unknown_keys(self, raw: Mapping[str, Any]) -> list[str]:
        return [k for k in raw if k not in self.known_keys]

    def validate(self, raw: Mapping[str, Any]) -> Any:
        if not isinstance(raw, Mapping):
            return self.base.validate(raw)
        converted, problems = self.profile.convert_partial(raw)
        if not problems:
            return self.base.validate(converted)
        try:
            self.base.validate(converted)
        except InvalidRecord as exc:
            seen = {p.field for p in problems}
            problems = problems + [p for p in exc.problems if p.field not in seen and p.field.split(".")[0] not in seen]
        raise InvalidRecord(self.profile.account_id(raw, converted), problems)
