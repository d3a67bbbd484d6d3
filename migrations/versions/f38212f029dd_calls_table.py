"""Calls table: one row per (tenant, call), as backend/models.py declared it before migrations.

Revision ID: f38212f029dd
Revises:
Create Date: 2026-12-01 05:31:39.046421

A database made by `create_all` before migrations (no alembic_version table) holds this schema,
plus, from the earliest versions, the index the next revision drops: `flask db upgrade` stamps
it with this revision first (migrations/env.py).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "f38212f029dd"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=64), nullable=False),
        sa.Column("call_id", sa.String(length=128), nullable=False),
        sa.Column("caller_number", sa.String(length=32), nullable=True),
        sa.Column("caller_msg_type", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=True),
        sa.Column("conversation", sa.Text(), nullable=True),
        sa.Column("contact_number", sa.String(length=32), nullable=True),
        sa.Column("contact_source", sa.String(length=16), nullable=True),
        sa.Column("contact_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=128), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "call_id", name="uq_calls_tenant_call"),
    )


def downgrade():
    op.drop_table("calls")
