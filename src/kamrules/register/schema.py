"""The register's tables, as SQLAlchemy Core metadata.

Core rather than the ORM: the register appends rows and reads them back as plain values; a
unit of work and identity map would only cost time on the service's request path. The
Alembic migrations in ``migrations/versions`` create exactly these tables; a test compares
the two so that neither drifts from the other.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

Id = BigInteger().with_variant(Integer(), "sqlite")
"""64-bit ids; SQLite's rowid alias must be declared INTEGER to autoincrement."""

rulebooks = Table(
    "rulebooks",
    metadata,
    Column("content_hash", String(80), primary_key=True),
    Column("rulebook_id", String(200), nullable=False),
    Column("version", String(100), nullable=False),
    Column("files", Text, nullable=False, comment="JSON object: rule file name -> its text"),
    Column("stored_at", DateTime(timezone=True), nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("account_id", String(200), nullable=False),
    Column("as_of", Date, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("rulebook_id", String(200), nullable=False),
    Column("rulebook_version", String(100), nullable=False),
    Column("rulebook_hash", String(80), ForeignKey("rulebooks.content_hash"), nullable=False),
    Column("tier", String(200), nullable=False),
    Column("key_account", Boolean, nullable=False),
    Column("segment", String(200), nullable=True),
    Column("scores", Text, nullable=False, comment="JSON object: scorecard id -> score"),
    Column("compliance_status", String(40), nullable=True),
    Column("explanation", Text, nullable=False, comment="the decision's JSON, byte for byte as served"),
    Column("facts_digest", String(80), nullable=False),
    Column("facts", Text, nullable=True, comment="the input record as JSON, unless configured off"),
    Column("request_id", String(100), nullable=True),
    Column("caller", String(200), nullable=True),
    Column("source", String(20), nullable=False, comment="service or cli"),
    Index("ix_decisions_account", "account_id", "id"),
)

placements = Table(
    "placements",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("placement_id", String(200), nullable=False),
    Column("rulebook_hash", String(80), ForeignKey("rulebooks.content_hash"), nullable=False),
    Column("as_of", Date, nullable=True),
    Column("saved_at", DateTime(timezone=True), nullable=False),
    Column("document", Text, nullable=False, comment="the placement as Placement.to_json() writes it"),
    Index("ix_placements_rulebook", "rulebook_hash", "id"),
)

monitor_events = Table(
    "monitor_events",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("event_id", String(200), nullable=False, unique=True),
    Column("body", Text, nullable=False, comment="the event's JSON, as the monitor took it"),
    Column("taken_at", DateTime(timezone=True), nullable=False),
)
"""The account monitor's event log (``kamrules watch --register``): replayed on a restart."""

monitor_alerts = Table(
    "monitor_alerts",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("alert_id", String(1000), nullable=False, unique=True),
    Column("event_seq", Id, ForeignKey("monitor_events.seq"), nullable=False),
    Column("account_id", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("body", Text, nullable=False, comment="the alert's JSON, byte for byte as delivered"),
    Index("ix_monitor_alerts_account", "account_id", "seq"),
)
"""The monitor's alert outbox: each alert stored with the event that raised it, in one transaction."""

monitor_cursors = Table(
    "monitor_cursors",
    metadata,
    Column("sink", String(1000), primary_key=True),
    Column("seq", BigInteger, nullable=False, comment="the last alert this sink took"),
)
"""Per sink, the last alert it took: moved only after the sink took it."""
