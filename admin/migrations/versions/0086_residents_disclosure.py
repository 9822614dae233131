"""The residents' disclosure ranges (公開範囲, issue 42 item 5): per resident and service, the data items
that service may receive, append-only

Revision ID: 0086
Revises: 0084
Create Date: 2026-11-25 17:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0086'
down_revision = '0084'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident_disclosure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_disclosure_resident_id_resident')),
    sa.ForeignKeyConstraint(['service_id'], ['data_service.id'], name=op.f('fk_resident_disclosure_service_id_data_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_disclosure'))
    )
    op.create_index('ix_resident_disclosure_current', 'resident_disclosure', ['resident_id', 'service_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_resident_disclosure_current', table_name='resident_disclosure')
    op.drop_table('resident_disclosure')
