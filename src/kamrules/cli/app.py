"""The ``kamrules`` application object and what every command shares.

Each command group lives in a module of its own (``evaluate``, ``explain``, ``plans``,
``rulebook``, ``workbench``, ``policy_tests``, ...) and registers itself on :data:`app`;
``kamrules.cli.main`` imports them all. User mistakes (a bad rule file, an unreadable export,
a wrong option) are printed as a message without a traceback and end with one of the exit
codes in ``exit_codes``.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn, TextIO

try:
    import typer
    from rich.console import Console
    from rich.markup import escape
    from rich.text import Text
except ImportError:  # pragma: no cover - exercised only without the extra
    sys.stderr.write("the kamrules command needs the cli extra: pip install 'kamrules[cli]'\n")
    raise SystemExit(2) from None

from kamrules.cli import exit_codes
from kamrules.errors import RulebookError
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.sources import FORMATS, RawRecord, SourceError, account_id_of, read_records
from kamrules.rulebook import Rulebook, load_rulebook
from kamrules.suggestions import did_you_mean

if TYPE_CHECKING:
    from kamrules.portfolio.placement import Placement

app = typer.Typer(
    name="kamrules",
    help=(
        "Key Account Management rules: select key accounts, grade them into tiers, explain every decision.\n\n"
        "Exit codes: 0 ok; 1 some records could not be decided; 2 bad command line; "
        "3 invalid rulebook; 4 unreadable accounts input; 5 lint warnings; 6 decision register unusable."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)

RulesArg = Annotated[Path, typer.Argument(help="A rule file or a folder of rule files (e.g. rules/).")]
AccountsArg = Annotated[Path, typer.Argument(help="Accounts to evaluate: .jsonl, .json, .csv or .parquet.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="The date decisions are made for, YYYY-MM-DD (default: today, recorded)."),
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option("--input-format", help=f"Input format when the file name does not tell: {', '.join(FORMATS)}."),
]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")]
CrmOpt = Annotated[
    str | None,
    typer.Option(
        "--crm",
        help="Read the accounts through a CRM profile: a shipped one (salesforce, hubspot, dynamics) or a profile "
        "file. It maps the export's columns and values onto facts; decisions name it beside the rulebook.",
    ),
]
PlacementOpt = Annotated[
    Path | None,
    typer.Option(
        "--placement",
        help="Place the account against this saved portfolio placement (from `evaluate --save-placement`) "
        "instead of placing the whole accounts file first.",
    ),
]


def with_crm(engine: Engine, crm: str | None) -> Engine:
    """The engine reading records through the ``--crm`` profile; a profile that cannot be
    used (unreadable, or naming facts the rulebook lacks) is a bad command line, exit code 2."""
    if crm is None:
        return engine
    from kamrules.crm.profile import ProfileError

    try:
        return engine.with_profile(crm)
    except ProfileError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(exit_codes.USAGE) from None


def through_crm(rulebook: Rulebook, records: list[RawRecord], crm: str | None) -> list[RawRecord]:
    """Records converted by the ``--crm`` profile up front, for the workbench commands that
    build engines of their own (impact, sensitivity); a record the profile cannot convert
    becomes an unreadable record that names every field."""
    if crm is None:
        return records
    from kamrules.facts.records import InvalidRecord

    validator = with_crm(Engine(rulebook), crm).validator
    profile = getattr(validator, "profile", None)
    assert profile is not None
    converted = []
    for raw in records:
        if raw.data is None:
            converted.append(raw)
            continue
        try:
            converted.append(RawRecord(raw.line, profile.apply(raw.data)))
        except InvalidRecord as exc:
            converted.append(RawRecord(raw.line, None, str(exc)))
    return converted


def fail(message: str, code: int) -> NoReturn:
    """End the command with a message (no traceback) and an exit code."""
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, highlight=False)
    raise typer.Exit(code)


def cells(*values: object) -> list[Text]:
    """Table cells shown as they are: an account name such as ``Acme [emea]`` is the user's text,
    not Rich markup (which would swallow ``[emea]`` as an unknown style)."""
    return [Text(str(value)) for value in values]


def load(rules: Path) -> Rulebook:
    """The rulebook, or every problem with its file:line:column and exit code 3."""
    try:
        return load_rulebook(rules)
    except RulebookError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(exit_codes.INVALID_RULES) from None


def as_of_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"--as-of must be a date as YYYY-MM-DD, got '{value}'", exit_codes.USAGE)


def read_all(path: Path, fmt: str | None) -> list[RawRecord]:
    """Every record of an accounts file, or exit code 4 when the file cannot be read at all."""
    try:
        return list(read_records(path, fmt))
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)


def stream_records(path: Path, fmt: str | None) -> Iterator[RawRecord]:
    """The records of an accounts file one by one, never all at once (a batch decides a
    portfolio of millions in bounded memory); exit code 4 when the file cannot be read,
    found out before the first record is decided, or when it breaks off partway."""
    records = read_records(path, fmt)
    try:
        first = next(records, None)
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)

    def rest() -> Iterator[RawRecord]:
        if first is None:
            return
        yield first
        try:
            yield from records
        except SourceError as exc:
            fail(str(exc), exit_codes.INVALID_INPUT)

    return rest()


def only_account(engine: Engine, records: list[RawRecord], account: str, source: Path) -> list[RawRecord]:
    """The record of one account, or a message naming the nearest id."""
    ids = []
    for raw in records:
        if raw.data is None:
            continue
        record_id = account_id_of(raw.data, engine.validator.renames) or ""
        if record_id == account:
            return [raw]
        ids.append(record_id)
    hint = did_you_mean(account, ids)
    fail(f"no account '{account}' in {source}" + (f"; {hint}" if hint else ""), exit_codes.INVALID_INPUT)


def decide_one(engine: Engine, raw: RawRecord, as_of: dt.date) -> Outcome:
    """One record's outcome, or its error record printed and exit code 1."""
    from kamrules.evaluation.engine import account_error
    from kamrules.explanation.render import error_text
    from kamrules.facts.records import InvalidRecord

    if raw.data is None:
        fail(raw.problem or "the record cannot be read", exit_codes.RECORDS_FAILED)
    try:
        return engine.evaluate(engine.validate(raw.data), as_of)
    except InvalidRecord as exc:
        err.print(error_text(account_error(1, exc, raw.line)), markup=False)
        raise typer.Exit(exit_codes.RECORDS_FAILED) from None


def placed_alone(
    engine: Engine, outcome: Outcome, portfolio: list[RawRecord], as_of: dt.date, saved: Path | None
) -> Outcome:
    """One account's outcome as its portfolio places it.

    Tier capacity is a property of the portfolio, so a question about one account from a
    file is answered within that file (or a saved placement): the same tier, placement note
    and plan status ``evaluate`` gives, never "ranked 1st of 1"."""
    if not engine.has_capacity:
        return outcome
    from kamrules.portfolio.capacity import place_outcome

    return place_outcome(engine, outcome, placement_for(engine, portfolio, as_of, saved))


def placement_for(engine: Engine, portfolio: list[RawRecord], as_of: dt.date, saved: Path | None) -> Placement:
    """A saved placement (checked to be of this rulebook), or the placement of ``portfolio``."""
    from kamrules.portfolio.capacity import portfolio_placement
    from kamrules.portfolio.placement import Placement, PlacementError

    if saved is None:
        return portfolio_placement(engine, portfolio, as_of)
    try:
        return Placement.load(saved, engine)
    except PlacementError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)


def open_output(output: Path | None) -> TextIO:
    if output is None:
        return sys.stdout
    try:
        return output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)


def report(summary: Summary, errors_in_output: bool, output: Path | None) -> None:
    """The end-of-run line on stderr: records read, decided and failed, tiers, segments, plans."""
    tiers = ", ".join(f"{name} {count}" for name, count in summary.tiers.items())
    segments = ", ".join(f"{name} {count}" for name, count in summary.segments.items())
    plans = ", ".join(f"{name.replace('_', ' ')} {count}" for name, count in sorted(summary.compliance.items()))
    records = "record" if summary.read == 1 else "records"
    err.print(
        f"{summary.read:,} {records} read: {summary.decided:,} decided, {summary.errors:,} could not be decided. "
        f"Tiers: {tiers}." + (f" Segments: {segments}." if segments else "") + (f" Plans: {plans}." if plans else ""),
        markup=False,
    )
    if summary.unknown_columns:
        err.print(f"ignored columns no fact reads: {', '.join(summary.unknown_columns)}", markup=False)
    if summary.errors and errors_in_output:
        err.print("the error records are in the output, one per record that failed", markup=False)
    if output:
        err.print(f"written to {output}", markup=False)
