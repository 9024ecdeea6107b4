"""The one Markdown escaper of every Markdown writer (decisions, plan reports, the impact
report, the rulebook document).

Account names, titles and reasons come from CRMs and policy owners: a `|` in an account name
ends a table cell, a `*` or `_` starts emphasis, a `<` opens HTML. Each writer used to escape
its own way (one only `|`, one nothing); now each calls :func:`text` for running text,
:func:`cell` inside a table cell, and :func:`code` for a code span.
"""

from __future__ import annotations

import re

_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def text(value: str) -> str:
    """Running text with every character Markdown would read as markup escaped."""
    return _ENTITY.sub("&amp;", _SPECIAL.sub(r"\\\1", value))


def cell(value: str) -> str:
    """Text for a table cell of a report: on one line (a line break ends the row) and with
    its `|` escaped (a bar ends the cell). Nothing else is escaped: report cells hold
    expressions and fact paths (`plan.order_processing`, `<= 90`) that GFM shows as written,
    and that readers of the raw Markdown should see as written too."""
    return " ".join(value.split("\n")).replace("|", "\\|")


def code(value: str) -> str:
    """A code span that holds any text, backticks included."""
    runs = [len(m) for m in re.findall(r"`+", value)]
    fence = "`" * (max(runs, default=0) + 1)
    pad = " " if value.startswith("`") or value.endswith("`") or (value.startswith(" ") and value.strip()) else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def code_cell(value: str) -> str:
    """A code span inside a table cell: its `|` escaped (GFM ends the cell at it otherwise)."""
    return code(value).replace("|", "\\|")
