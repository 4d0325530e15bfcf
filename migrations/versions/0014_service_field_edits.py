"""service_field_edit: a provider's own edits of hours, phone, eligibility and alert, kept on re-import

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 07:30:00
"""

from alembic import op
import sqlalchemy as sa



revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "service_field_edit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("service_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("edited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("edited_by", sa.Integer(), nullable=True),
        sa.Column("source_value_hash", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("provider_value", sa.Text(), nullable=True),
        sa.Column("source_value", sa.Text(), nullable=True),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("replaced_by", sa.String(length=50), nullable=True),
        sa.CheckConstraint(
            "field IN ('hours', 'phone', 'eligibility', 'alert')", name=op.f("ck_service_field_edit_field")
        ),
        sa.CheckConstraint("state IN ('kept', 'replaced')", name=op.f("ck_service_field_edit_state")),
        sa.CheckConstraint(
            "state = 'kept' OR (replaced_at IS NOT NULL AND replaced_by IS NOT NULL)",
            name=op.f("ck_service_field_edit_replaced_has_when"),
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service.id"],
            name=op.f("fk_service_field_edit_service_id_service"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["edited_by"],
            ["user_account.id"],
            name=op.f("fk_service_field_edit_edited_by_user_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_field_edit")),
        sa.UniqueConstraint("service_id", "field", name=op.f("uq_service_field_edit_service_id")),
    )
    with op.batch_alter_table("service_field_edit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_service_field_edit_service_id"), ["service_id"], unique=False)


def downgrade():
    with op.batch_alter_table("service_field_edit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_field_edit_service_id"))
    op.drop_table("service_field_edit")
