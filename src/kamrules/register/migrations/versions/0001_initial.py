"""The register: rulebooks stored once by content hash, decisions appended and never changed.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_APPEND_ONLY = "the decision register is append-only: {table} rows are never updated or deleted"


def upgrade() -> None:
    op.create_table(
        "rulebooks",
        sa.Column("content_hash", sa.String(80), primary_key=True),
        sa.Column("rulebook_id", sa.String(200), nullable=False),
        sa.Column("version", sa.String(100), nullable=False),
        sa.Column("files", sa.Text, nullable=False, comment="JSON object: rule file name -> its text"),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rulebook_id", sa.String(200), nullable=False),
        sa.Column("rulebook_version", sa.String(100), nullable=False),
        sa.Column("rulebook_hash", sa.String(80), sa.ForeignKey("rulebooks.content_hash"), nullable=False),
        sa.Column("tier", sa.String(200), nullable=False),
        sa.Column("key_account", sa.Boolean, nullable=False),
        sa.Column("segment", sa.String(200), nullable=True),
        sa.Column("scores", sa.Text, nullable=False, comment="JSON object: scorecard id -> score"),
        sa.Column("compliance_status", sa.String(40), nullable=True),
        sa.Column("explanation", sa.Text, nullable=False, comment="the decision's JSON, byte for byte as served"),
        sa.Column("facts_digest", sa.String(80), nullable=False),
        sa.Column("facts", sa.Text, nullable=True, comment="the input record as JSON, unless configured off"),
        sa.Column("request_id", sa.String(100), nullable=True),
        sa.Column("caller", sa.String(200), nullable=True),
        sa.Column("source", sa.String(20), nullable=False, comment="service or cli"),
    )
    op.create_index("ix_decisions_account", "decisions", ["account_id", "id"])
    dialect = op.get_bind().dialect.name
    for table in ("rulebooks", "decisions"):
        message = _APPEND_ONLY.format(table=table)
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
    dialect = op.get_bind().dialect.name
    for table in ("decisions", "rulebooks"):
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        op.drop_table(table)
