"""The policy owner's workbench: ``lint``, ``impact`` and ``sensitivity``."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

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
    RulesArg,
    app,
    as_of_date,
    fail,
    load,
    open_output,
    read_all,
    through_crm,
    with_crm,
)


class LintFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def lint(
    rules: RulesArg,
    accounts: Annotated[
        Path | None,
        typer.Option(
            "--accounts",
            help="A portfolio (.jsonl/.json/.csv) to check capacities and missing facts against.",
        ),
    ] = None,
    output_format: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format.")] = LintFormat.text,
    as_of: AsOfOpt = None,
    crm: CrmOpt = None,
) -> None:
    """Warn about rules that are valid but probably not what is meant (exit code 5 when any).

    Example: `kamrules lint rules/ --accounts examples/accounts.jsonl`
    """
    from kamrules.evaluation.engine import Engine
    from kamrules.facts.records import InvalidRecord
    from kamrules.workbench.lint import lint_report

    rulebook = load(rules)
    size = None
    decisions = None
    if accounts:
        records = read_all(accounts, None)
        size = len(records)
        engine = with_crm(Engine(rulebook), crm)
        date = as_of_date(as_of)
        decisions = []
        for record in records:
            if record.data is None:
                continue
            try:
                decisions.append(engine.decide(record.data, date))
            except InvalidRecord:
                continue
    findings, suppressed = lint_report(rulebook, size, decisions)
    if output_format is LintFormat.json:
        typer.echo(
            json.dumps(
                {
                    "rulebook": rulebook.id,
                    "version": rulebook.version,
                    "warnings": [f.as_dict() for f in findings],
                    "switched_off": [{**s.finding.as_dict(), "reason": s.reason} for s in suppressed],
                },
                indent=2,
            )
        )
    else:
        for finding in findings:
            typer.echo(str(finding))
        off = f" ({len(suppressed)} more switched off in the rulebook)" if suppressed else ""
        typer.echo(f"{len(findings)} warning(s) in {rulebook.id} {rulebook.version}{off}", err=True)
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
    output: OutputOpt = None,
    input_format: InputFormatOpt = None,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the answer as an HTML page with pictures to this file.")
    ] = None,
    crm: CrmOpt = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine", help="auto (on this machine) or spark (a Parquet file or directory, or JSON Lines, on Spark)."
        ),
    ] = "auto",
    master: Annotated[
        str | None, typer.Option("--master", help="With --engine spark: the Spark master (default local[2]).")
    ] = None,
) -> None:
    """What a rule change does to a portfolio: rule diff, tier movement, and why each account moved.

    Example: `kamrules impact rules/ proposed-rules/ examples/accounts.jsonl --as-of 2026-11-01 --markdown`
    """
    from kamrules.workbench import impact as impact_report

    old, new = load(old_rules), load(new_rules)
    if engine not in ("auto", "spark"):
        fail(f"--engine must be auto or spark, not '{engine}'", exit_codes.USAGE)
    if master is not None and engine != "spark":
        fail("--master names a Spark cluster: use it with --engine spark", exit_codes.USAGE)
    if engine == "spark":
        from kamrules.cli.spark import impact_on_spark

        result = impact_on_spark(old_rules, new_rules, str(accounts), input_format, crm, as_of_date(as_of), master)
    else:
        records = through_crm(old, read_all(accounts, input_format), crm)
        result = impact_report.impact(old, new, records, as_of_date(as_of))
    if html is not None:
        from kamrules.cli.report import report_module, write_html

        write_html(report_module("workbench_report").impact_page(result), html)
        return
    if output_format is LintFormat.json:
        text = json.dumps(result.as_dict(), indent=2, ensure_ascii=False) + "\n"
    elif markdown:
        text = impact_report.to_markdown(result)
    else:
        text = impact_report.to_text(result)
    handle = open_output(output)
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
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the answer as an HTML page with pictures to this file.")
    ] = None,
    crm: CrmOpt = None,
) -> None:
    """Which weights matter: accounts that change tier when each weight moves by --step.

    Example: `kamrules sensitivity rules/ examples/accounts.jsonl --step 5 --as-of 2026-11-01`
    """
    from decimal import Decimal, InvalidOperation

    from kamrules.workbench.sensitivity import sensitivity as run_sensitivity

    try:
        amount = Decimal(str(step)).normalize()
    except InvalidOperation:
        fail(f"--step must be a number, got {step}", exit_codes.USAGE)
    if amount <= 0:
        fail("--step must be more than 0", exit_codes.USAGE)
    rulebook = load(rules)
    records = through_crm(rulebook, read_all(accounts, input_format), crm)
    date = as_of_date(as_of)
    effects = run_sensitivity(rulebook, records, date, amount)
    if html is not None:
        from kamrules.cli.report import report_module, write_html

        name = f"{rulebook.id} {rulebook.version}"
        page = report_module("workbench_report").sensitivity_page(effects, amount, len(records), name, date.isoformat())
        write_html(page, html)
        return
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
