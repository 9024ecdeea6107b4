"""Recording a batch run's decisions as they stream to the writer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.portfolio.batch import Summary
from kamrules.register.store import Entry, Register

CHUNK = 500
"""Decisions per transaction: large enough that commits cost little per decision, small
enough that a run stopped half-way has recorded everything it wrote."""


def recorded(
    register: Register,
    engine: Engine,
    results: Iterable[Outcome | AccountError],
    *,
    caller: str | None,
    summary: Summary | None = None,
    source: str = "cli",
) -> Iterator[Outcome | AccountError]:
    """The batch's results, each chunk committed to the register before it is passed on,
    so nothing is written out that the register does not hold.

    Each decision is stored with the facts it was decided from as the engine read them
    (:func:`~kamrules.register.store.facts_of`), so the run's records are never held: memory
    stays bounded by one chunk whatever the portfolio's size. With tier capacities the batch
    has placed the whole portfolio before its first result (``summary.placement``): that
    placement is saved first, and each decision records the run's placement id as its
    request id, so ``replay`` places it against the same placement again."""
    register.store_rulebook(engine.rulebook)
    pending: list[Outcome | AccountError] = []
    entries: list[Entry] = []
    run: str | None = None
    for item in results:
        if run is None and summary is not None and summary.placement is not None:
            register.save_placement(engine.rulebook, summary.placement)
            run = summary.placement.id
        pending.append(item)
        if isinstance(item, Outcome):
            entries.append(Entry.of_outcome(item, item.decision_json()))
        if len(pending) >= CHUNK:
            register.record(engine.rulebook, entries, source=source, caller=caller, request_id=run)
            yield from pending
            pending, entries = [], []
    register.record(engine.rulebook, entries, source=source, caller=caller, request_id=run)
    yield from pending
