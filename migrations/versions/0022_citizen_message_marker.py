"""complaints.citizen_message_at: when the complainant sent a message that no staff member
has answered yet (cleared by a public reply or a public step). The queue shows it as a badge,
read off the row it already reads, so it needs no index.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("complaints", sa.Column("citizen_message_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    # A plain DROP COLUMN (SQLite 3.35+): a batch copy of the table would lose the queue's
    # expression index, which SQLite's reflection cannot read.
    op.drop_column("complaints", "citizen_message_at")
