"""``kamrules watch``: the account monitor over a JSON Lines stream of CRM events."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import CrmOpt, RulesArg, app, err, fail, load
from kamrules.errors import KamrulesError

if TYPE_CHECKING:
    from kamrules.monitor.sinks import EventLog


@app.command()
def watch(
    rules: RulesArg,
    events: Annotated[
        str, typer.Option("--events", help="JSON Lines of CRM events: a file, or - for stdin (one event a line).")
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Append alerts to this JSON Lines file (default: stdout).")
    ] = None,
    state: Annotated[
        Path | None,
        typer.Option(
            "--state",
            help="A SQLite file for the event log and alert outbox: a restarted watch replays it and "
            "neither loses nor repeats an alert.",
        ),
    ] = None,
    register: Annotated[
        str | None,
        typer.Option(
            "--register",
            help="Keep the event log and alert outbox in the decision register instead: a SQLite file "
            "(decisions.db) or a database URL (postgresql://...).",
        ),
    ] = None,
    webhook: Annotated[
        list[str] | None,
        typer.Option("--webhook", help="POST each alert here too (with an Idempotency-Key header); repeatable."),
    ] = None,
    retries: Annotated[int, typer.Option("--webhook-attempts", min=1, max=20, help="Attempts per alert.")] = 5,
    crm: CrmOpt = None,
) -> None:
    """Watch CRM events and raise the alerts the rulebook's `alerts:` section turns on.

    Each event is folded into its account's facts, the account is re-decided with the
    rulebook as of the latest business date seen (event dates and clock.tick), and each
    change the rulebook lists becomes an alert with its explanation. A bad event is
    reported on stderr and skipped; the stream goes on.

    Examples:

    `kamrules watch rules/ --events crm-events.jsonl -o alerts.jsonl --state monitor.sqlite`

    `crm-feed | kamrules watch rules/ --events - --webhook https://hooks.example.com/kam`

    `kamrules watch rules/ --events - --register postgresql://kam@db/kam -o alerts.jsonl`

    With --crm, `account.updated` patches are read through the CRM profile: a Salesforce
    change event's fields (AnnualRevenue, Growth_Potential__c, ...) as they are.
    """
    try:
        from kamrules.monitor.monitor import Monitor
        from kamrules.monitor.sinks import JsonLinesSink, Outbox, Sink, WebhookSink
        from kamrules.monitor.watch import watch as run_watch
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        fail(f"kamrules watch needs the reactive extra (pip install 'kamrules[reactive]'): {exc}", exit_codes.USAGE)
    if state is not None and register is not None:
        fail("give --state or --register, not both: the event log lives in one place", exit_codes.USAGE)
    rulebook = load(rules)
    if not rulebook.spec.alerts:
        err.print("note: the rulebook has no `alerts:` section, so no alert is on", markup=False)
    if events == "-":
        stream = sys.stdin
    else:
        try:
            stream = Path(events).open(encoding="utf-8-sig")  # noqa: SIM115 - closed in the finally below
        except OSError as exc:
            fail(f"cannot read events '{events}': {exc.strerror}", exit_codes.INVALID_INPUT)
    sinks: list[Sink] = []
    outbox: EventLog | None = None
    opened: Any = None
    monitor = _monitor(Monitor, rulebook, crm)
    try:
        sinks.append(JsonLinesSink(output) if output is not None else JsonLinesSink(None, sys.stdout))
        sinks.extend(WebhookSink(url, attempts=retries) for url in webhook or [])
        if state is not None:
            outbox = Outbox(state)
        elif register is not None:
            outbox, opened = _register_outbox(register)
        summary = run_watch(
            monitor,
            stream,
            outbox=outbox,
            sinks=sinks,
            on_refused=lambda refused: err.print(f"refused: {refused}", markup=False),
        )
    except KamrulesError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    finally:
        for sink in sinks:
            sink.close()
        if outbox is not None:
            outbox.close()
        if opened is not None:
            opened.close()
        monitor.close()
        if stream is not sys.stdin:
            stream.close()
    kept = state if state is not None else "the register" if register is not None else None
    replayed = f"{summary.replayed:,} replayed from {kept}, " if kept is not None else ""
    err.print(
        f"{replayed}{summary.read:,} events read: {summary.taken:,} taken, {summary.duplicates:,} already taken, "
        f"{summary.refused:,} refused; {summary.alerts:,} alerts",
        markup=False,
    )
    if summary.refused:
        raise typer.Exit(exit_codes.RECORDS_FAILED)


def _register_outbox(url: str) -> tuple[EventLog, Any]:
    """The register's outbox, and the register to close after the watch."""
    try:
        from kamrules.register import Register
        from kamrules.register.outbox import RegisterOutbox
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        fail(f"--register needs the register extra (pip install 'kamrules[register]'): {exc}", exit_codes.USAGE)
    register = Register(url)
    return RegisterOutbox(register), register


def _monitor(make: Any, rulebook: Any, crm: str | None) -> Any:
    """The monitor, reading patches through the ``--crm`` profile; a profile that cannot be
    used is a bad command line (exit code 2), as for every command with --crm."""
    if crm is None:
        return make(rulebook)
    from kamrules.crm.profile import ProfileError

    try:
        return make(rulebook, profile=crm)
    except ProfileError as exc:
        fail(str(exc), exit_codes.USAGE)
