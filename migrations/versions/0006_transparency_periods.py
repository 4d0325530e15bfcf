"""stored transparency periods (closed periods, computed once, corrected by dated revisions)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 02:50:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('transparency_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('period', sa.String(length=10), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('audit_sequence', sa.Integer(), nullable=False),
    sa.Column('audit_hash', sa.String(length=64), nullable=False),
    sa.Column('audit_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('month', 'quarter')", name=op.f('ck_transparency_period_kind')),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_transparency_period_period_order')),
    sa.CheckConstraint("(revision = 1 AND reason IS NULL) OR (revision > 1 AND reason IS NOT NULL AND length(reason) > 0)", name=op.f('ck_transparency_period_revision_reason')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transparency_period')),
    sa.UniqueConstraint('kind', 'period', 'revision', name=op.f('uq_transparency_period_kind_period_revision'))
    )


def downgrade():
    op.drop_table('transparency_period')
