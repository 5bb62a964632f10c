"""The complaint service standard (PermenPANRB 15/2014) and maklumat, per unit and kabupaten-wide.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07 21:50:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_standards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("components", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("maklumat", sa.Text(), nullable=True),
        sa.Column("decree_number", sa.String(length=120), nullable=True),
        sa.Column("decree_date", sa.Date(), nullable=True),
        sa.Column("reviewed_on", sa.Date(), nullable=True),
        sa.Column("review_noticed_for", sa.Date(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_service_standards_unit_id_units")),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"],
                                name=op.f("fk_service_standards_updated_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_standards")),
    )
    # One standard per unit and one kabupaten-wide default (unit_id NULL): a plain unique
    # constraint would let any number of NULLs through.
    op.create_index("uq_service_standards_unit", "service_standards", [sa.text("coalesce(unit_id, 0)")],
                    unique=True)


def downgrade():
    op.drop_index("uq_service_standards_unit", table_name="service_standards")
    op.drop_table("service_standards")
