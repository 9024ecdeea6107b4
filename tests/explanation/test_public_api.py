"""The public API an integrator relies on (docs/api.md)."""

from __future__ import annotations

import json
import re

import kamrules
from kamrules.explanation.decision_schema import decision_json_schema, undescribed
from tests.conftest import ROOT


def test_every_field_of_the_decision_json_schema_has_a_description() -> None:
    assert undescribed() == []
    assert decision_json_schema()["properties"]["tier"]["description"].startswith("The tier the account holds")


def test_what_the_guides_import_from_kamrules_is_exported() -> None:
    guides = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*guide*.md"))
    imported = re.findall(r"^from kamrules import (.+)$", guides, flags=re.MULTILINE)
    names = {n.strip() for line in imported for n in line.split(",")}
    assert names and names <= set(kamrules.__all__)
    # the extras' packages are public too (docs/api.md); nothing deeper is imported
    deeper = re.findall(r"^from (kamrules\.\S+) import", guides, flags=re.MULTILINE)
    assert set(deeper) <= {"kamrules.portfolio", "kamrules.monitor"}, deeper
    assert all(hasattr(kamrules, name) for name in kamrules.__all__)


def test_the_package_docstring_names_only_extras_that_exist() -> None:
    import tomllib

    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"])
    named = set(re.findall(r"``([a-z]+)``", kamrules.__doc__ or ""))
    mentioned = {n for n in named if n in {"cli", "dataframes", "bdd", "reactive", "server", "db", "spark"}}
    assert mentioned and mentioned <= extras


def test_the_decision_schema_is_printed_by_the_cli() -> None:
    from typer.testing import CliRunner

    from kamrules.cli.main import app

    result = CliRunner().invoke(app, ["schema", "--decision"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["properties"]["as_of"]["description"]
