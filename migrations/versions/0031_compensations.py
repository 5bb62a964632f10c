"""Compensation given on a complaint or on its own, and the files that prove it.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07 21:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "compensations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("given_on", sa.Date(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("approved_by", sa.String(length=200), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_compensations_unit_id_units")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_compensations_complaint_id_complaints")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_compensations_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensations")),
    )
    op.create_index(op.f("ix_compensations_unit_id"), "compensations", ["unit_id"])
    op.create_index(op.f("ix_compensations_complaint_id"), "compensations", ["complaint_id"])
    op.create_index(op.f("ix_compensations_given_on"), "compensations", ["given_on"])
    op.create_table(
        "compensation_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("compensation_id", sa.Integer(), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["compensation_id"], ["compensations.id"],
                                name=op.f("fk_compensation_files_compensation_id_compensations"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_compensation_files_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compensation_files")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_compensation_files_stored_name")),
    )
    op.create_index(op.f("ix_compensation_files_compensation_id"), "compensation_files", ["compensation_id"])


def downgrade():
    op.drop_index(op.f("ix_compensation_files_compensation_id"), table_name="compensation_files")
    op.drop_table("compensation_files")
    op.drop_index(op.f("ix_compensations_given_on"), table_name="compensations")
    op.drop_index(op.f("ix_compensations_complaint_id"), table_name="compensations")
    op.drop_index(op.f("ix_compensations_unit_id"), table_name="compensations")
    op.drop_table("compensations")
