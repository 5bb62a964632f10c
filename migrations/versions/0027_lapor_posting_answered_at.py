"""The time of the answer on its SP4N-LAPOR! posting (`lapor_postings.answered_at`, copied from
the answer's timeline event, which never changes), so that the periodic report's LAPOR! figures
and the evidence pack's lapor.csv read a period's postings from one table instead of looking
each answer up among the timeline events (at 1M complaints a year for every unit took 4 to 6 s,
the pack's rows 9 s: bench/README.md); and an index of the postings by when they were posted
and answered (in place of the one by when they were posted), which the period's figures read
alone.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 16:10:00

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("lapor_postings", sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE lapor_postings SET answered_at = (SELECT complaint_events.occurred_at "
               "FROM complaint_events WHERE complaint_events.id = lapor_postings.event_id)")
    # On PostgreSQL a plain ALTER; on SQLite a copy of lapor_postings alone (it has no
    # expression index to lose).
    with op.batch_alter_table("lapor_postings") as batch:
        batch.alter_column("answered_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_index("ix_lapor_postings_posted_answered", "lapor_postings", ["posted_at", "answered_at"])
    op.drop_index("ix_lapor_postings_posted_at", "lapor_postings")  # the new one serves it too


def downgrade():
    op.create_index("ix_lapor_postings_posted_at", "lapor_postings", ["posted_at"])
    op.drop_index("ix_lapor_postings_posted_answered", "lapor_postings")
    op.drop_column("lapor_postings", "answered_at")
