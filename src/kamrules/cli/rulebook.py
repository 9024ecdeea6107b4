"""Commands about the rulebook itself: ``validate``, ``schema``, ``facts``, ``docs``, ``version``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kamrules._version import __version__
from kamrules.cli import exit_codes
from kamrules.cli.app import OutputOpt, RulesArg, app, cells, err, fail, load, open_output
from kamrules.facts.schema import DEFAULT_SCHEMA
from kamrules.rulebook.model import rulebook_json_schema
from kamrules.suggestions import did_you_mean


@app.command()
def validate(rules: RulesArg) -> None:
    """Check a rulebook: every problem with its file:line:column.

    Example: `kamrules validate rules/`
    """
    rulebook = load(rules)
    criteria = sum(len(s.criteria) for s in rulebook.scorecards)
    spec = rulebook.spec
    typer.echo(
        f"{rulebook.id} {rulebook.version} is valid: {len(rulebook.scorecards)} scorecard(s), {criteria} criteria, "
        f"{len(spec.gates)} gate(s), {len(spec.tiers)} tiers, {len(spec.segments)} segment(s), "
        f"{len(spec.plan_checks)} plan check(s)"
    )
    typer.echo(f"content hash {rulebook.content_hash}")
    for warning in rulebook.source_map.warnings:
        err.print(f"warning: {warning}", markup=False)


@app.command()
def schema(
    events: Annotated[
        bool, typer.Option("--events", help="The JSON Schema of the monitor's CRM events instead.")
    ] = False,
    whole: Annotated[
        bool,
        typer.Option("--whole", help="A complete rulebook in one file (rulebook, version, tiers required)."),
    ] = False,
    decision: Annotated[
        bool, typer.Option("--decision", help="The JSON Schema of a decision (evaluate --format json) instead.")
    ] = False,
) -> None:
    """Print the JSON Schema of a rule file, for editors that complete and validate YAML.

    Any file of a rulebook folder validates against it (no key is required); `--whole` for a
    rulebook in one file. Example: `kamrules schema > kamrules.schema.json`; `kamrules schema
    --events` for CRM events.
    """
    if events:
        from kamrules.monitor.events import events_json_schema

        typer.echo(json.dumps(events_json_schema(), indent=2, sort_keys=True))
        return
    if decision:
        from kamrules.explanation.decision_schema import decision_json_schema

        typer.echo(json.dumps(decision_json_schema(), indent=2, sort_keys=True))
        return
    typer.echo(json.dumps(rulebook_json_schema(whole), indent=2, sort_keys=True))


@app.command()
def facts(
    rules: Annotated[
        Path | None, typer.Argument(help="A rulebook whose custom facts and CRM columns to include.")
    ] = None,
) -> None:
    """List the facts rules can read: name, type, allowed range, CRM column, meaning.

    Example: `kamrules facts rules/`
    """
    schema = load(rules).schema if rules else DEFAULT_SCHEMA
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
                *cells(
                    prefix + fact.name + (" (custom)" if fact.custom else ""),
                    fact.type.describe() + (", required" if fact.required else ""),
                    " to ".join(bounds) if any(bounds) else "",
                    fact.column or "",
                    fact.description,
                )
            )
        console.print(table)


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
    output: OutputOpt = None,
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
        fail(f"--format must be markdown or html, not '{fmt}'" + (f"; {hint}" if hint else ""), exit_codes.USAGE)
    text = render(load(rules), "html" if fmt == "html" else "markdown")
    if output is None:
        sys.stdout.write(text)
        return
    handle = open_output(output)
    try:
        handle.write(text)
    finally:
        handle.close()
    err.print(f"written to {output}", markup=False)


@app.command()
def version() -> None:
    """Print the kamrules version."""
    typer.echo(__version__)
