"""Sign-in attempts per account and address; personal-data consent stored with its version.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 04:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sign_in_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('attempted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('email_digest', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('address', sa.String(length=45), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sign_in_attempts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_attempts'))
    )
    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_attempted_at'), ['attempted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sign_in_attempts_user_id'), ['user_id'], unique=False)
        batch_op.create_index('ix_sign_in_attempts_email_digest', ['email_digest', 'attempted_at'], unique=False)
        batch_op.create_index('ix_sign_in_attempts_address', ['address', 'attempted_at'], unique=False)

    # The lock moved from the account to (account, address) pairs in sign_in_attempts.
    # Plain ALTER TABLE ... ADD/DROP COLUMN here and below (SQLite 3.35+): rebuilding `users`
    # or `complaints` would touch the many tables that refer to them.
    op.drop_column('users', 'failed_logins')
    op.drop_column('users', 'locked_until')

    op.add_column('complaints', sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('complaints', sa.Column('consent_version', sa.String(length=16), nullable=True))


def downgrade():
    op.drop_column('complaints', 'consent_version')
    op.drop_column('complaints', 'consent_at')

    op.add_column('users', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('failed_logins', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('sign_in_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_sign_in_attempts_address')
        batch_op.drop_index('ix_sign_in_attempts_email_digest')
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_user_id'))
        batch_op.drop_index(batch_op.f('ix_sign_in_attempts_attempted_at'))
    op.drop_table('sign_in_attempts')
