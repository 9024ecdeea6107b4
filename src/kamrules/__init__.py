"""kamrules: a rules engine for Key Account Management.

Load a rulebook once, then decide accounts with a full explanation::

    import datetime as dt
    import kamrules

    rulebook = kamrules.load_rulebook("rules/")
    engine = kamrules.Engine(rulebook)
    decision = engine.decide({"id": "ACC-1", "annual_revenue": 2_500_000, ...}, as_of=dt.date(2026, 11, 1))
    print(decision.tier, decision.summary)

The core needs only pydantic and PyYAML; the command line, dataframes, server, database,
Spark and durable_rules integrations are extras.
"""

from kamrules._version import __version__
from kamrules.errors import ExpressionError, KamrulesError, Problem, RecordError, RulebookError, SourceLocation
from kamrules.evaluation.engine import Engine, Outcome
from kamrules.explanation.decision import AccountError, Decision
from kamrules.facts.records import InvalidRecord
from kamrules.rulebook import Rulebook, load_rulebook, load_rulebook_text

__all__ = [
    "AccountError",
    "Decision",
    "Engine",
    "ExpressionError",
    "InvalidRecord",
    "KamrulesError",
    "Outcome",
    "Problem",
    "RecordError",
    "Rulebook",
    "RulebookError",
    "SourceLocation",
    "__version__",
    "load_rulebook",
    "load_rulebook_text",
]
