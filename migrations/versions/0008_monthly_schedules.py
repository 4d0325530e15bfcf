"""monthly schedules (HSDS 3 ordinal byday), hours kept as the provider wrote them, import counts per kind

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 02:55:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

WEEKDAYS = ('MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU')
MONTHLY_DAYS = tuple(f"{n}{day}" for n in ('1', '2', '3', '4', '5', '-1') for day in WEEKDAYS)


def _in(values):
    return ", ".join(f"'{v}'" for v in values)


def upgrade():
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_schedule_byday'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_schedule_freq'), type_='check')
        batch_op.alter_column('byday', existing_type=sa.String(length=2), type_=sa.String(length=4),
                              existing_nullable=False)
        batch_op.create_check_constraint(
            op.f('ck_schedule_byday'),
            f"(freq = 'WEEKLY' AND byday IN ({_in(WEEKDAYS)})) OR (freq = 'MONTHLY' AND byday IN ({_in(MONTHLY_DAYS)}))",
        )
        batch_op.create_check_constraint(op.f('ck_schedule_freq'), "freq IN ('WEEKLY', 'MONTHLY')")
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hours_text', sa.String(length=1000), nullable=True))
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counts', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('import_run', schema=None) as batch_op:
        batch_op.drop_column('counts')
    with op.batch_alter_table('service', schema=None) as batch_op:
        batch_op.drop_column('hours_text')
    op.execute("DELETE FROM schedule WHERE freq <> 'WEEKLY'")
    with op.batch_alter_table('schedule', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_schedule_byday'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_schedule_freq'), type_='check')
        batch_op.alter_column('byday', existing_type=sa.String(length=4), type_=sa.String(length=2),
                              existing_nullable=False)
        batch_op.create_check_constraint(op.f('ck_schedule_byday'), f"byday IN ({_in(WEEKDAYS)})")
        batch_op.create_check_constraint(op.f('ck_schedule_freq'), "freq = 'WEEKLY'")
