"""Plan compliance in columns: which checks apply at the final tier and stage, each check's
result, the ids of those that did not pass, and the plan's status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamrules.columnar.run import any_true
from kamrules.evaluation.compliance import compliance_status
from kamrules.evaluation.engine import Outcome
from kamrules.facts.schema import STAGES
from kamrules.portfolio.batch import check_statuses, failed_checks

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


def compliance(run: Run, frame: pl.DataFrame) -> tuple[pl.Expr, list[pl.Expr]]:
    """Each account's plan compliance status at its final tier, and the columns
    ``check.<id>`` and ``failed_checks`` (rows decided in columns; ``@situation`` is the
    final tier * 8 + the stage's code, 7 for a missing stage)."""
    import polars as pl

    checks = run.engine.checks
    if not checks:
        return pl.lit(None, dtype=pl.String), []
    # Where a check applies depends only on the tier and the stage: one small integer per
    # row (the situation), and one membership test per distinct place checks apply.
    situation = pl.col("@situation")
    places: dict[tuple[frozenset[int], frozenset[str] | None], pl.Expr] = {}
    blocker: list[pl.Expr] = []
    major: list[pl.Expr] = []
    applicable: list[pl.Expr] = []
    columns: list[pl.Expr] = []
    failed_ids: list[pl.Expr] = []
    for i, check in enumerate(checks):
        key = (check.tiers, check.stages)
        if key not in places:
            codes = [
                tier * 8 + code
                for tier in sorted(check.tiers)
                for code, stage in enumerate(STAGES)
                if check.stages is None or stage in check.stages
            ]
            if check.stages is None:
                codes += [tier * 8 + 7 for tier in sorted(check.tiers)]  # the stage is missing: still applies
            places[key] = situation.is_in(codes) if codes else pl.lit(False)
            applicable.append(places[key])
        applies = places[key]
        value = pl.col(f"@c.{i}")
        not_passed = applies & ~value.fill_null(False)
        if check.spec.severity == "blocker":
            blocker.append(not_passed)
        elif check.spec.severity == "major":
            major.append(not_passed)
        columns.append(
            pl.when(~applies)
            .then(pl.lit("not_applicable"))
            .when(value.is_null())
            .then(pl.lit("evidence_missing"))
            .when(value)
            .then(pl.lit("passed"))
            .otherwise(pl.lit("failed"))
            .alias(f"check.{check.spec.id}")
        )
        failed_ids.append(pl.when(not_passed).then(pl.lit(check.spec.id)))
    failed = pl.concat_list(failed_ids).list.drop_nulls().alias("failed_checks")
    status = (
        pl.when(any_true(blocker))
        .then(pl.lit("non_compliant"))
        .when(any_true(major))
        .then(pl.lit("at_risk"))
        .when(any_true(applicable))
        .then(pl.lit("compliant"))
        .otherwise(pl.lit("not_applicable"))
    )
    return status, [*columns, failed]


def fix_compliance(run: Run, decided: pl.DataFrame, placed: pl.DataFrame, outcomes: dict[int, Outcome]) -> pl.DataFrame:
    """Compliance and check results of the rows decided per account, at their tier after
    capacity (the shared per-account implementation decides them)."""
    import polars as pl

    engine = run.engine
    if not engine.checks:
        return decided
    finals = dict(zip(placed.get_column("@row").to_list(), placed.get_column("@final").to_list(), strict=True))
    names = ["compliance", *(f"check.{c.spec.id}" for c in engine.checks), "failed_checks"]
    fixes: dict[str, list[object]] = {"record": [], **{name: [] for name in names}}
    for row, o in outcomes.items():
        rows = o.placed(finals[row], ())._check_rows
        statuses = check_statuses(rows)
        fixes["record"].append(row + 1)
        fixes["compliance"].append(compliance_status(engine.checks, rows))
        for check, value in zip(engine.checks, statuses, strict=True):
            fixes[f"check.{check.spec.id}"].append(value)
        fixes["failed_checks"].append(failed_checks(engine, statuses))
    fix = pl.DataFrame(
        {("record" if k == "record" else f"@fix.{k}"): v for k, v in fixes.items()},
        schema={"record": pl.Int64, **{f"@fix.{k}": decided.schema[k] for k in names}},
    )
    return (
        decided.join(fix, on="record", how="left", maintain_order="left")
        .with_columns(
            pl.when(pl.col("@fix.compliance").is_not_null()).then(pl.col(f"@fix.{k}")).otherwise(pl.col(k)).alias(k)
            for k in names
        )
        .drop([f"@fix.{k}" for k in names])
    )
