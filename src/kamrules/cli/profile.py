"""``kamrules profile``: CRM profiles, checked against an export before anything is decided."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import AccountsArg, InputFormatOpt, app, err, fail, load, read_all
from kamrules.crm import ProfileError, check_profile, load_profile, shipped_profiles
from kamrules.facts.records import RecordValidator
from kamrules.facts.schema import DEFAULT_SCHEMA

profile_app = typer.Typer(
    help="CRM profiles: how one CRM's export maps onto facts (kept apart from the rulebook).",
    no_args_is_help=True,
)
app.add_typer(profile_app, name="profile")


class CheckFormat(StrEnum):
    text = "text"
    json = "json"


@profile_app.command("check")
def check(
    profile: Annotated[
        str, typer.Argument(help="A shipped profile (salesforce, hubspot, dynamics) or a profile file.")
    ],
    accounts: AccountsArg,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="The rulebook whose facts the profile fills (default: the built-in facts)."),
    ] = None,
    input_format: InputFormatOpt = None,
    output_format: Annotated[CheckFormat, typer.Option("--format", "-f", help="Output format.")] = CheckFormat.text,
) -> None:
    """Which columns map to which facts, which facts no record fills, which columns nothing
    reads, and every value with no mapping or that does not convert (with counts). Exit code 1
    when some values cannot be read, since those accounts would not be decided.

    Example: `kamrules profile check salesforce examples/crm/salesforce_accounts.csv --rules rules/`
    """
    schema = load(rules).schema if rules is not None else DEFAULT_SCHEMA
    try:
        bound = load_profile(profile).bind(schema)
    except ProfileError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(exit_codes.USAGE) from None
    report = check_profile(bound, read_all(accounts, input_format), RecordValidator(schema))
    if output_format is CheckFormat.json:
        typer.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
    else:
        typer.echo(report.to_text(), nl=False)
    if report.failures:
        raise typer.Exit(exit_codes.RECORDS_FAILED)


@profile_app.command("list")
def list_profiles() -> None:
    """The CRM profiles shipped with kamrules, by name."""
    for name in shipped_profiles():
        try:
            loaded = load_profile(name)
        except ProfileError as exc:  # pragma: no cover - a shipped profile is tested
            fail(str(exc), exit_codes.USAGE)
        typer.echo(f"{name}: {loaded.spec.title or ''}")
