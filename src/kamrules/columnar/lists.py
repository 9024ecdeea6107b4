"""Nested facts in columns: the plan's facts, the items of every list, and aggregates over them.

Parquet files (and polars or Arrow frames) carry the account plan as a struct column and each
list (contacts, team, relationships, restrictions, the plan's own lists) as a list of structs.
Here they become:

* the plan's facts as columns ``plan.<fact>``, parsed and checked as flat facts are;
* per list, an *items frame*: one row per item, with its account row (``@row``), its facts
  parsed and checked (``@i0.<fact>``) and, for contacts, the derived facts of the rulebook's
  relationship map (``key_player``, ``supportive``) computed from them;
* per aggregate of the rulebook, one column over the accounts, computed by pairing each
  account (or, for an aggregate inside another, each outer item) with the items of its list,
  evaluating the item condition on the pairs, and grouping back by account (or outer item).

**Semantics kept.** An aggregate counts an item only where its condition is true (an unknown
condition counts as not matching, as in the per-account compiler); ``sum``, ``min``, ``max``
and ``distinct`` skip missing values; a list under a missing plan makes the aggregate unknown.
A condition is evaluated three-valued (polars' Kleene logic) and then taken as true only
when true, which is what the per-account code does item by item.

**Lookups are joins, never n * m.** An inner aggregate whose condition contains, as one of
its ``and`` terms, an equality of an item fact with a value of the outer item or the account
(``any(team, name == objective.owner)``, ``count(relationships, relationship.contact ==
contact.id)``) pairs items by a join on (account, value): a map of n contacts and n
relationships costs n + n. A missing value joins nothing, as an unknown equality matches
nothing. Only values whose equality is exact qualify (text, categories, integers, booleans,
dates; not floats, where NaN and -0.0 differ). Other inner aggregates pair every outer item
with every item of the same account.

**What stays per account.** A row whose nested facts the columns do not read exactly goes to
the per-account engine (so the error message is that engine's): a plan that is not an
object, a list that is not a list of objects (or is null inside a given plan), an item that
is null or has a value the parsers refuse or that fails validation. An expression without an
exact columnar form over items (a float ``sum``, whose rounding depends on the order of
addition; a list inside an item) raises :class:`Unsupported`, and every row with nested
facts is then decided per account.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kamrules.columnar.facts import parse_column
from kamrules.expressions.nodes import Aggregate, Compare, Field, Logic, Node, children, render
from kamrules.expressions.parser import parse
from kamrules.expressions.polars_backend import (
    EXACT_INT,
    INT_LIMIT,
    Columns,
    PolarsCompiler,
    Unsupported,
    check,
    item_column,
    kind_of,
)
from kamrules.expressions.typecheck import TypeChecker
from kamrules.facts.types import CategoryType, ListType, RecordType, ScalarType

if TYPE_CHECKING:
    import polars as pl

    from kamrules.columnar.run import Run

_EXACT_KEYS = ("text", "integer", "boolean", "date")
"""Kinds whose equality a join reproduces exactly."""


@dataclass
class Items:
    """The items of one list over the whole portfolio."""

    record: RecordType
    frame: pl.DataFrame
    """One row per item, in list order: ``@row`` (the account row) and ``@i0.<fact>``."""
    lengths: pl.Series
    """Per account row, how many items the list has; null where the list is missing (its
    plan is)."""


@dataclass
class _Context:
    """A frame an expression is evaluated on: the accounts (level 0) or the pairs of an
    aggregate at ``level`` (one row per outer position and item). ``@pos<j>`` are positions
    in the context at level j (``@pos0`` is the account row)."""

    frame: pl.DataFrame
    level: int
    parent: _Context | None
    columns: dict[str, tuple[str, float]] = field(default_factory=dict)
    """Aggregates computed on this frame: canonical text -> (column, integer bound)."""


def nested_sources(frame: pl.DataFrame, nested: tuple[str, ...]) -> bool:
    """Whether ``frame`` carries nested facts as columns (struct or list values)."""
    import polars as pl

    return any(name in frame.columns and frame.schema[name] != pl.Null for name in nested)


class Lists:
    """Plan facts, items frames and aggregate columns of one run."""

    def __init__(self, run: Run, raw: pl.DataFrame) -> None:
        import polars as pl

        self.run = run
        self.schema = run.schema
        self.raw = raw
        self.height = raw.height
        self.items: dict[str, Items] = {}
        self.bad: dict[str, pl.Series] = {}
        """Per reason, the account rows whose nested facts the columns do not read exactly."""
        self.guarded = pl.Series("@guarded", [False] * raw.height, dtype=pl.Boolean)
        self.root: _Context | None = None
        self.counter = 0

    # -- the plan ----------------------------------------------------------------------------

    def plan_columns(self) -> list[pl.Series]:
        """The plan's flat facts as columns ``plan.<fact>`` (null where there is no plan)."""
        import polars as pl

        plan = self.schema.account.fields.get("plan")
        if plan is None or not isinstance(plan.type, RecordType):
            return []
        raw = self.raw
        dtype = raw.schema.get("plan")
        present: pl.Expr = pl.col("plan").is_not_null() if dtype is not None else pl.lit(False)
        fields = _struct_fields(dtype)
        exprs: list[pl.Expr] = []
        bad: list[pl.Expr] = []
        if dtype is not None and not isinstance(dtype, pl.Struct | pl.Null):
            bad.append(present)
        for name, fact in plan.type.fields.items():
            if fact.derived or isinstance(fact.type, RecordType | ListType):
                continue
            if name in fields:
                value, problem = parse_column(pl.col("plan").struct.field(name), fields[name], fact, self.run.as_of)
                bad.append(present & problem.fill_null(False))
            else:
                value = pl.lit(None, dtype=_dtype(fact.type))
                if fact.required:
                    bad.append(present)
            exprs.append(value.alias(f"plan.{name}"))
        if not exprs:
            return []
        names = [e.meta.output_name() for e in exprs]
        columns = raw.with_columns([*exprs, _any_of(bad).alias("@bad")])
        self._refuse("plan", columns.get_column("@bad"))
        return [columns.get_column(name) for name in names]

    # -- the items of a list -----------------------------------------------------------------

    def table(self, label: str) -> Items:
        """The items frame of the list at ``label`` (``contacts``, ``plan.objectives``)."""
        found = self.items.get(label)
        if found is None:
            found = self.items[label] = self._items(label)
        return found

    def _items(self, label: str) -> Items:
        import polars as pl

        path = label.split(".")
        raw = self.raw
        if len(path) == 1:
            fact = self.schema.account.fields[path[0]]
            assert isinstance(fact.type, ListType)
            record = fact.type.item
            dtype = raw.schema.get(path[0])
            source: pl.Expr = pl.col(path[0])
            owner: pl.Expr = pl.lit(True)
            top = True
        else:
            plan = self.schema.account.fields[path[0]]
            assert isinstance(plan.type, RecordType) and len(path) == 2
            fact = plan.type.fields[path[1]]
            assert isinstance(fact.type, ListType)
            record = fact.type.item
            plan_dtype = raw.schema.get(path[0])
            fields = _struct_fields(plan_dtype)
            dtype = fields.get(path[1])
            source = pl.col(path[0]).struct.field(path[1])
            owner = pl.col(path[0]).is_not_null() if plan_dtype is not None else pl.lit(False)
            top = False
        rows = pl.int_range(pl.len(), dtype=pl.Int64).alias("@row")
        if dtype is None or dtype == pl.Null:
            # Not given: an empty list where its owner is (a null list inside a plan is refused).
            lengths = _column(raw, pl.when(owner).then(pl.lit(0, dtype=pl.Int64)))
            if not top and dtype == pl.Null:
                self._refuse(label, _column(raw, owner.fill_null(False)))
            return Items(record, pl.DataFrame({"@row": []}, schema={"@row": pl.Int64}), lengths)
        if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct | pl.Null):
            given = source.is_not_null() & owner
            self._refuse(label, _column(raw, given.fill_null(False)))
            lengths = _column(raw, pl.when(owner).then(pl.lit(0, dtype=pl.Int64)))
            return Items(record, pl.DataFrame({"@row": []}, schema={"@row": pl.Int64}), lengths)
        length = source.list.len().cast(pl.Int64)
        shape = raw.with_columns(
            pl.when(owner).then(length.fill_null(0) if top else length).alias("@n"),
            (owner & source.is_null()).fill_null(False).alias("@null"),
        )
        lengths = shape.get_column("@n")
        if not top:
            self._refuse(label, shape.get_column("@null"))
        exploded = raw.select(rows, source.alias("@item")).filter(pl.col("@item").list.len() > 0).explode("@item")
        inner = dtype.inner
        item_fields = _struct_fields(inner)
        item = pl.col("@item")
        exprs: list[pl.Expr] = [pl.col("@row")]
        bad: list[pl.Expr] = [item.is_null()]
        for name, f in record.fields.items():
            if f.derived:
                continue
            if isinstance(f.type, RecordType | ListType):
                if name in item_fields:
                    bad.append(item.struct.field(name).is_not_null())
                continue
            if name in item_fields:
                value, problem = parse_column(item.struct.field(name), item_fields[name], f, self.run.as_of)
                bad.append(problem.fill_null(False))
            else:
                value = pl.lit(None, dtype=_dtype(f.type))
                if f.required:
                    bad.append(pl.lit(True))
            exprs.append(value.alias(item_column(0, name)))
        frame = exploded.select([*exprs, _any_of(bad).alias("@bad")])
        self._refuse(label, _per_row(frame.filter(pl.col("@bad")).get_column("@row"), self.height))
        frame = frame.drop("@bad")
        derived = [name for name, f in record.fields.items() if f.derived]
        if derived:
            frame = self._derive(record, frame, derived)
        return Items(record, frame, lengths)

    def _derive(self, record: RecordType, frame: pl.DataFrame, names: list[str]) -> pl.DataFrame:
        """The derived facts of items (a contact's ``key_player``) from the rulebook's
        relationship map, evaluated on the items frame."""

        expressions = self.run.engine.rulebook.expressions
        if record.name != self.schema.contact.name:
            raise Unsupported(f"derived facts of {record.name} items have no columnar form")
        checker = TypeChecker(self.schema, allow_scores=False, item=record)
        columns: list[pl.Expr] = []
        for name in names:
            tree = checker.check(parse(expressions[("relationship_map", name)].source))
            compiler = PolarsCompiler(self.schema, self._columns(None))
            value = compiler.value(tree)
            for guard in compiler.guards:
                rows = frame.filter(guard.fill_null(False)).get_column("@row")
                self._refuse(f"{record.name}.{name}", _per_row(rows, self.height))
            columns.append(value.expr.alias(item_column(0, name)))
        return frame.with_columns(columns)

    def _refuse(self, reason: str, rows: pl.Series) -> None:
        previous = self.bad.get(reason)
        self.bad[reason] = rows if previous is None else previous | rows

    # -- aggregates --------------------------------------------------------------------------

    def aggregate_columns(self, facts: pl.DataFrame, trees: list[Node]) -> pl.DataFrame:
        """``facts`` with a column for each aggregate the trees read (outside any other)."""
        import polars as pl

        root = _Context(facts.with_columns(pl.int_range(pl.len(), dtype=pl.Int64).alias("@pos0")), 0, None)
        self.root = root
        for tree in trees:
            self._within(root, tree)
        return root.frame.drop("@pos0")

    def lookup(self, node: Aggregate) -> tuple[pl.Expr, float]:
        """The column of an aggregate of the accounts (for :class:`Columns`)."""
        import polars as pl

        assert self.root is not None
        found = self.root.columns.get(render(node, node.level - 1))
        if found is None:
            raise Unsupported(f"'{render(node, node.level - 1)}' was not computed in columns")
        return pl.col(found[0]), found[1]

    def _within(self, ctx: _Context, node: Node) -> None:
        """Compute on ``ctx`` every aggregate of ``node`` at the level just inside it."""
        for agg in _aggregates(node, ctx.level + 1):
            key = render(agg, agg.level - 1)
            if key in ctx.columns:
                continue
            series, bound = self._aggregate(ctx, agg)
            name = f"@agg{self.counter}"
            self.counter += 1
            ctx.frame = ctx.frame.with_columns(series.alias(name))
            ctx.columns[key] = (name, bound)

    def _columns(self, ctx: _Context | None) -> Columns:
        import polars as pl

        def score(card: str) -> tuple[pl.Expr, pl.Expr]:
            raise Unsupported(f"score.{card} is read inside an aggregate")

        def aggregate(node: Aggregate) -> tuple[pl.Expr, float]:
            if ctx is None:
                raise Unsupported("an aggregate in a derived fact has no columnar form")
            key = render(node, node.level - 1)
            if key not in ctx.columns:
                raise Unsupported(f"'{key}' was not computed in columns")
            name, bound = ctx.columns[key]
            return pl.col(name), bound

        return Columns(
            fact=lambda name: pl.col(name),
            score=score,
            totals=lambda card: [1],
            as_of=self.run.as_of,
            aggregate=aggregate,
        )

    def _evaluate(self, ctx: _Context, node: Node) -> tuple[pl.Series, str, float]:
        """The value of ``node`` on every row of ``ctx``: series, kind, integer bound."""
        import polars as pl

        self._within(ctx, node)
        compiler = PolarsCompiler(self.schema, self._columns(ctx))
        compiled = compiler.value(node)
        guards = [g.fill_null(False) for g in compiler.guards]
        expr = compiled.expr
        needed = set(expr.meta.root_names())
        for g in guards:
            needed |= set(g.meta.root_names())
        frame = ctx.frame
        extra: list[pl.Series] = []
        for name in sorted(needed - set(frame.columns)):
            extra.append(self._gather(ctx, name))
        if extra:
            frame = frame.with_columns(extra)
        result = frame.with_columns(expr.alias("@value")).get_column("@value")
        if guards:
            hit = frame.select(pl.any_horizontal(guards).alias("g")).to_series()
            rows = frame.get_column("@pos0").filter(hit)
            self.guarded = self.guarded | _per_row(rows, self.height)
        return result, compiled.kind, compiled.bound

    def _gather(self, ctx: _Context, name: str) -> pl.Series:
        """A column of an enclosing context, aligned to the rows of ``ctx``."""
        outer = ctx.parent
        while outer is not None:
            if name in outer.frame.columns:
                return outer.frame.get_column(name).gather(ctx.frame.get_column(f"@pos{outer.level}")).alias(name)
            outer = outer.parent
        raise Unsupported(f"the column '{name}' is not available inside an aggregate")

    def _aggregate(self, ctx: _Context, node: Aggregate) -> tuple[pl.Series, float]:
        import polars as pl

        items_node = node.items
        if items_node.namespace != "account":
            raise Unsupported(f"'{render(node, node.level - 1)}' aggregates a list inside an item")
        table = self.table(".".join(items_node.path))
        k = node.level
        items = table.frame.rename(
            {c: item_column(k, c.removeprefix("@i0.")) for c in table.frame.columns if c.startswith("@i0.")}
        )
        terms = _terms(node.where)
        split = _split(terms, k) if ctx.level else None
        if ctx.level == 0:
            pairs = items.with_columns(pl.col("@row").alias("@pos0")).drop("@row")
        else:
            positions = [pl.col(f"@pos{j}") for j in range(ctx.level)]
            base = ctx.frame.select(*positions, pl.int_range(pl.len(), dtype=pl.Int64).alias(f"@pos{ctx.level}"))
            if split is not None:
                key, probe, terms = split
                value, _, _ = self._evaluate(ctx, probe)
                key_column = item_column(k, key.path[0])
                base = base.with_columns(value.cast(items.schema[key_column]).alias("@probe"))
                pairs = base.join(
                    items.with_columns(pl.col(key_column).alias("@probe")),
                    left_on=["@pos0", "@probe"],
                    right_on=["@row", "@probe"],
                    how="inner",
                ).drop("@probe")
            else:
                pairs = base.join(items, left_on="@pos0", right_on="@row", how="inner")
        inner = _Context(pairs, k, ctx)
        truth: pl.Series | None = None
        for term in terms:
            value, _, _ = self._evaluate(inner, term)
            value = value.fill_null(False)
            truth = value if truth is None else truth & value
        group = inner.frame.get_column(f"@pos{ctx.level}")
        lengths = table.lengths if ctx.level == 0 else table.lengths.gather(ctx.frame.get_column("@pos0"))
        missing = lengths.is_null()
        n = ctx.frame.height
        name = node.name
        kind = kind_of(node.type)
        if name in ("count", "any", "all", "none"):
            chosen = group if truth is None else group.filter(truth)
            matched = _counts(chosen, n)
            if name == "count":
                result = matched
            elif name == "any":
                result = matched > 0
            elif name == "none":
                result = matched == 0
            else:
                result = matched == lengths.fill_null(0)
            return _unless(result, missing), float(INT_LIMIT)
        assert node.value is not None
        value, value_kind, bound = self._evaluate(inner, node.value)
        data = pl.DataFrame({"@g": group, "@v": value})
        if truth is not None:
            data = data.filter(truth)
        if name == "max_share":
            totals = data.group_by("@g").agg(pl.len().alias("n"))
            tops = data.drop_nulls("@v").group_by("@g", "@v").agg(pl.len().alias("c")).group_by("@g").agg(pl.max("c"))
            shares = totals.join(tops, on="@g", how="left").select(
                "@g", (pl.col("c").fill_null(0) / pl.col("n")).alias("s")
            )
            result = _scatter(shares, pl.Series([0.0] * n, dtype=pl.Float64))
            return _unless(result, missing), 0.0
        if value_kind == "number":
            if name == "sum":
                raise Unsupported("a sum of numbers depends on the order of addition; it has no exact columnar form")
            data = data.with_columns(pl.col("@v") + 0.0)  # -0.0 and 0.0 are one value, as in Python
        if name == "distinct":
            agg = pl.col("@v").drop_nulls().n_unique().cast(pl.Int64)
            default = pl.Series([0] * n, dtype=pl.Int64)
            out_bound = float(INT_LIMIT)
        elif name == "sum":
            agg = pl.col("@v").sum()
            default = pl.Series([0] * n, dtype=data.schema["@v"])
            out_bound = bound * INT_LIMIT
            if out_bound > EXACT_INT:
                raise Unsupported(f"'{render(node, node.level - 1)}' can give integers beyond 2**53")
        elif name in ("min", "max"):
            agg = pl.col("@v").min() if name == "min" else pl.col("@v").max()
            default = pl.Series([None] * n, dtype=data.schema["@v"])
            out_bound = bound
        else:
            raise Unsupported(f"{name}() has no columnar form")
        reduced = data.group_by("@g").agg(agg.alias("s"))
        result = _scatter(reduced, default)
        del kind
        return _unless(result, missing), out_bound


# -- helpers ------------------------------------------------------------------------------------


def _dtype(t: Any) -> pl.DataType:
    from kamrules.expressions.polars_backend import dtype_of

    if isinstance(t, CategoryType):
        return dtype_of("text")
    assert isinstance(t, ScalarType)
    return dtype_of(t.kind)


def _struct_fields(dtype: Any) -> dict[str, pl.DataType]:
    """The fields of a struct type by name (none for any other type)."""
    import polars as pl

    if not isinstance(dtype, pl.Struct):
        return {}
    return {f.name: f.dtype() if isinstance(f.dtype, type) else f.dtype for f in dtype.fields}


def _column(frame: pl.DataFrame, expr: pl.Expr) -> pl.Series:
    """``expr`` over ``frame``, a literal broadcast to its height."""
    return frame.with_columns(expr.alias("@column")).get_column("@column")


def _any_of(exprs: list[pl.Expr]) -> pl.Expr:
    import polars as pl

    if not exprs:
        return pl.lit(False)
    return pl.any_horizontal([e.fill_null(False) for e in exprs])


def _per_row(rows: pl.Series, height: int) -> pl.Series:
    """A boolean per account row: true at ``rows``."""
    import polars as pl

    flags = pl.Series("@rows", [False] * height, dtype=pl.Boolean)
    if rows.len():
        flags = flags.scatter(rows.unique(), True)
    return flags


def _counts(groups: pl.Series, n: int) -> pl.Series:
    """How often each position 0..n-1 occurs in ``groups``."""
    import polars as pl

    counted = pl.DataFrame({"@g": groups}).group_by("@g").agg(pl.len().cast(pl.Int64).alias("s"))
    return _scatter(counted, pl.Series([0] * n, dtype=pl.Int64))


def _scatter(reduced: pl.DataFrame, default: pl.Series) -> pl.Series:
    """``default`` with the value ``s`` written at each position ``@g``."""
    if reduced.height == 0:
        return default
    return default.scatter(reduced.get_column("@g"), reduced.get_column("s").cast(default.dtype))


def _unless(result: pl.Series, missing: pl.Series) -> pl.Series:
    """``result``, null where the list is missing."""
    import polars as pl

    if not missing.any():
        return result
    return pl.select(pl.when(missing).then(None).otherwise(result)).to_series()


def _aggregates(node: Node, level: int) -> Iterator[Aggregate]:
    """The aggregates at ``level`` in ``node``, not looking inside them."""
    if isinstance(node, Aggregate) and node.level == level:
        yield node
        return
    for child in children(node):
        yield from _aggregates(child, level)


def _levels(node: Node) -> set[int]:
    """The item levels ``node`` reads (inside nested aggregates too)."""
    found: set[int] = set()
    if isinstance(node, Field) and node.namespace == "item":
        found.add(node.level)
    if isinstance(node, Field) and node.namespace == "score":
        found.add(-1)
    for child in children(node):
        found |= _levels(child)
    return found


def _terms(where: Node | None) -> list[Node]:
    """The ``and`` terms of an item condition (none: every item matches)."""
    if where is None:
        return []
    if isinstance(where, Logic) and where.op == "and":
        return list(where.operands)
    return [where]


def _split(terms: list[Node], level: int) -> tuple[Field, Node, list[Node]] | None:
    """A term ``item.fact == value`` whose value does not read the item (at ``level``): the
    key to join the items on, the value to join them with, and the other terms."""
    for i, term in enumerate(terms):
        if not (isinstance(term, Compare) and term.ops == ("==",)):
            continue
        left, right = term.operands
        for key, probe in ((left, right), (right, left)):
            if not (isinstance(key, Field) and key.namespace == "item" and key.level == level and len(key.path) == 1):
                continue
            if level in _levels(probe) or -1 in _levels(probe) or _has_aggregate(probe):
                continue
            try:
                key_kind, probe_kind = kind_of(key.type), kind_of(probe.type)
            except Unsupported:
                continue
            if key_kind == probe_kind and key_kind in _EXACT_KEYS:
                return key, probe, terms[:i] + terms[i + 1 :]
    return None


def _has_aggregate(node: Node) -> bool:
    return isinstance(node, Aggregate) or any(_has_aggregate(c) for c in children(node))


def list_labels(schema: Any) -> list[str]:
    """Every list of the account, by path: ``contacts``, ``plan.objectives``."""
    labels = []
    for name, fact in schema.account.fields.items():
        if isinstance(fact.type, ListType):
            labels.append(name)
        elif isinstance(fact.type, RecordType):
            labels += [f"{name}.{n}" for n, f in fact.type.fields.items() if isinstance(f.type, ListType)]
    return labels


def trees(run: Run) -> list[Node]:
    """The checked trees of every expression the columns evaluate."""
    return [check(place.source, run.schema) for place in run.owner.places.values() if place.source]
