"""``kamrules evaluate --engine spark``: Parquet directories in and out, and clear refusals."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

pl = pytest.importorskip("polars")
pytest.importorskip("pyspark")

from typer.testing import CliRunner  # noqa: E402

from kamrules.cli import exit_codes  # noqa: E402
from kamrules.cli.main import app  # noqa: E402
from kamrules.portfolio import read_accounts  # noqa: E402
from tests.conftest import ROOT  # noqa: E402

RULES = str(ROOT / "rules")
runner = CliRunner()


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stderr


@pytest.fixture(scope="module")
def partitioned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example accounts as a Parquet directory partitioned by region (``region=DACH/...``,
    the partition key named as the fact) and, beside it, as one Parquet file."""
    folder = tmp_path_factory.mktemp("partitioned")
    frame = read_accounts(ROOT / "examples" / "accounts.csv").frame
    frame = frame.rename({"Sales_Region__c": "region"}).with_columns(pl.col("region").fill_null("none"))
    for (region,), part in frame.partition_by("region", as_dict=True).items():
        target = folder / "accounts" / f"region={region}"
        target.mkdir(parents=True)
        part.drop("region").write_parquet(target / "part-0.parquet")
    return folder / "accounts"


def test_a_partitioned_directory_decided_on_spark(spark: Any, partitioned: Path, tmp_path: Path) -> None:
    out = tmp_path / "decisions"
    code, err = invoke(
        "evaluate",
        RULES,
        str(partitioned),
        "--engine",
        "spark",
        "-f",
        "parquet",
        "-o",
        str(out),
        "--as-of",
        "2026-11-01",
    )
    assert code == exit_codes.OK, err
    assert "300 records read: 300 decided, 0 could not be decided" in err
    got = pl.read_parquet(out / "*.parquet").sort("account_id")
    # the same decisions as one machine on the rows Spark read (partition column included)
    rows = pl.from_arrow(spark.read.parquet(str(partitioned)).toArrow())
    single = tmp_path / "single.parquet"
    rows.write_parquet(tmp_path / "rows.parquet")
    code, err = invoke(
        "evaluate", RULES, str(tmp_path / "rows.parquet"), "-f", "parquet", "-o", str(single), "--as-of", "2026-11-01"
    )
    assert code == exit_codes.OK, err
    expected = pl.read_parquet(single)
    expected = expected.with_columns(
        pl.col(c).cast(pl.String) for c, d in expected.schema.items() if isinstance(d, pl.Enum)
    ).sort("account_id")
    assert got.columns == expected.columns
    assert got.drop("record").equals(expected.drop("record"))


def test_refusals(spark: Any, partitioned: Path, tmp_path: Path) -> None:
    base = ["evaluate", RULES, str(partitioned), "--engine", "spark", "--as-of", "2026-11-01"]
    code, err = invoke(*base, "-f", "csv")
    assert code == exit_codes.USAGE and "--format parquet -o DIRECTORY" in err
    code, err = invoke(*base, "-f", "parquet", "-o", str(tmp_path))
    assert code == exit_codes.USAGE and "exists" in err
    code, err = invoke(
        "evaluate",
        RULES,
        str(ROOT / "examples" / "accounts.csv"),
        "--engine",
        "spark",
        "-f",
        "parquet",
        "-o",
        str(tmp_path / "x"),
    )
    assert code == exit_codes.USAGE and "convert" in err
    code, err = invoke(*base[:3], "--master", "local[2]", "-f", "parquet", "-o", str(tmp_path / "y"))
    assert code == exit_codes.USAGE and "--engine spark" in err
    code, err = invoke(*base[:3], "--driver-memory", "4g", "-f", "parquet", "-o", str(tmp_path / "y"))
    assert code == exit_codes.USAGE and "--driver-memory" in err and "--engine spark" in err
    code, err = invoke(*base, "--driver-memory", "lots", "-f", "parquet", "-o", str(tmp_path / "z"))
    assert code == exit_codes.USAGE and "'lots' is not a size like 4g" in err
    assert not (tmp_path / "z").exists()


def test_without_the_extra_the_message_names_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    code, err = invoke(
        "evaluate",
        RULES,
        str(ROOT / "examples" / "accounts.jsonl"),
        "--engine",
        "spark",
        "-f",
        "parquet",
        "-o",
        str(tmp_path / "o"),
    )
    assert code == exit_codes.USAGE
    assert "pip install 'kamrules[spark]'" in err


def test_impact_on_spark_equals_impact_on_one_machine(spark: Any, partitioned: Path, tmp_path: Path) -> None:
    import shutil

    proposed = tmp_path / "proposed"
    shutil.copytree(ROOT / "rules", proposed)
    tiers = proposed / "tiers.yaml"
    tiers.write_text(tiers.read_text(encoding="utf-8").replace("min_score: 75", "min_score: 70", 1), encoding="utf-8")
    rows = pl.from_arrow(spark.read.parquet(str(partitioned)).toArrow())
    rows.write_parquet(tmp_path / "rows.parquet")
    args = ["impact", RULES, str(proposed)]
    code, err = invoke(*args, str(partitioned), "--engine", "spark", "-f", "json", "-o", str(tmp_path / "spark.json"))
    assert code == exit_codes.OK, err
    code, err = invoke(*args, str(tmp_path / "rows.parquet"), "-f", "json", "-o", str(tmp_path / "one.json"))
    assert code == exit_codes.OK, err
    on_spark = (tmp_path / "spark.json").read_text(encoding="utf-8")
    assert on_spark == (tmp_path / "one.json").read_text(encoding="utf-8")
    assert '"moved"' in on_spark and "Gold" in on_spark
