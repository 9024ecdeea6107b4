"""``kamrules``: the command-line entry point.

The commands live in a module per group and register themselves on the one Typer
application of :mod:`kamrules.cli.app`; importing them here builds the whole command.
"""

from __future__ import annotations

from kamrules.cli import (
    evaluate,
    exit_codes,
    explain,
    monitor,
    plans,
    policy_tests,
    profile,
    register,
    report,
    rulebook,
    serve,
    workbench,
)
from kamrules.cli.app import app, err
from kamrules.errors import KamrulesError

COMMAND_MODULES = (
    rulebook,
    evaluate,
    explain,
    plans,
    workbench,
    report,
    policy_tests,
    monitor,
    register,
    serve,
    profile,
)
"""Every command group, in the order ``kamrules --help`` lists them."""


def run_cli() -> None:
    try:
        app()
    except KamrulesError as exc:  # a user mistake that slipped past a command's own handling
        err.print(f"error: {exc}", markup=False)
        raise SystemExit(exit_codes.INVALID_INPUT) from None


run = run_cli  # console-script entry point

__all__ = ["COMMAND_MODULES", "app", "run", "run_cli"]
