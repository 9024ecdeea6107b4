"""``kamrules serve``: the HTTP decision service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import CrmOpt, RulesArg, app, err, fail
from kamrules.errors import KamrulesError, RulebookError


@app.command()
def serve(
    rules: RulesArg,
    host: Annotated[
        str, typer.Option("--host", help="The address to bind (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The TCP port.")] = 8000,
    register: Annotated[
        str | None,
        typer.Option("--register", help="Record every decision: a SQLite file (decisions.db) or a database URL."),
    ] = None,
    tokens_file: Annotated[
        Path | None,
        typer.Option("--tokens-file", help="Bearer tokens, one name=token per line (also read from $KAMRULES_TOKENS)."),
    ] = None,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="Where 'today' is when a request gives no as-of date.")
    ] = "UTC",
    workers: Annotated[int, typer.Option("--workers", min=1, help="Server processes.")] = 1,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Reload when a rule file changes.")] = True,
    crm: CrmOpt = None,
    store_facts: Annotated[
        bool, typer.Option("--store-facts/--no-store-facts", help="Keep each decision's input facts in the register.")
    ] = True,
    max_records: Annotated[int, typer.Option("--max-records", min=1, help="Accounts per request.")] = 1000,
    max_body_bytes: Annotated[int, typer.Option("--max-body-bytes", min=1024, help="Request body size.")] = 4 << 20,
    request_timeout: Annotated[
        float, typer.Option("--request-timeout", min=0.1, help="Seconds a request may take.")
    ] = 10.0,
    allow_unauthenticated_network_access: Annotated[
        bool,
        typer.Option(
            "--allow-unauthenticated-network-access",
            help="Bind to a network address with no token configured: anyone who reaches the port gets decisions.",
        ),
    ] = False,
) -> None:
    """Serve decisions over HTTP (JSON API under /v1, OpenAPI at /docs), reloading the rules
    when they change, recording every decision in the register.

    Examples:

    `kamrules serve rules/`

    `kamrules serve rules/ --register decisions.db --tokens-file tokens.txt --host 0.0.0.0`

    `kamrules serve rules/ --crm salesforce` (records posted as Salesforce exports them)
    """
    from kamrules.crm.profile import ProfileError

    try:
        from kamrules.service.config import ConfigError, Limits, ServiceConfig, Tokens
        from kamrules.service.server import check_binding
        from kamrules.service.server import serve as run_server
    except ImportError:
        fail("the decision service needs the service extra: pip install 'kamrules[service]'", exit_codes.USAGE)
    try:
        config = ServiceConfig(
            rules=rules,
            register=register,
            store_facts=store_facts,
            tokens=Tokens.from_sources(tokens_file),
            time_zone=time_zone,
            limits=Limits(max_body_bytes=max_body_bytes, max_records=max_records, request_seconds=request_timeout),
            watch=watch,
            crm=crm,
        )
        check_binding(host, config, allow_unauthenticated_network_access)
    except ConfigError as exc:
        fail(str(exc), exit_codes.USAGE)
    if not config.tokens:
        err.print(
            "WARNING: no bearer token configured: every request is served without authentication"
            + (
                " (on the network, as --allow-unauthenticated-network-access asks)"
                if host not in ("127.0.0.1", "::1", "localhost")
                else ""
            ),
            markup=False,
        )
    try:
        run_server(config, tokens_file, host, port, workers)
    except RulebookError as exc:
        err.print(str(exc), markup=False)
        raise typer.Exit(exit_codes.INVALID_RULES) from None
    except ProfileError as exc:  # as `evaluate --crm`: a profile that cannot be used is a bad command line
        err.print(str(exc), markup=False)
        raise typer.Exit(exit_codes.USAGE) from None
    except ConfigError as exc:
        fail(str(exc), exit_codes.USAGE)
    except KamrulesError as exc:  # the register (RegisterError)
        fail(str(exc), exit_codes.REGISTER)
