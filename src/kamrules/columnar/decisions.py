"""Scores, gates, tiers, segments, plan-check conditions, stability and overrides, in columns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kamrules.columnar.run import all_true, any_true, score_field
from kamrules.evaluation.scoring import centi
from kamrules.expressions.polars_backend import (
    ColumnarExpression,
    as_column,
)
from kamrules.suggestions import did_you_mean

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


def scores(run: Run, facts: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Centipoints per criterion and the exact weighted sums; and the rows to decide per
    account (a missing fact under ``missing: error``, nothing scored, a guard)."""
    import polars as pl

    exprs: list[pl.Expr] = []
    slow: list[pl.Expr] = []
    index = 0
    for card in run.engine.cards:
        weighted: list[pl.Expr] = []
        totals: list[pl.Expr] = []
        for c in card.criteria:
            compiled = run.compile("criterion", index)
            index += 1
            points, counted = _points(c.spec, compiled)
            guard = compiled.guard()
            if guard is not None:
                slow.append(guard)
            if c.missing == "error":
                slow.append(compiled.expr.is_null())
                counted = pl.lit(True)
            elif c.missing == "zero":
                points = points.fill_null(0)
                counted = pl.lit(True)
            exprs.append(points.alias(f"@p.{c.spec.id}"))
            weighted.append(pl.when(counted).then(points * c.weight).otherwise(0))
            totals.append(pl.when(counted).then(pl.lit(c.weight, dtype=pl.Int64)).otherwise(0))
        exprs.append(pl.sum_horizontal(weighted).cast(pl.Int64).alias(f"@w.{card.id}"))
        exprs.append(pl.sum_horizontal(totals).cast(pl.Int64).alias(f"@t.{card.id}"))
        slow.append(pl.col(f"@t.{card.id}") == 0)
    scored = facts.with_columns(exprs)
    for card in run.engine.cards:
        totals_seen = scored.get_column(f"@t.{card.id}").unique().drop_nulls().to_list()
        run.totals[card.id] = [int(t) for t in totals_seen if t > 0]
    return scored, any_true(slow)


def decide(run: Run, scored: pl.DataFrame) -> tuple[pl.DataFrame, pl.Expr]:
    """Gates, tiers, stability, overrides, segments, plan checks and tie-breaker values."""
    import polars as pl

    engine = run.engine
    spec = run.owner.rulebook.spec
    compiler = run.compiler()
    slow: list[pl.Expr] = []
    exprs: list[pl.Expr] = []

    def compiled(kind: str, index: int) -> ColumnarExpression:
        result = compiler.compile(run.owner.places[(kind, index)].source)
        guard = result.guard()
        if guard is not None:
            slow.append(guard)
        return result

    ceiling: pl.Expr = pl.lit(0, dtype=pl.Int64)
    for i, gate in enumerate(engine.gates):
        value = compiled("gate", i).expr
        policy = gate.spec.missing
        if policy == "error":
            slow.append(value.is_null())
        applied = value.fill_null(policy == "apply")
        exprs.append(
            pl.when(applied)
            .then(pl.lit("applies"))
            .when(value.is_null())
            .then(pl.lit("unknown"))
            .otherwise(pl.lit("no"))
            .alias(f"gate.{gate.spec.id}")
        )
        if gate.ceiling > 0:
            ceiling = pl.when(applied & (ceiling < gate.ceiling)).then(gate.ceiling).otherwise(ceiling)
    exprs.append(ceiling.alias("@ceiling"))

    tiers = engine.tiers
    last = len(tiers) - 1
    requirement = 0
    for i, tier in enumerate(tiers):
        met: list[pl.Expr] = []
        for _ in tier.requirements:
            met.append(compiled("requirement", requirement).expr.fill_null(False))
            requirement += 1
        tests = [run.score_test(card, minimum) for card, minimum, _ in tier.min_scores]
        exprs.append(all_true([*tests, *met]).alias(f"@e.{i}"))
        exprs.append(all_true(met).alias(f"@r.{i}"))

    for i, (_, expr) in enumerate(engine.segments):
        if expr is not None:
            exprs.append(compiled("segment", i).expr.fill_null(False).alias(f"@s.{i}"))
    for i in range(len(spec.plan_checks)):
        check = engine.checks[i]
        value = compiled("check", i).expr
        if check.within_days is not None:
            value = (pl.lit(run.as_of, dtype=pl.Date) - value).dt.total_days() <= check.within_days
        exprs.append(value.alias(f"@c.{i}"))
    for i in range(len(spec.tie_breakers)):
        place = run.owner.places[("tie_breaker", i)]
        if score_field(place.source, run.schema) is None:
            breaker = compiled("tie_breaker", i)
            # + 0.0 turns -0.0 into 0.0: Python's sort finds them equal, polars' would not
            by = breaker.expr + 0.0 if breaker.kind == "number" else breaker.expr
            exprs.append(by.alias(f"@tb.{i}"))
    decided = scored.with_columns(exprs)

    natural: pl.Expr = pl.lit(last, dtype=pl.Int64)
    for i in reversed(range(last)):
        natural = pl.when(pl.col(f"@e.{i}") & (pl.col("@ceiling") <= i)).then(i).otherwise(natural)
    decided = decided.with_columns(natural.alias("@natural"))
    decided, placement_slow = placement(run, decided)
    slow.extend(placement_slow)

    segment: pl.Expr = pl.lit(None, dtype=pl.String)
    for i in reversed(range(len(engine.segments))):
        name, expr = engine.segments[i]
        test = pl.col(f"@s.{i}") if expr is not None else pl.lit(True)
        segment = pl.when(test).then(pl.lit(name)).otherwise(segment)
    decided = decided.with_columns(segment.alias("segment"))
    return decided, any_true(slow)


def placement(run: Run, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[pl.Expr]]:
    """Stability and overrides: the tier chosen, the placement notes, pinned accounts."""
    import polars as pl

    engine = run.engine
    tiers = engine.tiers
    names = [t.name for t in tiers]
    last = len(tiers) - 1
    slow: list[pl.Expr] = []
    chosen = pl.col("@natural")
    note: pl.Expr = pl.lit(None, dtype=pl.String)
    if engine.margin is not None:
        margin = engine.margin
        held = pl.col("current_tier").replace_strict(
            names, list(range(len(names))), default=None, return_dtype=pl.Int64
        )
        plus = {
            k: all_true(
                [pl.col(f"@r.{k}")]
                + [run.score_test(card, minimum + margin) for card, minimum, _ in tiers[k].min_scores]
            )
            for k in range(last)
        }
        minus = {
            k: all_true(
                [pl.col(f"@r.{k}")]
                + [run.score_test(card, minimum - margin) for card, minimum, _ in tiers[k].min_scores]
            )
            for k in range(last + 1)
        }
        natural, ceiling = pl.col("@natural"), pl.col("@ceiling")
        found: pl.Expr = pl.lit(None, dtype=pl.Int64)
        for k in reversed(range(last)):
            hit = (natural <= k) & (held > k) & (ceiling <= k) & plus[k]
            found = pl.when(hit).then(k).otherwise(found)
        held_minus: pl.Expr = pl.lit(False)
        for k in range(last + 1):
            held_minus = pl.when(held == k).then(minus[k]).otherwise(held_minus)
        frame = frame.with_columns(held.alias("@held"), found.alias("@found"), held_minus.alias("@keep"))
        held, found, keep = pl.col("@held"), pl.col("@found"), pl.col("@keep")
        name_of = {i: n for i, n in enumerate(names)}

        def tier_name(index: pl.Expr) -> pl.Expr:
            return index.replace_strict(list(name_of), list(name_of.values()), default=None, return_dtype=pl.String)

        current = pl.col("current_tier")
        unknown_names = frame.filter(current.is_not_null() & held.is_null()).get_column("current_tier").unique()
        unknown_note = {
            value: f"the current tier '{value}' is not a tier of this rulebook, so no stability margin applies"
            + (f" ({hint})" if (hint := did_you_mean(value, engine.tier_index)) else "")
            for value in unknown_names.to_list()
        }
        promote = current.is_not_null() & held.is_not_null() & (natural < held)
        demote = current.is_not_null() & held.is_not_null() & (natural > held)
        moved = promote & found.is_not_null() & (found != natural)
        stuck = promote & found.is_null()
        kept = demote & (held >= ceiling) & keep
        chosen = pl.when(moved).then(found).when(stuck | kept).then(held).otherwise(natural)
        note = (
            pl.when(current.is_not_null() & held.is_null())
            .then(
                current.replace_strict(
                    list(unknown_note), list(unknown_note.values()), default=None, return_dtype=pl.String
                )
            )
            .when(moved)
            .then(
                pl.format(
                    "moved up to {} only: {} needs its thresholds passed by the stability margin of {} points",
                    tier_name(found),
                    tier_name(natural),
                    pl.lit(str(margin)),
                )
            )
            .when(stuck)
            .then(
                pl.format(
                    "held at {}: moving up to {} needs its thresholds passed by the stability margin of {} points",
                    current,
                    tier_name(natural),
                    pl.lit(str(margin)),
                )
            )
            .when(kept)
            .then(
                pl.format(
                    "held at {}: the score is below its thresholds by less than the stability margin of {} "
                    "points (the rules alone give {})",
                    current,
                    pl.lit(str(margin)),
                    tier_name(natural),
                )
            )
            .otherwise(pl.lit(None, dtype=pl.String))
        )
    frame = frame.with_columns(chosen.alias("@chosen"), note.alias("@note1"))

    override = pl.col("override_tier")
    index = override.replace_strict(names, list(range(len(names))), default=None, return_dtype=pl.Int64)
    given = override.is_not_null()
    incomplete = pl.any_horizontal(
        pl.col(f).is_null() for f in ("override_reason", "override_approver", "override_expires")
    )
    slow.append(given & (index.is_null() | incomplete))
    # Python writes years before 1000 with four digits; leave such dates to it.
    slow.append(given & (pl.col("override_expires").dt.year() < 1000))
    expires = pl.col("override_expires")
    expired = expires < pl.lit(run.as_of, dtype=pl.Date)
    day = expires.dt.strftime("%Y-%m-%d")
    override_note = (
        pl.when(given & expired)
        .then(pl.format("the override to {} expired on {}; the rules decide", override, day))
        .when(given)
        .then(
            pl.format(
                "pinned to {} by override until {}, approved by {}: {}",
                override,
                day,
                pl.col("override_approver"),
                pl.col("override_reason"),
            )
        )
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    frame = frame.with_columns(
        pl.when(given & ~expired & index.is_not_null()).then(index).otherwise(pl.col("@chosen")).alias("@chosen"),
        override_note.alias("@note2"),
    )
    frame = frame.with_columns(
        pl.col("@note2").str.contains("pinned", literal=True).fill_null(False).alias("@pinned"),
        pl.concat_str([pl.col("@note1"), pl.col("@note2")], separator="; ", ignore_nulls=True).alias("@notes"),
    ).with_columns(pl.when(pl.col("@notes") == "").then(None).otherwise(pl.col("@notes")).alias("@notes"))
    return frame, slow


def _points(criterion: Any, compiled: ColumnarExpression) -> tuple[pl.Expr, pl.Expr]:
    """A criterion's centipoints (null when its value is missing) and whether it counts."""
    import polars as pl

    value = compiled.expr
    known = value.is_not_null()
    if criterion.bands is not None:
        points: pl.Expr = pl.lit(centi(criterion.below_bands), dtype=pl.Int64)
        for band in reversed(criterion.bands):
            points = pl.when(value >= band.at_least).then(pl.lit(centi(band.points), dtype=pl.Int64)).otherwise(points)
    elif criterion.scale is not None:
        s = criterion.scale
        lo, hi = float(s.from_value), float(s.to_value)
        pf, pt = centi(s.points_from), centi(s.points_to)
        t = ((value.cast(pl.Float64) - lo) / as_column(pl.lit(hi - lo))).clip(0.0, 1.0)
        points = pf + (t * float(pt - pf) + 0.5).floor().cast(pl.Int64)
        compiled.guards.append(~t.is_finite())
    elif criterion.map is not None:
        table = {k: centi(v) for k, v in criterion.map.items()}
        other = centi(criterion.otherwise) if criterion.otherwise is not None else None
        points = value.replace_strict(list(table), list(table.values()), default=other, return_dtype=pl.Int64)
    elif criterion.boolean is not None:
        yes, no = centi(criterion.boolean.get("true", 0)), centi(criterion.boolean.get("false", 0))
        points = pl.when(value).then(pl.lit(yes, dtype=pl.Int64)).otherwise(pl.lit(no, dtype=pl.Int64))
    else:
        scaled = (value * 100).cast(pl.Float64) + 0.5 if compiled.kind == "integer" else value * 100 + 0.5
        compiled.guards.append(~scaled.is_finite())
        points = scaled.floor().clip(0, 10_000).cast(pl.Int64)
    return pl.when(known).then(points), known
