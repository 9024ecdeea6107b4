"""``kamrules check-plan``: what is missing in each account plan, who acts, by when."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, TextIO

import typer
from rich.console import Console
from rich.table import Table

from kamrules.cli import exit_codes
from kamrules.cli.app import (
    AccountsArg,
    AsOfOpt,
    CrmOpt,
    InputFormatOpt,
    OutputOpt,
    PlacementOpt,
    RulesArg,
    app,
    as_of_date,
    cells,
    decide_one,
    err,
    fail,
    load,
    only_account,
    open_output,
    placed_alone,
    read_all,
    report,
    with_crm,
)
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError, Decision
from kamrules.explanation.plan_reports import ACTION_COLUMNS, PLAN_COLUMNS, action_rows, plan_document, plan_row
from kamrules.explanation.render import compliance_markdown, compliance_text, error_text
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.batch import run as run_batch


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
    output: OutputOpt = None,
    input_format: InputFormatOpt = None,
    crm: CrmOpt = None,
    placement: PlacementOpt = None,
) -> None:
    """Check account plans: what is missing for each account's stage and tier, who acts, by when.

    Examples:

    `kamrules check-plan rules/ examples/accounts.jsonl --as-of 2026-11-01`

    `kamrules check-plan rules/ examples/accounts.jsonl --account ACC-00042 --format markdown`

    `kamrules check-plan rules/ examples/accounts.jsonl --status non_compliant --status at_risk -f actions -o tasks.csv`
    """
    rulebook = load(rules)
    engine = with_crm(Engine(rulebook), crm)
    if not engine.checks:
        fail(f"the rulebook {rulebook.id} has no plan_checks", exit_codes.INVALID_RULES)
    date = as_of_date(as_of)
    records = read_all(accounts, input_format)
    wanted = {s.value for s in status} if status else None
    summary = Summary()
    results: Iterator[Outcome | AccountError]
    if account is not None:
        # one account, placed within its portfolio first (capacity moves tiers, and plan checks apply by tier)
        (raw,) = only_account(engine, records, account, accounts)
        outcome = placed_alone(engine, decide_one(engine, raw, date), records, date, placement)
        summary.read = summary.decided = 1
        summary.tiers[outcome.tier] += 1
        summary.compliance[outcome.compliance_status or "not_applicable"] += 1
        results = iter([outcome])
    else:
        results = run_batch(engine, records, date, summary)
    handle = open_output(output)
    try:
        items = _plans(results, wanted)
        _write_plans(items, output_format, handle, summary)
    finally:
        if output:
            handle.close()
    report(summary, True, output)
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
                plans.append(plan_document(item))
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
                writer.writerow(plan_row(item))
            else:
                writer.writerows(action_rows(item))
    else:
        for item in items:
            if isinstance(item, AccountError):
                handle.write((item.model_dump_json() if fmt is PlanFormat.jsonl else error_text(item)) + "\n")
            elif fmt is PlanFormat.markdown:
                handle.write(compliance_markdown(item) + "\n")
            elif fmt is PlanFormat.text:
                handle.write(compliance_text(item) + "\n")
            else:
                handle.write(json.dumps(plan_document(item), ensure_ascii=False) + "\n")


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
        row = plan_row(item)
        table.add_row(*cells(*(str(row[c]).replace("_", " ") if c in ("stage", "plan") else row[c] for c in columns)))
    console.print(table)
    for error in errors:
        console.print(error_text(error), markup=False)
