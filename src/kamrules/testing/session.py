"""What the test kit shares across a pytest session: where the default rulebook is, and rule coverage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from kamrules.testing.coverage import CoverageCollector


@dataclass
class KitSession:
    """Set up once per session by :mod:`kamrules.testing.kit` from pytest's options."""

    rules: Path | None = None
    """The folder or file 'Given the default rulebook' reads (default: rules/ at pytest's rootdir)."""
    coverage: CoverageCollector | None = None
    """Collects rule coverage when --kamrules-coverage or --kamrules-coverage-min is given."""


SESSION = pytest.StashKey[KitSession]()
