"""Plan compliance in columns: which checks apply at the final tier and stage, and the status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamrules.columnar.run import any_true
from kamrules.evaluation.compliance import compliance_status
from kamrules.evaluation.engine import Outcome
from kamrules.facts.schema import STAGES

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


def compliance(run: Run, frame: pl.DataFrame) -> pl.Expr:
    """Each account's plan compliance status at its final tier (fast rows)."""
    import polars as pl

    checks = run.engine.checks
    if not checks:
        return pl.lit(None, dtype=pl.String)
    # Where a check applies depends only on the tier and the stage: one small integer per
    # row (the situation), and checks grouped by where they apply.
    situation = pl.col("@situation")
    groups: dict[tuple[frozenset[int], frozenset[str] | None], list[int]] = {}
    for i, check in enumerate(checks):
        groups.setdefault((check.tiers, check.stages), []).append(i)
    blocker: list[pl.Expr] = []
    major: list[pl.Expr] = []
    applicable: list[pl.Expr] = []
    for (tiers, stages), members in groups.items():
        codes = [
            tier * 8 + code
            for tier in sorted(tiers)
            for code, stage in enumerate(STAGES)
            if stages is None or stage in stages
        ]
        if stages is None:
            codes += [tier * 8 + 7 for tier in sorted(tiers)]  # the stage is missing: still applies
        if not codes:
            continue
        applies = situation.is_in(codes)
        applicable.append(applies)
        for severity, bucket in (("blocker", blocker), ("major", major)):
            failed = [~pl.col(f"@c.{i}").fill_null(False) for i in members if checks[i].spec.severity == severity]
            if failed:
                bucket.append(applies & pl.any_horizontal(failed))
    return (
        pl.when(any_true(blocker))
        .then(pl.lit("non_compliant"))
        .when(any_true(major))
        .then(pl.lit("at_risk"))
        .when(any_true(applicable))
        .then(pl.lit("compliant"))
        .otherwise(pl.lit("not_applicable"))
    )


def fix_compliance(run: Run, decided: pl.DataFrame, placed: pl.DataFrame, outcomes: dict[int, Outcome]) -> pl.DataFrame:
    """Compliance of the rows decided per account, at their tier after capacity."""
    import polars as pl

    engine = run.engine
    if not engine.checks:
        return decided
    finals = dict(zip(placed.get_column("@row").to_list(), placed.get_column("@final").to_list(), strict=True))
    status: dict[int, str] = {}
    for row, o in outcomes.items():
        status[row + 1] = compliance_status(engine.checks, o.placed(finals[row], ()).check_rows)
    fix = pl.DataFrame(
        {"record": list(status), "@fix": list(status.values())},
        schema={"record": pl.Int64, "@fix": decided.schema["compliance"]},
    )
    return (
        decided.join(fix, on="record", how="left", maintain_order="left")
        .with_columns(pl.coalesce("@fix", "compliance").alias("compliance"))
        .drop("@fix")
    )
