"""Calls: contact_outcome and contact_turns, how the contact step ended and in how many turns.

Revision ID: a7c41e9d2b50
Revises: 63078abf4cbb
Create Date: 2026-12-01 10:50:00.000000

Both nullable, no default: existing rows and calls whose step goes on hold none. Rows made
before this revision keep no outcome (their statistics count them as neither finished nor
unfinished). Code of the previous revision keeps serving on the upgraded table (rolling
deploy): its writes leave both columns as they are. No index: the statistics read a tenant's
rows through the unique (tenant_id, call_id) index, and every index costs each new call's insert.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "a7c41e9d2b50"
down_revision = "63078abf4cbb"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("calls") as batch_op:
        batch_op.add_column(sa.Column("contact_outcome", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("contact_turns", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("calls") as batch_op:
        batch_op.drop_column("contact_turns")
        batch_op.drop_column("contact_outcome")
