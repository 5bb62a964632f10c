"""Compensation records are corrected after they are recorded: a version against concurrent
edits and the time of the last correction.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-07 22:45:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("compensations", sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.add_column("compensations", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("compensations", "updated_at")
    op.drop_column("compensations", "version")
