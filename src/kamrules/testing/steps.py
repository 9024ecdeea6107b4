"""The step library: every Gherkin step a rulebook's features can use, in business language.

Nothing to register: installing kamrules with the ``bdd`` extra registers its pytest plugin
(:mod:`kamrules.testing.plugin`), which brings these steps, the portfolio steps
(:mod:`~kamrules.testing.steps_portfolio`) and the plan steps
(:mod:`~kamrules.testing.steps_plans`). A scenario's state lives in one fixture, ``policy``
(a :class:`PolicyWorld`); nothing else is shared between steps, so the library works
unchanged in any repository that has a ``rules/`` folder and ``features/``.

Setting the scene (Given)::

    the default rulebook                       the rule files in rules/ at pytest's rootdir (or
                                               --kamrules-rules; kamrules test RULES sets it)
    the rulebook "policies/2027"               a rule file or folder, relative to the rootdir
    the rulebook:                              the rules themselves, as YAML in a \"\"\" docstring
    the decision date is 2026-11-01            the as-of date (also "1 November 2026"; default: today)
    an account "A-1" with:                     a table of  | fact | value |  rows
    these accounts:                            a table with a header row of facts, one account a row
    account "A-1" has:                         changes to an account described before (say, in a
                                               Background): | fact | value |, an empty value removes it
    account "A-1" has a plan with:             | fact | value | rows of plan facts (status, mentor, ...)
    account "A-1" has these contacts:          a header row of the items' facts, one item a row; also
                                               team members, relationships, restrictions, plan reviews,
                                               sign-offs, objectives, customer objectives, competitors,
                                               service metrics, growth opportunities, management feedback
    account "A-1" has no plan                  (or: has no contacts, has no plan reviews, ...)
    the accounts in "examples/accounts.csv"    a CRM export: JSON Lines, JSON or CSV
    the CRM profile "salesforce"               read the accounts through a CRM profile (a shipped name,
                                               or a profile file relative to the rootdir); with one,
                                               'these accounts:' tables keep their cells exactly as
                                               the CRM writes them ("Key Account - Gold", "29/10/2026")

Acting (When)::

    the accounts are decided                   all together, as a portfolio: tier capacities apply
    the rulebook is loaded

Checking (Then)::

    account "A-1" is in tier "Gold"
    account "A-1" is a key account / is not a key account
    account "A-1" is in segment "Star"
    account "A-1" scores 66.25 on attractiveness          exact, to two decimals
    account "A-1" scores between 60 and 70 on attractiveness
    criterion "strategic_fit" gives account "A-1" 75 points
    gate "high_credit_risk" applies to account "A-1" / does not apply to account "A-1"
    the explanation of account "A-1" says "not Gold because"
    account "A-1" could not be decided because "is missing"
    every account is decided                   none of them is an error record
    account "A-1" was read with the CRM profile "salesforce"
    the rulebook loads
    loading the rulebook fails at line 7 because "unknown key 'wieght'"
    loading the rulebook fails because "no rule file or folder"
    the tiers are:                             a table  | account | tier |
    the decisions are:                         a table  | account | tier | segment | key account | <scorecard> |

  a portfolio (capacity, stability, overrides)::

    the rules alone put account "A-1" in tier "Gold"      before stability, an override and capacity
    account "A-1" is in the tier the rules alone give
    the placement of account "A-1" says "ranked 3rd of 40 eligible for Gold, capacity 20"
    tier "Gold" holds 20 accounts

  account plans and relationships::

    check "plan_agreed" passes for account "A-1"  /  fails for account "A-1"
    check "plan_agreed" fails for account "A-1" because "evidence missing"
    check "plan_agreed" does not apply to account "A-1"
    check "plan_agreed" of account "A-1" says "does not hold"   (its note, whatever the result)
    the plan checks of account "A-1" are:      a table  | check | result |  (passes, fails, does not apply)
    check "mentor_review_gold" of account "A-1" falls due on 2026-12-01
    check "mentor_review_gold" of account "A-1" is 12 days overdue
    the plan of account "A-1" is compliant     (or at risk, non compliant, not applicable)
    the plan of account "A-1" scores 83.33
    the plan of account "A-1" falls due next on 2026-12-01
    the relationship map of account "A-1" has status 3
    the plan report of account "A-1" says "Book the plan review"

In tables, an empty cell is a missing fact; numbers may be written 5,000,000 or 5_000_000
(a comma is always a thousands separator), and a trailing % is dropped (23.5% is 23.5);
yes/no and true/false are both understood, and category values may be written in words
("contract negotiation"). Facts are named as in the rulebook (``annual_revenue``, or
``annual revenue``, or the CRM column ``AnnualRevenue``); a fact the rulebook does not know
fails the scenario with a "did you mean", since a misspelt fact would otherwise be silently
left out. Scorecards, criteria, gates and plan checks are named by their id or their title.
A failing check names the step (file, line and scenario), says what was expected, what was
decided and why, and suggests a name when one is misspelt; an undefined step lists the
closest steps.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeVar

import pytest
from pytest_bdd import given, parsers, then, when
from pytest_bdd.parser import Feature, Scenario, Step

from kamrules.errors import Problem, RulebookError
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import (
    AccountError,
    CriterionResult,
    Decision,
    FieldError,
    GateResult,
    ScorecardResult,
)
from kamrules.explanation.render import error_text, to_text
from kamrules.facts.types import CategoryType, FactType, ListType, RecordType
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.batch import run as run_batch
from kamrules.portfolio.sources import RawRecord, SourceError, read_records
from kamrules.rulebook import load_rulebook, load_rulebook_text
from kamrules.suggestions import did_you_mean
from kamrules.testing.coverage import CoverageCollector
from kamrules.testing.session import SESSION

__all__ = ["PolicyWorld", "phrase", "policy"]

DEFAULT_RULES = "rules"
"""The default rulebook's folder, relative to pytest's rootdir."""

# -- phrases: step texts with typed slots -------------------------------------------------------

_SLOT = re.compile(r"\{(\w+)(?::(\w+))?\}")
_SLOT_PATTERNS = {
    "name": r'[^"]+',  # the default: a name between quotes
    "text": r".+",  # free text, possibly with quotes, at the end of a step
    "number": r"[+-]?\d[\d,_]*(?:\.\d+)?",
    "int": r"\d+",
}


PHRASES: dict[str, str] = {}
"""Every phrase's regular expression, and the template it was written as (for "did you mean")."""


def phrase(template: str, **kinds: str) -> parsers.re:
    """A step text with slots, matched exactly: ``account "{account}" scores {score:number} on {card:text}``.

    Slots are ``name`` (the default: no double quote), ``text`` (anything), ``number`` and
    ``int``, or a kind given as a keyword argument with its regular expression. Exact
    patterns keep every phrase distinct, so no step shadows another.
    """
    pattern = ""
    position = 0
    for slot in _SLOT.finditer(template):
        pattern += re.escape(template[position : slot.start()])
        kind = slot.group(2) or "name"
        pattern += f"(?P<{slot.group(1)}>{kinds.get(kind) or _SLOT_PATTERNS[kind]})"
        position = slot.end()
    pattern += re.escape(template[position:])
    PHRASES[pattern] = template
    return parsers.re(pattern)


# -- failures that read as policy ------------------------------------------------------------


_step_running: list[str] = ["", ""]
"""The step being run, for failure messages: its place, scenario and text; and its place alone."""


@pytest.hookimpl(optionalhook=True)
def pytest_bdd_before_step(feature: Feature, scenario: Scenario, step: Step) -> None:
    """Remember the step being run, so that a failure can say where it is written."""
    where = f"{feature.rel_filename}:{step.line_number}"
    _step_running[0] = f'{where}, in scenario "{scenario.name}": {step.keyword} {step.name}'
    _step_running[1] = where


@pytest.hookimpl(optionalhook=True)
def pytest_bdd_after_scenario() -> None:
    _step_running[0] = _step_running[1] = ""


def _fail(message: str) -> NoReturn:
    """Fail the scenario with a message for a policy owner, without a Python traceback."""
    __tracebackhide__ = True
    where = _step_running[0]
    pytest.fail(f"{where}\n{message}" if where else message, pytrace=False)


def _hint(word: str, candidates: Iterable[str]) -> str:
    hint = did_you_mean(word, candidates)
    return f" ({hint})" if hint else ""


def _listing(names: Iterable[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    return ", ".join(quoted) if quoted else "none"


def _number(text: str) -> Decimal:
    try:
        return Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        _fail(f'"{text}" is not a number')


def _show(value: Decimal) -> str:
    """A number as people write it: 66.25, 60, 1,000,000."""
    text = f"{value:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _flat(text: str) -> str:
    """Text with every run of spaces and line ends made one space, for substring checks."""
    return " ".join(text.split())


# -- account facts as written in feature tables -------------------------------------------------

_NUMBER_CELL = re.compile(r"[+-]?\d[\d,_]*(?:\.\d+)?%?")
_NESTED = ("plan", "contacts", "team", "relationships", "restrictions")


def _cell(key: str, text: str) -> Any:
    """A table cell as a raw fact value; None (missing) for an empty cell.

    A cell for the plan or a list (contacts, team, ...) may hold JSON; so may any cell that
    starts with [ or {.
    """
    value = text.strip()
    if not value:
        return None
    if key in _NESTED or value[0] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            if key in _NESTED:
                _fail(
                    f"the {key} cell is not valid JSON ({exc.msg}): {value}; or describe it in a table of its "
                    f"own, as in 'Given account \"<account>\" has these {key}:'"
                )
    if _NUMBER_CELL.fullmatch(value) and any(sep in value for sep in ",_%"):
        return value.replace(",", "").replace("_", "").rstrip("%")
    return value


def _facts(keys: Sequence[str], cells: Sequence[str]) -> dict[str, Any]:
    """One table row as facts; empty cells are left out (missing)."""
    facts = {key: _cell(key, cell) for key, cell in zip(keys, cells, strict=True)}
    return {key: value for key, value in facts.items() if value is not None}


def _rows(table: Sequence[Sequence[object]]) -> list[list[str]]:
    return [[str(cell) for cell in row] for row in table]


def _header_table(table: Sequence[Sequence[object]], what: str) -> tuple[list[str], list[list[str]]]:
    rows = _rows(table)
    if len(rows) < 2:
        _fail(f"{what} needs a header row naming the facts, then one row per {what.split()[-1]}")
    return [h.strip() for h in rows[0]], rows[1:]


def _fact_rows(account: str, table: Sequence[Sequence[object]]) -> list[tuple[str, str]]:
    """The (fact, value) rows of a two-column table; a header row | fact | value | is optional."""
    rows = _rows(table)
    if rows and [c.strip().lower() for c in rows[0]] == ["fact", "value"]:
        rows = rows[1:]
    pairs = []
    for row in rows:
        if len(row) != 2:
            _fail(
                f'the facts of account "{account}" are a table of two columns, | fact | value |, one fact a row '
                f"(say | annual_revenue | 3,000,000 |); this row has {len(row)}: | {' | '.join(row)} |"
            )
        key = row[0].strip()
        if _words(key) in ("id", "account", "account_id"):
            _fail(f'account "{account}" is named in the step; leave the "{key}" row out of its table')
        pairs.append((key, row[1]))
    return pairs


def _words(key: str) -> str:
    """A name written in words as an identifier: "Annual revenue" -> annual_revenue."""
    return "_".join(key.strip().lower().split())


def _fact_name(key: str, known: Iterable[str]) -> str:
    """The schema's name for a fact written in a table: the name, a CRM column, or in words."""
    names = set(known)
    if key in names:
        return key
    words = _words(key)
    if words == "account" and "id" in names:
        return "id"
    return words if words in names else key


# -- the scenario's state ----------------------------------------------------------------------


@dataclass
class PolicyWorld:
    """Everything one scenario has set up and found: the rulebook, accounts, date, decisions.

    Given steps fill it in; the rulebook is loaded and the accounts decided lazily, once,
    when a When or Then step first needs them. The accounts are decided together, as a
    portfolio: tier capacities rank them against each other, as in a batch run.
    """

    root: Path
    default_rules: Path | None = None
    """What 'Given the default rulebook' reads; None: rules/ under ``root``."""
    coverage: CoverageCollector | None = None
    """Where decisions are recorded for rule coverage, when the session measures it."""
    rulebook_source: Path | str | None = None
    """A rule file or folder, or the YAML text of a rulebook written in the feature."""
    as_of: dt.date | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    """Raw account records, in the order given."""
    written: dict[str, int] = field(default_factory=dict)
    """Accounts written in the feature itself, by id: index into ``records``."""
    described_at: dict[str, str] = field(default_factory=dict)
    """Where each account written in the feature is described ("portfolio.feature:12")."""
    unreadable: list[AccountError] = field(default_factory=list)
    engine: Engine | None = None
    load_error: RulebookError | None = None
    loaded: bool = False
    outcomes: dict[str, Outcome] | None = None
    profile: str | None = None
    """The CRM profile the accounts are read through (a shipped name or a file), if any."""
    errors: list[AccountError] = field(default_factory=list)
    _decisions: dict[str, Decision] = field(default_factory=dict)

    # -- setting up --

    def use_rulebook(self, source: Path | str) -> None:
        self.rulebook_source = source
        self.engine, self.load_error, self.loaded = None, None, False
        self.forget_decisions()

    def forget_decisions(self) -> None:
        self.outcomes = None
        self.errors = []
        self._decisions = {}

    def add_account(self, account_id: str, facts: Mapping[str, Any]) -> None:
        if account_id in self.written:
            _fail(
                f'account "{account_id}" is described twice in this scenario (first at '
                f"{self.described_at.get(account_id, 'an earlier step')}); describe each account once, and change "
                f"it with 'Given account \"{account_id}\" has:'"
            )
        self.written[account_id] = len(self.records)
        self.described_at[account_id] = _step_running[1] or "an earlier step"
        self.records.append({"id": account_id, **facts})
        self.forget_decisions()

    def record(self, account_id: str) -> dict[str, Any]:
        """The raw record of an account described earlier in the scenario."""
        if account_id not in self.written:
            hint = _hint(account_id, self.written)
            _fail(f'describe account "{account_id}" first, with \'Given an account "{account_id}" with:\'{hint}')
        return self.records[self.written[account_id]]

    def path(self, text: str) -> Path:
        path = Path(text)
        return path if path.is_absolute() else self.root / path

    def label(self, path: Path) -> str:
        """A rule file or folder as a person would name it: relative to the project's root when inside it."""
        try:
            return str(path.resolve().relative_to(self.root.resolve())) or "."
        except ValueError:
            return str(path)

    # -- the rulebook --

    def load(self) -> Engine | None:
        """Load the rulebook once; a :class:`RulebookError` is kept in ``load_error``."""
        if self.loaded:
            return self.engine
        if self.rulebook_source is None:
            _fail(
                "no rulebook: begin the scenario with 'Given the default rulebook', "
                "'Given the rulebook \"<file or folder>\"' or 'Given the rulebook:' and the rules"
            )
        try:
            self.engine = _compiled(self.rulebook_source)
        except RulebookError as exc:
            self.load_error = exc
        self.loaded = True
        if self.engine is not None and self.coverage is not None and isinstance(self.rulebook_source, Path):
            self.coverage.loaded(self.engine, self.label(self.rulebook_source))
        return self.engine

    def require_engine(self) -> Engine:
        engine = self.load()
        if engine is None:
            _fail(f"the rulebook could not be loaded, so no account can be decided.\n{self.load_error}")
        return engine

    # -- deciding --

    def decide(self) -> None:
        """Decide every account once, as a portfolio run does (tier capacities applied across
        all of them); an account that cannot be decided gets an error record."""
        engine = self.require_engine()
        if self.profile is not None:
            engine = self.profiled(engine)
        # with a CRM profile, accounts written in the feature are CRM records, as exported
        written = set(self.written.values()) if self.profile is None else set()
        records = [
            RawRecord(line=i + 1, data=self.conformed(engine, raw) if i in written else raw)
            for i, raw in enumerate(self.records)
        ]
        outcomes: dict[str, Outcome] = {}
        self.errors = list(self.unreadable)
        for result in run_batch(engine, records, self.as_of or dt.date.today(), Summary()):
            if isinstance(result, AccountError):
                self.errors.append(result)
            else:
                outcomes.setdefault(result.account_id, result)
        self.outcomes = outcomes
        self._decisions = {}
        if self.coverage is not None:
            source = self.label(self.rulebook_source) if isinstance(self.rulebook_source, Path) else None
            self.coverage.record(engine, source, list(outcomes.values()))

    def profiled(self, engine: Engine) -> Engine:
        """The engine reading records through the scenario's CRM profile."""
        from kamrules.crm.profile import ProfileError

        assert self.profile is not None
        path = self.path(self.profile)
        try:
            return engine.with_profile(path if path.is_file() else self.profile)
        except ProfileError as exc:
            _fail(str(exc))

    def decided(self) -> dict[str, Outcome]:
        if self.outcomes is None:
            self.decide()
        assert self.outcomes is not None
        return self.outcomes

    def known_ids(self) -> list[str]:
        ids = list(self.decided())
        ids += [e.account_id for e in self.errors if e.account_id and e.account_id not in ids]
        return ids

    def error_for(self, account_id: str) -> AccountError | None:
        self.decided()
        return next((e for e in self.errors if e.account_id == account_id), None)

    def decision(self, account_id: str) -> Decision:
        """The decision for an account, or a failure that says why there is none."""
        outcomes = self.decided()
        if account_id in self._decisions:
            return self._decisions[account_id]
        outcome = outcomes.get(account_id)
        if outcome is None:
            error = self.error_for(account_id)
            if error is not None:
                _fail(self.undecided(account_id, error))
            _fail(self.unknown_account(account_id))
        decision = outcome.decision()
        self._decisions[account_id] = decision
        return decision

    def conformed(self, engine: Engine, raw: Mapping[str, Any]) -> dict[str, Any]:
        """A record written in the feature, checked against the rulebook's facts (see :func:`_conform`)."""
        account = str(raw.get("id"))
        where = self.described_at.get(account)
        whose = f'account "{account}"' + (f" (described at {where})" if where else "")
        return _conform(engine.rulebook.schema.account, raw, whose)

    def check_facts(self, account_id: str) -> None:
        """Check an account's facts as soon as it is described, when the rulebook is known and loads,
        so that a misspelt fact fails at the table that has it."""
        if self.rulebook_source is None or self.profile is not None:
            return
        engine = self.load()
        if engine is not None:
            self.conformed(engine, self.record(account_id))

    def undecided(self, account_id: str, error: AccountError) -> str:
        """Why there is no decision to check, and the two ways out."""
        where = self.described_at.get(account_id)
        first = error.errors[0] if error.errors else None
        because = f"{first.field}: {first.message}" if first else error.message
        fix = f"the facts where it is described ({where})" if where else "its record"
        return (
            f'account "{account_id}" could not be decided, so there is nothing of it to check:\n'
            f"{error_text(error)}\n"
            f"Correct {fix}; or, if the policy is meant to refuse this account, say so:\n"
            f'    Then account "{account_id}" could not be decided because "{because}"'
        )

    def unknown_account(self, account_id: str) -> str:
        ids = self.known_ids()
        shown = _listing(ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
        return f'there is no account "{account_id}" in this scenario{_hint(account_id, ids)}; the accounts are {shown}'


def _conform(record: RecordType, raw: Mapping[str, Any], whose: str) -> dict[str, Any]:
    """A record written in the feature, with its facts named as the schema names them.

    Facts may be written by name, CRM column or in words ("annual revenue"), and category
    values in words ("contract negotiation" for contract_negotiation). A fact the schema
    does not know fails the scenario with a "did you mean": a misspelt fact would otherwise
    be silently left out. (Records read from a CRM export are left alone: exports carry
    columns no rule reads.)
    """
    fields = record.fields
    columns = {f.column: f.name for f in fields.values() if f.column}
    conformed: dict[str, Any] = {}
    for key, value in raw.items():
        name = columns.get(key) or _fact_name(key, fields)
        fact = fields.get(name)
        if fact is None or fact.derived:
            known = [n for n, f in fields.items() if not f.derived]
            what = "account" if record.name == "account" else f"a {record.name.replace('_', ' ')}"
            _fail(
                f'{whose} has a fact "{key}" that {what} does not have{_hint(key, known)}; '
                f"the facts of {what} are {', '.join(known)}"
            )
        conformed[name] = _conform_value(fact.type, value, f"{whose}, {name.replace('_', ' ')}")
    return conformed


def _conform_value(kind: FactType, value: Any, whose: str) -> Any:
    if isinstance(kind, CategoryType) and isinstance(value, str) and value not in kind.values:
        words = _words(value).replace("-", "_")
        return words if words in kind.values else value
    if isinstance(kind, RecordType) and isinstance(value, Mapping):
        return _conform(kind, value, whose)
    if isinstance(kind, ListType) and isinstance(value, list):
        return [_conform(kind.item, item, whose) if isinstance(item, Mapping) else item for item in value]
    return value


def _why(decision: Decision) -> str:
    return decision.summary


# -- rulebooks, compiled once per content -------------------------------------------------------

_ENGINES: dict[tuple[object, ...], Engine] = {}


def _fingerprint(path: Path) -> tuple[object, ...]:
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path] if path.exists() else []
    return (str(path.resolve()), *((str(f), f.stat().st_mtime_ns, f.stat().st_size) for f in files))


def _compiled(source: Path | str) -> Engine:
    """An engine for a rulebook; the same rules (same text, or unchanged files) compile once."""
    key = _fingerprint(source) if isinstance(source, Path) else ("text", source)
    engine = _ENGINES.get(key)
    if engine is None:
        rulebook = load_rulebook(source) if isinstance(source, Path) else load_rulebook_text(source)
        engine = _ENGINES[key] = Engine(rulebook)
    return engine


# -- looking things up by the names policy owners use ----------------------------------------------


class _Named(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def title(self) -> str | None: ...


N = TypeVar("N", bound=_Named)


def _find(kind: str, kinds: str, name: str, items: Sequence[N]) -> N:
    """The item named by its id or its title (in any case), or a failure listing what there is."""
    for item in items:
        if name in (item.id, item.title) or _words(name) in (item.id, _words(item.title or "")):
            return item
    every = [n for item in items for n in (item.id, item.title) if n]
    ids = [item.id for item in items]
    _fail(f'there is no {kind} "{name}" in the rulebook{_hint(name, every)}; the {kinds} are {_listing(ids)}')


def _scorecard(decision: Decision, name: str) -> ScorecardResult:
    return _find("scorecard", "scorecards", name, list(decision.scores.values()))


def _criterion(decision: Decision, name: str) -> CriterionResult:
    criteria = [c for card in decision.scores.values() for c in card.criteria]
    return _find("criterion", "criteria", name, criteria)


def _gate(decision: Decision, name: str) -> GateResult:
    return _find("gate", "gates", name, decision.gates)


def _check_tier_name(world: PolicyWorld, tier: str) -> None:
    engine = world.require_engine()
    names = engine.rulebook.tier_names
    if tier not in names:
        _fail(f'there is no tier "{tier}" in the rulebook{_hint(tier, names)}; the tiers are {_listing(names)}')


def _check_segment_name(world: PolicyWorld, segment: str) -> None:
    names = [s.name for s in world.require_engine().rulebook.spec.segments]
    if not names:
        _fail("the rulebook has no segments")
    if segment not in names:
        hint = _hint(segment, names)
        _fail(f'there is no segment "{segment}" in the rulebook{hint}; the segments are {_listing(names)}')


def _breakdown(card: ScorecardResult) -> str:
    """How a score was made, criterion by criterion, so the difference can be found by eye."""
    parts = []
    for c in card.criteria:
        flag = " (missing, left out)" if c.dropped else " (missing)" if c.missing else ""
        parts.append(f"{c.title or c.id} {_show(c.points)} points x weight {_show(c.weight)}{flag}")
    return (
        f"{_show(card.weighted_points)} weighted points / {_show(card.total_weight)} weight = {card.score}, "
        f"from: {'; '.join(parts)}"
    )


def _scores(decision: Decision) -> str:
    return ", ".join(f"{card.id} {card.score}" for card in decision.scores.values())


# -- the fixture ------------------------------------------------------------------------------


@pytest.fixture
def policy(request: pytest.FixtureRequest) -> PolicyWorld:
    """The scenario's state: the rulebook, the accounts, the decision date and what was decided."""
    kit = request.config.stash.get(SESSION, None)
    return PolicyWorld(
        root=Path(request.config.rootpath),
        default_rules=kit.rules if kit else None,
        coverage=kit.coverage if kit else None,
    )


# -- Given ------------------------------------------------------------------------------------


@given("the default rulebook")
def default_rulebook(policy: PolicyWorld) -> None:
    """The rule files in ``rules/`` at the project's root (or the folder given by ``--kamrules-rules``)."""
    policy.use_rulebook(policy.default_rules or policy.path(DEFAULT_RULES))


@given(phrase('the rulebook "{path}"'))
def rulebook_at(policy: PolicyWorld, path: str) -> None:
    """A rule file or folder, relative to the project's root."""
    policy.use_rulebook(policy.path(path))


@given("the rulebook:")
def rulebook_text(policy: PolicyWorld, docstring: str) -> None:
    """A rulebook written in the feature, as YAML in a docstring; its line 1 is the docstring's first line."""
    policy.use_rulebook(docstring)


_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y", "%B %d, %Y", "%d %b %Y")


def _date(text: str) -> dt.date:
    """A date as people write it: 2026-11-01, 1 November 2026, November 1, 2026 or 1 Nov 2026."""
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    _fail(f'"{text}" is not a date; write it as 2026-11-01 or 1 November 2026')


@given(phrase("the decision date is {date:text}"))
def decision_date(policy: PolicyWorld, date: str) -> None:
    """The as-of date of every decision in the scenario."""
    policy.as_of = _date(date)
    policy.forget_decisions()


@given(phrase('an account "{account}" with:'))
def an_account(policy: PolicyWorld, account: str, datatable: Sequence[Sequence[object]]) -> None:
    """One account, its facts in a two-column table (fact | value); a header row is optional."""
    facts = {key: _cell(key, cell) for key, cell in _fact_rows(account, datatable)}
    policy.add_account(account, {key: value for key, value in facts.items() if value is not None})
    policy.check_facts(account)


@given(phrase('account "{account}" has:'))
def account_has(policy: PolicyWorld, account: str, datatable: Sequence[Sequence[object]]) -> None:
    """Changes to an account described earlier (say, in a Background): facts set, or removed by an empty cell."""
    record = policy.record(account)
    for key, cell in _fact_rows(account, datatable):
        for same in [k for k in record if _words(k) == _words(key)]:
            del record[same]
        value = _cell(key, cell)
        if value is not None:
            record[key] = value
    policy.forget_decisions()
    policy.check_facts(account)


@given("these accounts:")
def these_accounts(policy: PolicyWorld, datatable: Sequence[Sequence[object]]) -> None:
    """Several accounts: a header row of facts (the first names the account), one row per account."""
    header, rows = _header_table(datatable, "a table of accounts")
    first = _words(header[0])
    if first not in ("account", "id", "account_id"):
        _fail(f'the first column of a table of accounts names the account: call it "account", not "{header[0]}"')
    for row in rows:
        if policy.profile is not None:  # the CRM's own text, for the profile to read
            facts = {key: cell.strip() for key, cell in zip(header[1:], row[1:], strict=True) if cell.strip()}
        else:
            facts = _facts(header[1:], row[1:])
        policy.add_account(row[0].strip(), facts)
        policy.check_facts(row[0].strip())


@given(phrase('the accounts in "{path}"'))
def accounts_in_file(policy: PolicyWorld, path: str) -> None:
    """Accounts from a CRM export (JSON Lines, JSON or CSV), relative to the project's root."""
    try:
        for raw in read_records(policy.path(path)):
            if raw.data is not None:
                policy.records.append(raw.data)
            else:
                problem = raw.problem or "unreadable"
                error = FieldError(field="(record)", message=problem)
                number = len(policy.records) + len(policy.unreadable) + 1
                policy.unreadable.append(
                    AccountError(record=number, line=raw.line, account_id=None, errors=[error], message=problem)
                )
    except SourceError as exc:
        _fail(str(exc))
    policy.forget_decisions()


@given(phrase('the CRM profile "{profile}"'))
def crm_profile(policy: PolicyWorld, profile: str) -> None:
    """Read the accounts through a CRM profile: a shipped one by name, or a file."""
    policy.profile = profile
    policy.forget_decisions()


# -- When -------------------------------------------------------------------------------------


@when("the accounts are decided")
def accounts_are_decided(policy: PolicyWorld) -> None:
    """Decide every account; those that cannot be decided are kept as errors for the Then steps."""
    if not policy.records and not policy.unreadable:
        _fail("there are no accounts to decide: describe some with 'Given an account ... with:' or 'these accounts:'")
    policy.decide()


@when("the rulebook is loaded")
def rulebook_is_loaded(policy: PolicyWorld) -> None:
    """Load the rulebook, keeping any error for the Then steps."""
    policy.load()


# -- Then: tiers, key accounts, segments ---------------------------------------------------------


@then(phrase('account "{account}" is in tier "{tier}"'))
def is_in_tier(policy: PolicyWorld, account: str, tier: str) -> None:
    _check_tier_name(policy, tier)
    decision = policy.decision(account)
    if decision.tier != tier:
        _fail(f'account "{account}" is in tier {decision.tier}, not {tier}: {_why(decision)}')


@then(phrase('account "{account}" is a key account'))
def is_key_account(policy: PolicyWorld, account: str) -> None:
    decision = policy.decision(account)
    if not decision.key_account:
        _fail(f'account "{account}" is not a key account (tier {decision.tier}): {_why(decision)}')


@then(phrase('account "{account}" is not a key account'))
def is_not_key_account(policy: PolicyWorld, account: str) -> None:
    decision = policy.decision(account)
    if decision.key_account:
        _fail(f'account "{account}" is a key account (tier {decision.tier}): {_why(decision)}')


@then(phrase('account "{account}" is in segment "{segment}"'))
def is_in_segment(policy: PolicyWorld, account: str, segment: str) -> None:
    _check_segment_name(policy, segment)
    decision = policy.decision(account)
    if decision.segment != segment:
        _fail(f'account "{account}" is in segment {decision.segment}, not {segment}: scores {_scores(decision)}')


# -- Then: scores and criteria ---------------------------------------------------------------------


@then(phrase('account "{account}" scores {score:number} on {scorecard:text}'))
def scores_exactly(policy: PolicyWorld, account: str, score: str, scorecard: str) -> None:
    """The score as the explanation shows it, rounded to two decimals."""
    decision = policy.decision(account)
    card = _scorecard(decision, scorecard)
    expected = _number(score)
    if card.score != expected:
        _fail(f'account "{account}" scores {card.score} on {card.id}, not {_show(expected)}: {_breakdown(card)}')


@then(phrase('account "{account}" scores between {low:number} and {high:number} on {scorecard:text}'))
def scores_between(policy: PolicyWorld, account: str, low: str, high: str, scorecard: str) -> None:
    """Both ends included."""
    decision = policy.decision(account)
    card = _scorecard(decision, scorecard)
    lowest, highest = _number(low), _number(high)
    if not lowest <= card.score <= highest:
        _fail(
            f'account "{account}" scores {card.score} on {card.id}, not between {_show(lowest)} and '
            f"{_show(highest)}: {_breakdown(card)}"
        )


@then(phrase('criterion "{criterion}" gives account "{account}" {points:number} points'))
def criterion_points(policy: PolicyWorld, criterion: str, account: str, points: str) -> None:
    decision = policy.decision(account)
    result = _criterion(decision, criterion)
    expected = _number(points)
    if result.points != expected:
        shown = "missing" if result.value is None else str(result.value)
        _fail(
            f'criterion "{result.id}" gives account "{account}" {_show(result.points)} points, not {_show(expected)}: '
            f"the value is {shown}, {result.matched}"
        )


# -- Then: gates ----------------------------------------------------------------------------


def _gate_facts(gate: GateResult) -> str:
    read = ", ".join(f"{k} = {'missing' if v is None else v}" for k, v in gate.evidence.items())
    return f"{gate.note} (read: {read})" if read else gate.note


@then(phrase('gate "{gate}" applies to account "{account}"'))
def gate_applies(policy: PolicyWorld, gate: str, account: str) -> None:
    result = _gate(policy.decision(account), gate)
    if not result.applied:
        _fail(f'gate "{result.id}" does not apply to account "{account}": {_gate_facts(result)}')


@then(phrase('gate "{gate}" does not apply to account "{account}"'))
def gate_does_not_apply(policy: PolicyWorld, gate: str, account: str) -> None:
    result = _gate(policy.decision(account), gate)
    if result.applied:
        _fail(f'gate "{result.id}" applies to account "{account}": {_gate_facts(result)}; {result.reason}')


# -- Then: explanations and errors ---------------------------------------------------------------


@then(phrase('the explanation of account "{account}" says "{text:text}"'))
def explanation_says(policy: PolicyWorld, account: str, text: str) -> None:
    """The plain-text explanation contains the text (spacing and line breaks do not matter)."""
    explanation = to_text(policy.decision(account))
    if _flat(text) not in _flat(explanation):
        _fail(f'the explanation of account "{account}" does not say "{text}". It reads:\n\n{explanation}')


@then(phrase('account "{account}" could not be decided because "{text:text}"'))
def could_not_be_decided(policy: PolicyWorld, account: str, text: str) -> None:
    error = policy.error_for(account)
    if error is None:
        outcomes = policy.decided()
        if account in outcomes:
            decision = policy.decision(account)
            _fail(f'account "{account}" was decided, in tier {decision.tier}: {_why(decision)}')
        _fail(policy.unknown_account(account))
    said = error_text(error)
    if _flat(text) not in _flat(said) and _flat(text) not in _flat(error.message):
        _fail(f'account "{account}" could not be decided, but not because "{text}":\n{said}')


# -- Then: loading rule files ------------------------------------------------------------------


def _problem_text(problem: Problem) -> str:
    return problem.message + (f" ({problem.hint})" if problem.hint else "")


def _load_problems(policy: PolicyWorld) -> list[Problem]:
    policy.load()
    if policy.load_error is None:
        _fail("loading the rulebook was expected to fail, but it loads without a problem")
    return policy.load_error.problems


@then("every account is decided")
def every_account_decided(policy: PolicyWorld) -> None:
    """No account is an error record (each error is shown, with why)."""
    policy.decided()
    if policy.errors:
        shown = "\n".join(error_text(e) for e in policy.errors[:5])
        _fail(f"{len(policy.errors)} account(s) could not be decided:\n{shown}")


@then(phrase('account "{account}" was read with the CRM profile "{profile}"'))
def read_with_profile(policy: PolicyWorld, account: str, profile: str) -> None:
    """The decision names the CRM profile that read its facts."""
    named = policy.decision(account).profile
    if named is None or named.name != profile:
        _fail(f'account "{account}" was read with {f"the CRM profile {named.name!r}" if named else "no CRM profile"}')


@then("the rulebook loads")
def rulebook_loads(policy: PolicyWorld) -> None:
    policy.load()
    if policy.load_error is not None:
        _fail(str(policy.load_error))


@then(phrase('loading the rulebook fails at line {line:int} because "{text:text}"'))
def loading_fails_at_line(policy: PolicyWorld, line: str, text: str) -> None:
    problems = _load_problems(policy)
    on_line = [p for p in problems if p.location is not None and p.location.line == int(line)]
    if not any(_flat(text) in _flat(_problem_text(p)) for p in on_line):
        found = "\n".join(f"  {p}" for p in problems)
        _fail(f'loading the rulebook fails, but not at line {line} because "{text}". The problems are:\n{found}')


@then(phrase('loading the rulebook fails because "{text:text}"'))
def loading_fails(policy: PolicyWorld, text: str) -> None:
    problems = _load_problems(policy)
    if not any(_flat(text) in _flat(_problem_text(p)) for p in problems):
        found = "\n".join(f"  {p}" for p in problems)
        _fail(f'loading the rulebook fails, but not because "{text}". The problems are:\n{found}')


# -- Then: many accounts at once -------------------------------------------------------------------


_YES = {"yes": True, "true": True, "no": False, "false": False}


Check = Callable[[Decision, str], "str | None"]


def _column_check(policy: PolicyWorld, column: str) -> Check:
    """A function (decision, expected cell) -> mismatch text or None, for one table column."""
    name = _words(column)
    if name == "tier":
        return lambda d, want: None if d.tier == want else f"tier {d.tier}, not {want}: {_why(d)}"
    if name == "segment":
        return lambda d, want: None if d.segment == want else f"segment {d.segment}, not {want}: scores {_scores(d)}"
    if name == "key_account":

        def key_account(d: Decision, want: str) -> str | None:
            if want.strip().lower() not in _YES:
                _fail(f'write yes or no in the "{column}" column, not "{want}"')
            if d.key_account == _YES[want.strip().lower()]:
                return None
            return f"{'is' if d.key_account else 'is not'} a key account (tier {d.tier}), not {want}: {_why(d)}"

        return key_account
    engine = policy.require_engine()
    cards = {c.id: c.id for c in engine.rulebook.scorecards}
    cards.update({c.title: c.id for c in engine.rulebook.scorecards if c.title})
    card_id = cards.get(column.strip()) or cards.get(name)
    if card_id is None:
        options = list(dict.fromkeys(["account", "tier", "segment", "key account", *cards]))
        hint = _hint(column, options)
        _fail(f'a decisions table has no column "{column}"{hint}; the columns can be {_listing(options)}')

    def score(d: Decision, want: str) -> str | None:
        card = d.scores[card_id]
        if card.score == _number(want):
            return None
        return f"scores {card.score} on {card_id}, not {want}: {_breakdown(card)}"

    return score


@then("the tiers are:")
@then("the decisions are:")
def decisions_are(policy: PolicyWorld, datatable: Sequence[Sequence[object]]) -> None:
    """A table with a header row: account, then any of tier, segment, key account and scorecards."""
    header, rows = _header_table(datatable, "a table of decisions")
    if _words(header[0]) not in ("account", "id", "account_id"):
        _fail(f'the first column of a table of decisions names the account: call it "account", not "{header[0]}"')
    checks = [(column, _column_check(policy, column)) for column in header[1:]]
    for column, _ in checks:
        if _words(column) == "tier":
            for row in rows:
                _check_tier_name(policy, row[header.index(column)].strip())
    mismatches = []
    for row in rows:
        account = row[0].strip()
        decision = policy.decision(account)
        for (_, check), cell in zip(checks, row[1:], strict=True):
            if cell.strip():
                problem = check(decision, cell.strip())
                if problem:
                    mismatches.append(f'  account "{account}": {problem}')
    if mismatches:
        _fail(f"{len(mismatches)} of the decisions differ from the table:\n" + "\n".join(mismatches))
