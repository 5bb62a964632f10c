"""Complaints linked as related (the same matter filed more than once, or one touching
another): one row per pair, the lower id first, so that each link is shown from both sides
and made once.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 15:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "complaint_links",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey(
            "complaints.id", ondelete="CASCADE", name="fk_complaint_links_complaint_id_complaints"),
            nullable=False),
        sa.Column("related_id", sa.Integer(), sa.ForeignKey(
            "complaints.id", ondelete="CASCADE", name="fk_complaint_links_related_id_complaints"),
            nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_complaint_links_created_by_id_users"), nullable=True),
        sa.UniqueConstraint("complaint_id", "related_id", name="uq_complaint_links_complaint_id"),
        sa.CheckConstraint("complaint_id < related_id", name=op.f("ck_complaint_links_ordered")),
    )
    op.create_index("ix_complaint_links_related_id", "complaint_links", ["related_id"])


def downgrade():
    op.drop_index("ix_complaint_links_related_id", "complaint_links")
    op.drop_table("complaint_links")
