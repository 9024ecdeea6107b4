"""Tier capacity from compact per-account keys: one placement for every executor.

Capacity needs the whole portfolio, but not the whole of each account: to rank an account
for a tier it is enough to know its exact primary score, its tie-breaker values, its id, its
manager, the tier the rules (with stability and overrides) give it, the best tier its gates
allow, which tiers it is eligible for and whether an override pins it. That is a
:class:`Contender`, a few dozen bytes, so a portfolio of millions is placed without holding
its records or outcomes.

:func:`place` is the one implementation of capacity: the per-account batch, the columnar
engine and the streaming batch all build contenders and call it, so "ranked 23rd of 40
eligible for Gold, capacity 20" is worded, counted and cascaded in one place. It is plain
Python (the core needs no numpy): the ranking is a few stable sorts over integer and simple
keys, and the cascade one pass per tier with a capacity.

A placed portfolio can be kept as a :class:`Placement` (saved as JSON, loaded by another
process, stored in the decision register) so that one account decided later, alone, is
placed against the same portfolio: with unchanged facts it gets exactly the tier and the
note the batch gave it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from kamrules.errors import KamrulesError

if TYPE_CHECKING:
    from kamrules.evaluation.engine import Engine, Outcome

FORMAT = "kamrules-placement/1"


class PlacementError(KamrulesError):
    """A saved placement that cannot be read, or that belongs to another rulebook."""


class Contender(NamedTuple):
    """What tier capacity needs to know of one decided account (a named tuple: a portfolio
    makes millions of them, and a tuple is built several times faster than a dataclass)."""

    row: int
    """Its position in the portfolio (0-based, input order): the last tie-breaker."""
    account_id: str
    weighted: int
    total: int
    """The exact primary score is ``weighted / (100 * total)``."""
    breakers: tuple[Any, ...]
    """The rulebook's tie-breaker values, in order (None when missing: ranked last)."""
    manager: str | None
    tier: int
    """The tier after stability and overrides, before capacity."""
    ceiling: int
    """The best tier its gates allow."""
    eligible: int
    """Bit k set when the rules make the account eligible for tier k."""
    pinned: bool
    """An active override holds the tier: it counts against capacity and is not ranked."""


@dataclass(frozen=True, slots=True)
class CapacityTier:
    """A tier whose capacity is resolved, in the order tiers are filled (best first)."""

    index: int
    name: str
    capacity: int | None
    per_manager: int | None


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def tier_capacity(value: int | str | None, portfolio: int) -> int | None:
    """A tier's capacity in accounts: a count, or a share of the decided portfolio (rounded down)."""
    if value is None:
        return None
    if isinstance(value, int):
        return value
    share = Decimal(value.rstrip("%"))
    return math.floor(share * portfolio / 100)


def capacity_tiers(engine: Engine, portfolio: int) -> list[CapacityTier]:
    """The tiers with a capacity (a count, a share of ``portfolio``, or per manager)."""
    specs = engine.rulebook.spec.tiers
    return [
        CapacityTier(i, t.name, tier_capacity(t.capacity, portfolio), t.capacity_per_manager)
        for i, t in enumerate(specs[:-1])
        if t.capacity is not None or t.capacity_per_manager is not None
    ]


class Step(NamedTuple):
    """One account's place in one tier's ranking."""

    tier: int
    place: int
    """1-based, counting the accounts an override pins to the tier first."""
    eligible: int
    accepted: bool
    full_by_manager: bool
    """Rejected because its manager already holds the most accounts of the tier."""
    target: int
    """Where a rejected account falls (the tier itself when accepted)."""


@dataclass
class Placed:
    """A portfolio placed: the final tier and the ranking steps of each contender."""

    final: dict[int, int]
    """Row -> final tier, for every contender (others keep their tier)."""
    steps: dict[int, list[Step]]
    """Row -> the rankings it took part in, in order."""
    placement: Placement


def _exact_scores(contenders: Sequence[Contender]) -> list[int]:
    """An integer per contender that orders the exact primary scores: ``weighted`` scaled to
    the least common multiple of the total weights that occur (a few distinct values)."""
    lcm = 1
    for total in {c.total for c in contenders}:
        lcm = lcm * total // math.gcd(lcm, total)
    return [c.weighted * (lcm // c.total) for c in contenders]


def rank(contenders: Sequence[Contender], orders: Sequence[str]) -> list[int]:
    """Positions of ``contenders`` best first: exact primary score, the tie-breakers (each
    descending or ascending, missing last), the account id, then input order.

    Stable sorts from the least significant key up: each pass is a sort over plain values,
    much cheaper than one sort with a comparison object per key."""
    # each pass sorts by a plain list's values (no key tuples, no lambda): by row, then
    # stably by id, is by (id, row)
    rows = [c.row for c in contenders]
    ids = [c.account_id for c in contenders]
    order = sorted(range(len(contenders)), key=rows.__getitem__)
    order.sort(key=ids.__getitem__)
    for k in reversed(range(len(orders))):
        descending = orders[k] == "descending"
        values = [c.breakers[k] for c in contenders]
        present = [i for i in order if values[i] is not None]
        absent = [i for i in order if values[i] is None]
        present.sort(key=values.__getitem__, reverse=descending)
        order = present + absent
    exact = _exact_scores(contenders)
    order.sort(key=exact.__getitem__, reverse=True)
    return order


def place(engine: Engine, contenders: Sequence[Contender], portfolio: int, *, run: str | None = None) -> Placed:
    """Resolve tier capacity over a portfolio of ``portfolio`` decided accounts, of which
    ``contenders`` are those that can reach a tier with a capacity (all may be given).

    Each tier with a capacity, best first, takes its best-ranked accounts; the others fall to
    the next tier they are eligible for (and their gates allow), where they compete again, or
    to the last tier. Accounts pinned by an override keep their tier and take a place."""
    tiers = capacity_tiers(engine, portfolio)
    orders: list[str] = [str(order) for _, order in engine.tie_breakers]
    last = len(engine.tiers) - 1
    final = {c.row: c.tier for c in contenders}
    steps: dict[int, list[Step]] = {}
    saved: list[SavedTier] = []
    if not tiers:
        return Placed(final, steps, Placement(engine.ref_dict(), run, portfolio, orders, saved))
    ordered = [contenders[i] for i in rank(contenders, orders)]
    for spec in tiers:
        index, per_manager = spec.index, spec.per_manager
        members = [c for c in ordered if final[c.row] == index]
        held = [c for c in members if c.pinned]
        ranked = [c for c in members if not c.pinned] if held else members
        managers: Counter[str | None] = Counter(c.manager for c in held)
        slots = spec.capacity - len(held) if spec.capacity is not None else len(ranked)
        eligible = len(members)
        entries: list[SavedEntry] = []
        append = entries.append
        # The loop runs once per ranked account of a portfolio of millions: kept lean.
        for place_, c in enumerate(ranked, start=1 + len(held)):
            manager = c.manager
            over = per_manager is not None and manager is not None and managers[manager] >= per_manager
            if slots > 0 and not over:
                slots -= 1
                if per_manager is not None:
                    managers[manager] += 1
                step = Step(index, place_, eligible, True, False, index)
            else:
                target = next_tier(c.eligible, index, last)
                final[c.row] = target
                step = Step(index, place_, eligible, False, over and slots > 0, target)
            row_steps = steps.get(c.row)
            if row_steps is None:
                steps[c.row] = [step]
            else:
                row_steps.append(step)
            append(SavedEntry(c.account_id, c.weighted, c.total, c.breakers, manager, step.accepted))
        saved.append(
            SavedTier(index, spec.name, spec.capacity, per_manager, len(held), Counter(managers_of(held)), entries)
        )
    return Placed(final, steps, Placement(engine.ref_dict(), run, portfolio, orders, saved))


def managers_of(contenders: Iterable[Contender]) -> list[str | None]:
    return [c.manager for c in contenders]


def next_tier(eligible: int, index: int, last: int) -> int:
    """The next tier below ``index`` the account is eligible for, or the last.

    Its gates need no second look: an account competes in a tier only at or below its gates'
    ceiling (the engine caps it, stability keeps it under the ceiling, and every fall moves
    it down), so every tier below ``index`` is allowed. The test used to be here too, and
    could never fail (issue 12)."""
    for candidate in range(index + 1, last):
        if eligible >> candidate & 1:
            return candidate
    return last


def note(engine: Engine, step: Step, capacity: int | None, per_manager: int | None, manager: str | None) -> str:
    """The placement note of one ranking step, as every executor writes it."""
    name = engine.tiers[step.tier].name
    limit = f"capacity {capacity}" if capacity is not None else "no overall capacity"
    where = f"ranked {ordinal(step.place)} of {step.eligible} eligible for {name}, {limit}"
    if step.accepted:
        return where
    reason = (
        f"{manager} already has {per_manager} {name} accounts, the most per manager"
        if step.full_by_manager
        else "the tier is full"
    )
    return f"{where}: {reason}, so it falls to {engine.tiers[step.target].name}"


def notes_of(engine: Engine, placed: Placed, row: int, manager: str | None) -> list[str]:
    """The capacity notes of one contender of a placed portfolio."""
    by_tier = {t.index: t for t in placed.placement.tiers}
    return [
        note(engine, s, by_tier[s.tier].capacity, by_tier[s.tier].per_manager, manager)
        for s in placed.steps.get(row, [])
    ]


# -- from per-account outcomes ---------------------------------------------------------------


def contender(engine: Engine, outcome: Outcome, row: int) -> Contender:
    """The compact key of one per-account outcome."""
    weighted, total, _ = outcome._cards[engine.card_index[engine.primary]]
    breakers = tuple(expr.evaluate(outcome.record, outcome.scores, outcome.as_of)[0] for expr, _ in engine.tie_breakers)
    eligible = 0
    for k, tier_row in enumerate(outcome._tier_rows):
        if tier_row[0]:
            eligible |= 1 << k
    # an account with the rulebook's excluded outcome holds no tier, so it competes for none
    tier = -1 if engine.excluded_name is not None and outcome.excluded else outcome.tier_index
    return Contender(
        row,
        outcome.account_id,
        weighted,
        total,
        breakers,
        getattr(outcome.record, "account_manager", None),
        tier,
        outcome.ceiling,
        eligible,
        outcome.pinned,
    )


# -- a placement kept for later ----------------------------------------------------------------


class SavedEntry(NamedTuple):
    account_id: str
    weighted: int
    total: int
    breakers: tuple[Any, ...]
    manager: str | None
    accepted: bool


@dataclass
class SavedTier:
    index: int
    name: str
    capacity: int | None
    per_manager: int | None
    held: int
    held_managers: Counter[str | None]
    entries: list[SavedEntry]
    """The ranked (not pinned) contenders of the tier, best first, as the batch saw them."""
    _keys: list[Any] | None = field(default=None, repr=False)
    _accepted_before: list[int] | None = field(default=None, repr=False)


@dataclass
class Placement:
    """A placed portfolio, kept so that a single account can be placed against it later.

    For each tier with a capacity it keeps the ranked contenders (compact keys and whether
    each was admitted), in rank order. An account decided alone is ranked among them (its
    own earlier entry left out) and admitted as the batch would have admitted it: with the
    same facts, the same tier and the same note."""

    rulebook: dict[str, str]
    run: str | None
    portfolio: int
    orders: list[str]
    tiers: list[SavedTier]
    as_of: dt.date | None = None

    @property
    def id(self) -> str:
        """The run id, or a digest of the placement when it was not named."""
        if self.run:
            return self.run
        return "placement-" + hashlib.sha256(self.to_json().encode()).hexdigest()[:12]

    # -- persistence ---------------------------------------------------------------------------

    def to_json(self) -> str:
        document = {
            "format": FORMAT,
            "rulebook": self.rulebook,
            "run": self.run,
            "as_of": self.as_of.isoformat() if self.as_of else None,
            "portfolio": self.portfolio,
            "orders": self.orders,
            "tiers": [
                {
                    "index": t.index,
                    "name": t.name,
                    "capacity": t.capacity,
                    "per_manager": t.per_manager,
                    "held": t.held,
                    "held_managers": [[m, n] for m, n in sorted(t.held_managers.items(), key=lambda x: str(x[0]))],
                    "entries": [
                        [e.account_id, e.weighted, e.total, [_plain(b) for b in e.breakers], e.manager, e.accepted]
                        for e in t.entries
                    ],
                }
                for t in self.tiers
            ],
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":"))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def from_json(cls, text: str, engine: Engine | None = None) -> Placement:
        """A saved placement; with ``engine``, checked to belong to the same rulebook."""
        try:
            document = json.loads(text)
            if document.get("format") != FORMAT:
                raise PlacementError(f"not a kamrules placement (format {document.get('format')!r})")
            breaker_kinds = _breaker_kinds(engine) if engine is not None else None
            tiers = [
                SavedTier(
                    t["index"],
                    t["name"],
                    t["capacity"],
                    t["per_manager"],
                    t["held"],
                    Counter({m: n for m, n in t["held_managers"]}),
                    [SavedEntry(e[0], e[1], e[2], _typed(e[3], breaker_kinds), e[4], e[5]) for e in t["entries"]],
                )
                for t in document["tiers"]
            ]
            placement = cls(
                document["rulebook"],
                document["run"],
                document["portfolio"],
                document["orders"],
                tiers,
                dt.date.fromisoformat(document["as_of"]) if document.get("as_of") else None,
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise PlacementError(f"the placement cannot be read: {exc}") from None
        if engine is not None and placement.rulebook.get("content_hash") != engine.ref.content_hash:
            raise PlacementError(
                f"the placement was made with rulebook {placement.rulebook.get('id')} "
                f"{placement.rulebook.get('version')} (hash {str(placement.rulebook.get('content_hash'))[:12]}), "
                f"not with {engine.ref.id} {engine.ref.version} (hash {engine.ref.content_hash[:12]})"
            )
        return placement

    @classmethod
    def load(cls, path: str | Path, engine: Engine | None = None) -> Placement:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PlacementError(f"cannot read the placement '{path}': {exc.strerror}") from None
        return cls.from_json(text, engine)

    # -- one account against it ---------------------------------------------------------------

    def place_one(self, engine: Engine, c: Contender) -> tuple[int, list[str]]:
        """The final tier of one account placed against this portfolio, with its notes."""
        tier = c.tier
        notes: list[str] = []
        last = len(engine.tiers) - 1
        if c.pinned:
            return tier, notes
        for saved in self.tiers:
            if tier != saved.index:
                continue
            others = [e for e in saved.entries if e.account_id != c.account_id]
            was_here = len(others) != len(saved.entries)
            keys, accepted_before = saved_keys(saved, self.orders, others if was_here else None)
            position = bisect.bisect_left(keys, _key(c.weighted, c.total, c.breakers, c.account_id, self.orders))
            admitted_above = accepted_before[position]
            ranked_above = others[:position]
            same_manager = saved.held_managers.get(c.manager, 0) + sum(
                1 for e in ranked_above if e.accepted and e.manager == c.manager
            )
            slots = (saved.capacity - saved.held if saved.capacity is not None else len(others) + 1) - admitted_above
            over = saved.per_manager is not None and c.manager is not None and same_manager >= saved.per_manager
            accepted = slots > 0 and not over
            target = saved.index if accepted else next_tier(c.eligible, saved.index, last)
            eligible = saved.held + len(others) + 1
            step = Step(saved.index, saved.held + position + 1, eligible, accepted, over and slots > 0, target)
            notes.append(note(engine, step, saved.capacity, saved.per_manager, c.manager))
            tier = target
        return tier, notes


def saved_keys(saved: SavedTier, orders: Sequence[str], others: list[SavedEntry] | None) -> tuple[list[Any], list[int]]:
    """Comparable keys of a tier's saved entries (best first) and, per position, how many of
    the entries before it were admitted; cached unless an entry is left out."""
    if others is None and saved._keys is not None and saved._accepted_before is not None:
        return saved._keys, saved._accepted_before
    entries = saved.entries if others is None else others
    keys = [_key(e.weighted, e.total, e.breakers, e.account_id, orders) for e in entries]
    before = [0]
    for e in entries:
        before.append(before[-1] + (1 if e.accepted else 0))
    if others is None:
        saved._keys, saved._accepted_before = keys, before
    return keys, before


@functools.total_ordering
class _RankKey:
    """Orders like :func:`rank`: exact score descending, tie-breakers, account id."""

    __slots__ = ("account_id", "breakers", "orders", "total", "weighted")

    def __init__(
        self, weighted: int, total: int, breakers: tuple[Any, ...], account_id: str, orders: Sequence[str]
    ) -> None:
        self.weighted, self.total, self.breakers, self.account_id, self.orders = (
            weighted,
            total,
            breakers,
            account_id,
            orders,
        )

    def _cmp(self, other: _RankKey) -> int:
        left, right = self.weighted * other.total, other.weighted * self.total
        if left != right:
            return -1 if left > right else 1
        for a, b, order in zip(self.breakers, other.breakers, self.orders, strict=True):
            if a == b:
                continue
            if a is None:
                return 1
            if b is None:
                return -1
            better = a > b if order == "descending" else a < b
            return -1 if better else 1
        if self.account_id != other.account_id:
            return -1 if self.account_id < other.account_id else 1
        return 0

    def __lt__(self, other: _RankKey) -> bool:
        return self._cmp(other) < 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RankKey) and self._cmp(other) == 0

    __hash__ = None  # type: ignore[assignment]


def _key(weighted: int, total: int, breakers: tuple[Any, ...], account_id: str, orders: Sequence[str]) -> _RankKey:
    return _RankKey(weighted, total, breakers, account_id, orders)


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _breaker_kinds(engine: Engine) -> list[str]:
    return [str(getattr(expr.type, "kind", "")) for expr, _ in engine.tie_breakers]


def _typed(values: Sequence[Any], kinds: Sequence[str] | None) -> tuple[Any, ...]:
    if kinds is None:
        return tuple(values)
    return tuple(
        dt.date.fromisoformat(v) if kind == "date" and isinstance(v, str) else v
        for v, kind in zip(values, kinds, strict=True)
    )


def placement_from(document: Mapping[str, Any] | str, engine: Engine | None = None) -> Placement:
    """A placement from its JSON text or parsed document."""
    return Placement.from_json(document if isinstance(document, str) else json.dumps(document), engine)
