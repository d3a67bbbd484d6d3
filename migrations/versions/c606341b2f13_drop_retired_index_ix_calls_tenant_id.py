"""Drop the index on calls.tenant_id alone that earlier versions made, where it exists.

Revision ID: c606341b2f13
Revises: f38212f029dd
Create Date: 2026-12-01 05:31:49.813355

With it, PostgreSQL's cached (generic) plans could pick it to find a call's row, then filter
every call of the tenant (see models.Call.tenant_id); the unique (tenant_id, call_id) index
serves tenant lookups. A database made by this code's first revision never had it.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "c606341b2f13"
down_revision = "f38212f029dd"
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_calls_tenant_id", table_name="calls", if_exists=True)


def downgrade():
    op.create_index("ix_calls_tenant_id", "calls", ["tenant_id"], if_not_exists=True)
