"""One filing per rendered complaint form: complaints keep the digest of the form's token.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN and a unique index: no table copy on SQLite (a batch copy
    # would lose the queue's expression index, which reflection cannot see).
    op.add_column('complaints', sa.Column('submission_digest', sa.String(length=64), nullable=True))
    op.create_index('ix_complaints_submission_digest', 'complaints', ['submission_digest'], unique=True)


def downgrade():
    op.drop_index('ix_complaints_submission_digest', table_name='complaints')
    op.drop_column('complaints', 'submission_digest')
