"""seen_signatures: signed requests already accepted, so that a replay is refused.

Revision ID: b5e2d8c4f1a3
Revises: a7c41e9d2b50
Create Date: 2026-12-01 12:45:00.000000

A new table, nothing else changes: code of the previous revision keeps serving on the upgraded
database (it never reads it). The digest is the primary key the INSERT ... ON CONFLICT DO
NOTHING conflicts on; seen_at is indexed for `flask purge`, which deletes by age.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b5e2d8c4f1a3"
down_revision = "a7c41e9d2b50"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "seen_signatures",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_seen_signatures_seen_at", "seen_signatures", ["seen_at"], unique=False)


def downgrade():
    op.drop_index("ix_seen_signatures_seen_at", table_name="seen_signatures")
    op.drop_table("seen_signatures")
