"""Replies by mail prove what they answer: the Message-IDs of the emails the office sent to a
complaint's complainant (mail_references), so a reply is added to a complaint only when it
names one; and the runs that failed to read a message of the mailbox (inbound_mail.attempts),
so one that always fails is given up instead of blocking the others.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 16:25:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "mail_references",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey(
            "complaints.id", ondelete="CASCADE", name="fk_mail_references_complaint_id_complaints"),
            nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("message_id", name="uq_mail_references_message_id"),
    )
    op.create_index("ix_mail_references_complaint_id", "mail_references", ["complaint_id"])
    op.add_column("outbox_messages", sa.Column("message_id", sa.String(255), nullable=True))
    op.add_column("inbound_mail", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    op.drop_column("inbound_mail", "attempts")
    op.drop_column("outbox_messages", "message_id")
    op.drop_index("ix_mail_references_complaint_id", "mail_references")
    op.drop_table("mail_references")
