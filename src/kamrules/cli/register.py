"""The decision register's commands: ``register upgrade``, ``history`` and ``replay``."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterable, Iterator
from types import ModuleType
from typing import Annotated

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import app, err, fail
from kamrules.errors import RulebookError
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.portfolio.batch import Summary

RegisterUrlOpt = Annotated[
    str,
    typer.Option(
        "--register",
        help="The decision register: a SQLite file (decisions.db) or a database URL (postgresql://user@host/db).",
    ),
]

register_app = typer.Typer(
    help="Manage the decision register's database.", no_args_is_help=True, rich_markup_mode="markdown"
)
app.add_typer(register_app, name="register")


def _register_module() -> ModuleType:
    try:
        import kamrules.register as module
    except ImportError:
        fail("the decision register needs the register extra: pip install 'kamrules[register]'", exit_codes.USAGE)
    return module


@register_app.command("upgrade")
def upgrade(url: Annotated[str, typer.Argument(help="A SQLite file or a database URL.")]) -> None:
    """Create the register's tables, or migrate them to this kamrules' schema.

    Example: `kamrules register upgrade postgresql://kam@db.example.com/kamrules`
    """
    module = _register_module()
    try:
        before, after = module.upgrade(url)
    except module.RegisterError as exc:
        fail(str(exc), exit_codes.REGISTER)
    if before == after:
        typer.echo(f"the register is at schema revision {after}: nothing to do")
    else:
        typer.echo(f"the register is at schema revision {after} (was {before or 'empty'})")


@app.command()
def history(
    account: Annotated[str, typer.Argument(help="The account id.")],
    register: RegisterUrlOpt,
    as_json: Annotated[bool, typer.Option("--json", help="JSON, one object per decision.")] = False,
) -> None:
    """An account's tiers over time, and for each decision what moved it since the one before.

    Example: `kamrules history ACC-00042 --register decisions.db`
    """
    module = _register_module()
    try:
        with module.Register(register) as opened:
            entries = module.history(opened, account)
    except module.RegisterError as exc:
        fail(str(exc), exit_codes.REGISTER)
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    changes = sum(1 for e in entries[1:] if e.changed)
    typer.echo(f"{account}: {len(entries)} decision(s), {changes} tier change(s)")
    for entry in entries:
        d = entry.decision
        scores = ", ".join(f"{card} {score:g}" for card, score in d.scores.items())
        marker = "*" if entry.changed else " "
        typer.echo(
            f"{marker} #{d.id} {d.decided_at:%Y-%m-%d %H:%M:%S}Z as of {d.as_of}: {d.tier}"
            + (f" ({d.segment})" if d.segment else "")
            + f"; {scores}; {d.rulebook_id} {d.rulebook_version}"
            + (f"; by {d.caller}" if d.caller else "")
        )
        if entry.changed:
            for line in entry.moved_by:
                typer.echo(f"    {line}")


@app.command()
def replay(
    decision_id: Annotated[int, typer.Argument(help="The decision's id in the register (see `kamrules history`).")],
    register: RegisterUrlOpt,
) -> None:
    """Decide a recorded decision again from its stored facts and stored rulebook, and compare bytes.

    Exit code 0 when the bytes are identical, 1 when they differ (each difference is listed).

    Example: `kamrules replay 1042 --register decisions.db`
    """
    module = _register_module()
    try:
        with module.Register(register) as opened:
            result = module.replay(opened, decision_id)
    except module.RegisterError as exc:
        fail(str(exc), exit_codes.REGISTER)
    except RulebookError as exc:
        fail(f"the stored rulebook no longer loads with this kamrules: {exc}", exit_codes.INVALID_RULES)
    stored = result.stored
    made_by = f"{stored.rulebook_id} {stored.rulebook_version}"
    where = f"decision {stored.id} ({stored.account_id}, as of {stored.as_of}, {made_by})"
    if result.identical:
        typer.echo(f"{where}: replayed, identical bytes ({len(stored.explanation.encode('utf-8')):,} bytes)")
        return
    typer.echo(f"{where}: replayed, the decision differs:")
    for line in result.differences:
        typer.echo(f"  {line}")
    raise typer.Exit(exit_codes.RECORDS_FAILED)


def recorded(
    url: str,
    engine: Engine,
    results: Iterable[Outcome | AccountError],
    summary: Summary,
) -> Iterator[Outcome | AccountError]:
    """``evaluate --register``: the batch's results, recorded before they are written out."""
    module = _register_module()
    from kamrules.register.recording import recorded as record_stream

    try:
        with module.Register(url) as opened:
            yield from record_stream(opened, engine, results, caller=_caller(), summary=summary)
    except module.RegisterError as exc:
        fail(str(exc), exit_codes.REGISTER)


def _caller() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


__all__ = ["RegisterUrlOpt", "err", "recorded"]
