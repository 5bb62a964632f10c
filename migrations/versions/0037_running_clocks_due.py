"""The running clocks by due time: /metrics counts the overdue ones at every scrape without
reading the stopped clocks of closed complaints (nearly all clocks, in time).

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-08 00:20:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

RUNNING = sa.text("stopped_at IS NULL AND paused_at IS NULL")


def upgrade():
    op.create_index("ix_complaint_clocks_running_due", "complaint_clocks", ["rule", "due_at"],
                    postgresql_where=RUNNING, sqlite_where=RUNNING)


def downgrade():
    op.drop_index("ix_complaint_clocks_running_due", table_name="complaint_clocks")
