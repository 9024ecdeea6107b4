"""kamrules: a rules engine for Key Account Management.

Load a rulebook once, then decide accounts with a full explanation::

    import datetime as dt
    import kamrules

    rulebook = kamrules.load_rulebook("rules/")
    engine = kamrules.Engine(rulebook)
    decision = engine.decide({"id": "ACC-1", "annual_revenue": 2_500_000, ...}, as_of=dt.date(2026, 11, 1))
    print(decision.tier, decision.summary)

The core needs only pydantic and PyYAML. Extras: ``cli`` (the ``kamrules`` command),
``dataframes`` (polars: columnar evaluation, Parquet), ``bdd`` (the Gherkin test kit) and
``reactive`` (the durable_rules monitor). What is a stable API is listed in ``docs/api.md``:
the names below, and those of ``kamrules.portfolio``.
"""

from kamrules._version import __version__
from kamrules.errors import ExpressionError, KamrulesError, Problem, RecordError, RulebookError, SourceLocation
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError, Decision
from kamrules.explanation.render import to_json, to_markdown, to_text
from kamrules.facts.records import InvalidRecord
from kamrules.portfolio.batch import Summary
from kamrules.portfolio.batch import run as run_batch
from kamrules.portfolio.placement import Placement
from kamrules.portfolio.sources import RawRecord, SourceError, read_records
from kamrules.rulebook import Rulebook, load_rulebook, load_rulebook_text

__all__ = [
    "AccountError",
    "Decision",
    "Engine",
    "ExpressionError",
    "InvalidRecord",
    "KamrulesError",
    "Outcome",
    "Placement",
    "Problem",
    "RawRecord",
    "RecordError",
    "Rulebook",
    "RulebookError",
    "SourceError",
    "SourceLocation",
    "Summary",
    "__version__",
    "load_rulebook",
    "load_rulebook_text",
    "read_records",
    "run_batch",
    "to_json",
    "to_markdown",
    "to_text",
]
