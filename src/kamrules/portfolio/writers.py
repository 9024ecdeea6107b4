"""Writing decided batches: JSON Lines, one JSON document, CSV and Markdown.

The command line and the HTTP service write the same bytes for the same decisions, so the
writers live in the library rather than in either of them. Each takes the stream a batch run
yields (outcomes and error records, in input order) and a text handle.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from typing import TextIO

from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError
from kamrules.explanation.render import to_markdown
from kamrules.portfolio.batch import Summary, flat_columns, flat_row

TEXT_FORMATS = ("jsonl", "json", "csv", "markdown")


def write_decisions(
    engine: Engine, items: Iterable[Outcome | AccountError], fmt: str, handle: TextIO, summary: Summary
) -> None:
    """Write a batch in one of :data:`TEXT_FORMATS`; ``summary`` is read after the items are
    consumed (the JSON document carries it)."""
    if fmt == "jsonl":
        # The encoder writes what decision().model_dump_json() would, without the model.
        for item in items:
            handle.write((item.decision_json() if isinstance(item, Outcome) else item.model_dump_json()) + "\n")
    elif fmt == "json":
        decisions, errors = [], []
        for item in items:
            if isinstance(item, Outcome):
                # json.loads of the encoder's text gives what model_dump(mode="json") gives
                # (floats, strings, lists, None): the document below is written the same.
                decisions.append(json.loads(item.decision_json()))
            else:
                errors.append(item.model_dump(mode="json"))
        json.dump(
            {"decisions": decisions, "errors": errors, "summary": summary.as_dict()},
            handle,
            indent=2,
            ensure_ascii=False,
        )
        handle.write("\n")
    elif fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=flat_columns(engine), extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for number, item in enumerate(items, start=1):
            writer.writerow(flat_row(engine, item, number))
    elif fmt == "markdown":
        handle.write(f"# Decisions: {engine.rulebook.id} {engine.rulebook.version}\n\n")
        errors_md: list[str] = []
        for item in items:
            if isinstance(item, Outcome):
                handle.write(to_markdown(item.decision()) + "\n")
            else:
                errors_md.append(f"- record {item.record}: {item.message}")
        if errors_md:
            handle.write("## Records that could not be decided\n\n" + "\n".join(errors_md) + "\n")
    else:
        raise ValueError(f"no writer for format '{fmt}'; use one of {', '.join(TEXT_FORMATS)}")
