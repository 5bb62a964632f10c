"""Indexes for the staff home page: complainant replies per unit, complaints per unit and month,
and the clocks' deadlines for the on-time figures.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 09:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_complaints_unit_received", "complaints",
                    ["unit_id", "received_at", "category_id", "channel", "id"])
    op.create_index("ix_complaint_events_unit_role", "complaint_events",
                    ["unit_id", "actor_role", "kind", "occurred_at"])
    op.create_index("ix_complaint_events_kind", "complaint_events", ["kind", "complaint_id"])
    op.create_index("ix_complaint_clocks_figures", "complaint_clocks",
                    ["complaint_id", "rule", "due_at", "stopped_at", "paused_at"])


def downgrade():
    op.drop_index("ix_complaint_clocks_figures", table_name="complaint_clocks")
    op.drop_index("ix_complaint_events_kind", table_name="complaint_events")
    op.drop_index("ix_complaint_events_unit_role", table_name="complaint_events")
    op.drop_index("ix_complaints_unit_received", table_name="complaints")
