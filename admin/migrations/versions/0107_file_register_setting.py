"""The file register's publication (issue 56 item 5): resident_file_register_setting holds, per municipality that
has chosen, whether its 個人情報ファイル簿 is shown on the public page, who changed it and when.

Revision ID: 0107
Revises: 0106
Create Date: 2026-11-26 23:50:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0107'
down_revision = '0106'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resident_file_register_setting',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('published', sa.Boolean(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('changed_by', sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_file_register_setting')),
        sa.UniqueConstraint('tenant_code', name=op.f('uq_resident_file_register_setting_tenant_code')),
    )


def downgrade() -> None:
    op.drop_table('resident_file_register_setting')
