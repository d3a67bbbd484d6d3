"""Calls: conversation_version, the integer a turn's compare-and-set reads and bumps.

Revision ID: 63078abf4cbb
Revises: c606341b2f13
Create Date: 2026-12-02 06:30:00.000000

Existing rows start at 0. Code of the previous revision keeps serving on the upgraded table
(rolling deploy): its inserts leave the column to its default. Its writes of the conversation
do not bump the version, so while both run, a newer worker answering the same turn at the same
moment may store over an older one's answer: that turn is asked again, nothing else is lost.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "63078abf4cbb"
down_revision = "c606341b2f13"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls") as batch_op:
        batch_op.add_column(
            sa.Column(
                "conversation_version", sa.Integer(), server_default=sa.text("0"), nullable=False
            )
        )


def downgrade():
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_column("conversation_version")
