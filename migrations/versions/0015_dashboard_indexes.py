"""dashboard indexes: overrides by time, and a covering index for the placements accepted in a period

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 07:30:00
"""

from alembic import op


revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ACCEPTED = ["state", "closed_at", "action", "hold", "placement", "service_id", "outcome_shared", "reference"]


def upgrade():
    # The overrides of a period (the latest avoidable ones, the reasons alternatives did not fit) without
    # reading every referral of the period.
    op.create_index("ix_referral_action_created_at", "referral", ["action", "created_at"], unique=False)
    # Placements and LEAD "used" read only this index (it begins with the old one's columns, which it replaces).
    op.create_index("ix_referral_accepted", "referral", ACCEPTED, unique=False)
    op.drop_index("ix_referral_state_closed_at", table_name="referral")


def downgrade():
    op.create_index("ix_referral_state_closed_at", "referral", ["state", "closed_at"], unique=False)
    op.drop_index("ix_referral_accepted", table_name="referral")
    op.drop_index("ix_referral_action_created_at", table_name="referral")
