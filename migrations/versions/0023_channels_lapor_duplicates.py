"""Complaints from SP4N-LAPOR! and duplicates: the LAPOR! tracking ID (unique) and when LAPOR!
received and disposed the complaint; since when an answer has waited to be posted back to
LAPOR! (the queue's marker, read off the row) and which answers were posted, when; the original a duplicate was closed against.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 15:30:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

COLUMNS = ("lapor_id", "lapor_received_at", "lapor_disposed_at", "lapor_unposted_since", "duplicate_of_id")


def upgrade():
    op.add_column("complaints", sa.Column("lapor_id", sa.String(32), nullable=True))
    op.add_column("complaints", sa.Column("lapor_received_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("complaints", sa.Column("lapor_disposed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("complaints", sa.Column("lapor_unposted_since", sa.DateTime(timezone=True), nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in one statement; Alembic would want a batch
        # copy of the table, which loses the queue's expression index.
        op.execute("ALTER TABLE complaints ADD COLUMN duplicate_of_id INTEGER "
                   "CONSTRAINT fk_complaints_duplicate_of_id_complaints REFERENCES complaints (id)")
    else:
        op.add_column("complaints", sa.Column(
            "duplicate_of_id", sa.Integer(),
            sa.ForeignKey("complaints.id", name="fk_complaints_duplicate_of_id_complaints"), nullable=True))
    op.create_index("ix_complaints_lapor_id", "complaints", ["lapor_id"], unique=True)
    op.create_index("ix_complaints_duplicate_of_id", "complaints", ["duplicate_of_id"])
    op.create_table(
        "lapor_postings",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("complaint_id", sa.Integer(), sa.ForeignKey(
            "complaints.id", ondelete="CASCADE", name="fk_lapor_postings_complaint_id_complaints"), nullable=False),
        sa.Column("event_id", sa.Integer(), sa.ForeignKey(
            "complaint_events.id", ondelete="CASCADE", name="fk_lapor_postings_event_id_complaint_events"),
            nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), sa.ForeignKey(
            "users.id", name="fk_lapor_postings_recorded_by_id_users"), nullable=True),
        sa.UniqueConstraint("event_id", name="uq_lapor_postings_event_id"),
    )
    op.create_index("ix_lapor_postings_complaint_id", "lapor_postings", ["complaint_id"])


def downgrade():
    op.drop_table("lapor_postings")
    op.drop_index("ix_complaints_duplicate_of_id", "complaints")
    op.drop_index("ix_complaints_lapor_id", "complaints")
    # Plain DROP COLUMN (SQLite 3.35+): a batch copy would lose the queue's expression index.
    for column in reversed(COLUMNS):
        op.drop_column("complaints", column)
