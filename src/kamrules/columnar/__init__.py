"""The vectorised engine: a whole portfolio decided column by column with polars.

It sits beside the per-account engine (:mod:`kamrules.evaluation`) and must agree with it
decision for decision. One module per concern:

* :mod:`~kamrules.columnar.facts`: raw columns parsed and validated as the record validator does;
* :mod:`~kamrules.columnar.decisions`: criteria points, exact scores, gates, tiers, segments,
  plan-check conditions, stability and overrides;
* :mod:`~kamrules.columnar.chunks`: a run split into decide a chunk, place, finish a chunk (tier
  capacity by the one shared placement, :func:`kamrules.portfolio.placement.place`);
* :mod:`~kamrules.columnar.compliance`: which checks apply, and the plan's status;
* :mod:`~kamrules.columnar.output`: the flat result frame and its summary;
* :mod:`~kamrules.columnar.engine`: :class:`ColumnarEngine`, one run, and the rows handed to
  the per-account engine.

The rule language's polars backend is :mod:`kamrules.expressions.polars_backend`. It needs the
``dataframes`` extra (polars, pyarrow, numpy); ``kamrules.portfolio`` re-exports the public API.
"""

from __future__ import annotations

from kamrules.columnar.engine import (
    ColumnarEngine,
    ColumnarFallbackWarning,
    EngineChoice,
    PortfolioResult,
    decide_rows,
)
from kamrules.columnar.output import outcomes_frame, output_schema, summarise

__all__ = [
    "ColumnarEngine",
    "ColumnarFallbackWarning",
    "EngineChoice",
    "PortfolioResult",
    "decide_rows",
    "outcomes_frame",
    "output_schema",
    "summarise",
]
