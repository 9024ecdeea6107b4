"""Portfolio placements: a batch run's placement, so single accounts are placed against it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_MESSAGE = "the decision register is append-only: placements rows are never updated or deleted"


def upgrade() -> None:
    op.create_table(
        "placements",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("placement_id", sa.String(200), nullable=False),
        sa.Column("rulebook_hash", sa.String(80), sa.ForeignKey("rulebooks.content_hash"), nullable=False),
        sa.Column("as_of", sa.Date, nullable=True),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text, nullable=False, comment="the placement as Placement.to_json() writes it"),
    )
    op.create_index("ix_placements_rulebook", "placements", ["rulebook_hash", "id"])
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER placements_no_{event.lower()} BEFORE {event} ON placements "
                f"BEGIN SELECT RAISE(ABORT, '{_MESSAGE}'); END"
            )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION placements_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            f"$$ BEGIN RAISE EXCEPTION '{_MESSAGE}'; END $$"
        )
        op.execute(
            "CREATE TRIGGER placements_append_only BEFORE UPDATE OR DELETE ON placements "
            "FOR EACH ROW EXECUTE FUNCTION placements_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS placements_append_only ON placements")
        op.execute("DROP FUNCTION IF EXISTS placements_append_only()")
    op.drop_table("placements")
