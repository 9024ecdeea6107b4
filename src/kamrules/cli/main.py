"""``kamrules``: validate rulebooks, evaluate accounts, explain decisions.

User mistakes (a bad rule file, an unreadable export, a wrong option) are printed as a
message without a traceback and end with one of the exit codes in ``exit_codes``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TextIO

try:
    import typer
    from rich.console import Console
    from rich.table import Table
except ImportError:  # pragma: no cover - exercised only without the extra
    sys.stderr.write("the kamrules command needs the cli extra: pip install 'kamrules[cli]'\n")
    raise SystemExit(2) from None

from kamrules._version import __version__
from kamrules.cli import exit_codes
from kamrules.errors import KamrulesError, RulebookError
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError, Decision
from kamrules.explanation.render import (
    compliance_markdown,
    compliance_text,
    error_text,
    to_json,
    to_markdown,
    to_text,
)
from kamrules.facts.records import InvalidRecord
from kamrules.facts.schema import DEFAULT_SCHEMA
from kamrules.portfolio.batch import Summary, flat_columns, flat_row
from kamrules.portfolio.batch import run as run_batch
from kamrules.portfolio.sources import FORMATS, RawRecord, SourceError, account_id_of, read_records
from kamrules.rulebook import Rulebook, RulebookSpec, load_rulebook
from kamrules.suggestions import did_you_mean

app = typer.Typer(
    name="kamrules",
    help=(
        "Key Account Management rules: select key accounts, grade them into tiers, explain every decision.\n\n"
        "Exit codes: 0 ok; 1 some records could not be decided; 2 bad command line; "
        "3 invalid rulebook; 4 unreadable accounts input; 5 lint warnings."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="markdown",
)
err = Console(stderr=True, highlight=False, soft_wrap=True)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    markdown = "markdown"
    parquet = "parquet"


class EngineChoice(StrEnum):
    auto = "auto"
    columnar = "columnar"
    per_account = "per-account"


COLUMNAR_ROWS = 20_000
"""With --engine auto, flat output of an input larger than this is decided in columns."""


class ExplainFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


RulesArg = Annotated[Path, typer.Argument(help="A rule file or a folder of rule files (e.g. rules/).")]
AccountsArg = Annotated[Path, typer.Argument(help="Accounts to evaluate: .jsonl, .json or .csv.")]
AsOfOpt = Annotated[
    str | None,
    typer.Option("--as-of", help="The date decisions are made for, YYYY-MM-DD (default: today, recorded)."),
]
InputFormatOpt = Annotated[
    str | None,
    typer.Option("--input-format", help=f"Input format when the file name does not tell: {', '.join(FORMATS)}."),
]


def _fail(message: str, code: int) -> NoReturn:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False)
    raise typer.Exit(code)


def _load(rules: Path) -> Rulebook:
    try:
        return load_rulebook(rules)
    except RulebookError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(exit_codes.INVALID_RULES) from None


def _as_of(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"--as-of must be a date as YYYY-MM-DD, got '{value}'", exit_codes.USAGE)


def _records(path: Path, fmt: str | None) -> list[RawRecord]:
    try:
        return list(read_records(path, fmt))
    except SourceError as exc:
        _fail(str(exc), exit_codes.INVALID_INPUT)


@app.command()
def validate(rules: RulesArg) -> None:
    """Check a rulebook: every problem with its file:line:column.

    Example: `kamrules validate rules/`
    """
    rulebook = _load(rules)
    criteria = sum(len(s.criteria) for s in rulebook.scorecards)
    spec = rulebook.spec
    typer.echo(
        f"{rulebook.id} {rulebook.version} is valid: {len(rulebook.scorecards)} scorecard(s), {criteria} criteria, "
        f"{len(spec.gates)} gate(s), {len(spec.tiers)} tiers, {len(spec.segments)} segment(s), "
        f"{len(spec.plan_checks)} plan check(s)"
    )
    typer.echo(f"content hash {rulebook.content_hash}")


@app.command()
def schema() -> None:
    """Print the rulebook's JSON Schema, for editors that complete and validate YAML.

    Example: `kamrules schema > kamrules.schema.json`
    """
    document = RulebookSpec.model_json_schema(by_alias=True)
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "kamrules rulebook"
    typer.echo(json.dumps(document, indent=2, sort_keys=True))


@app.command()
def facts(
    rules: Annotated[
        Path | None, typer.Argument(help="A rulebook whose custom facts and CRM columns to include.")
    ] = None,
) -> None:
    """List the facts rules can read: name, type, allowed range, CRM column, meaning.

    Example: `kamrules facts rules/`
    """
    schema = _load(rules).schema if rules else DEFAULT_SCHEMA
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
    for title, record, prefix in (
        ("Account facts", schema.account, "account."),
        ("Plan facts", schema.plan, "plan."),
        ("Contact facts (inside count/any/all over contacts)", schema.contact, ""),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("fact", no_wrap=True)
        for column in ("type", "range", "CRM column", "meaning"):
            table.add_column(column, overflow="fold")
        for fact in record.fields.values():
            bounds = [f"{b:g}" if b is not None else "" for b in (fact.minimum, fact.maximum)]
            table.add_row(
                prefix + fact.name + (" (custom)" if fact.custom else ""),
                fact.type.describe() + (", required" if fact.required else ""),
                " to ".join(bounds) if any(bounds) else "",
                fact.column or "",
                fact.description,
            )
        console.print(table)


@app.command()
def evaluate(
    rules: RulesArg,
    accounts: AccountsArg,
    as_of: AsOfOpt = None,
    output_format: Annotated[OutputFormat, typer.Option("--format", "-f", help="Output format.")] = OutputFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    input_format: InputFormatOpt = None,
    overrides: Annotated[
        Path | None,
        typer.Option("--overrides", help="Pinned tiers: a CSV/JSONL of account, tier, reason, approver, expires."),
    ] = None,
    engine_choice: Annotated[
        EngineChoice,
        typer.Option(
            "--engine",
            help=(
                "auto: the columnar evaluator for flat output (csv, parquet) when the input is Parquet or has "
                f"more than {COLUMNAR_ROWS:,} rows and the rulebook compiles to columns; columnar; per-account."
            ),
        ),
    ] = EngineChoice.auto,
) -> None:
    """Decide every account: tier, segment, scores, and the explanation.

    Examples:

    `kamrules evaluate rules/ examples/accounts.jsonl --as-of 2026-11-01`

    `kamrules evaluate rules/ examples/accounts.csv --format csv -o decisions.csv`

    `kamrules evaluate rules/ accounts.parquet --format parquet -o decisions.parquet`
    """
    rulebook = _load(rules)
    engine = Engine(rulebook)
    date = _as_of(as_of)
    if overrides is not None and engine_choice is EngineChoice.columnar:
        _fail("--overrides needs the per-account engine; leave out --engine columnar", exit_codes.USAGE)
    if overrides is None and _evaluate_columnar(
        engine, accounts, input_format, output_format, output, date, engine_choice
    ):
        return
    records = _with_overrides(engine, _records(accounts, input_format), overrides)
    summary = Summary()
    results = run_batch(engine, _progress(records), date, summary)
    handle = _open_output(output)
    try:
        _write(engine, results, output_format, handle, summary)
    finally:
        if output:
            handle.close()
    _report(summary, output_format is not OutputFormat.table, output)
    if summary.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)


# -- the columnar batch path (kamrules.portfolio.columnar) ------------------------------------

FLAT_FORMATS = (OutputFormat.csv, OutputFormat.parquet, OutputFormat.jsonl)


def _evaluate_columnar(
    engine: Engine,
    accounts: Path,
    input_format: str | None,
    fmt: OutputFormat,
    output: Path | None,
    date: dt.date,
    choice: EngineChoice,
) -> bool:
    """Decide and write the batch through the columnar evaluator when it applies; False to
    leave the run to the per-account path (explanations, or a small input under auto).

    The columnar evaluator writes flat rows (kamrules.portfolio.evaluate_frame's columns);
    Parquet output is always written that way, by either engine."""
    if fmt is OutputFormat.parquet and output is None:
        _fail("--format parquet writes a binary file: give the file with -o/--output", exit_codes.USAGE)
    if choice is EngineChoice.columnar and fmt not in FLAT_FORMATS:
        _fail("the columnar engine writes flat rows: use --format csv, jsonl or parquet", exit_codes.USAGE)
    if choice is EngineChoice.per_account and fmt is not OutputFormat.parquet:
        return False
    if choice is EngineChoice.auto and fmt not in (OutputFormat.csv, OutputFormat.parquet):
        return False
    try:
        from kamrules.portfolio.api import columnar_engine
        from kamrules.portfolio.frames import read_table, write_frame
        from kamrules.portfolio.sources import detect_format
    except ImportError:  # pragma: no cover - exercised only without the extra
        if fmt is OutputFormat.parquet or choice is EngineChoice.columnar:
            _fail("the columnar evaluator needs polars: pip install 'kamrules[dataframes]'", exit_codes.USAGE)
        return False
    compiled = columnar_engine(engine)
    try:
        kind = detect_format(accounts, input_format)
        if choice is EngineChoice.auto and fmt is OutputFormat.csv and not compiled.compiles:
            return False  # the rulebook has no exact columnar form: the per-account CSV
        table = read_table(accounts, kind, compiled.nested)
    except SourceError as exc:
        _fail(str(exc), exit_codes.INVALID_INPUT)
    if choice is EngineChoice.auto and fmt is OutputFormat.csv and kind != "parquet" and table.rows <= COLUMNAR_ROWS:
        return False
    use: Literal["per-account", "auto"] = "per-account" if choice is EngineChoice.per_account else "auto"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fallback is reported below, once
        result = compiled.evaluate(table, date, engine=use)
    if output is not None:
        try:
            write_frame(result.frame, output, fmt.value)
        except OSError as exc:
            _fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)
    elif fmt is OutputFormat.csv:
        sys.stdout.write(result.frame.write_csv())
    else:
        sys.stdout.write(result.frame.write_ndjson())
    if result.fallback and choice is not EngineChoice.per_account:
        err.print(f"note: {result.fallback}", markup=False)
    _report(result.summary, True, output)
    if result.summary.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)
    return True


def _progress(records: list[RawRecord]) -> Iterable[RawRecord]:
    """A progress bar on a terminal while a long per-account batch is decided."""
    if not err.is_terminal or len(records) < 2_000:
        return records
    from rich.progress import track

    return track(records, description="Deciding accounts", console=err, transient=True)


def _write(
    engine: Engine, items: Iterator[Outcome | AccountError], fmt: OutputFormat, handle: TextIO, summary: Summary
) -> None:
    if fmt is OutputFormat.jsonl:
        for item in items:
            model = item.decision() if isinstance(item, Outcome) else item
            handle.write(model.model_dump_json() + "\n")
    elif fmt is OutputFormat.json:
        decisions, errors = [], []
        for item in items:
            if isinstance(item, Outcome):
                decisions.append(item.decision().model_dump(mode="json"))
            else:
                errors.append(item.model_dump(mode="json"))
        json.dump(
            {"decisions": decisions, "errors": errors, "summary": summary.as_dict()},
            handle,
            indent=2,
            ensure_ascii=False,
        )
        handle.write("\n")
    elif fmt is OutputFormat.csv:
        writer = csv.DictWriter(handle, fieldnames=flat_columns(engine), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for number, item in enumerate(items, start=1):
            writer.writerow(flat_row(engine, item, number))
    elif fmt is OutputFormat.markdown:
        handle.write(f"# Decisions: {engine.rulebook.id} {engine.rulebook.version}\n\n")
        errors_md: list[str] = []
        for item in items:
            if isinstance(item, Outcome):
                handle.write(to_markdown(item.decision()) + "\n")
            else:
                errors_md.append(f"- record {item.record}: {item.message}")
        if errors_md:
            handle.write("## Records that could not be decided\n\n" + "\n".join(errors_md) + "\n")
    else:
        _table(engine, items, handle)


def _table(engine: Engine, items: Iterator[Outcome | AccountError], handle: TextIO) -> None:
    console = Console(file=handle, highlight=False, width=160 if not handle.isatty() else None)
    table = Table(title=f"{engine.rulebook.id} {engine.rulebook.version}", show_lines=False)
    table.add_column("account")
    table.add_column("name", max_width=30, overflow="ellipsis", no_wrap=True)
    table.add_column("tier")
    table.add_column("segment")
    for card in engine.cards:
        table.add_column(card.id, justify="right")
    table.add_column("why", max_width=70, overflow="fold")
    errors: list[AccountError] = []
    for item in items:
        if isinstance(item, AccountError):
            errors.append(item)
            continue
        decision = item.decision()
        table.add_row(
            decision.account_id,
            decision.account_name or "",
            decision.tier,
            decision.segment or "",
            *[str(decision.scores[c.id].score) for c in engine.cards],
            decision.summary.split("; ", 1)[1] if "; " in decision.summary else "",
        )
    console.print(table)
    for error in errors:
        console.print(error_text(error), markup=False)


def _report(summary: Summary, errors_in_output: bool, output: Path | None) -> None:
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


@app.command()
def explain(
    rules: RulesArg,
    accounts: AccountsArg,
    account: Annotated[str, typer.Option("--account", "-a", help="The id of the account to explain.")],
    as_of: AsOfOpt = None,
    output_format: Annotated[ExplainFormat, typer.Option("--format", "-f", help="Output format.")] = ExplainFormat.text,
    to: Annotated[
        str | None, typer.Option("--to", help="Say what it would take to reach (or drop to) this tier.")
    ] = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Explain one account's decision: every criterion, gate and tier test.

    Examples:

    `kamrules explain rules/ examples/accounts.jsonl --account ACC-00042 --as-of 2026-11-01`

    `kamrules explain rules/ examples/accounts.jsonl --account ACC-00042 --to Gold`
    """
    engine = Engine(_load(rules))
    date = _as_of(as_of)
    all_records = _records(accounts, input_format)
    records = _only(engine, all_records, account, accounts)
    if to is not None:
        _explain_to(engine, all_records, records[0], to, date, output_format)
        return
    (item,) = run_batch(engine, records, date, Summary())
    if isinstance(item, AccountError):
        typer.echo(error_text(item), err=True)
        raise typer.Exit(exit_codes.RECORDS_FAILED)
    decision = item.decision()
    if output_format is ExplainFormat.json:
        typer.echo(to_json(decision))
    elif output_format is ExplainFormat.markdown:
        typer.echo(to_markdown(decision))
    else:
        typer.echo(to_text(decision), nl=False)


def _explain_to(
    engine: Engine, portfolio: list[RawRecord], raw: RawRecord, target: str, date: dt.date, fmt: ExplainFormat
) -> None:
    """What it would take for one account to reach ``target``, within its portfolio."""
    from kamrules.portfolio.capacity import cutoffs, has_capacity
    from kamrules.workbench.counterfactual import what_would_it_take

    if target not in engine.tier_index:
        hint = did_you_mean(target, engine.tier_index)
        _fail(f"there is no tier '{target}'" + (f"; {hint}" if hint else ""), exit_codes.USAGE)
    assert raw.data is not None
    try:
        record = engine.validate(raw.data)
    except InvalidRecord as exc:
        _fail(str(exc), exit_codes.RECORDS_FAILED)
    cutoff = None
    if has_capacity(engine):
        placed = [o for o in run_batch(engine, portfolio, date, Summary()) if isinstance(o, Outcome)]
        mine = next(o for o in placed if o.account_id == record.id)  # type: ignore[attr-defined]
        cutoff = cutoffs(engine, placed).get(engine.tier_index[target]) if mine.tier != target else None
    result = what_would_it_take(engine, record, target, date, cutoff)
    if fmt is ExplainFormat.json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    verb = "reach" if result.direction == "reach" else "drop to"
    bullet = "- " if fmt is ExplainFormat.markdown else "  "
    lines = [f"Account {result.account_id} is {result.tier} (score {result.score}). To {verb} {target}:"]
    lines += [
        f"{bullet}{card} score: {gap} points {'short' if result.direction == 'reach' else 'above'}"
        for card, gap in result.gaps.items()
    ]
    lines += [f"{bullet}{note}" for note in result.notes]
    if result.suggestions:
        lines.append("Smallest changes that do it (each checked by re-evaluating the account):")
        for n, s in enumerate(result.suggestions, start=1):
            lines.append(f"{bullet}{n}. " + "; ".join(str(c) for c in s.changes) + f" => {s.tier}, score {s.score}")
    if result.never_enough:
        lines.append("Never enough on their own:")
        lines += [f"{bullet}{line}" for line in result.never_enough]
    typer.echo("\n".join(lines))


class PlanFormat(StrEnum):
    table = "table"
    text = "text"
    markdown = "markdown"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    actions = "actions"


class PlanStatus(StrEnum):
    compliant = "compliant"
    at_risk = "at_risk"
    non_compliant = "non_compliant"
    not_applicable = "not_applicable"


@app.command("check-plan")
def check_plan(
    rules: RulesArg,
    accounts: AccountsArg,
    account: Annotated[str | None, typer.Option("--account", "-a", help="Only this account.")] = None,
    status: Annotated[
        list[PlanStatus] | None,
        typer.Option("--status", "-s", help="Only accounts whose plan has this status (repeat for several)."),
    ] = None,
    as_of: AsOfOpt = None,
    output_format: Annotated[
        PlanFormat,
        typer.Option(
            "--format",
            "-f",
            help="table, text, markdown (the account manager's report), json, jsonl, csv (a row per "
            "account) or actions (a CSV row per failed check: who acts, by when, for a CRM task).",
        ),
    ] = PlanFormat.table,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    input_format: InputFormatOpt = None,
) -> None:
    """Check account plans: what is missing for each account's stage and tier, who acts, by when.

    Examples:

    `kamrules check-plan rules/ examples/accounts.jsonl --as-of 2026-11-01`

    `kamrules check-plan rules/ examples/accounts.jsonl --account ACC-00042 --format markdown`

    `kamrules check-plan rules/ examples/accounts.jsonl --status non_compliant --status at_risk -f actions -o tasks.csv`
    """
    rulebook = _load(rules)
    engine = Engine(rulebook)
    if not engine.checks:
        _fail(f"the rulebook {rulebook.id} has no plan_checks", exit_codes.INVALID_RULES)
    date = _as_of(as_of)
    records = _records(accounts, input_format)
    if account is not None:
        records = _only(engine, records, account, accounts)
    wanted = {s.value for s in status} if status else None
    summary = Summary()
    handle = _open_output(output)
    try:
        items = _plans(run_batch(engine, records, date, summary), wanted)
        _write_plans(items, output_format, handle, summary)
    finally:
        if output:
            handle.close()
    _report(summary, True, output)
    if summary.errors:
        raise typer.Exit(exit_codes.RECORDS_FAILED)


def _plans(items: Iterator[Outcome | AccountError], wanted: set[str] | None) -> Iterator[Decision | AccountError]:
    """The explained decisions (and the records that could not be decided), those whose plan
    has a wanted status only; a record that could not be decided is always shown."""
    for item in items:
        if isinstance(item, AccountError):
            yield item
        elif wanted is None or item.compliance_status in wanted:
            yield item.decision()


PLAN_COLUMNS = (
    "account_id",
    "account_name",
    "tier",
    "stage",
    "plan",
    "score",
    "blockers",
    "majors",
    "minors",
    "next_due",
    "map_status",
    "missing_facts",
)
ACTION_COLUMNS = (
    "account_id",
    "account_name",
    "tier",
    "stage",
    "plan",
    "severity",
    "check",
    "title",
    "why",
    "what_to_do",
    "who",
    "due",
    "overdue_days",
    "items_at_fault",
)


def _write_plans(items: Iterator[Decision | AccountError], fmt: PlanFormat, handle: TextIO, summary: Summary) -> None:
    if fmt is PlanFormat.table:
        _plan_table(items, handle)
    elif fmt is PlanFormat.json:
        # One JSON document, like `evaluate --format json`: plans, errors and the summary.
        plans, errors = [], []
        for item in items:
            if isinstance(item, AccountError):
                errors.append(item.model_dump(mode="json"))
            else:
                plans.append(_plan_document(item))
        document = {"plans": plans, "errors": errors, "summary": summary.as_dict()}
        handle.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
    elif fmt in (PlanFormat.csv, PlanFormat.actions):
        columns = PLAN_COLUMNS if fmt is PlanFormat.csv else ACTION_COLUMNS
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for item in items:
            if isinstance(item, AccountError):
                err.print(error_text(item), markup=False)  # the summary counts it; the CSV stays rows of plans
            elif fmt is PlanFormat.csv:
                writer.writerow(_plan_row(item))
            else:
                writer.writerows(_action_rows(item))
    else:
        for item in items:
            if isinstance(item, AccountError):
                handle.write((item.model_dump_json() if fmt is PlanFormat.jsonl else error_text(item)) + "\n")
            elif fmt is PlanFormat.markdown:
                handle.write(compliance_markdown(item) + "\n")
            elif fmt is PlanFormat.text:
                handle.write(compliance_text(item) + "\n")
            else:
                handle.write(json.dumps(_plan_document(item), ensure_ascii=False) + "\n")


def _plan_row(d: Decision) -> dict[str, Any]:
    c = d.compliance
    assert c is not None
    return {
        "account_id": d.account_id,
        "account_name": d.account_name or "",
        "tier": d.tier,
        "stage": c.stage or "",
        "plan": c.status,
        "score": "" if c.score is None else str(c.score),
        "blockers": c.failed["blocker"],
        "majors": c.failed["major"],
        "minors": c.failed["minor"],
        "next_due": c.next_due.isoformat() if c.next_due else "",
        "map_status": c.map_status,
        "missing_facts": "; ".join(c.missing_facts),
    }


_SEVERITY_RANK = {"blocker": 0, "major": 1, "minor": 2}


def _action_rows(d: Decision) -> list[dict[str, Any]]:
    """One row per failed check of one account, the most severe and most overdue first."""
    c = d.compliance
    assert c is not None
    failed = [x for x in c.checks if x.applies and not x.passed]
    failed.sort(key=lambda x: (_SEVERITY_RANK[x.severity], x.due or d.as_of, x.id))
    return [
        {
            "account_id": d.account_id,
            "account_name": d.account_name or "",
            "tier": d.tier,
            "stage": c.stage or "",
            "plan": c.status,
            "severity": x.severity,
            "check": x.id,
            "title": x.title,
            "why": x.note,
            "what_to_do": x.remediation or "",
            "who": x.owner or "",
            "due": (x.due or d.as_of).isoformat(),
            "overdue_days": x.overdue_days or "",
            "items_at_fault": "; ".join(g.described() for g in x.at_fault),
        }
        for x in failed
    ]


def _plan_document(decision: Decision) -> dict[str, Any]:
    """One account's plan compliance as JSON: the decision's compliance, with what names it."""
    return {
        "kind": "plan",
        "account_id": decision.account_id,
        "account_name": decision.account_name,
        "tier": decision.tier,
        "as_of": decision.as_of.isoformat(),
        "rulebook": decision.rulebook.model_dump(mode="json"),
        "compliance": decision.compliance.model_dump(mode="json") if decision.compliance else None,
    }


def _only(engine: Engine, records: list[RawRecord], account: str, source: Path) -> list[RawRecord]:
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
    _fail(f"no account '{account}' in {source}" + (f"; {hint}" if hint else ""), exit_codes.INVALID_INPUT)


def _with_overrides(engine: Engine, records: list[RawRecord], path: Path | None) -> list[RawRecord]:
    """Merge a policy owner's overrides file into the records (the file wins)."""
    if path is None:
        return records
    from kamrules.portfolio.overrides import OverridesError, apply_overrides, read_overrides

    try:
        pinned = read_overrides(path)
    except OverridesError as exc:
        _fail(str(exc), exit_codes.INVALID_INPUT)
    merged, unknown = apply_overrides(records, pinned, engine.validator.renames)
    if unknown:
        err.print(f"overrides for accounts not in the input: {', '.join(unknown)}", markup=False)
    return merged


def _open_output(output: Path | None) -> TextIO:
    if output is None:
        return sys.stdout
    try:
        return output.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        _fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)


def _plan_table(items: Iterator[Decision | AccountError], handle: TextIO) -> None:
    """The CSV's columns (but the missing facts), headed and written for people."""
    console = Console(file=handle, highlight=False, width=160 if not handle.isatty() else None)
    table = Table(title="Account plans")
    columns = [c for c in PLAN_COLUMNS if c != "missing_facts"]
    headings = {"account_id": "account", "account_name": "name", "next_due": "next due", "map_status": "map"}
    for column in columns:
        table.add_column(headings.get(column, column), no_wrap=column in ("account_id", "next_due"))
    errors: list[AccountError] = []
    for item in items:
        if isinstance(item, AccountError):
            errors.append(item)
            continue
        row = _plan_row(item)
        table.add_row(*(str(row[c]).replace("_", " ") if c in ("stage", "plan") else str(row[c]) for c in columns))
    console.print(table)
    for error in errors:
        console.print(error_text(error), markup=False)


# -- the policy owner's workbench -----------------------------------------------------------


class LintFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def lint(
    rules: RulesArg,
    accounts: Annotated[
        Path | None, typer.Option("--accounts", help="A portfolio to check capacities against (.jsonl/.json/.csv).")
    ] = None,
    output_format: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format.")] = LintFormat.text,
) -> None:
    """Warn about rules that are valid but probably not what is meant (exit code 5 when any).

    Example: `kamrules lint rules/ --accounts examples/accounts.jsonl`
    """
    from kamrules.workbench.lint import lint as run_lint

    rulebook = _load(rules)
    size = len(_records(accounts, None)) if accounts else None
    findings = run_lint(rulebook, size)
    if output_format is LintFormat.json:
        typer.echo(
            json.dumps(
                {"rulebook": rulebook.id, "version": rulebook.version, "warnings": [f.as_dict() for f in findings]},
                indent=2,
            )
        )
    else:
        for finding in findings:
            typer.echo(str(finding))
        typer.echo(f"{len(findings)} warning(s) in {rulebook.id} {rulebook.version}", err=True)
    if findings:
        raise typer.Exit(exit_codes.LINT_WARNINGS)


@app.command()
def impact(
    old_rules: Annotated[Path, typer.Argument(help="The rulebook in force (file or folder).")],
    new_rules: Annotated[Path, typer.Argument(help="The proposed rulebook.")],
    accounts: AccountsArg,
    as_of: AsOfOpt = None,
    output_format: Annotated[LintFormat | None, typer.Option("--format", "-f", help="text, markdown or json.")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="Write the report as Markdown.")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    input_format: InputFormatOpt = None,
) -> None:
    """What a rule change does to a portfolio: rule diff, tier movement, and why each account moved.

    Example: `kamrules impact rules/ proposed-rules/ examples/accounts.jsonl --as-of 2026-11-01 --markdown`
    """
    from kamrules.workbench import impact as impact_report

    old, new = _load(old_rules), _load(new_rules)
    result = impact_report.impact(old, new, _records(accounts, input_format), _as_of(as_of))
    if output_format is LintFormat.json:
        text = json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"
    elif markdown:
        text = impact_report.to_markdown(result)
    else:
        text = impact_report.to_text(result)
    handle = _open_output(output)
    try:
        handle.write(text)
    finally:
        if output:
            handle.close()


@app.command()
def sensitivity(
    rules: RulesArg,
    accounts: AccountsArg,
    step: Annotated[float, typer.Option("--step", help="Points to move each weight by, down and up.")] = 5,
    as_of: AsOfOpt = None,
    output_format: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format.")] = LintFormat.text,
    input_format: InputFormatOpt = None,
) -> None:
    """Which weights matter: accounts that change tier when each weight moves by --step.

    Example: `kamrules sensitivity rules/ examples/accounts.jsonl --step 5 --as-of 2026-11-01`
    """
    from decimal import Decimal, InvalidOperation

    from kamrules.workbench.sensitivity import sensitivity as run_sensitivity

    try:
        amount = Decimal(str(step)).normalize()
    except InvalidOperation:
        _fail(f"--step must be a number, got {step}", exit_codes.USAGE)
    if amount <= 0:
        _fail("--step must be more than 0", exit_codes.USAGE)
    rulebook = _load(rules)
    records = _records(accounts, input_format)
    effects = run_sensitivity(rulebook, records, _as_of(as_of), amount)
    if output_format is LintFormat.json:
        typer.echo(
            json.dumps(
                [
                    {
                        "criterion": e.criterion,
                        "scorecard": e.scorecard,
                        "weight": float(e.weight),
                        "down": e.down,
                        "up": e.up,
                    }
                    for e in effects
                ],
                indent=2,
            )
        )
        return
    table = Table(title=f"Accounts that change tier when a weight moves by {amount} ({len(records)} accounts)")
    for column in ("criterion", "scorecard", "weight", f"-{amount}", f"+{amount}"):
        table.add_column(column, justify="right" if column not in ("criterion", "scorecard") else "left")
    for e in sorted(effects, key=lambda e: -(max(e.up, e.down or 0))):
        table.add_row(e.criterion, e.scorecard, str(e.weight), "-" if e.down is None else str(e.down), str(e.up))
    Console(highlight=False, width=None if sys.stdout.isatty() else 120).print(table)


# -- kamrules test: the Gherkin test kit (kamrules.testing) ------------------------------------


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test_command(
    ctx: typer.Context,
    rules: RulesArg,
    features: Annotated[Path, typer.Argument(help="A folder of .feature files, or one .feature file.")],
    coverage: Annotated[
        bool, typer.Option("--coverage", help="Report the rule cases (bands, gates, tiers, ...) no scenario exercised.")
    ] = False,
    min_coverage: Annotated[
        str | None,
        typer.Option("--min-coverage", metavar="PCT", help="Fail when rule coverage is below PCT percent."),
    ] = None,
    cucumber_json: Annotated[
        Path | None, typer.Option("--cucumber-json", help="Also write a Cucumber JSON report to this file.")
    ] = None,
) -> None:
    """Run a rulebook's Gherkin features with kamrules' step library: no step code, no test module.

    'Given the default rulebook' reads RULES. Arguments after `--` go to pytest.

    Examples:

    `kamrules test rules/ features/`

    `kamrules test rules/ features/ --min-coverage 100 --cucumber-json reports/cucumber.json`

    `kamrules test rules/ features/ -- -k capacity -x`

    Exit codes: 0 every scenario passed; 1 a scenario failed, or coverage is below the minimum;
    2 bad command line (or pytest interrupted); 3 RULES is an invalid rulebook; 4 bad pytest
    usage; 5 no scenario ran.
    """
    from decimal import Decimal, InvalidOperation

    _load(rules)  # an invalid rulebook is reported once, with every problem, before any scenario
    if not features.exists():
        _fail(f"no features at '{features}': give a folder of .feature files", exit_codes.USAGE)
    minimum = None
    if min_coverage is not None:
        try:
            minimum = Decimal(min_coverage.rstrip("%"))
        except InvalidOperation:
            minimum = Decimal(-1)
        if not Decimal(0) <= minimum <= Decimal(100):
            _fail(f"--min-coverage takes a percentage from 0 to 100, not '{min_coverage}'", exit_codes.USAGE)
    from kamrules.testing.runner import available, run_features

    if not available():
        _fail("kamrules test needs the bdd extra: pip install 'kamrules[bdd]'", exit_codes.USAGE)
    code = run_features(
        rules, features, coverage=coverage, min_coverage=minimum, cucumber_json=cucumber_json, extra=list(ctx.args)
    )
    raise typer.Exit(code)


# -- kamrules docs: the rulebook as a printable document (kamrules.explanation.rulebook_docs) ------


@app.command("docs")
def docs_command(
    rules: RulesArg,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--format",
            "-f",
            metavar="markdown|html",
            help="markdown or html (default: html when the -o file ends in .html or .htm, else markdown).",
        ),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
) -> None:
    """Document a rulebook for the people it decides for: scorecards, gates, tiers, plan checks.

    HTML is one self-contained, printable page. The output depends only on the rulebook (and
    the kamrules version), so it can be committed and diffed.

    Examples:

    `kamrules docs rules/ -o rulebook.md`

    `kamrules docs rules/ --format html -o rulebook.html`
    """
    from kamrules.explanation.rulebook_docs import FORMATS, render

    fmt = output_format
    if fmt is None:
        fmt = "html" if output is not None and output.suffix.lower() in (".html", ".htm") else "markdown"
    if fmt not in FORMATS:
        hint = did_you_mean(fmt, FORMATS)
        _fail(f"--format must be markdown or html, not '{fmt}'" + (f"; {hint}" if hint else ""), exit_codes.USAGE)
    text = render(_load(rules), "html" if fmt == "html" else "markdown")
    if output is None:
        sys.stdout.write(text)
        return
    handle = _open_output(output)
    try:
        handle.write(text)
    finally:
        handle.close()
    err.print(f"written to {output}", markup=False)


# -- end of kamrules docs ---------------------------------------------------------------------


@app.command()
def version() -> None:
    """Print the kamrules version."""
    typer.echo(__version__)


def run_cli() -> None:
    try:
        app()
    except KamrulesError as exc:  # a user mistake that slipped past a command's own handling
        err.print(f"error: {exc}", markup=False)
        raise SystemExit(exit_codes.INVALID_INPUT) from None


run = run_cli  # console-script entry point
