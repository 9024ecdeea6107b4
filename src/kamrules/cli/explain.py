"""``kamrules explain``: one account's decision, and what it would take to reach a tier."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import (
    AccountsArg,
    AsOfOpt,
    CrmOpt,
    InputFormatOpt,
    PlacementOpt,
    RulesArg,
    app,
    as_of_date,
    decide_one,
    fail,
    load,
    only_account,
    placed_alone,
    placement_for,
    read_all,
    with_crm,
)
from kamrules.evaluation.engine import Engine
from kamrules.explanation.render import to_json, to_markdown, to_text
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.sources import RawRecord
from kamrules.suggestions import did_you_mean


class ExplainFormat(StrEnum):
    text = "text"
    markdown = "markdown"
    json = "json"


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
    crm: CrmOpt = None,
    placement: PlacementOpt = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the decision as an HTML page with pictures to this file.")
    ] = None,
) -> None:
    """Explain one account's decision: every criterion, gate and tier test.

    With tier capacities, the account is placed within the whole accounts file (or the saved
    `--placement`) first, so it gets the tier, placement note and plan status `evaluate` gives.

    Examples:

    `kamrules explain rules/ examples/accounts.jsonl --account ACC-00042 --as-of 2026-11-01`

    `kamrules explain rules/ examples/accounts.jsonl --account ACC-00042 --to Gold`
    """
    engine = with_crm(Engine(load(rules)), crm)
    date = as_of_date(as_of)
    all_records = read_all(accounts, input_format)
    records = only_account(engine, all_records, account, accounts)
    if to is not None:
        _explain_to(engine, all_records, records[0], to, date, output_format, placement)
        return
    outcome = decide_one(engine, records[0], date)
    decision = placed_alone(engine, outcome, all_records, date, placement).decision()
    if html is not None:
        from kamrules.cli.report import report_module, write_html

        write_html(report_module("account_report").render(decision, engine.rulebook), html)
        return
    if output_format is ExplainFormat.json:
        typer.echo(to_json(decision))
    elif output_format is ExplainFormat.markdown:
        typer.echo(to_markdown(decision))
    else:
        typer.echo(to_text(decision), nl=False)


def _explain_to(
    engine: Engine,
    portfolio: list[RawRecord],
    raw: RawRecord,
    target: str,
    date: dt.date,
    fmt: ExplainFormat,
    saved: Path | None,
) -> None:
    """What it would take for one account to reach ``target``, within its portfolio: a full
    tier's cut-off (the last account admitted) is part of what it takes."""
    from kamrules.workbench.counterfactual import what_would_it_take

    if target not in engine.tier_index:
        hint = did_you_mean(target, engine.tier_index)
        fail(f"there is no tier '{target}'" + (f"; {hint}" if hint else ""), exit_codes.USAGE)
    assert raw.data is not None
    try:
        record = engine.validate(raw.data)
    except InvalidRecord as exc:
        fail(str(exc), exit_codes.RECORDS_FAILED)
    placement = placement_for(engine, portfolio, date, saved) if engine.has_capacity else None
    try:
        result = what_would_it_take(engine, record, target, date, placement=placement)
    except InvalidRecord as exc:
        fail(str(exc), exit_codes.RECORDS_FAILED)
    if fmt is ExplainFormat.json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(result.to_text(markdown=fmt is ExplainFormat.markdown))
