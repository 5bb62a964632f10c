"""The Survei Kepuasan Masyarakat: survey periods per unit, the questionnaires answered in them,
improvement actions that follow up an SKM period (supervision records and actions gain the
period and the element), and the public figures the worker prepares for /statistik.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 18:30:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade():
    op.create_table(
        "survey_periods",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("units.id", name="fk_survey_periods_unit_id_units"),
                  nullable=False),
        sa.Column("label", sa.String(7), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("service_types", JSON, nullable=False),
        sa.Column("population", sa.Integer(), nullable=True),
        sa.Column("questionnaire", JSON, nullable=False),
        sa.Column("opened_by_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_survey_periods_opened_by_id_users"), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("unit_id", "label", name="uq_survey_periods_unit_id"),
    )
    op.create_index("ix_survey_periods_unit_id", "survey_periods", ["unit_id"])
    op.create_index("ix_survey_periods_starts_on", "survey_periods", ["starts_on"])
    elements = [sa.Column(f"u{i}", sa.SmallInteger(), nullable=True) for i in range(1, 10)]
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period_id", sa.Integer(), sa.ForeignKey(
            "survey_periods.id", ondelete="CASCADE", name="fk_survey_responses_period_id_survey_periods"),
            nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("entered_by_id", sa.Integer(),
                  sa.ForeignKey("users.id", name="fk_survey_responses_entered_by_id_users"), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service_type", sa.String(200), nullable=True),
        sa.Column("sex", sa.String(16), nullable=True),
        sa.Column("age_band", sa.String(16), nullable=True),
        sa.Column("education", sa.String(32), nullable=True),
        sa.Column("occupation", sa.String(32), nullable=True),
        *elements,
        sa.Column("suggestion", sa.Text(), nullable=True),
    )
    op.create_index("ix_survey_responses_period_service", "survey_responses", ["period_id", "service_type"])
    op.create_table(
        "public_statistics",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("figures", JSON, nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("period", "scope", name="uq_public_statistics_period"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite adds a column with its reference in one statement; Alembic would want a batch
        # copy of the table.
        op.execute("ALTER TABLE supervision_records ADD COLUMN survey_period_id INTEGER CONSTRAINT "
                   "fk_supervision_records_survey_period_id_survey_periods REFERENCES survey_periods (id)")
    else:
        op.add_column("supervision_records", sa.Column("survey_period_id", sa.Integer(), sa.ForeignKey(
            "survey_periods.id", name="fk_supervision_records_survey_period_id_survey_periods"), nullable=True))
    op.create_index("ix_supervision_records_survey_period_id", "supervision_records", ["survey_period_id"])
    op.add_column("supervision_actions", sa.Column("element", sa.String(2), nullable=True))
    op.add_column("supervision_actions", sa.Column("evidence", sa.Text(), nullable=True))
    op.add_column("supervision_actions", sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column("supervision_actions", "created_at")
    op.drop_column("supervision_actions", "evidence")
    op.drop_column("supervision_actions", "element")
    op.drop_index("ix_supervision_records_survey_period_id", table_name="supervision_records")
    op.drop_column("supervision_records", "survey_period_id")
    op.drop_table("public_statistics")
    op.drop_index("ix_survey_responses_period_service", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index("ix_survey_periods_starts_on", table_name="survey_periods")
    op.drop_index("ix_survey_periods_unit_id", table_name="survey_periods")
    op.drop_table("survey_periods")
