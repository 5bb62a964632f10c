"""Supervision records and standing documents

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 18:10:27.686089

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('standing_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_standing_documents_unit_id_units')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_standing_documents_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_standing_documents')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_standing_documents_stored_name'))
    )
    with op.batch_alter_table('standing_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_standing_documents_unit_id'), ['unit_id'], unique=False)

    op.create_table('supervision_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('supervisor_id', sa.Integer(), nullable=False),
    sa.Column('participants', sa.Text(), nullable=True),
    sa.Column('findings', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['supervisor_id'], ['users.id'], name=op.f('fk_supervision_records_supervisor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_records'))
    )
    with op.batch_alter_table('supervision_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_records_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_supervision_records_kind'), ['kind'], unique=False)

    op.create_table('supervision_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('completed_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['record_id'], ['supervision_records.id'], name=op.f('fk_supervision_actions_record_id_supervision_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_actions'))
    )
    with op.batch_alter_table('supervision_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_actions_record_id'), ['record_id'], unique=False)

    op.create_table('supervision_complaints',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('complaint_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'], name=op.f('fk_supervision_complaints_complaint_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['supervision_records.id'], name=op.f('fk_supervision_complaints_record_id_supervision_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', 'complaint_id', name=op.f('pk_supervision_complaints'))
    )
    with op.batch_alter_table('supervision_complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_complaints_complaint_id'), ['complaint_id'], unique=False)

    op.create_table('supervision_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('stored_name', sa.String(length=64), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['supervision_records.id'], name=op.f('fk_supervision_files_record_id_supervision_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_supervision_files_uploaded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_files')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_supervision_files_stored_name'))
    )
    with op.batch_alter_table('supervision_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_files_record_id'), ['record_id'], unique=False)

    op.create_table('supervision_units',
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['supervision_records.id'], name=op.f('fk_supervision_units_record_id_supervision_records'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_supervision_units_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('record_id', 'unit_id', name=op.f('pk_supervision_units'))
    )
    with op.batch_alter_table('supervision_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_supervision_units_unit_id'), ['unit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('supervision_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_units_unit_id'))

    op.drop_table('supervision_units')
    with op.batch_alter_table('supervision_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_files_record_id'))

    op.drop_table('supervision_files')
    with op.batch_alter_table('supervision_complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_complaints_complaint_id'))

    op.drop_table('supervision_complaints')
    with op.batch_alter_table('supervision_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_actions_record_id'))

    op.drop_table('supervision_actions')
    with op.batch_alter_table('supervision_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_records_kind'))
        batch_op.drop_index(batch_op.f('ix_supervision_records_held_on'))

    op.drop_table('supervision_records')
    with op.batch_alter_table('standing_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_standing_documents_unit_id'))

    op.drop_table('standing_documents')
