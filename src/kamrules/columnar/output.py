"""The flat result frame: its schema, the columnar rows, the per-account rows, the summary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kamrules.columnar.compliance import COMPLIANCE_LEVELS, compliance, fix_compliance
from kamrules.columnar.run import hundredths
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.facts.schema import STAGES
from kamrules.portfolio.batch import CHECK_STATUSES, Summary, flat_columns, flat_values
from kamrules.portfolio.frames import Table

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


def output_schema(engine: Engine) -> dict[str, pl.DataType]:
    """The columns of a result frame, in order, with their types.

    Scores and points are ``Decimal(5, 2)`` (0.00 to 100.00, exact); columns with a fixed
    set of values (status, tiers, segment, gates, compliance) are enums, which Parquet
    stores dictionary-encoded and CSV and JSON write as text. ``failed_checks`` is a list of
    check ids (written ``;``-joined as text by :func:`~kamrules.portfolio.frames.write_frame`)."""
    import polars as pl

    money = pl.Decimal(5, 2)
    tiers = pl.Enum([t.name for t in engine.tiers])
    fixed = {
        "status": pl.Enum(["decided", "error"]),
        "tier": tiers,
        "tier_by_rules": tiers,
        "segment": pl.Enum([name for name, _ in engine.segments]),
        "compliance": pl.Enum(list(COMPLIANCE_LEVELS)),
        "record": pl.Int64(),
        "key_account": pl.Boolean(),
    }
    schema: dict[str, pl.DataType] = {}
    for name in flat_columns(engine):
        if name in fixed:
            schema[name] = fixed[name]
        elif name.startswith(("score.", "points.")):
            schema[name] = money
        elif name.startswith(("weighted.", "total_weight.")):
            schema[name] = pl.Int64()
        elif name.startswith("gate."):
            schema[name] = pl.Enum(["applies", "unknown", "no"])
        elif name.startswith("check."):
            schema[name] = pl.Enum(list(CHECK_STATUSES))
        elif name == "failed_checks":
            schema[name] = pl.List(pl.String())
        else:
            schema[name] = pl.String()
    return schema


def outcomes_frame(engine: Engine, items: Sequence[Outcome | AccountError]) -> pl.DataFrame:
    """The result frame of per-account decisions (already placed by capacity)."""
    import polars as pl

    schema = output_schema(engine)
    rows = [flat_values(engine, item, number) for number, item in enumerate(items, start=1)]
    return pl.DataFrame(rows, schema=schema, orient="row") if rows else pl.DataFrame(schema=schema)


def summarise(engine: Engine, frame: pl.DataFrame, unknown: list[str]) -> Summary:
    """The batch summary of a result frame."""
    import polars as pl

    summary = Summary()
    summary.read = frame.height
    decided = frame.filter(pl.col("status") == "decided")
    summary.decided = decided.height
    summary.errors = frame.height - decided.height
    summary.name_every_grade(engine)
    for column, counter in (("tier", summary.tiers), ("segment", summary.segments), ("compliance", summary.compliance)):
        counts = decided.group_by(column).len()
        for value, count in counts.iter_rows():
            if value is not None:
                counter[value] += count
    summary.key_accounts = int(decided.select(pl.col("key_account").sum()).item() or 0)
    summary.unknown_columns = unknown
    return summary


def unknown_columns(engine: Engine, table: Table) -> list[str]:
    known = engine.validator.known_keys
    return [c for c in table.frame.columns if c not in known]


def output(
    run: Run,
    placed: pl.DataFrame,
    outcomes: dict[int, Outcome],
    errors: dict[int, AccountError],
) -> pl.DataFrame:
    import polars as pl

    engine = run.engine
    tiers = engine.tiers
    names = [t.name for t in tiers]
    indices = list(range(len(tiers)))
    keys = [t.key_account for t in tiers]
    stage_code = pl.col("stage").replace_strict(list(STAGES), list(range(len(STAGES))), default=None)
    placed = placed.with_columns((pl.col("@final") * 8 + stage_code.fill_null(7)).alias("@situation"))
    status, checks = compliance(run, placed)
    capacity = pl.col("@capnotes")
    notes = [pl.col("@notes"), pl.when(capacity.list.len() > 0).then(capacity.list.join("; "))]
    placement = pl.concat_str(notes, separator="; ", ignore_nulls=True)
    exprs: list[pl.Expr] = [
        (pl.col("@row") + 1).alias("record"),
        pl.col("id").alias("account_id"),
        pl.col("name").alias("account_name"),
        pl.lit("decided").alias("status"),
        pl.col("@final").replace_strict(indices, names, return_dtype=pl.String).alias("tier"),
        pl.col("@final").replace_strict(indices, keys, return_dtype=pl.Boolean).alias("key_account"),
        pl.col("segment"),
    ]
    for card in engine.cards:
        w, t = pl.col(f"@w.{card.id}"), pl.col(f"@t.{card.id}")
        exprs.append(hundredths(w // t).alias(f"score.{card.id}"))
    for card in engine.cards:
        exprs.append(pl.col(f"@w.{card.id}").alias(f"weighted.{card.id}"))
    for card in engine.cards:
        exprs.append(pl.col(f"@t.{card.id}").alias(f"total_weight.{card.id}"))
    for card in engine.cards:
        for c in card.criteria:
            exprs.append(hundredths(pl.col(f"@p.{c.spec.id}")).alias(f"points.{c.spec.id}"))
    exprs += [pl.col(f"gate.{g.spec.id}") for g in engine.gates]
    exprs.append(status.alias("compliance"))
    exprs += checks
    exprs.append(pl.col("@natural").replace_strict(indices, names, return_dtype=pl.String).alias("tier_by_rules"))
    exprs.append(pl.when(placement != "").then(placement).alias("placement"))
    exprs.append(pl.lit(None, dtype=pl.String).alias("error"))
    schema = output_schema(engine)
    decided = placed.select(exprs).select([pl.col(c).cast(schema[c]) for c in schema])
    if outcomes:
        decided = fix_compliance(run, decided, placed, outcomes)
    if errors:
        error_rows = [flat_values(engine, item, row + 1) for row, item in errors.items()]
        error_frame = pl.DataFrame(error_rows, schema=schema, orient="row")
        decided = pl.concat([decided, error_frame], how="vertical").sort("record")
    return decided
