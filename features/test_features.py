"""Run every feature under features/ as pytest tests (pytest-bdd)."""

from pytest_bdd import scenarios

scenarios(".")
