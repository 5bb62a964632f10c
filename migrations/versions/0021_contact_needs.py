"""What the complainant needs to be reached or served (a sign-language interpreter, a voice
call, large print, help at the counter) and her own words about it. Existing complaints keep
NULL: nothing was asked.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 12:10:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


# Plain ALTER TABLE ... ADD/DROP COLUMN (SQLite 3.35+), as in 0011: a batch rebuild of
# `complaints` would lose its expression index (ix_complaints_queue) and touch every table
# that refers to it.
def upgrade():
    op.add_column("complaints", sa.Column("contact_needs", sa.JSON().with_variant(
        postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=True))
    op.add_column("complaints", sa.Column("contact_needs_note", sa.Text(), nullable=True))


def downgrade():
    op.drop_column("complaints", "contact_needs_note")
    op.drop_column("complaints", "contact_needs")
