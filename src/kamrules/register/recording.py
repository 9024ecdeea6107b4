"""Recording a batch run's decisions as they stream to the writer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.sources import RawRecord
from kamrules.register.store import Entry, Register

CHUNK = 500
"""Decisions per transaction: large enough that commits cost little per decision, small
enough that a run stopped half-way has recorded everything it wrote."""


def recorded(
    register: Register,
    engine: Engine,
    records: Sequence[RawRecord],
    results: Iterable[Outcome | AccountError],
    *,
    caller: str | None,
    summary: Summary | None = None,
    source: str = "cli",
) -> Iterator[Outcome | AccountError]:
    """The batch's results, each chunk committed to the register before it is passed on,
    so nothing is written out that the register does not hold.

    A batch yields exactly one result per record, in input order, so result ``n`` was
    decided from record ``n``: that is the input stored with it. With tier capacities the
    run's placement (in ``summary`` once the batch is placed) is saved too, so that single
    accounts decided later by the service are placed against this portfolio."""
    register.store_rulebook(engine.rulebook)
    pending: list[Outcome | AccountError] = []
    entries: list[Entry] = []
    for raw, item in zip(records, results, strict=True):
        pending.append(item)
        if isinstance(item, Outcome) and raw.data is not None:
            entries.append(Entry.of_outcome(item, item.decision_json(), raw.data))
        if len(pending) >= CHUNK:
            register.record(engine.rulebook, entries, source=source, caller=caller)
            yield from pending
            pending, entries = [], []
    register.record(engine.rulebook, entries, source=source, caller=caller)
    if summary is not None and summary.placement is not None:
        register.save_placement(engine.rulebook, summary.placement)
    yield from pending
