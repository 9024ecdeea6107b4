"""The pytest plugin: kamrules' Gherkin test kit, registered by the ``pytest11`` entry point ``kamrules``.

Installing kamrules registers this module with pytest. It imports without pytest-bdd: when
pytest-bdd is missing it does nothing at all, so people who use kamrules without the ``bdd``
extra keep a working pytest. With pytest-bdd it registers

- :mod:`kamrules.testing.steps` (with :mod:`~kamrules.testing.steps_portfolio`,
  :mod:`~kamrules.testing.steps_plans` and :mod:`~kamrules.testing.steps_monitor`): every
  step a feature can use, and the ``policy`` fixture;
- :mod:`kamrules.testing.kit`: the options (``--kamrules-rules``, ``--kamrules-features``,
  ``--kamrules-coverage``, ``--kamrules-coverage-min``), collection of ``*.feature`` files
  without a test module, rule coverage, and messages for undefined steps.
"""

from __future__ import annotations

try:
    import pytest_bdd  # noqa: F401  (only whether it imports matters)
except ImportError:  # the bdd extra is not installed: stay out of pytest's way
    _BDD = False
else:
    _BDD = True

pytest_plugins = (
    [
        "kamrules.testing.steps",
        "kamrules.testing.steps_portfolio",
        "kamrules.testing.steps_plans",
        "kamrules.testing.steps_monitor",
        "kamrules.testing.kit",
    ]
    if _BDD
    else []
)
