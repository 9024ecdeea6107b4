"""``kamrules report``: the portfolio in pictures, and the ``--html`` renderings others use.

The drawing lives in :mod:`kamrules.report` (the ``report`` extra); it is imported only when
a picture is asked for, so the rest of the command works without the extra.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

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
    err,
    fail,
    load,
    with_crm,
)
from kamrules.evaluation.engine import Engine
from kamrules.portfolio.sources import SourceError


def report_module(name: str) -> ModuleType:
    """``kamrules.report.<name>``, or a clear message when the extra is not installed."""
    import importlib

    try:
        return importlib.import_module(f"kamrules.report.{name}")
    except ImportError as exc:
        fail(f"{exc}; pictures need the report extra: pip install 'kamrules[report]'", exit_codes.USAGE)


def write_html(html: str, output: Path | None) -> None:
    """The page to a file (UTF-8, as built) or to stdout."""
    if output is None:
        import sys

        sys.stdout.write(html)
        return
    try:
        output.write_text(html, encoding="utf-8", newline="")
    except OSError as exc:
        fail(f"cannot write '{output}': {exc.strerror}", exit_codes.USAGE)
    err.print(f"written to {output}", markup=False)


@app.command()
def report(
    rules: RulesArg,
    accounts: AccountsArg,
    as_of: AsOfOpt = None,
    output: OutputOpt = None,
    input_format: InputFormatOpt = None,
    crm: CrmOpt = None,
) -> None:
    """The portfolio in pictures: matrix, tiers, plan compliance and criteria, as one HTML file.

    The file opens offline and prints on A4; the same rulebook, accounts and date give the
    same bytes. Needs the report extra.

    Example: `kamrules report rules/ examples/accounts.jsonl --as-of 2026-11-01 -o report.html`
    """
    module = report_module("portfolio_report")
    engine = with_crm(Engine(load(rules)), crm)
    date = as_of_date(as_of)
    try:
        html = module.portfolio_report(engine, accounts, date, input_format)
    except SourceError as exc:
        fail(str(exc), exit_codes.INVALID_INPUT)
    write_html(html, output)
