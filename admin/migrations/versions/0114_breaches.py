"""Personal-data breaches (issue 56 item 4): incident_breach (an incident marked as a breach of one municipality's
residents' data, its window, when it became known, the report's items and the 速報 and 確報 once submitted),
incident_breach_service (the data services concerned) and incident_breach_notice (each resident told, by the portal
or by letter).

Revision ID: 0114
Revises: 0113
Create Date: 2026-11-27 09:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0114'
down_revision = '0113'
branch_labels = None
depends_on = None

TEXTS = ('summary', 'cause', 'secondary_damage', 'response_to_persons', 'publication', 'prevention', 'other')


def upgrade() -> None:
    op.create_table(
        'incident_breach',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('kind', sa.Enum('leak', 'loss', 'damage', 'unauthorised_access', name='breachkind', native_enum=False,
                                  length=24, create_constraint=True), nullable=False),
        sa.Column('unlawful_purpose', sa.Boolean(), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('window_end', sa.DateTime(timezone=True), nullable=False),
        sa.Column('known_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('marked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('marked_by', sa.String(length=255), nullable=False),
        *(sa.Column(name, sa.Text(), server_default='', nullable=False) for name in TEXTS),
        sa.Column('preliminary_reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('preliminary_reported_by', sa.String(length=255), nullable=False),
        sa.Column('final_reported_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('final_reported_by', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_breach_incident_id_incident')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_breach')),
        sa.UniqueConstraint('incident_id', 'tenant_code', name=op.f('uq_incident_breach_incident_id')),
    )
    op.create_index(op.f('ix_incident_breach_incident_id'), 'incident_breach', ['incident_id'], unique=False)
    op.create_index(op.f('ix_incident_breach_tenant_code'), 'incident_breach', ['tenant_code'], unique=False)
    op.create_table(
        'incident_breach_service',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('breach_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['breach_id'], ['incident_breach.id'],
                                name=op.f('fk_incident_breach_service_breach_id_incident_breach')),
        sa.ForeignKeyConstraint(['service_id'], ['data_service.id'],
                                name=op.f('fk_incident_breach_service_service_id_data_service')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_breach_service')),
        sa.UniqueConstraint('breach_id', 'service_id', name=op.f('uq_incident_breach_service_breach_id')),
    )
    op.create_index(op.f('ix_incident_breach_service_breach_id'), 'incident_breach_service', ['breach_id'], unique=False)
    op.create_table(
        'incident_breach_notice',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('breach_id', sa.Integer(), nullable=False),
        sa.Column('resident_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.Enum('portal', 'letter', name='noticechannel', native_enum=False, length=32,
                                     create_constraint=True), nullable=False),
        sa.Column('notice_id', sa.Integer(), nullable=True),
        sa.Column('items', sa.Text(), server_default='[]', nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(['breach_id'], ['incident_breach.id'],
                                name=op.f('fk_incident_breach_notice_breach_id_incident_breach')),
        sa.ForeignKeyConstraint(['notice_id'], ['resident_notice.id'],
                                name=op.f('fk_incident_breach_notice_notice_id_resident_notice')),
        sa.ForeignKeyConstraint(['resident_id'], ['resident.id'],
                                name=op.f('fk_incident_breach_notice_resident_id_resident')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_breach_notice')),
        sa.UniqueConstraint('breach_id', 'resident_id', name=op.f('uq_incident_breach_notice_breach_id')),
    )
    op.create_index(op.f('ix_incident_breach_notice_breach_id'), 'incident_breach_notice', ['breach_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incident_breach_notice_breach_id'), table_name='incident_breach_notice')
    op.drop_table('incident_breach_notice')
    op.drop_index(op.f('ix_incident_breach_service_breach_id'), table_name='incident_breach_service')
    op.drop_table('incident_breach_service')
    op.drop_index(op.f('ix_incident_breach_tenant_code'), table_name='incident_breach')
    op.drop_index(op.f('ix_incident_breach_incident_id'), table_name='incident_breach')
    op.drop_table('incident_breach')
