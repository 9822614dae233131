"""A resident's question about how their data is used (issue 56 item 6): resident_inquiry ties the secretariat's
inquiry it opened to the resident who asked and the service it is about (null: 「その他・わからない」), so that the
inquiry itself never names the resident. The inquiry's new channel 'portal' is a value of its unchecked channel
column: no change there.

Revision ID: 0106
Revises: 0105
Create Date: 2026-11-26 23:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0106'
down_revision = '0105'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resident_inquiry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('inquiry_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=True),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_inquiry_resident_id_resident')),
        sa.ForeignKeyConstraint(['inquiry_id'], ['secretariat_inquiry.id'],
                                name=op.f('fk_resident_inquiry_inquiry_id_secretariat_inquiry')),
        sa.ForeignKeyConstraint(['service_id'], ['data_service.id'],
                                name=op.f('fk_resident_inquiry_service_id_data_service')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_inquiry')),
        sa.UniqueConstraint('inquiry_id', name=op.f('uq_resident_inquiry_inquiry_id')),
    )
    op.create_index(op.f('ix_resident_inquiry_resident_id'), 'resident_inquiry', ['resident_id'], unique=False)
    op.create_index(op.f('ix_resident_inquiry_tenant_code'), 'resident_inquiry', ['tenant_code'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_resident_inquiry_tenant_code'), table_name='resident_inquiry')
    op.drop_index(op.f('ix_resident_inquiry_resident_id'), table_name='resident_inquiry')
    op.drop_table('resident_inquiry')
