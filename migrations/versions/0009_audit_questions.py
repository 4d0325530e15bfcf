"""the audit's questions: why alternatives were declined, placements classified at acceptance, units free
at an alternative, additionality baselines

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 02:45:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

DECLINE_REASONS = (
    'too_far', 'barred', 'someone_unsafe', 'not_allowed', 'schedule', 'identity', 'religious', 'tried_before',
    'other',
)
CLASSIFICATIONS = (
    'open_access', 'unverified', 'lead_funded', 'coordinated_entry', 'spare_capacity', 'displacement', 'full',
)


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.add_column(sa.Column('decline_reason', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('placement', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('placement_waitlist', sa.Integer(), nullable=True))
        batch_op.create_check_constraint(
            'decline_reason', f"decline_reason IS NULL OR {_in('decline_reason', DECLINE_REASONS)}"
        )
        batch_op.create_check_constraint('placement', f"placement IS NULL OR {_in('placement', CLASSIFICATIONS)}")
        batch_op.create_check_constraint(
            'placement_waitlist',
            'placement_waitlist IS NULL OR (placement_waitlist >= 0 AND placement_waitlist <= 100000)',
        )
        batch_op.create_index('ix_referral_state_closed_at', ['state', 'closed_at'], unique=False)
    with op.batch_alter_table('referral_alternative', schema=None) as batch_op:
        batch_op.add_column(sa.Column('free_units', sa.Integer(), nullable=True))
    op.create_table('additionality_baseline',
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('general_maximum', sa.Integer(), nullable=False),
    sa.Column('lead_funded_maximum', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('noted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('noted_by', sa.Integer(), nullable=True),
    sa.CheckConstraint('general_maximum >= 0 AND general_maximum <= 100000', name=op.f('ck_additionality_baseline_general_maximum_range')),
    sa.CheckConstraint('lead_funded_maximum >= 0 AND lead_funded_maximum <= 100000', name=op.f('ck_additionality_baseline_lead_funded_maximum_range')),
    sa.ForeignKeyConstraint(['noted_by'], ['user_account.id'], name=op.f('fk_additionality_baseline_noted_by_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['service_id'], ['service.id'], name=op.f('fk_additionality_baseline_service_id_service'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_id', name=op.f('pk_additionality_baseline'))
    )


def downgrade():
    op.drop_table('additionality_baseline')
    with op.batch_alter_table('referral_alternative', schema=None) as batch_op:
        batch_op.drop_column('free_units')
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_state_closed_at')
        batch_op.drop_constraint('placement_waitlist', type_='check')
        batch_op.drop_constraint('placement', type_='check')
        batch_op.drop_constraint('decline_reason', type_='check')
        batch_op.drop_column('placement_waitlist')
        batch_op.drop_column('placement')
        batch_op.drop_column('decline_reason')
