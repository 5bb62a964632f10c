"""Indexes for the public figures of /statistik and the periodic report: complaints by when
they last changed (the worker finds the periods whose figures changed since their snapshot)
and by when they closed (complaints closed in a period, and their days to close).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 18:40:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_complaints_updated_at", "complaints", ["updated_at"])
    op.create_index("ix_complaints_closed_at", "complaints", ["closed_at"])


def downgrade():
    op.drop_index("ix_complaints_closed_at", table_name="complaints")
    op.drop_index("ix_complaints_updated_at", table_name="complaints")
