"""Findings on closed complaints (maladministration, systemic, root cause) and the complaint
evaluation actions of a quarter.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-07 22:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("complaints", sa.Column("finding", sa.String(length=16), nullable=True))
    op.add_column("complaints", sa.Column("maladministration", sa.String(length=40), nullable=True))
    op.add_column("complaints", sa.Column("systemic", sa.Boolean(), nullable=True))
    op.add_column("complaints", sa.Column("root_cause", sa.Text(), nullable=True))
    op.create_index(op.f("ix_complaints_finding"), "complaints", ["finding"])
    op.add_column("supervision_records", sa.Column("evaluation_period", sa.String(length=7), nullable=True))
    op.create_index(op.f("ix_supervision_records_evaluation_period"), "supervision_records",
                    ["evaluation_period"])
    op.add_column("supervision_actions", sa.Column("evaluation_group", sa.String(length=240), nullable=True))


def downgrade():
    op.drop_column("supervision_actions", "evaluation_group")
    op.drop_index(op.f("ix_supervision_records_evaluation_period"), table_name="supervision_records")
    op.drop_column("supervision_records", "evaluation_period")
    op.drop_index(op.f("ix_complaints_finding"), table_name="complaints")
    op.drop_column("complaints", "root_cause")
    op.drop_column("complaints", "systemic")
    op.drop_column("complaints", "maladministration")
    op.drop_column("complaints", "finding")
