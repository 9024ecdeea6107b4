"""Tier capacity placed by Spark itself, exactly as :func:`kamrules.portfolio.placement.place`.

The compact keys of every decided account (one row each: exact primary score, tie-breakers,
id, manager, tier before capacity, ceiling, eligibility bits, pinned) are a Spark DataFrame.
Each tier with a capacity, best first, is one step:

* its members are ranked by window functions: exact score descending (an integer key: the
  weighted sum scaled to the least common multiple of the total weights that occur, so two
  fractions compare exactly), then the tie-breakers (missing last), the account id and the
  record number;
* an account is admitted while the tier has slots left and (per account manager, where the
  rulebook says so) its manager holds fewer than the most per manager: a running count per
  manager and a running count of admissions over the ranking, which is what
  :func:`~kamrules.portfolio.placement.place`'s loop counts, one account at a time;
* a rejected account falls to the next tier it is eligible for (or the last), where the next
  step ranks it again; its note says where it ranked and why it fell, in the same words.

The ranking of a tier is a window over all of that tier's contenders (Spark moves them to
one task): the first limit at a very large scale, see ``docs/spark.md``.

A portfolio with at most :data:`DRIVER_CONTENDERS` contenders (accounts whose tier before
capacity can meet one) is placed on the driver instead: their keys are collected as Arrow and
placed by :func:`kamrules.columnar.chunks.place_keys`, the single machine's own placement.
Half a million contenders' keys are tens of megabytes; the Spark steps (a count, a window in
one task and a checkpoint per tier) cost more than placing them (decision 52).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from kamrules.errors import KamrulesError
from kamrules.portfolio.placement import capacity_tiers
from kamrules.spark.runner import release

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame

    from kamrules.columnar.engine import ColumnarEngine
    from kamrules.spark.runner import Timer

DRIVER_CONTENDERS = 500_000
"""At most this many contenders are placed on the driver (the single machine's placement);
more are placed by Spark's window functions. The driver's cost is linear (about 3.4 s per
250,000 contenders, one Python thread), Spark's mostly fixed per tier (6-9 s at 250,000
contenders on the loaded benchmark machine, 14.3 s at 2.5 million idle): they cross at about
half a million."""

MAX_KEY = 10**36
"""Exact score keys are Decimal(38, 0); a key above this could not be compared exactly."""


class PlacementTooWide(KamrulesError):
    """The total weights that occur have too large a common multiple for exact keys."""


def exact_key(totals: list[int], weighted: str, total: str) -> Column:
    """An integer column ordering ``weighted / total`` exactly, given the total weights
    that occur (see the module docstring)."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import DecimalType

    totals = sorted(set(totals))
    if len(totals) <= 1:
        return F.col(weighted)
    lcm = 1
    for t in totals:
        lcm = lcm * t // math.gcd(lcm, t)
    if lcm * 10_001 > MAX_KEY:
        raise PlacementTooWide(
            f"the scorecard's total weights ({len(totals)} different ones) have a common multiple too large "
            "to rank scores exactly in Spark"
        )
    factors = F.create_map(*[x for t in totals for x in (F.lit(t), F.lit(lcm // t).cast(DecimalType(38, 0)))])
    return F.col(weighted).cast(DecimalType(38, 0)) * factors[F.col(total)]


def _ordinal_suffix(place: Column) -> Column:
    from pyspark.sql import functions as F

    last_two = place % 100
    last = place % 10
    return (
        F.when((last_two >= 10) & (last_two <= 20), F.lit("th"))
        .when(last == 1, F.lit("st"))
        .when(last == 2, F.lit("nd"))
        .when(last == 3, F.lit("rd"))
        .otherwise(F.lit("th"))
    )


def place(columnar: ColumnarEngine, keys: DataFrame, timer: Timer | None = None) -> DataFrame | Any:
    """``row``, ``final`` (the tier after capacity) and ``notes`` (the capacity notes, in
    order) of every account that took part in a ranking; ``keys`` holds one row per decided
    account of the portfolio (repeats of an account id already left out).

    A Spark DataFrame when Spark placed it; a pyarrow Table of the same columns when it was
    placed on the driver (at most :data:`DRIVER_CONTENDERS` rows)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    engine = columnar.engine
    spec = columnar.rulebook.spec
    names = [t.name for t in spec.tiers]
    last = len(names) - 1
    # one pass over the keys: the portfolio's size and the total weights that occur
    total_columns = ["total"] + [c for c in keys.columns if c.startswith("b") and c.endswith("_total")]
    at_most = [F.count_if(F.col("tier").between(0, i)) for i in range(len(names))]
    facts = keys.agg(F.count("*"), *[F.collect_set(c) for c in total_columns], *at_most).collect()[0]
    portfolio = int(facts[0])
    totals = {c: [int(t) for t in facts[i + 1]] for i, c in enumerate(total_columns)}
    tiers = capacity_tiers(engine, portfolio)
    if not tiers:
        return _placed_schema().empty_table()
    lowest = max(t.index for t in tiers)
    if int(facts[1 + len(total_columns) + lowest]) <= DRIVER_CONTENDERS:
        return _on_the_driver(columnar, keys.filter(F.col("tier").between(0, lowest)), portfolio, timer)
    # (key, descending) from the most significant: missing tie-breakers rank last either way
    order: list[tuple[Column, bool]] = [(exact_key(totals["total"], "weighted", "total"), True)]
    for i, breaker in enumerate(spec.tie_breakers):
        descending = breaker.order == "descending"
        if f"b{i}_weighted" in keys.columns:
            order.append((exact_key(totals[f"b{i}_total"], f"b{i}_weighted", f"b{i}_total"), descending))
        else:
            order.append((F.col(f"b{i}"), descending))
    order += [(F.col("account_id"), False), (F.col("row"), False)]
    state = (
        keys.filter(F.col("tier") <= max(t.index for t in tiers))
        .select(
            "row",
            "account_id",
            "manager",
            "tier",
            "eligible",
            "pinned",
            *[key.alias(f"_k{i}") for i, (key, _) in enumerate(order)],
        )
        .withColumn("notes", F.array().cast("array<string>"))
        .localCheckpoint()
    )
    sort = [
        F.col(f"_k{i}").desc_nulls_last() if descending else F.col(f"_k{i}").asc_nulls_last()
        for i, (_, descending) in enumerate(order)
    ]
    tier_name = F.create_map(*[x for i, n in enumerate(names) for x in (F.lit(i), F.lit(n))])
    if timer is not None:
        timer.lap("placement: the portfolio's size and total weights, the contenders kept")
    for step in tiers:
        index, name, capacity, per_manager = step.index, step.name, step.capacity, step.per_manager
        in_tier = F.col("tier") == index
        is_member = F.coalesce(in_tier & ~F.col("pinned"), F.lit(False))
        held = state.filter(in_tier & F.col("pinned"))
        members = state.filter(is_member)
        counts: dict[bool, int] = {r[0]: r[1] for r in state.filter(in_tier).groupBy("pinned").count().collect()}
        n_held, m = int(counts.get(True, 0)), int(counts.get(False, 0))
        if m == 0:
            continue
        slots = capacity - n_held if capacity is not None else m
        ranking = Window.orderBy(*sort)
        running = ranking.rowsBetween(Window.unboundedPreceding, Window.currentRow)
        ranked = members.withColumn("_place", F.row_number().over(ranking) + F.lit(n_held))
        if per_manager is not None:
            held_by = held.filter(F.col("manager").isNotNull()).groupBy("manager").agg(F.count("*").alias("_base"))
            ranked = ranked.join(F.broadcast(held_by), on="manager", how="left").fillna(0, subset=["_base"])
            by_manager = Window.partitionBy("manager").orderBy(*sort)
            ranked = ranked.withColumn("_before", F.row_number().over(by_manager) - 1)
            ok = F.col("manager").isNull() | (F.col("_base") + F.col("_before") < per_manager)
        else:
            ok = F.lit(True)
        ranked = ranked.withColumn("_ok", ok)
        if slots > 0:
            ranked = ranked.withColumn(
                "_accepted", F.col("_ok") & (F.sum(F.col("_ok").cast("long")).over(running) <= slots)
            )
        else:
            ranked = ranked.withColumn("_accepted", F.lit(False))
        accepted_int = F.col("_accepted").cast("long")
        ranked = ranked.withColumn("_left", F.lit(slots) - (F.sum(accepted_int).over(running) - accepted_int))
        if per_manager is not None:
            by_manager_running = (
                Window.partitionBy("manager").orderBy(*sort).rowsBetween(Window.unboundedPreceding, Window.currentRow)
            )
            over = F.col("manager").isNotNull() & (
                F.col("_base") + F.sum(accepted_int).over(by_manager_running) - accepted_int >= per_manager
            )
        else:
            over = F.lit(False)
        ranked = ranked.withColumn("_full_by_manager", over & (F.col("_left") > 0))
        target: Column = F.lit(last)
        for candidate in reversed(range(index + 1, last)):
            target = F.when(F.shiftright(F.col("eligible"), candidate).bitwiseAND(1) == 1, F.lit(candidate)).otherwise(
                target
            )
        ranked = ranked.withColumn("_target", F.when(F.col("_accepted"), F.lit(index)).otherwise(target))
        limit = f"capacity {capacity}" if capacity is not None else "no overall capacity"
        where = F.concat(
            F.lit("ranked "),
            F.col("_place").cast("string"),
            _ordinal_suffix(F.col("_place")),
            F.lit(f" of {m + n_held} eligible for {name}, {limit}"),
        )
        reason = F.when(
            F.col("_full_by_manager"),
            F.concat(F.col("manager"), F.lit(f" already has {per_manager} {name} accounts, the most per manager")),
        ).otherwise(F.lit("the tier is full"))
        note = F.when(F.col("_accepted"), where).otherwise(
            F.concat(where, F.lit(": "), reason, F.lit(", so it falls to "), tier_name[F.col("_target")])
        )
        # the members move (or stay) with one more note; the others are as they were: a
        # union, not a join of the whole state with the ranking
        moved = ranked.select(
            *[
                F.col("_target").alias("tier")
                if c == "tier"
                else F.concat(F.col("notes"), F.array(note)).alias("notes")
                if c == "notes"
                else F.col(c)
                for c in state.columns
            ]
        )
        previous, state = state, state.filter(~is_member).unionByName(moved).localCheckpoint()
        release(previous)
        if timer is not None:
            timer.lap(f"placement: {name} ranked ({m:,} contenders)")
    return state.filter(F.size("notes") > 0).select("row", F.col("tier").alias("final"), "notes")


def _on_the_driver(columnar: ColumnarEngine, contenders: DataFrame, portfolio: int, timer: Timer | None) -> Any:
    """The placement of a few contenders by the single machine's own ``place_keys`` (their
    keys collected as Arrow), as a pyarrow Table of the columns of :func:`place`'s frame."""
    import polars as pl

    from kamrules.columnar.chunks import place_keys

    frame = pl.from_arrow(contenders.toArrow())
    assert isinstance(frame, pl.DataFrame)
    if timer is not None:
        timer.lap(f"placement: {frame.height:,} contenders' keys collected")
    # the Spark keys' names (b0, b0_weighted) back to the columnar engine's (breaker.0.weighted)
    frame = frame.rename(
        {c: "breaker." + c[1:].replace("_", ".") for c in frame.columns if c[0] == "b" and c[1:2].isdigit()}
    )
    placed, _ = place_keys(columnar.engine, frame, portfolio)
    if timer is not None:
        timer.lap("placement: placed on the driver")
    return placed.select("row", pl.col("tier").alias("final"), "notes").to_arrow().cast(_placed_schema())


def _placed_schema() -> Any:
    import pyarrow as pa  # type: ignore[import-untyped]

    return pa.schema([("row", pa.int64()), ("final", pa.int64()), ("notes", pa.list_(pa.string()))])
