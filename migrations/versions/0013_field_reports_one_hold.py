"""field reports, one hold per need, decline reasons

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 07:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

LISTED = (
    "'no_sobriety_requirement', 'accepts_active_use', 'accepts_sex_workers', 'no_id_required', "
    "'criminal_record_ok', 'housing_first', 'pets_allowed', 'partners_allowed', 'wheelchair_accessible'"
)


def upgrade():
    op.create_table(
        "capacity_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("referral_id", sa.Integer(), nullable=True),
        sa.Column("reported_by", sa.Integer(), nullable=True),
        sa.Column("reporter_role", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed", sa.String(length=20), nullable=False),
        sa.Column("correct_phone", sa.String(length=40), nullable=True),
        sa.Column("attribute", sa.String(length=40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("said_free", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("capacity_snapshot", sa.JSON(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.CheckConstraint(
            "(observed = 'turned_away') = (attribute IS NOT NULL)",
            name=op.f("ck_capacity_report_turned_away_names_attribute"),
        ),
        sa.CheckConstraint(f"attribute IS NULL OR attribute IN ({LISTED})", name=op.f("ck_capacity_report_attribute")),
        sa.CheckConstraint(
            "observed <> 'wrong_phone' OR correct_phone IS NOT NULL",
            name=op.f("ck_capacity_report_wrong_phone_has_phone"),
        ),
        sa.CheckConstraint(
            "observed IN ('full', 'fewer_free', 'more_free', 'closed_now', 'wrong_phone', 'wrong_hours', "
            "'moved_or_closed', 'turned_away')",
            name=op.f("ck_capacity_report_observed"),
        ),
        sa.CheckConstraint(
            "reporter_role IN ('case_manager', 'peer_outreach', 'provider', 'project_manager', 'admin')",
            name=op.f("ck_capacity_report_reporter_role"),
        ),
        sa.CheckConstraint(
            "resolution IS NULL OR resolution IN ('confirmed', 'corrected')", name=op.f("ck_capacity_report_resolution")
        ),
        sa.CheckConstraint("source IN ('field', 'decline')", name=op.f("ck_capacity_report_source")),
        sa.CheckConstraint(
            "(resolution IS NULL) = (resolved_at IS NULL)", name=op.f("ck_capacity_report_resolution_has_time")
        ),
        sa.ForeignKeyConstraint(
            ["referral_id"], ["referral.id"], name=op.f("fk_capacity_report_referral_id_referral"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["user_account.id"],
            name=op.f("fk_capacity_report_reported_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["user_account.id"],
            name=op.f("fk_capacity_report_resolved_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"], ["service.id"], name=op.f("fk_capacity_report_service_id_service"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capacity_report")),
    )
    with op.batch_alter_table("capacity_report", schema=None) as batch_op:
        batch_op.create_index("ix_capacity_report_service_at", ["service_id", "at"], unique=False)

    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.add_column(sa.Column("closed_reason", sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column("closed_rule", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("closed_attribute", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("keep_both_reason", sa.String(length=30), nullable=True))
        batch_op.create_check_constraint(
            "closed_reason",
            "closed_reason IS NULL"
            " OR (state = 'declined' AND closed_reason IN"
            " ('no_capacity', 'not_eligible', 'did_not_arrive', 'turned_away', 'other'))"
            " OR (state = 'cancelled' AND closed_reason IN ('released', 'placed_elsewhere'))",
        )
        batch_op.create_check_constraint(
            "turned_away_names_attribute",
            "(closed_reason = 'turned_away') = (closed_attribute IS NOT NULL)"
            " OR (closed_reason IS NULL AND closed_attribute IS NULL)",
        )
        batch_op.create_check_constraint("closed_attribute", f"closed_attribute IS NULL OR closed_attribute IN ({LISTED})")
        batch_op.create_check_constraint(
            "keep_both_reason",
            "keep_both_reason IS NULL OR keep_both_reason IN"
            " ('participant_choosing', 'eligibility_uncertain', 'next_step')",
        )

    with op.batch_alter_table("service_capacity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reported_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("service_capacity", schema=None) as batch_op:
        batch_op.drop_column("reported_at")
    with op.batch_alter_table("referral", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_referral_keep_both_reason"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_referral_closed_attribute"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_referral_turned_away_names_attribute"), type_="check")
        batch_op.drop_constraint(batch_op.f("ck_referral_closed_reason"), type_="check")
        batch_op.drop_column("keep_both_reason")
        batch_op.drop_column("closed_attribute")
        batch_op.drop_column("closed_rule")
        batch_op.drop_column("closed_reason")
    with op.batch_alter_table("capacity_report", schema=None) as batch_op:
        batch_op.drop_index("ix_capacity_report_service_at")
    op.drop_table("capacity_report")
