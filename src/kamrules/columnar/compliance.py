"""Plan compliance in columns: which checks apply at the final tier and stage, each check's
result, the ids of those that did not pass, and the plan's status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kamrules.columnar.run import any_true
from kamrules.evaluation.compliance import compliance_status
from kamrules.evaluation.engine import Outcome
from kamrules.facts.schema import STAGES
from kamrules.portfolio.batch import CHECK_STATUSES, check_statuses, failed_checks

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


COMPLIANCE_LEVELS = ("compliant", "at_risk", "non_compliant", "not_applicable")
"""The values of the ``compliance`` column (an enum in a result frame)."""


def compliance(run: Run, frame: pl.DataFrame) -> tuple[pl.Expr, list[pl.Expr]]:
    """Each account's plan compliance status at its final tier, and the columns
    ``check.<id>`` and ``failed_checks`` (rows decided in columns; ``@situation`` is the
    final tier * 8 + the stage's code, 7 for a missing stage)."""
    import polars as pl

    checks = run.engine.checks
    if not checks:
        return pl.lit(None, dtype=pl.Enum(list(COMPLIANCE_LEVELS))), []
    # the results as the output's enums from the start: text made per row and then cast
    # cost ten times more
    statuses = pl.Enum(list(CHECK_STATUSES))
    levels = pl.Enum(list(COMPLIANCE_LEVELS))

    def result(name: str) -> pl.Expr:
        return pl.lit(name, dtype=statuses)

    def level(name: str) -> pl.Expr:
        return pl.lit(name, dtype=levels)

    # Where a check applies depends only on the tier and the stage: one small integer per
    # row (the situation), and one membership test per distinct place checks apply.
    situation = pl.col("@situation")
    places: dict[tuple[frozenset[int], frozenset[str] | None], pl.Expr] = {}
    blocker: list[pl.Expr] = []
    major: list[pl.Expr] = []
    applicable: list[pl.Expr] = []
    columns: list[pl.Expr] = []
    not_passing: list[pl.Expr] = []  # per check: it applies and did not pass
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
            .then(result("not_applicable"))
            .when(value.is_null())
            .then(result("evidence_missing"))
            .when(value)
            .then(result("passed"))
            .otherwise(result("failed"))
            .alias(f"check.{check.spec.id}")
        )
        not_passing.append(not_passed)
    failed = pl.lit(failed_checks_column(run, frame, not_passing)).alias("failed_checks")
    status = (
        pl.when(any_true(blocker))
        .then(level("non_compliant"))
        .when(any_true(major))
        .then(level("at_risk"))
        .when(any_true(applicable))
        .then(level("compliant"))
        .otherwise(level("not_applicable"))
    )
    return status, [*columns, failed]


MASK_BITS = 60
"""Checks per bit mask in :func:`failed_checks_column` (an Int64 holds them without the sign bit)."""


def failed_checks_column(run: Run, frame: pl.DataFrame, not_passed: list[pl.Expr]) -> pl.Series:
    """``failed_checks`` of every row of ``frame``: the ids of the checks that apply and did
    not pass, in check order.

    A row's failed checks are a few bit masks; the distinct masks of the frame (a handful in
    a real portfolio) are worded once and joined back. Building the list per row
    (``concat_list`` of one nullable text column per check, then ``drop_nulls``) cost more
    than all the other output columns together (0.4 s of 0.5 s for 50,000 rows)."""
    import polars as pl

    ids = [check.spec.id for check in run.engine.checks]
    masks = []
    for start in range(0, len(not_passed), MASK_BITS):
        bits = [
            pl.when(expr).then(pl.lit(1 << k, dtype=pl.Int64)).otherwise(pl.lit(0, dtype=pl.Int64))
            for k, expr in enumerate(not_passed[start : start + MASK_BITS])
        ]
        masks.append(pl.sum_horizontal(bits).alias(f"@mask.{start // MASK_BITS}"))
    rows = frame.select(masks)
    names = rows.columns
    distinct = rows.unique(maintain_order=True)
    worded = [
        [
            ids[start + k]
            for start, mask in zip(range(0, len(ids), MASK_BITS), key, strict=True)
            for k in range(MASK_BITS)
            if mask >> k & 1
        ]
        for key in distinct.iter_rows()
    ]
    lookup = distinct.with_columns(pl.Series("failed_checks", worded, dtype=pl.List(pl.String)))
    return rows.join(lookup, on=names, how="left", maintain_order="left").get_column("failed_checks")


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
