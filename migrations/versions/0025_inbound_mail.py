"""Mail read from the office's mailbox: one row per handled message, keyed by a digest of its
Message-ID (or of its headers), so a message is never filed twice.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 15:20:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inbound_mail",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey(
            "complaints.id", ondelete="SET NULL", name="fk_inbound_mail_complaint_id_complaints"),
            nullable=True),
        sa.UniqueConstraint("digest", name="uq_inbound_mail_digest"),
    )


def downgrade():
    op.drop_table("inbound_mail")
