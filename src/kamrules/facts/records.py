"""Account records: validating raw CRM data against the fact schema.

A raw record is a mapping from a CRM export (a JSON object, a CSV row, a dataframe row).
Its keys may be fact names or the CRM columns the rulebook maps onto facts, so a
Salesforce- or HubSpot-style export needs no code. Validation is pydantic's, with the model
built once per schema; a record that does not fit yields :class:`InvalidRecord` naming the
account and each field, so that a batch can record it and go on.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, create_model

from kamrules.errors import RecordError
from kamrules.facts.schema import FactSchema
from kamrules.facts.types import CategoryType, FactField, FactType, ListType, RecordType, ScalarType
from kamrules.suggestions import did_you_mean


class FactRecord(BaseModel):
    """Base of the generated record models: extra CRM columns are ignored, not errors,
    because exports routinely carry dozens of columns no rule reads."""

    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True)


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field of one record that does not fit, with the value that was given."""

    field: str
    message: str
    value: Any = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


SHOWN_PER_PROBLEM = 3
"""Items of a list shown with the same problem before the rest are counted ("and 660 more
contacts with a problem in role"): an account with 666 bad contacts is one error to fix in
the CRM, not a thousand lines. The full list stays in ``InvalidRecord.problems`` and in the
``errors`` of the JSON error record."""

_INDEX = re.compile(r"\[\d+\]")


def summarise_problems(problems: Sequence[tuple[str, str]]) -> list[str]:
    """``field: message`` lines, each problem of list items shown for its first few items
    and then counted, in the order the problems first occur."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for field, message in problems:
        groups.setdefault(_INDEX.sub("[*]", field), []).append((field, message))
    lines: list[str] = []
    for pattern, group in groups.items():
        lines += [f"{field}: {message}" for field, message in group[:SHOWN_PER_PROBLEM]]
        rest = len(group) - SHOWN_PER_PROBLEM
        if rest > 0:
            head, _, tail = pattern.rpartition("[*]")
            items = head.rsplit(".", 1)[-1].split("[", 1)[0] or "items"
            what = tail.lstrip(".") or "the item itself"
            lines.append(f"and {rest} more {items} with a problem in {what}")
    return lines


class InvalidRecord(RecordError):
    """A record that cannot be decided, with every field problem found."""

    def __init__(self, account_id: str | None, problems: list[FieldProblem]) -> None:
        self.account_id = account_id
        self.problems = problems
        who = f"account '{account_id}'" if account_id else "a record without an account id"
        super().__init__(f"{who}: " + "; ".join(summarise_problems([(p.field, p.message) for p in problems])))


def _python_type(fact: FactField) -> Any:
    t: FactType = fact.type
    if isinstance(t, CategoryType):
        base: Any = Literal[t.values]
        if t.synonyms:
            words = t.canonical()
            base = Annotated[base, BeforeValidator(lambda v: words.get(v, v) if isinstance(v, str) else v)]
    elif isinstance(t, ScalarType):
        base = {
            "number": float,
            "integer": int,
            "text": str,
            "boolean": bool,
            "date": dt.date,
        }[t.kind]
    else:  # nested records and lists are built by the caller
        raise TypeError(f"no scalar type for {t}")
    constraints: dict[str, Any] = {}
    if fact.minimum is not None:
        constraints["ge"] = fact.minimum
    if fact.maximum is not None:
        constraints["le"] = fact.maximum
    if isinstance(t, ScalarType) and t.kind == "number":
        constraints["allow_inf_nan"] = False
    if constraints:
        base = Annotated[base, Field(**constraints)]
    return base


def _model_for(record: RecordType, name: str) -> type[FactRecord]:
    """A pydantic model for one record type, nested records and lists included.

    Derived facts are left out: they are computed from the rulebook, and a value supplied
    in the input is ignored like any other extra column.
    """
    definitions: dict[str, Any] = {}
    for fact in record.fields.values():
        if fact.derived:
            definitions[fact.name] = (bool | None, None)
            continue
        if isinstance(fact.type, RecordType):
            nested = _model_for(fact.type, _model_name(fact.type.name))
            definitions[fact.name] = (nested | None, None)
            continue
        if isinstance(fact.type, ListType):
            item = _model_for(fact.type.item, _model_name(fact.type.item.name))
            # `null` for a list is a missing list: like an absent key, no items
            items = Annotated[list[item], BeforeValidator(_no_items_for_null)]  # type: ignore[valid-type]
            definitions[fact.name] = (items, Field(default_factory=list))
            continue
        py = _python_type(fact)
        definitions[fact.name] = (py, ...) if fact.required else (py | None, None)
    return create_model(name, __base__=FactRecord, **definitions)


def _no_items_for_null(value: Any) -> Any:
    return [] if value is None else value


def _model_name(item: str) -> str:
    return "".join(part.capitalize() for part in item.split("_"))


class RecordValidator:
    """Validates raw records for one fact schema; build once, call per record."""

    def __init__(self, schema: FactSchema) -> None:
        self.schema = schema
        self.model = _model_for(schema.account, "AccountRecord")
        fields = schema.account.fields.values()
        self.renames = {f.column: f.name for f in fields if f.column}
        self.known_keys = frozenset(schema.account.fields) | frozenset(self.renames)

    def unknown_keys(self, raw: Mapping[str, Any]) -> list[str]:
        """Keys no fact reads, top-level columns and keys inside nested records alike
        (``plan.competitor_assesment``, ``contacts[].linkedin``): reported once per batch so a
        mistyped column or a field the rulebook does not declare is noticed, not dropped."""
        unknown = [k for k in raw if k not in self.known_keys]
        for key, value in raw.items():
            fact = self.schema.account.fields.get(self.renames.get(key, key))
            if fact is not None and isinstance(value, (Mapping, list)):
                _nested_unknown(fact, value, key, unknown)
        return unknown

    def validate(self, raw: Mapping[str, Any]) -> FactRecord:
        """A validated record, or :class:`InvalidRecord` naming every bad field."""
        if not isinstance(raw, Mapping):
            raise InvalidRecord(
                None, [FieldProblem("(record)", f"expected an object of facts, got {type(raw).__name__}")]
            )
        problems: list[FieldProblem] = []
        data = self._renamed(raw, problems) if self.renames else raw
        account_id = data.get("id")
        if isinstance(account_id, str) and not account_id.strip():
            problems.append(FieldProblem("id", "is blank; every account needs its CRM id", account_id))
        try:
            record = self.model.model_validate(data)
        except ValidationError as exc:
            problems += [self._problem(e, data) for e in exc.errors(include_url=False)]
        if problems:
            raise InvalidRecord(
                str(account_id) if account_id is not None and str(account_id).strip() else None, problems
            ) from None
        return record

    def _renamed(self, raw: Mapping[str, Any], problems: list[FieldProblem]) -> dict[str, Any]:
        """The record under fact names. A fact given both under its name and under its CRM
        column is an error naming both: which of two values is meant is not ours to guess."""
        data: dict[str, Any] = {}
        given: dict[str, str] = {}
        for key, value in raw.items():
            name = self.renames.get(key, key)
            if value is None and name in data:
                continue
            if name in given and data[name] is not None:
                problems.append(
                    FieldProblem(
                        name,
                        f"is given twice, as '{given[name]}' ({data[name]!r}) and as '{key}' ({value!r}); "
                        "give it under one of the two",
                        value,
                    )
                )
                continue
            data[name] = value
            given[name] = key
        return data

    def _problem(self, error: Mapping[str, Any], data: Mapping[str, Any]) -> FieldProblem:
        loc = tuple(error["loc"])
        label = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else str(p)) for i, p in enumerate(loc))
        value = error.get("input")
        kind = error["type"]
        if kind == "missing":
            return FieldProblem(label, "is required but missing")
        if kind == "literal_error":
            fact = self._fact_at(loc)
            if fact is not None and isinstance(fact.type, CategoryType):
                values = fact.type.values
                return FieldProblem(
                    label,
                    f"'{value}' is not a {fact.type.name} value ({', '.join(values)})"
                    + (f"; {did_you_mean(str(value), values)}" if did_you_mean(str(value), values) else ""),
                    value,
                )
        if kind in ("greater_than_equal", "less_than_equal"):
            bound = error.get("ctx", {}).get("ge", error.get("ctx", {}).get("le"))
            word = "at least" if kind == "greater_than_equal" else "at most"
            return FieldProblem(label, f"must be {word} {_plain(bound)}, got {_plain(value)}", value)
        if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
            expected = "a whole number" if kind.startswith("int") else "a number"
            return FieldProblem(label, f"must be {expected}, got {value!r}", value)
        if kind == "finite_number":
            return FieldProblem(label, "must be a finite number", value)
        if kind == "string_type":
            return FieldProblem(label, f"must be text, got {_kind_of(value)}", _plain_value(value))
        if kind in ("bool_parsing", "bool_type"):
            return FieldProblem(label, f"must be true or false, got {value!r}", value)
        if kind.startswith("date"):
            return FieldProblem(label, f"must be a date as YYYY-MM-DD, got {value!r}", value)
        if kind in ("model_type", "model_attributes_type", "dict_type"):
            return FieldProblem(label, f"must be an object, got {type(value).__name__}", value)
        if kind == "list_type":
            return FieldProblem(label, f"must be a list, got {type(value).__name__}", value)
        return FieldProblem(label, str(error["msg"]), value)

    def _fact_at(self, loc: tuple[Any, ...]) -> FactField | None:
        """The schema field a pydantic error location points at, through records and lists."""
        record: RecordType | None = self.schema.account
        fact: FactField | None = None
        for part in loc:
            if isinstance(part, int):
                continue
            if record is None:
                return None
            fact = record.fields.get(str(part))
            if fact is None:
                return None
            record = (
                fact.type
                if isinstance(fact.type, RecordType)
                else fact.type.item
                if isinstance(fact.type, ListType)
                else None
            )
        return fact


def _kind_of(value: Any) -> str:
    return {dict: "an object", list: "a list", bool: "true or false"}.get(type(value), type(value).__name__)


def _plain_value(value: Any) -> Any:
    """A value small enough to repeat in an error record."""
    return value if not isinstance(value, dict | list) else _kind_of(value)


def _plain(value: Any) -> str:
    if isinstance(value, float) and not math.isinf(value) and value == int(value):
        return str(int(value))
    return str(value)


def _nested_unknown(fact: FactField, value: Any, label: str, found: list[str]) -> None:
    """Unknown keys of a nested record or of the items of a list, by dotted label."""
    t = fact.type
    if isinstance(t, RecordType) and isinstance(value, Mapping):
        record, items, prefix = t, [value], label
    elif isinstance(t, ListType) and isinstance(value, list):
        record, items, prefix = t.item, value, f"{label}[]"
    else:
        return
    for item in items:
        if not isinstance(item, Mapping):
            continue
        for key, inner in item.items():
            field = record.fields.get(key)
            if field is None:
                name = f"{prefix}.{key}"
                if name not in found:
                    found.append(name)
            elif isinstance(inner, (Mapping, list)):
                _nested_unknown(field, inner, f"{prefix}.{key}", found)
