"""One-time link codes (issue 42 item 2): a service issues a short code for one of its own user IDs, the
resident enters it in the portal to link that ID to their common ID; kept hashed, valid 10 minutes, used once.

Revision ID: 0093
Revises: 0092
Create Date: 2026-11-26 01:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0093'
down_revision = '0094'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_link_code',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('service_user_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resident_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_link_code_resident_id_resident')),
    sa.ForeignKeyConstraint(['service_id'], ['data_service.id'], name=op.f('fk_resident_link_code_service_id_data_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_link_code')),
    sa.UniqueConstraint('service_id', 'code_hash', name=op.f('uq_resident_link_code_service_id'))
    )


def downgrade() -> None:
    op.drop_table('resident_link_code')
