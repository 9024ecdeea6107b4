"""The portfolio in pictures: self-contained HTML reports (the ``report`` extra).

``kamrules report`` draws the portfolio matrix, tiers, plan compliance and criteria;
``impact``, ``sensitivity`` and ``explain --account`` draw their answers with ``--html``.
The pictures are Vega-Lite charts rendered to SVG ahead of time (decision 25), so a report
opens offline, prints on A4, and is the same bytes for the same inputs.

Every number drawn is read off the decisions (:func:`kamrules.portfolio.decisions`) or the
workbench's own results; nothing is recomputed here.
"""

from __future__ import annotations

try:
    import altair  # noqa: F401
    import vl_convert  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("kamrules reports need the report extra: pip install 'kamrules[report]'") from exc
