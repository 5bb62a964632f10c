"""Attachments stored in the database (PENGADUAN_STORAGE=database): each file as rows of chunks.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-08 01:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "file_chunks",
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("stored_name", "seq", name=op.f("pk_file_chunks")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Photos and PDFs are compressed already: keep PostgreSQL from trying again.
        op.execute("ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade():
    op.drop_table("file_chunks")
