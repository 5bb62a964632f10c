"""Indexes for the audit log viewer: events by action, actor and complaint, newest first.

The single-column indexes on action and complaint_code give way to (column, seq), which also
serve every query they served; on PostgreSQL they let a filtered page be read newest first
straight off the index instead of sorting every matching event.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 09:36:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_action_seq", ["action", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_actor_seq", ["actor", "seq"], unique=False)
        batch_op.create_index("ix_audit_events_complaint_code_seq", ["complaint_code", "seq"], unique=False)
        batch_op.drop_index("ix_audit_events_action")
        batch_op.drop_index("ix_audit_events_complaint_code")


def downgrade():
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_complaint_code", ["complaint_code"], unique=False)
        batch_op.create_index("ix_audit_events_action", ["action"], unique=False)
        batch_op.drop_index("ix_audit_events_complaint_code_seq")
        batch_op.drop_index("ix_audit_events_actor_seq")
        batch_op.drop_index("ix_audit_events_action_seq")
