"""Shared fixtures: a small rulebook written out in full, so each test can break one thing."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.postgres import postgres_server, register_url  # noqa: F401  (fixtures for every test folder)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 1)


def default_rules_with(target: Path, file: str, *changes: tuple[str, str], append: str = "") -> Path:
    """A copy of the shipped rulebook at ``target`` with each (old, new) replaced in ``file``
    and ``append`` added at its end. Each old text must stand exactly once: a change to the
    shipped rules then fails the test that edits them, instead of leaving it deciding under
    rules it did not mean (a capacity that silently never applied)."""
    shutil.copytree(ROOT / "rules", target)
    path = target / file
    text = path.read_text(encoding="utf-8")
    for old, new in changes:
        assert text.count(old) == 1, f"{file} no longer has exactly one {old!r}"
        text = text.replace(old, new)
    path.write_text(text + append, encoding="utf-8")
    return target

SMALL_RULEBOOK = """\
rulebook: small
version: "1"
scorecards:
  - id: attractiveness
    criteria:
      - id: revenue
        weight: 60
        fact: account.annual_revenue
        bands:
          - {at_least: 10000000, points: 100}
          - {at_least: 1000000, points: 60}
      - id: fit
        weight: 40
        fact: account.strategic_fit
        scale: {from: 1, to: 5}
  - id: strength
    criteria:
      - id: relationship
        weight: 1
        fact: account.relationship_strength
        scale: {from: 1, to: 5}
gates:
  - id: declines_kam
    when: account.wants_key_account == false
    effect: exclude
    reason: The customer does not want key-account treatment.
  - id: high_credit_risk
    when: account.credit_risk == 'high'
    effect: cap
    at_most: Silver
    reason: High credit risk.
tiers:
  - name: Gold
    min_score: 80
    requires:
      - when: account.strategic_fit >= 4
        reason: Gold accounts fit our strategy.
  - name: Silver
    min_score: 60
  - name: Bronze
    min_score: 40
  - name: Standard
segments:
  - name: Strategic
    when: score.attractiveness >= 60 and score.strength >= 50
  - name: Other
"""


@pytest.fixture
def small_rulebook_text() -> str:
    return SMALL_RULEBOOK


@pytest.fixture
def write_rules(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write rule files into a temporary folder and return its path."""

    def write(files: dict[str, str]) -> Path:
        folder = tmp_path / "rules"
        folder.mkdir(exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder

    return write
