"""``kamrules test``: run a policy's Gherkin features with the step library (kamrules.testing)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kamrules.cli import exit_codes
from kamrules.cli.app import RulesArg, app, fail, load


@app.command("test", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def test_command(
    ctx: typer.Context,
    rules: RulesArg,
    features: Annotated[Path, typer.Argument(help="A folder of .feature files, or one .feature file.")],
    coverage: Annotated[
        bool, typer.Option("--coverage", help="Report the rule cases (bands, gates, tiers, ...) no scenario exercised.")
    ] = False,
    min_coverage: Annotated[
        str | None,
        typer.Option("--min-coverage", metavar="PCT", help="Fail when rule coverage is below PCT percent."),
    ] = None,
    cucumber_json: Annotated[
        Path | None, typer.Option("--cucumber-json", help="Also write a Cucumber JSON report to this file.")
    ] = None,
) -> None:
    """Run a rulebook's Gherkin features with kamrules' step library: no step code, no test module.

    'Given the default rulebook' reads RULES. Arguments after `--` go to pytest.

    Examples:

    `kamrules test rules/ features/`

    `kamrules test rules/ features/ --min-coverage 100 --cucumber-json reports/cucumber.json`

    `kamrules test rules/ features/ -- -k capacity -x`

    Exit codes: 0 every scenario passed; 1 a scenario failed, or coverage is below the minimum;
    2 bad command line (or pytest interrupted); 3 RULES is an invalid rulebook; 4 bad pytest
    usage; 5 no scenario ran.
    """
    from decimal import Decimal, InvalidOperation

    load(rules)  # an invalid rulebook is reported once, with every problem, before any scenario
    if not features.exists():
        fail(f"no features at '{features}': give a folder of .feature files", exit_codes.USAGE)
    minimum = None
    if min_coverage is not None:
        try:
            minimum = Decimal(min_coverage.rstrip("%"))
        except InvalidOperation:
            minimum = Decimal(-1)
        if not Decimal(0) <= minimum <= Decimal(100):
            fail(f"--min-coverage takes a percentage from 0 to 100, not '{min_coverage}'", exit_codes.USAGE)
    from kamrules.testing.runner import available, run_features

    if not available():
        fail("kamrules test needs the bdd extra: pip install 'kamrules[bdd]'", exit_codes.USAGE)
    code = run_features(
        rules, features, coverage=coverage, min_coverage=minimum, cucumber_json=cucumber_json, extra=list(ctx.args)
    )
    raise typer.Exit(code)
