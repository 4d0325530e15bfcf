"""referral rollups: the audit's daily tallies of referrals, filled from the referrals already stored; an
index for the days from referral to acceptance

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 01:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "referral_rollup",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("part", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("part_end", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("referrals", sa.Integer(), nullable=False),
        sa.Column("overrides", sa.Integer(), nullable=False),
        sa.Column("avoidable", sa.Integer(), nullable=False),
        sa.Column("urgent", sa.Integer(), nullable=False),
        sa.Column("participant_driven", sa.Integer(), nullable=False),
        sa.Column("waitlists", sa.Integer(), nullable=False),
        sa.Column("longest", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            # Only what a delta row also satisfies: an upsert's INSERT is checked before its conflict clause.
            "referrals >= 0 AND overrides >= 0 AND avoidable >= 0 AND urgent >= 0 AND participant_driven >= 0"
            " AND waitlists >= 0",
            name=op.f("ck_referral_rollup_counts"),
        ),
        sa.PrimaryKeyConstraint("day", "part", "part_end", "dimension", "key", name=op.f("pk_referral_rollup")),
    )
    # The days from referral to acceptance of a period's referrals, read from the index alone.
    op.create_index(
        "ix_referral_made_accepted",
        "referral",
        ["state", "created_at", "closed_at", "outcome_shared", "reference"],
        unique=False,
    )
    # The backfill: the same computation `flask dashboard rebuild-rollups` runs, on this connection.
    from sqlalchemy.orm import Session

    from directory.domain.rollups import rebuild

    session = Session(bind=op.get_bind())
    rebuild(session)
    session.flush()


def downgrade():
    op.drop_index("ix_referral_made_accepted", table_name="referral")
    op.drop_table("referral_rollup")
