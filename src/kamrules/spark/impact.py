"""The impact of a rule change on a Spark portfolio (``kamrules impact --engine spark``).

The portfolio is decided on Spark under both rulebooks; Spark joins the two results by record,
counts the tier, segment and compliance matrices, and sends to the driver only the rows of the
accounts that moved (or failed), whose reasons are worded by
:func:`kamrules.workbench.impact.compare`, as on one machine.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from kamrules.workbench.impact import Impact

KEYS = ("status", "tier", "segment", "compliance")


def impact(
    df: DataFrame, old_rules: str | Path, new_rules: str | Path, as_of: dt.date, *, crm: str | Path | None = None
) -> Impact:
    """Decide ``df`` under both rulebooks on Spark and compare, account by account."""
    import polars as pl
    from pyspark.sql import functions as F

    from kamrules.evaluation.engine import Engine
    from kamrules.rulebook import load_rulebook
    from kamrules.spark.runner import decide
    from kamrules.workbench.impact import Impact, compare, rule_changes

    old, new = load_rulebook(old_rules), load_rulebook(new_rules)
    old_engine, new_engine = Engine(old).with_profile(crm), Engine(new).with_profile(crm)
    result = Impact(old, new, as_of, rule_changes(old, new))
    a = decide(df, old_rules, as_of, crm=crm).localCheckpoint()
    b = decide(df, new_rules, as_of, crm=crm).localCheckpoint()
    both = (
        a.select("record", *KEYS)
        .join(b.select("record", *[F.col(k).alias(f"{k}_new") for k in KEYS]), on="record")
        .localCheckpoint()
    )
    decided = both.filter((F.col("status") == "decided") & (F.col("status_new") == "decided"))
    for key, counter in (("tier", result.tiers), ("segment", result.segments), ("compliance", result.compliance)):
        for before, after, n in decided.groupBy(key, f"{key}_new").count().collect():
            counter[(str(before or ""), str(after or ""))] += n
            if key == "tier":
                result.accounts += n
    differs = (F.col("status") != "decided") | (F.col("status_new") != "decided")
    for key in KEYS[1:]:
        differs = differs | ~F.col(key).eqNullSafe(F.col(f"{key}_new"))
    moved = both.filter(differs).select("record")

    def rows(frame: DataFrame) -> list[dict[str, Any]]:
        table = pl.from_arrow(frame.join(moved, on="record").orderBy("record").toArrow())
        assert isinstance(table, pl.DataFrame)
        return [{k: ("" if v is None else v) for k, v in row.items()} for row in table.to_dicts()]

    return compare(result, old_engine, new_engine, zip(rows(a), rows(b), strict=True), counted=True)
