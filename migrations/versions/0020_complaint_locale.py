"""The language a complaint was filed in (id, en): the complainant is written to in it.
Existing complaints keep NULL, read as the default language.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 12:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


# Plain ALTER TABLE on both engines (SQLite 3.35+ drops a column in place): a batch
# operation would copy the table on SQLite and lose its expression indexes.
def upgrade():
    op.add_column("complaints", sa.Column("locale", sa.String(length=8), nullable=True))


def downgrade():
    op.drop_column("complaints", "locale")
