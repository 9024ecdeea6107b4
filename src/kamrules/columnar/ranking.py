"""Tier capacity over the decided rows: exact ranking keys and the placement loop in NumPy."""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from kamrules.columnar.run import score_field
from kamrules.portfolio.capacity import has_capacity, tier_capacity

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run


def rank_order(run: Run, frame: pl.DataFrame, rows: Any) -> Any:
    """The positions ``rows`` of ``frame`` best first: exact primary score, tie-breakers,
    account id, then input order (Python's sort is stable)."""
    import numpy as np
    import polars as pl

    engine = run.engine
    spec = run.owner.rulebook.spec
    subset = frame.select(pl.all().gather(rows)) if len(rows) != frame.height else frame
    keys = pl.DataFrame({"@pos": rows, "id": subset.get_column("id")})
    by: list[str] = []
    descending: list[bool] = []

    def score_keys(card: str, prefix: str, desc: bool) -> None:
        nonlocal keys
        exact = _fraction_keys(subset.get_column(f"@w.{card}"), subset.get_column(f"@t.{card}"))
        keys = keys.with_columns(s.alias(f"{prefix}{i}") for i, s in enumerate(exact))
        by.extend(f"{prefix}{i}" for i in range(len(exact)))
        descending.extend([desc] * len(exact))

    score_keys(engine.primary, "@k0.", True)
    for i, breaker in enumerate(spec.tie_breakers):
        desc = breaker.order == "descending"
        card = score_field(breaker.by, run.schema)
        if card is not None:
            score_keys(card, f"@k{i + 1}.", desc)
            continue
        keys = keys.with_columns(subset.get_column(f"@tb.{i}").alias(f"@k{i + 1}"))
        by.append(f"@k{i + 1}")
        descending.append(desc)
    by += ["id", "@pos"]
    descending += [False, False]
    ordered = keys.sort(by, descending=descending, nulls_last=True, maintain_order=True)
    return ordered.get_column("@pos").to_numpy().astype(np.int64)


def capacity(run: Run, frame: pl.DataFrame) -> pl.DataFrame:
    """Tier capacity over the decided rows, as :func:`apply_capacity` resolves it: the
    frame with each row's final tier (``@final``) and, per tier with a capacity, the
    note of every account ranked for it (``@cap.<k>``)."""
    import numpy as np
    import polars as pl

    engine = run.engine
    specs = run.owner.rulebook.spec.tiers
    names = [t.name for t in specs]
    n = frame.height
    tier_of = frame.get_column("@chosen").to_numpy().astype(np.int64, copy=True)
    passes: list[pl.Series] = []
    capacity_tiers = [
        i for i, t in enumerate(specs[:-1]) if t.capacity is not None or t.capacity_per_manager is not None
    ]
    if not has_capacity(engine) or n == 0 or not capacity_tiers:
        return frame.with_columns(pl.Series("@final", tier_of))
    last = len(specs) - 1
    pinned = frame.get_column("@pinned").to_numpy().astype(bool)
    ceiling = frame.get_column("@ceiling").to_numpy().astype(np.int64)
    eligible = np.stack(
        [frame.get_column(f"@e.{k}").fill_null(False).to_numpy().astype(bool) for k in range(len(specs))], axis=1
    )
    manager_codes = np.full(n, -1, dtype=np.int64)
    if any(specs[i].capacity_per_manager is not None for i in capacity_tiers):
        managers = frame.get_column("account_manager")
        physical = managers.cast(pl.Categorical).to_physical().to_numpy()
        known = managers.is_not_null().to_numpy()
        manager_codes[known] = np.unique(physical[known], return_inverse=True)[1]
    # Only rows that can reach a tier with a capacity compete; demotion only goes down.
    contenders = np.nonzero(tier_of <= max(capacity_tiers))[0]
    order = rank_order(run, frame, contenders)
    for step, index in enumerate(capacity_tiers):
        spec = specs[index]
        capacity = tier_capacity(spec.capacity, n)
        per_manager = spec.capacity_per_manager
        members = tier_of == index
        held = members & pinned
        n_held = int(held.sum())
        ranked = order[(members & ~pinned)[order]]
        m = len(ranked)
        slots = capacity - n_held if capacity is not None else m
        codes = manager_codes[ranked]
        if per_manager is not None:
            size = int(manager_codes.max()) + 2
            held_counts = np.bincount(manager_codes[held] + 1, minlength=size)[1:]
            base = np.where(codes >= 0, held_counts[np.maximum(codes, 0)], 0)
            ok = (codes < 0) | (base + _cumcount(codes) < per_manager)
        else:
            ok = np.ones(m, dtype=bool)
            base = np.zeros(m, dtype=np.int64)
        accepted = ok & (np.cumsum(ok) <= slots) if slots > 0 else np.zeros(m, dtype=bool)
        left = slots - (np.cumsum(accepted) - accepted)
        if per_manager is not None:
            over = (codes >= 0) & (base + _group_cumsum(codes, accepted.astype(np.int64)) - accepted >= per_manager)
        else:
            over = np.zeros(m, dtype=bool)
        rejected = ~accepted
        targets = np.full(m, last, dtype=np.int64)
        if rejected.any():
            rows = ranked[rejected]
            target = np.full(len(rows), last, dtype=np.int64)
            for candidate in reversed(range(index + 1, last)):
                hit = eligible[rows, candidate] & (candidate >= ceiling[rows])
                target = np.where(hit, candidate, target)
            targets[rejected] = target
            tier_of[rows] = target
        limit = f"capacity {capacity}" if capacity is not None else "no overall capacity"
        place = pl.Series("place", np.arange(1, m + 1) + n_held)
        suffix = (
            pl.when((place % 100 >= 10) & (place % 100 <= 20))
            .then(pl.lit("th"))
            .otherwise((place % 10).replace_strict([1, 2, 3], ["st", "nd", "rd"], default="th", return_dtype=pl.String))
        )
        where = pl.format(f"ranked {{}}{{}} of {m + n_held} eligible for {spec.name}, {limit}", place, suffix)
        manager = frame.get_column("account_manager").gather(ranked)
        reason = (
            pl.when(pl.Series(over & (left > 0)))
            .then(pl.format(f"{{}} already has {per_manager} {spec.name} accounts, the most per manager", manager))
            .otherwise(pl.lit("the tier is full"))
        )
        target_name = pl.Series(targets).replace_strict(list(range(len(names))), names, return_dtype=pl.String)
        note = (
            pl.when(pl.Series(accepted))
            .then(where)
            .otherwise(pl.format("{}: {}, so it falls to {}", where, reason, target_name))
        )
        noted = pl.select(note.alias("n")).to_series()
        passes.append(pl.Series(f"@cap.{step}", [None] * n, dtype=pl.String).scatter(ranked, noted))
    return frame.with_columns(pl.Series("@final", tier_of), *passes)


def _cumcount(codes: Any) -> Any:
    """For each position, how many earlier positions have the same code."""
    import numpy as np

    result = np.zeros(len(codes), dtype=np.int64)
    if not len(codes):
        return result
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0))
    result[order] = np.arange(len(codes)) - first
    return result


def _group_cumsum(codes: Any, values: Any) -> Any:
    """Inclusive running sum of ``values`` within each code, in position order."""
    import numpy as np

    result = np.zeros(len(codes), dtype=np.int64)
    if not len(codes):
        return result
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    sorted_values = values[order]
    total = np.cumsum(sorted_values)
    starts = np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]
    first = np.maximum.accumulate(np.where(starts, np.arange(len(codes)), 0))
    result[order] = total - (total - sorted_values)[first]
    return result


def _fraction_keys(weighted: pl.Series, total: pl.Series) -> list[pl.Series]:
    """Sort keys that order ``weighted / total`` exactly.

    With one total weight throughout, ``weighted`` itself. Otherwise the float quotient
    (never out of order, as rounding is monotonic) and, where two different fractions round
    to the same float, their exact rank among those."""
    import numpy as np
    import polars as pl

    if total.n_unique() <= 1:
        return [weighted]
    w = weighted.to_numpy().astype(np.int64)
    t = total.to_numpy().astype(np.int64)
    f = w / t
    sub = np.zeros(len(w), dtype=np.int64)
    g = np.gcd(w, t)
    p, q = w // g, t // g
    order = np.lexsort((q, p, f))
    fs, ps, qs = f[order], p[order], q[order]
    clash = (fs[1:] == fs[:-1]) & ((ps[1:] != ps[:-1]) | (qs[1:] != qs[:-1]))
    if clash.any():
        for value in np.unique(fs[1:][clash]):
            rows = np.nonzero(f == value)[0]
            fractions = sorted({Fraction(int(p[r]), int(q[r])) for r in rows})
            rank = {fr: i for i, fr in enumerate(fractions)}
            for r in rows:
                sub[r] = rank[Fraction(int(p[r]), int(q[r]))]
    return [pl.Series(f), pl.Series(sub)]
