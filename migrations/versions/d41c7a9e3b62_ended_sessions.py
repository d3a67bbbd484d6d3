"""ended_sessions: console sessions their operator signed out of, refused from then on.

Revision ID: d41c7a9e3b62
Revises: b5e2d8c4f1a3
Create Date: 2026-12-01 16:10:00.000000

A new table, nothing else changes: code of the previous revision keeps serving on the upgraded
database (it never reads it). The digest of a session's id is the primary key; ended_at is
indexed for `flask purge`, which deletes rows past a session's lifetime.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "d41c7a9e3b62"
down_revision = "b5e2d8c4f1a3"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ended_sessions",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_ended_sessions_ended_at", "ended_sessions", ["ended_at"], unique=False)


def downgrade():
    op.drop_index("ix_ended_sessions_ended_at", table_name="ended_sessions")
    op.drop_table("ended_sessions")
