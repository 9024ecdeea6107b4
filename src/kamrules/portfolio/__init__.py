"""Portfolios: batch runs, tier capacity, and the vectorised (columnar) evaluator.

The dataframe API lives here; it needs the ``dataframes`` extra (polars, pyarrow, numpy),
imported only when one of these functions is called::

    from kamrules.portfolio import evaluate_frame, decisions, evaluate_portfolio
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kamrules.columnar import ColumnarEngine, ColumnarFallbackWarning, PortfolioResult
    from kamrules.portfolio.api import (
        columnar_engine,
        decisions,
        evaluate_frame,
        evaluate_portfolio,
        read_accounts,
    )
    from kamrules.portfolio.frames import Table

_API = {
    "columnar_engine": "kamrules.portfolio.api",
    "decisions": "kamrules.portfolio.api",
    "evaluate_frame": "kamrules.portfolio.api",
    "evaluate_portfolio": "kamrules.portfolio.api",
    "read_accounts": "kamrules.portfolio.api",
    "ColumnarEngine": "kamrules.columnar",
    "ColumnarFallbackWarning": "kamrules.columnar",
    "PortfolioResult": "kamrules.columnar",
    "Table": "kamrules.portfolio.frames",
}

__all__ = [
    "ColumnarEngine",
    "ColumnarFallbackWarning",
    "PortfolioResult",
    "Table",
    "columnar_engine",
    "decisions",
    "evaluate_frame",
    "evaluate_portfolio",
    "read_accounts",
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'kamrules.portfolio' has no attribute '{name}'")
    import importlib

    return getattr(importlib.import_module(module), name)
