"""The Gherkin test kit as a policy owner meets it: the pytest plugin, ``kamrules test``, and
the messages for mistakes in features. Each test runs pytest in a process of its own on a
small project, as a policy owner's repository would be run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXAMPLE = ROOT / "examples" / "policy-tests"
EXAMPLE_SCENARIOS = 11


def run(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    environment.update(env)
    return subprocess.run(args, cwd=cwd, env=environment, capture_output=True, text=True, check=False)


def pytest_in(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd, **env)


def kamrules(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-c", "from kamrules.cli.main import run; run()", *args], cwd)


def project(tmp_path: Path, features: dict[str, str], ini: bool = True) -> Path:
    """A policy owner's repository: the example's rules, the given features, and maybe a pytest.ini."""
    shutil.copytree(EXAMPLE / "rules", tmp_path / "rules")
    (tmp_path / "features").mkdir()
    for name, text in features.items():
        (tmp_path / "features" / name).write_text(text, encoding="utf-8")
    if ini:
        (tmp_path / "pytest.ini").write_text("[pytest]\nkamrules_features = features\n", encoding="utf-8")
    return tmp_path


ONE_SCENARIO = """\
Feature: One account
  Scenario: A strong account plays in the Premier league
    Given the default rulebook
    And an account "NW-1" with:
      | annual_revenue   | 12,000,000 |
      | growth_potential | 5          |
      | strategic_fit    | 5          |
    When the accounts are decided
    Then account "NW-1" is in tier "Premier"
"""


# -- the example repository ------------------------------------------------------------------


def test_the_example_has_no_python_at_all() -> None:
    assert not list(EXAMPLE.rglob("*.py"))
    assert not list(EXAMPLE.rglob("conftest*"))


def test_the_example_passes_through_the_plugin_alone() -> None:
    result = pytest_in(ROOT, "-q", str(EXAMPLE.relative_to(ROOT)))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{EXAMPLE_SCENARIOS} passed" in result.stdout


def test_kamrules_test_runs_the_example_with_full_coverage_and_a_cucumber_report(tmp_path: Path) -> None:
    report = tmp_path / "reports" / "cucumber.json"
    result = kamrules(
        EXAMPLE, "test", "rules", "features", "--min-coverage", "100", "--cucumber-json", str(report),
        "--", "-p", "no:cacheprovider",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{EXAMPLE_SCENARIOS} passed" in result.stdout
    assert "kamrules rule coverage of northwind_kam 2027.1 (rules): 100.0% (16 of 16 rule cases" in result.stdout
    features = json.loads(report.read_text(encoding="utf-8"))
    assert sum(len(f["elements"]) for f in features) == EXAMPLE_SCENARIOS


def test_kamrules_test_fails_below_the_minimum_coverage(tmp_path: Path) -> None:
    root = project(tmp_path, {"one.feature": ONE_SCENARIO})
    result = kamrules(root, "test", "rules", "features", "--min-coverage", "90", "--", "-p", "no:cacheprovider")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    # 5 of the 16 cases: the revenue band "10M and more", the growth and fit scales, the tier
    # Premier, and plan_in_place failing (no plan); 5 / 16 = 31.25%, shown rounded down
    assert "FAIL: 31.2% is below the required 90%" in result.stdout
    assert "gate         declines_kam       applied" in result.stdout


def test_kamrules_test_fails_when_no_scenario_ran(tmp_path: Path) -> None:
    root = project(tmp_path, {})
    result = kamrules(root, "test", "rules", "features", "--", "-p", "no:cacheprovider")
    assert result.returncode == 5, result.stdout + result.stderr
    result = kamrules(root, "test", "rules", "features", "--", "-p", "no:cacheprovider", "-k", "nothing")
    assert result.returncode == 5


def test_kamrules_test_refuses_an_invalid_rulebook_before_any_scenario(tmp_path: Path) -> None:
    root = project(tmp_path, {"one.feature": ONE_SCENARIO})
    tiers = root / "rules" / "tiers.yaml"
    tiers.write_text(tiers.read_text(encoding="utf-8").replace("min_score: 80", "min_scor: 80"), encoding="utf-8")
    result = kamrules(root, "test", "rules", "features")
    assert result.returncode == 3
    assert "unknown key 'min_scor'" in result.stderr


# -- the plugin among other pytest set-ups ------------------------------------------------------


def test_a_feature_named_on_the_command_line_needs_no_configuration(tmp_path: Path) -> None:
    root = project(tmp_path, {"one.feature": ONE_SCENARIO}, ini=False)
    result = pytest_in(root, "-q", "features/one.feature", "--kamrules-rules=rules")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_a_scenario_also_bound_by_a_test_module_runs_once(tmp_path: Path) -> None:
    root = project(tmp_path, {"one.feature": ONE_SCENARIO})
    (root / "features" / "test_features.py").write_text(
        'from pytest_bdd import scenarios\n\nscenarios(".")\n', encoding="utf-8"
    )
    (root / "pytest.ini").write_text("[pytest]\nkamrules_features = features\nbdd_features_base_dir = features\n")
    result = pytest_in(root, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 deselected" in result.stdout


def test_scenarios_with_the_same_name_are_refused(tmp_path: Path) -> None:
    twice = ONE_SCENARIO + "\n" + ONE_SCENARIO.split("\n", 1)[1]
    root = project(tmp_path, {"twice.feature": twice})
    result = pytest_in(root, "-q")
    assert result.returncode != 0
    assert (
        'two scenarios of this feature have the same name, so one would never run: "A strong account plays in the '
        'Premier league" (lines 2 and 11)'
    ) in result.stdout


PLAIN_TEST = "def test_plain():\n    assert 1 + 1 == 2\n"


def test_without_pytest_bdd_the_plugin_does_nothing(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow" / "pytest_bdd"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('pytest-bdd is not installed here')\n")
    (tmp_path / "test_plain.py").write_text(PLAIN_TEST)
    result = pytest_in(tmp_path, "-q", "-p", "no:pytest-bdd", "test_plain.py", PYTHONPATH=str(shadow.parent))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_with_pytest_bdd_switched_off_the_plugin_stands_aside(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text(PLAIN_TEST)
    result = pytest_in(tmp_path, "-q", "-p", "no:pytest-bdd", "test_plain.py")
    assert result.returncode == 0, result.stdout + result.stderr
    result = pytest_in(tmp_path, "-q", "-p", "no:pytest-bdd", "--kamrules-coverage", "test_plain.py")
    assert result.returncode == 4
    assert "kamrules' test kit needs pytest-bdd's plugin" in result.stderr


def test_with_plugin_autoloading_disabled_the_plugins_load_by_name() -> None:
    result = pytest_in(
        ROOT,
        "-q",
        "-p",
        "pytest-bdd",
        "-p",
        "kamrules",
        str(EXAMPLE.relative_to(ROOT)),
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{EXAMPLE_SCENARIOS} passed" in result.stdout


# -- mistakes in features, each with where it is and what to write instead ---------------------------

MISTAKES = (Path(__file__).parent / "mistakes.feature").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def mistakes(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = project(tmp_path_factory.mktemp("mistakes"), {"mistakes.feature": MISTAKES})
    result = pytest_in(root, "-q")
    assert result.returncode == 1
    return result.stdout


def failure(output: str, scenario: str) -> str:
    """The failure text of one scenario, from the pytest output."""
    head = f'in scenario "{scenario}"'
    assert head in output, f"no failure for {scenario!r}:\n{output}"
    start = output.index(head)
    end = output.find("\n____", start)
    return output[start : end if end > 0 else None]


def test_every_mistake_fails_its_scenario(mistakes: str) -> None:
    assert f"{MISTAKES.count('Scenario:')} failed" in mistakes


def test_an_undefined_step_lists_the_closest_steps(mistakes: str) -> None:
    text = failure(mistakes, "An undefined step")
    assert mistakes.count('features/mistakes.feature:11, in scenario "An undefined step": no step matches')
    assert 'Then account "A" is placed in tier "Premier"' in text
    assert 'The closest steps are:\n    Then account "<account>" is in tier "<tier>"' in text


def test_a_check_written_as_a_given_says_which_keyword_it_needs(mistakes: str) -> None:
    text = failure(mistakes, "A Then step written as a Given")
    assert 'It is a Then step: write it as\n    Then account "<account>" is in tier "<tier>"' in text


def test_a_table_with_the_wrong_columns_says_what_to_write(mistakes: str) -> None:
    text = failure(mistakes, "A table with the wrong columns")
    assert "features/mistakes.feature:17" in mistakes
    assert (
        'the facts of account "A" are a table of two columns, | fact | value |, one fact a row '
        "(say | annual_revenue | 3,000,000 |); this row has 3: | fact | value | note |"
    ) in text


def test_a_misspelt_fact_fails_at_its_table(mistakes: str) -> None:
    text = failure(mistakes, "A misspelt fact")
    assert 'features/mistakes.feature:23, in scenario "A misspelt fact": Given these accounts:' in mistakes
    assert "has a fact \"anual_revenue\" that account does not have (did you mean 'annual_revenue'?)" in text


def test_a_step_without_its_table(mistakes: str) -> None:
    text = failure(mistakes, "A step without its table")
    assert 'the step\n    Given an account "A" with:\nneeds a table below it' in text
    assert "During handling" not in text


def test_an_account_that_fails_validation_says_how_to_fix_it_or_expect_it(mistakes: str) -> None:
    text = failure(mistakes, "An account the rules cannot decide")
    assert "strategic_fit: must be at most 5, got 7" in text
    assert "Correct the facts where it is described (features/mistakes.feature:32)" in text
    assert 'Then account "A" could not be decided because "strategic_fit: must be at most 5, got 7"' in text


@pytest.mark.parametrize(
    ("scenario", "message"),
    [
        ("A tier that does not exist", "there is no tier \"Premiere\" in the rulebook (did you mean 'Premier'?)"),
        ("A criterion that does not exist", "there is no criterion \"fitt\" in the rulebook (did you mean 'fit'?)"),
        ("A gate that does not exist", "there is no gate \"declines\" in the rulebook (did you mean 'declines_kam'?)"),
        (
            "A check that does not exist",
            "there is no plan check \"mentor_reviews\" in the rulebook (did you mean 'mentor_review'?)",
        ),
        ("A decisions table with a column that does not exist", "has no column \"segmnt\" (did you mean 'segment'?)"),
        (
            "A plan checks table with a result that does not exist",
            'write passes, fails or does not apply in the result column, not "ok"',
        ),
        ("A list that does not exist", "an account has no list of \"contact persons\" (did you mean 'contacts'?)"),
    ],
)
def test_a_name_that_does_not_exist_gets_a_did_you_mean(mistakes: str, scenario: str, message: str) -> None:
    assert message in failure(mistakes, scenario)


def test_a_check_that_says_something_else_shows_what_it_says(mistakes: str) -> None:
    """The step compares with what the check says, whatever its result, and shows all of it."""
    text = failure(mistakes, "A check that does not say what the scenario expects")
    assert 'check "plan_in_place" of account "A" does not say "the plan is fine": it does not apply: ' in text
