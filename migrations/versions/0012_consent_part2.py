"""consent: releases of information, Part 2 programs, confidential referral references, legal holds

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-01 03:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("part2_program", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("legal_hold_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("legal_hold_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_participant_legal_hold_by_user_account"),
            "user_account",
            ["legal_hold_by"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("outcome_shared", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.create_unique_constraint(batch_op.f("uq_referral_reference"), ["reference"])
    op.create_table(
        "release_of_information",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("organization_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=30), nullable=False),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('referral_outcome', 'care_coordination', 'benefits_enrollment', 'legal_advocacy')",
            name=op.f("ck_release_of_information_purpose"),
        ),
        sa.CheckConstraint(
            "expires_on >= signed_on", name=op.f("ck_release_of_information_expiry_after_signing")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organization.id"],
            name=op.f("fk_release_of_information_organization_id_organization"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participant.id"],
            name=op.f("fk_release_of_information_participant_id_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["user_account.id"],
            name=op.f("fk_release_of_information_recorded_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"],
            ["user_account.id"],
            name=op.f("fk_release_of_information_revoked_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_of_information")),
    )
    with op.batch_alter_table("release_of_information", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_release_of_information_participant_id"), ["participant_id"], unique=False
        )


def downgrade():
    with op.batch_alter_table("release_of_information", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_of_information_participant_id"))
    op.drop_table("release_of_information")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_referral_reference"), type_="unique")
        batch_op.drop_column("outcome_shared")
        batch_op.drop_column("reference")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_participant_legal_hold_by_user_account"), type_="foreignkey")
        batch_op.drop_column("legal_hold_by")
        batch_op.drop_column("legal_hold_at")
    with op.batch_alter_table("service", schema=None) as batch_op:
        batch_op.drop_column("part2_program")
