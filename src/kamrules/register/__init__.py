"""The decision register: every decision recorded append-only, rulebooks stored once by hash.

Needs the ``register`` extra (SQLAlchemy 2, Alembic, psycopg 3 for PostgreSQL); a SQLite file
is the embedded default::

    from kamrules.register import Register
    with Register("decisions.db") as register:
        ...
"""

from __future__ import annotations

try:
    import alembic  # noqa: F401
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("the decision register needs the register extra: pip install 'kamrules[register]'") from exc

from kamrules.register.history import HistoryEntry, Replay, history, json_differences, replay, what_moved
from kamrules.register.store import (
    Entry,
    Register,
    RegisterError,
    StoredDecision,
    database_url,
    digest,
    facts_json,
    facts_of,
    head_revision,
    load_stored_rulebook,
    rule_file_texts,
    upgrade,
)

__all__ = [
    "Entry",
    "HistoryEntry",
    "Register",
    "RegisterError",
    "Replay",
    "StoredDecision",
    "database_url",
    "digest",
    "facts_json",
    "facts_of",
    "head_revision",
    "history",
    "json_differences",
    "load_stored_rulebook",
    "replay",
    "rule_file_texts",
    "upgrade",
    "what_moved",
]
