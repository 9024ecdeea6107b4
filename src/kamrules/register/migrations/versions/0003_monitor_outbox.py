"""The account monitor's event log and alert outbox, in the register (``kamrules watch --register``).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
APPEND_ONLY = ("monitor_events", "monitor_alerts")
"""The cursors move as sinks take alerts; the events and alerts themselves never change."""


def upgrade() -> None:
    op.create_table(
        "monitor_events",
        sa.Column("seq", Id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(200), nullable=False, unique=True),
        sa.Column("body", sa.Text, nullable=False, comment="the event's JSON, as the monitor took it"),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "monitor_alerts",
        sa.Column("seq", Id, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.String(1000), nullable=False, unique=True),
        sa.Column("event_seq", Id, sa.ForeignKey("monitor_events.seq"), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("body", sa.Text, nullable=False, comment="the alert's JSON, byte for byte as delivered"),
    )
    op.create_index("ix_monitor_alerts_account", "monitor_alerts", ["account_id", "seq"])
    op.create_table(
        "monitor_cursors",
        sa.Column("sink", sa.String(1000), primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False, comment="the last alert this sink took"),
    )
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        message = f"the decision register is append-only: {table} rows are never updated or deleted"
        if dialect == "sqlite":
            for event in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
                )
        elif dialect == "postgresql":
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN RAISE EXCEPTION '{message}'; END $$"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
    op.drop_table("monitor_cursors")
    op.drop_table("monitor_alerts")
    op.drop_table("monitor_events")
