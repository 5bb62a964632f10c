"""Timeline events name the workflow (name and version) in force when they happened.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 05:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE ADD COLUMN, as in 0012: no table copy. Earlier events stay NULL: which
    # file was in force when they happened was not recorded.
    op.add_column('complaint_events', sa.Column('workflow_name', sa.String(length=64), nullable=True))
    op.add_column('complaint_events', sa.Column('workflow_version', sa.Integer(), nullable=True))


def downgrade():
    op.drop_column('complaint_events', 'workflow_version')
    op.drop_column('complaint_events', 'workflow_name')
