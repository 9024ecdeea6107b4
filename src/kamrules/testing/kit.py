"""The pytest side of the test kit: options, feature collection, rule coverage, helpful failures.

Registered by :mod:`kamrules.testing.plugin` when pytest-bdd is installed. It adds:

``--kamrules-rules=PATH`` / ini ``kamrules_rules``
    The rule folder (or file) that 'Given the default rulebook' reads; default ``rules/``
    at pytest's rootdir.
``--kamrules-features=PATH`` / ini ``kamrules_features``
    Folders (or files) whose ``*.feature`` files are collected as tests directly, so a
    policy owner's repository needs no test module calling ``scenarios()``. A ``.feature``
    file named on the command line is always collected. A scenario that a test module also
    binds with ``scenarios()`` or ``@scenario`` runs once, from that module.
``--kamrules-coverage`` and ``--kamrules-coverage-min=PCT``
    Rule coverage of every rulebook read from files (:mod:`kamrules.testing.coverage`),
    printed at the end of the run; with a minimum, the run fails when a rulebook's coverage
    is below it.

How a ``.feature`` file becomes tests: pytest asks every plugin to collect each file it
meets; for a feature file under the configured paths this plugin returns a
:class:`FeatureFile`, a :class:`pytest.Module` whose module object is built in memory
with one test function per scenario, each made by pytest-bdd's own public
:func:`pytest_bdd.scenario` decorator. Everything after that (outlines, tags, hooks,
Cucumber JSON) is pytest-bdd's ordinary machinery, unchanged; nothing is generated on disk.
"""

from __future__ import annotations

import difflib
import re
import sys
import types
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import scenario as bind_scenario
from pytest_bdd.feature import get_feature
from pytest_bdd.parser import Feature, Scenario, Step

from kamrules.testing.coverage import CoverageCollector
from kamrules.testing.session import SESSION, KitSession
from kamrules.testing.steps import PHRASES

# -- options ----------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("kamrules", "kamrules policy tests")
    group.addoption(
        "--kamrules-rules",
        metavar="PATH",
        help="the rule folder or file 'Given the default rulebook' reads (default: rules/ at the rootdir)",
    )
    group.addoption(
        "--kamrules-features",
        metavar="PATH",
        action="append",
        default=[],
        help="collect the *.feature files under PATH as tests, without a test module (repeatable)",
    )
    group.addoption(
        "--kamrules-coverage",
        action="store_true",
        help="report which criteria bands, gates, tiers, segments and plan checks no scenario exercised",
    )
    group.addoption(
        "--kamrules-coverage-min",
        metavar="PCT",
        help="fail the run when a rulebook's rule coverage is below PCT percent (implies --kamrules-coverage)",
    )
    group.addoption(
        "--kamrules-require-scenario",
        action="store_true",
        help="fail the run when no scenario ran (as kamrules test does)",
    )
    parser.addini("kamrules_rules", "the rule folder or file 'Given the default rulebook' reads", default="")
    parser.addini(
        "kamrules_features",
        "folders or files whose *.feature files are collected as tests, without a test module",
        type="paths",
        default=[],
    )


def _minimum(config: pytest.Config) -> Decimal | None:
    text = config.getoption("kamrules_coverage_min")
    if text is None:
        return None
    try:
        value = Decimal(str(text).rstrip("%"))
    except InvalidOperation:
        value = Decimal(-1)
    if not Decimal(0) <= value <= Decimal(100):
        raise pytest.UsageError(f"--kamrules-coverage-min takes a percentage from 0 to 100, not '{text}'")
    return value


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("pytest-bdd"):
        asked = [
            option
            for option in ("kamrules_rules", "kamrules_features", "kamrules_coverage", "kamrules_coverage_min")
            if config.getoption(option)
        ]
        if asked:
            raise pytest.UsageError(
                "kamrules' test kit needs pytest-bdd's plugin, which is not loaded; with plugin autoloading "
                "disabled, add: -p pytest-bdd -p kamrules"
            )
        return  # pytest-bdd is installed but switched off (-p no:pytest-bdd): stand aside
    rules = config.getoption("kamrules_rules")
    if rules:
        path = Path(rules)
        rules_path: Path | None = path if path.is_absolute() else Path(config.invocation_params.dir) / path
    elif config.getini("kamrules_rules"):
        base = config.inipath.parent if config.inipath else config.rootpath
        rules_path = base / str(config.getini("kamrules_rules"))
    else:
        rules_path = None
    if rules_path is not None and not rules_path.exists():
        raise pytest.UsageError(f"no rule file or folder at {rules_path} (from --kamrules-rules or kamrules_rules)")
    _RAN[0] = 0
    measure = config.getoption("kamrules_coverage") or _minimum(config) is not None
    config.stash[SESSION] = KitSession(rules=rules_path, coverage=CoverageCollector() if measure else None)


# -- collecting feature files -----------------------------------------------------------------


def _feature_roots(config: pytest.Config) -> list[Path]:
    invoked = Path(config.invocation_params.dir)
    roots = [p if p.is_absolute() else invoked / p for p in map(Path, config.getoption("kamrules_features"))]
    roots += [Path(p) for p in config.getini("kamrules_features")]
    return [p.resolve() for p in roots]


def _named_on_command_line(config: pytest.Config, path: Path) -> bool:
    invoked = Path(config.invocation_params.dir)
    for arg in config.args:
        named = Path(arg.split("::", 1)[0])
        if (named if named.is_absolute() else invoked / named).resolve() == path:
            return True
    return False


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix != ".feature" or SESSION not in parent.config.stash:
        return None
    path = file_path.resolve()
    config = parent.config
    roots = _feature_roots(config)
    if any(path == root or root in path.parents for root in roots) or _named_on_command_line(config, path):
        return FeatureFile.from_parent(parent, path=file_path)
    return None


_SCENARIO_LINE = re.compile(r"^\s*(?:Scenario Outline|Scenario Template|Scenario|Example):\s*(.*?)\s*$")


def _same_names(path: Path) -> list[str]:
    """Scenarios of one feature that share a name: pytest-bdd would silently keep only the last."""
    seen: dict[str, int] = {}
    clashes = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        found = _SCENARIO_LINE.match(line)
        if not found:
            continue
        name = found.group(1)
        if name in seen:
            clashes.append(f'"{name}" (lines {seen[name]} and {number})')
        else:
            seen[name] = number
    return clashes


def _anchor(path: Path, line: int) -> types.FunctionType:
    """A function that says it is written at ``path:line``, so pytest reports a scenario where it is written."""

    def scenario_here() -> None:  # pragma: no cover - never called
        pass

    code = scenario_here.__code__.replace(co_filename=str(path), co_firstlineno=max(line, 1))
    return types.FunctionType(code, {})


class FeatureFile(pytest.Module):
    """A ``.feature`` file collected as a test module: one test per scenario (and outline example)."""

    def _getobj(self) -> types.ModuleType:
        path = Path(self.path)
        clashes = _same_names(path)
        if clashes:
            raise self.CollectError(
                f"{self.nodeid}: two scenarios of this feature have the same name, so one would never run: "
                f"{'; '.join(clashes)}. Give each scenario a name of its own."
            )
        try:
            feature = get_feature(str(path.parent), path.name)
        except Exception as exc:  # a Gherkin syntax error: say where, without pytest-bdd's traceback
            raise self.CollectError(f"{self.nodeid}: the feature file cannot be read: {exc}") from None
        module = types.ModuleType(f"kamrules_features.{self.nodeid}")
        module.__file__ = str(path)
        for name, template in feature.scenarios.items():
            test = bind_scenario(path.name, name, features_base_dir=str(path.parent))(_no_more_steps)
            test.place_as = _anchor(path, template.line_number)  # type: ignore[attr-defined]
            test.__module__ = module.__name__
            test.kamrules_scenario = (str(path), name)  # type: ignore[attr-defined]
            setattr(module, _test_name(module, name), test)
        sys.modules.setdefault(module.__name__, module)
        return module


def _no_more_steps() -> None:
    """The body of a scenario collected from a feature file: its steps are all there is."""


def _test_name(module: types.ModuleType, scenario_name: str) -> str:
    base = "test_" + (re.sub(r"\W+", "_", scenario_name.lower()).strip("_") or "scenario")
    name, n = base, 1
    while hasattr(module, name):
        n += 1
        name = f"{base}_{n}"
    return name


def _bound_elsewhere(items: list[pytest.Item]) -> set[tuple[str, str]]:
    """(feature file, scenario) pairs bound by ordinary test modules (scenarios(), @scenario)."""
    try:
        from pytest_bdd.scenario import scenario_wrapper_template_registry
    except ImportError:  # pragma: no cover - a pytest-bdd without the registry: no de-duplication
        return set()
    bound = set()
    for item in items:
        obj = getattr(item, "obj", None)
        if obj is None or hasattr(obj, "kamrules_scenario"):
            continue
        template = scenario_wrapper_template_registry.get(obj)
        if template is not None:
            bound.add((str(Path(template.feature.filename).resolve()), template.name))
    return bound


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run a scenario once when both a test module and the feature collection bind it."""
    bound = _bound_elsewhere(items)
    if not bound:
        return
    keep, twice = [], []
    for item in items:
        key = getattr(getattr(item, "obj", None), "kamrules_scenario", None)
        if key is not None and (str(Path(key[0]).resolve()), key[1]) in bound:
            twice.append(item)
        else:
            keep.append(item)
    if twice:
        config.hook.pytest_deselected(items=twice)
        items[:] = keep


# -- steps that are not there, or written without their table ---------------------------------------


def _human(template: str) -> str:
    """A phrase template as a policy owner writes it: {account} -> <account>."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", r"<\1>", template)


def _known_steps() -> Iterator[tuple[str, Any]]:
    """(keyword, parser) of every step definition pytest-bdd knows of, ours and the project's."""
    try:
        from pytest_bdd.steps import step_function_context_registry
    except ImportError:  # pragma: no cover - an older or newer pytest-bdd: suggest from our phrases only
        for pattern in PHRASES:
            yield "", re.compile(pattern)
        return
    for context in list(step_function_context_registry.values()):
        yield (context.type or ""), context.parser


def _shape(text: str) -> str:
    """A step's shape for comparing: quoted names and numbers blanked."""
    text = re.sub(r'"[^"]*"', '""', text)
    return re.sub(r"[+-]?\d[\d,_.:%-]*", "N", text).lower()


def _suggestions(step: Step) -> tuple[list[str], str | None]:
    """The closest known steps of the same kind, and a step of another kind that matches exactly."""
    scored: dict[str, float] = {}
    other_kind = None
    shape = _shape(step.name)
    for kind, parser in _known_steps():
        name = str(getattr(parser, "name", None) or getattr(parser, "pattern", ""))
        shown = _human(PHRASES.get(name, name))
        matches = parser.is_matching(step.name) if hasattr(parser, "is_matching") else False
        if kind and kind != step.type:
            if matches:
                other_kind = f"{kind.capitalize()} {shown}"
            continue
        template_shape = _shape(re.sub(r"<\w+>", "N", shown))
        ratio = difflib.SequenceMatcher(None, shape, template_shape).ratio()
        label = f"{(kind or step.type).capitalize()} {shown}"
        scored[label] = max(ratio, scored.get(label, 0.0))
    best = sorted(scored, key=lambda label: -scored[label])[:3]
    return [label for label in best if scored[label] >= 0.5] or best[:1], other_kind


@pytest.hookimpl(trylast=True, optionalhook=True)
def pytest_bdd_step_func_lookup_error(feature: Feature, scenario: Scenario, step: Step, exception: Exception) -> None:
    """No step definition matches: say where, and which steps come closest."""
    __tracebackhide__ = True
    closest, other_kind = _suggestions(step)
    where = f'{feature.rel_filename}:{step.line_number}, in scenario "{scenario.name}"'
    lines = [f"{where}: no step matches\n    {step.keyword} {step.name}"]
    if other_kind:
        lines.append(
            f"It is a {other_kind.split()[0]} step: write it as\n    {other_kind}\n"
            "(Given sets the scene, When acts, Then checks; And continues the kind before it)"
        )
    elif closest:
        lines.append("The closest steps are:\n" + "\n".join(f"    {label}" for label in closest))
    lines.append("Every step is listed in the docstring of kamrules.testing.steps.")
    raise pytest.fail.Exception("\n".join(lines), pytrace=False) from None


@pytest.hookimpl(trylast=True, optionalhook=True)
def pytest_bdd_step_error(feature: Feature, scenario: Scenario, step: Step, exception: Exception) -> None:
    """A step written without the table or docstring it needs."""
    __tracebackhide__ = True
    missing = getattr(exception, "argname", None)
    if not isinstance(exception, pytest.FixtureLookupError) or missing not in ("datatable", "docstring"):
        return
    where = f'{feature.rel_filename}:{step.line_number}, in scenario "{scenario.name}"'
    what = "a table below it (rows of | cells |)" if missing == "datatable" else 'the rules below it, between """ lines'
    raise pytest.fail.Exception(
        f"{where}: the step\n    {step.keyword} {step.name}\nneeds {what}", pytrace=False
    ) from None


# -- rule coverage at the end of the run -------------------------------------------------------------


_RAN = [0]
"""Tests that ran in this session (passed or failed; not skipped), for --kamrules-require-scenario."""


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and not report.skipped:
        _RAN[0] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if config.getoption("kamrules_require_scenario") and _RAN[0] == 0 and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
        config.stash[_NOTHING_RAN] = True
    kit = config.stash.get(SESSION, None)
    minimum = _minimum(config)
    if kit is None or kit.coverage is None or minimum is None:
        return
    if kit.coverage.below(minimum) and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


_NOTHING_RAN = pytest.StashKey[bool]()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if config.stash.get(_NOTHING_RAN, False):
        terminalreporter.write_line("kamrules: no scenario ran; write a Scenario in a .feature file", red=True)
    kit = config.stash.get(SESSION, None)
    if kit is None or kit.coverage is None:
        return
    terminalreporter.section("kamrules rule coverage")
    for line in kit.coverage.report(_minimum(config)):
        terminalreporter.write_line(line)
