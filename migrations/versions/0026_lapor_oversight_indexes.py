"""Indexes for the answers owed to SP4N-LAPOR!: the complaints whose answers wait to be posted
(the overdue review's list and the report's "not yet posted at the end", a partial index of
the few waiting complaints, by unit), and the postings by when they were posted (the report's
postings of a period). At 1M complaints the review's list took 0.8 s without the first (a scan
of the complaints table) and the report's "not yet posted" for every unit 7.9 s (bench/README.md).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 15:40:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

WAITING = sa.text("lapor_unposted_since IS NOT NULL")


def upgrade():
    op.create_index("ix_complaints_lapor_unposted", "complaints", ["unit_id", "lapor_unposted_since"],
                    postgresql_where=WAITING, sqlite_where=WAITING)
    op.create_index("ix_lapor_postings_posted_at", "lapor_postings", ["posted_at"])


def downgrade():
    op.drop_index("ix_lapor_postings_posted_at", "lapor_postings")
    op.drop_index("ix_complaints_lapor_unposted", "complaints")
