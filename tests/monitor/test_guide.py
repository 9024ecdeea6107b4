"""docs/monitor-guide.md tells the truth: its Python runs and its YAML is a valid alerts section."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from kamrules import load_rulebook_text
from tests.conftest import ROOT, SMALL_RULEBOOK

GUIDE = (ROOT / "docs" / "monitor-guide.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```(python|yaml)\n(.*?)```", GUIDE, flags=re.DOTALL)


@pytest.mark.parametrize("source", [body for kind, body in BLOCKS if kind == "python"])
def test_every_python_example_runs(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("durable.engine", reason="the reactive extra (durable-rules) is not installed")
    monkeypatch.chdir(ROOT)
    exec(compile(source, "monitor-guide.md", "exec"), {"__name__": "guide"})


def test_the_alerts_example_is_a_valid_section(tmp_path: Path) -> None:
    (alerts,) = [body for kind, body in BLOCKS if kind == "yaml"]
    checks = """\
plan_checks:
  - {id: mentor_review_gold, title: t, severity: major, fresh: {date: plan.last_reviewed, within_days: 60},
     remediation: r}
  - {id: mentor_review_silver_bronze, title: t, severity: major, fresh: {date: plan.last_reviewed, within_days: 90},
     remediation: r}
"""
    rulebook = load_rulebook_text(SMALL_RULEBOOK + checks + alerts, os.fspath(tmp_path / "r.yaml"))
    assert [a.kind for a in rulebook.spec.alerts] == ["review_due_soon", "key_player_left"]
