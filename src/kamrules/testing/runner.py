"""``kamrules test``: run a policy owner's features against a rulebook, through the pytest plugin.

The command is ``python -m pytest`` (in a process of its own, with this interpreter) and the
kit switched on: the feature folder is collected directly (``--kamrules-features``), 'Given
the default rulebook' reads the rule folder given (``--kamrules-rules``), and a run in which
no scenario ran fails (``--kamrules-require-scenario``) rather than passing with nothing
tested. With plugin autoloading disabled (``PYTEST_DISABLE_PLUGIN_AUTOLOAD``), pytest-bdd and
the kit are loaded by their entry point names (``-p pytest-bdd -p kamrules``). The exit code
is pytest's.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path


def available() -> bool:
    """Whether pytest and pytest-bdd (the bdd extra) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("pytest", "pytest_bdd"))


def project_root(rules: Path, features: Path) -> Path:
    """Where relative paths in the features ('Given the rulebook "variants/strict"') start: the
    folder that holds both the rules and the features, or else the features' parent."""
    rules, features = rules.resolve(), features.resolve()
    common = Path(os.path.commonpath([rules, features]))
    if common in (rules, features) or len(common.parts) <= 1:
        return features.parent if features.is_dir() else features.parent.parent
    return common


def pytest_arguments(
    rules: Path,
    features: Path,
    *,
    coverage: bool = False,
    min_coverage: Decimal | None = None,
    cucumber_json: Path | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    args = [str(features)]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        args += ["-p", "pytest-bdd", "-p", "kamrules"]
    args += [
        "--kamrules-require-scenario",
        f"--rootdir={project_root(rules, features)}",
        f"--kamrules-features={features.resolve()}",
        f"--kamrules-rules={rules.resolve()}",
    ]
    if coverage:
        args.append("--kamrules-coverage")
    if min_coverage is not None:
        args.append(f"--kamrules-coverage-min={min_coverage}")
    if cucumber_json is not None:
        args.append(f"--cucumber-json={cucumber_json}")
    return [*args, *extra]


def run_features(
    rules: Path,
    features: Path,
    *,
    coverage: bool = False,
    min_coverage: Decimal | None = None,
    cucumber_json: Path | None = None,
    extra: Sequence[str] = (),
) -> int:
    """Run the features with pytest, in a process of its own, and return its exit code."""
    if cucumber_json is not None:
        cucumber_json.parent.mkdir(parents=True, exist_ok=True)
    args = pytest_arguments(
        rules, features, coverage=coverage, min_coverage=min_coverage, cucumber_json=cucumber_json, extra=extra
    )
    return subprocess.run([sys.executable, "-m", "pytest", *args], check=False).returncode
