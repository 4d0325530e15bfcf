"""language.access: staff speak the language, or an interpreter is there on request

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 00:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade():
    # Every language listed so far was taken as spoken by staff: existing rows become 'staff'.
    with op.batch_alter_table("language", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access", sa.String(length=11), server_default="staff", nullable=False))
        batch_op.create_check_constraint(op.f("ck_language_access"), "access IN ('staff', 'interpreter')")


def downgrade():
    with op.batch_alter_table("language", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_language_access"), type_="check")
        batch_op.drop_column("access")
