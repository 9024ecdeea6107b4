"""``kamrules explain``: one account's decision, and what it would take to reach a tier."""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum
from typing import Annotated

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import (
    AccountsArg,
    AsOfOpt,
    InputFormatOpt,
    RulesArg,
    app,
    as_of_date,
    fail,
    load,
    only_account,
    read_all,
)
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.explanation.render import error_text, to_json, to_markdown, to_text
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.batch import run as run_batch
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
) -> None:
    """Explain one account's decision: every criterion, gate and tier test.

    Examples:

    `kamrules explain rules/ examples/accounts.jsonl --account ACC-00042 --as-of 2026-11-01`

    `kamrules explain rules/ examples/accounts.jsonl --account ACC-00042 --to Gold`
    """
    engine = Engine(load(rules))
    date = as_of_date(as_of)
    all_records = read_all(accounts, input_format)
    records = only_account(engine, all_records, account, accounts)
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
        fail(f"there is no tier '{target}'" + (f"; {hint}" if hint else ""), exit_codes.USAGE)
    assert raw.data is not None
    try:
        record = engine.validate(raw.data)
    except InvalidRecord as exc:
        fail(str(exc), exit_codes.RECORDS_FAILED)
    cutoff = None
    if has_capacity(engine):
        placed = [o for o in run_batch(engine, portfolio, date, Summary()) if isinstance(o, Outcome)]
        mine = next(o for o in placed if o.account_id == record.id)  # type: ignore[attr-defined]
        cutoff = cutoffs(engine, placed).get(engine.tier_index[target]) if mine.tier != target else None
    result = what_would_it_take(engine, record, target, date, cutoff)
    if fmt is ExplainFormat.json:
        typer.echo(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(result.to_text(markdown=fmt is ExplainFormat.markdown))
