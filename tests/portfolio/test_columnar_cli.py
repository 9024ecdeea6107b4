"""``kamrules evaluate`` with Parquet in and out and the --engine option."""

from __future__ import annotations

from pathlib import Path

import pytest

pl = pytest.importorskip("polars")

from typer.testing import CliRunner  # noqa: E402

from kamrules.cli import exit_codes  # noqa: E402
from kamrules.cli.main import app  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

RULES = str(ROOT / "rules")
CSV = ROOT / "examples" / "accounts.csv"
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("in") / "accounts.parquet"
    pl.read_csv(CSV, infer_schema_length=None).write_parquet(path)
    return path


def test_parquet_in_and_out_by_both_engines(parquet: Path, tmp_path: Path) -> None:
    frames = {}
    for engine in ("auto", "columnar", "per-account"):
        out = tmp_path / f"{engine}.parquet"
        code, _, err = invoke(
            "evaluate",
            RULES,
            str(parquet),
            "--as-of",
            "2026-11-01",
            "-f",
            "parquet",
            "-o",
            str(out),
            "--engine",
            engine,
        )
        assert code == exit_codes.OK, err
        assert "300 records read: 300 decided" in err
        frames[engine] = pl.read_parquet(out)
    assert frames["auto"].equals(frames["per-account"])
    assert frames["columnar"].equals(frames["per-account"])


def test_parquet_output_needs_a_file(parquet: Path) -> None:
    code, _, err = invoke("evaluate", RULES, str(parquet), "-f", "parquet")
    assert code == exit_codes.USAGE
    assert "-o" in err


def test_the_columnar_engine_writes_flat_rows_only(parquet: Path) -> None:
    code, _, err = invoke("evaluate", RULES, str(parquet), "--engine", "columnar", "-f", "markdown")
    assert code == exit_codes.USAGE
    assert "flat rows" in err


def test_parquet_input_for_explanations_goes_per_account(parquet: Path) -> None:
    code, out, _ = invoke("evaluate", RULES, str(parquet), "--as-of", "2026-11-01", "-f", "jsonl")
    assert code == exit_codes.OK
    assert out.count("\n") == 300 and '"summary"' in out


def test_csv_output_of_a_small_input_stays_per_account_under_auto() -> None:
    code, per_account, _ = invoke("evaluate", RULES, str(CSV), "--as-of", "2026-11-01", "-f", "csv")
    assert code == exit_codes.OK
    code, out, _ = invoke("evaluate", RULES, str(CSV), "--as-of", "2026-11-01", "-f", "csv", "--engine", "columnar")
    assert code == exit_codes.OK
    assert out.splitlines()[0].endswith("tier_by_rules,placement,error")
    assert len(out.splitlines()) == 301
    assert out == per_account  # both engines write the same flat form, byte for byte


def test_error_rows_set_the_exit_code(tmp_path: Path) -> None:
    path = tmp_path / "bad.parquet"
    pl.DataFrame({"id": ["A", None], "annual_revenue": [1.0, -5.0]}).write_parquet(path)
    out = tmp_path / "out.parquet"
    code, _, _ = invoke("evaluate", RULES, str(path), "-f", "parquet", "-o", str(out))
    assert code == exit_codes.RECORDS_FAILED
    frame = pl.read_parquet(out)
    assert frame["status"].to_list() == ["decided", "error"]
    assert frame["error"][1] == "id: is required but missing; annual_revenue: must be at least 0, got -5"
