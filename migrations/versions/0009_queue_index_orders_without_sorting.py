"""The queue index orders complaints without a deadline last, as the page does

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 21:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index('ix_complaints_queue', table_name='complaints')
    op.create_index('ix_complaints_queue', 'complaints',
                    ['unit_id', 'state', sa.text('(stage_due_at IS NULL)'), 'stage_due_at', 'id'])


def downgrade():
    op.drop_index('ix_complaints_queue', table_name='complaints')
    op.create_index('ix_complaints_queue', 'complaints', ['unit_id', 'state', 'stage_due_at', 'id'])
