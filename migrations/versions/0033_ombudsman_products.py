"""The register of Ombudsman products: products, the units and complaints they concern, their
items with evidence, their files, and the escalations of late items.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-07 21:55:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None



def _file_columns():
    return [
        sa.Column("uploaded_by_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("stored_name", sa.String(length=64), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade():
    op.create_table(
        "ombudsman_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("reported_back_on", sa.Date(), nullable=True),
        sa.Column("reported_back_ref", sa.String(length=200), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"],
                                name=op.f("fk_ombudsman_products_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ombudsman_products")),
    )
    op.create_index(op.f("ix_ombudsman_products_kind"), "ombudsman_products", ["kind"])
    op.create_index(op.f("ix_ombudsman_products_received_on"), "ombudsman_products", ["received_on"])
    op.create_table(
        "ombudsman_product_units",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["ombudsman_products.id"], ondelete="CASCADE",
                                name=op.f("fk_ombudsman_product_units_product_id_ombudsman_products")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ombudsman_product_units_unit_id_units")),
        sa.PrimaryKeyConstraint("product_id", "unit_id", name=op.f("pk_ombudsman_product_units")),
    )
    op.create_index(op.f("ix_ombudsman_product_units_unit_id"), "ombudsman_product_units", ["unit_id"])
    op.create_table(
        "ombudsman_product_complaints",
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["ombudsman_products.id"], ondelete="CASCADE",
                                name=op.f("fk_ombudsman_product_complaints_product_id_ombudsman_products")),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"],
                                name=op.f("fk_ombudsman_product_complaints_complaint_id_complaints")),
        sa.PrimaryKeyConstraint("product_id", "complaint_id", name=op.f("pk_ombudsman_product_complaints")),
    )
    op.create_index(op.f("ix_ombudsman_product_complaints_complaint_id"), "ombudsman_product_complaints",
                    ["complaint_id"])
    op.create_table(
        "ombudsman_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_explanation", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("done_on", sa.Date(), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["ombudsman_products.id"], ondelete="CASCADE",
                                name=op.f("fk_ombudsman_items_product_id_ombudsman_products")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ombudsman_items_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ombudsman_items")),
    )
    for column in ("product_id", "unit_id", "due_at", "status"):
        op.create_index(op.f(f"ix_ombudsman_items_{column}"), "ombudsman_items", [column])
    for table, owner, parent in (("ombudsman_product_files", "product_id", "ombudsman_products"),
                                 ("ombudsman_item_files", "item_id", "ombudsman_items")):
        op.create_table(
            table,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column(owner, sa.Integer(), nullable=False),
            *_file_columns(),
            sa.ForeignKeyConstraint([owner], [f"{parent}.id"], ondelete="CASCADE",
                                    name=op.f(f"fk_{table}_{owner}_{parent}")),
            sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"], name=op.f(f"fk_{table}_uploaded_by_id_users")),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("stored_name", name=op.f(f"uq_{table}_stored_name")),
        )
        op.create_index(op.f(f"ix_{table}_{owner}"), table, [owner])
    op.create_table(
        "ombudsman_escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=32), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["ombudsman_items.id"], ondelete="CASCADE",
                                name=op.f("fk_ombudsman_escalations_item_id_ombudsman_items")),
        sa.ForeignKeyConstraint(["unit_id"], ["units.id"], name=op.f("fk_ombudsman_escalations_unit_id_units")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ombudsman_escalations")),
        sa.UniqueConstraint("item_id", "level", name=op.f("uq_ombudsman_escalations_item_id")),
    )


def downgrade():
    op.drop_table("ombudsman_escalations")
    for table, owner in (("ombudsman_item_files", "item_id"), ("ombudsman_product_files", "product_id")):
        op.drop_index(op.f(f"ix_{table}_{owner}"), table_name=table)
        op.drop_table(table)
    for column in ("status", "due_at", "unit_id", "product_id"):
        op.drop_index(op.f(f"ix_ombudsman_items_{column}"), table_name="ombudsman_items")
    op.drop_table("ombudsman_items")
    op.drop_index(op.f("ix_ombudsman_product_complaints_complaint_id"), table_name="ombudsman_product_complaints")
    op.drop_table("ombudsman_product_complaints")
    op.drop_index(op.f("ix_ombudsman_product_units_unit_id"), table_name="ombudsman_product_units")
    op.drop_table("ombudsman_product_units")
    op.drop_index(op.f("ix_ombudsman_products_received_on"), table_name="ombudsman_products")
    op.drop_index(op.f("ix_ombudsman_products_kind"), table_name="ombudsman_products")
    op.drop_table("ombudsman_products")
