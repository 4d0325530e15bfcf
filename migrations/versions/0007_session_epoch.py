"""sessions that end: a per-account session epoch, ended sessions, reminders without stored links

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 02:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('session_epoch', sa.Integer(), nullable=False, server_default=sa.text('0'))
        )
    op.create_table(
        'ended_session',
        sa.Column('sid_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_ended_session_user_id_user_account'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('sid_hash', name=op.f('pk_ended_session')),
    )
    with op.batch_alter_table('ended_session', schema=None) as batch_op:
        batch_op.create_index('ix_ended_session_expires_at', ['expires_at'], unique=False)
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_link_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_notification_confirm_link_id_confirm_link'),
            'confirm_link',
            ['confirm_link_id'],
            ['id'],
            ondelete='SET NULL',
        )


def downgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_notification_confirm_link_id_confirm_link'), type_='foreignkey')
        batch_op.drop_column('confirm_link_id')
    with op.batch_alter_table('ended_session', schema=None) as batch_op:
        batch_op.drop_index('ix_ended_session_expires_at')
    op.drop_table('ended_session')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')
