"""The incident register (issue 39 item 3): incidents (障害) with their components, municipalities and
members, the timeline, and the first and final reports to the prefecture (letters numbered in the
office's one sequence)

Revision ID: 0071
Revises: 0070
Create Date: 2026-11-25 13:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0071'
down_revision = '0070'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('severity', sa.Enum('critical', 'major', 'minor', name='severity', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('open', 'recovered', 'closed', name='incidentstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('outage_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recovered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('cause', sa.Text(), server_default='', nullable=False),
    sa.Column('impact', sa.Text(), server_default='', nullable=False),
    sa.Column('response', sa.Text(), server_default='', nullable=False),
    sa.Column('prevention', sa.Text(), server_default='', nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident')),
    sa.UniqueConstraint('outage_key', name=op.f('uq_incident_outage_key'))
    )
    op.create_index(op.f('ix_incident_detected_at'), 'incident', ['detected_at'], unique=False)
    op.create_index(op.f('ix_incident_status'), 'incident', ['status'], unique=False)
    op.create_table('incident_component',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('component_code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('component_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_component_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_component')),
    sa.UniqueConstraint('incident_id', 'component_code', name=op.f('uq_incident_component_incident_id'))
    )
    op.create_index(op.f('ix_incident_component_incident_id'), 'incident_component', ['incident_id'], unique=False)
    op.create_table('incident_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('detected', 'first_report', 'workaround', 'note', 'recovered', 'closed', name='entrykind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('text', sa.Text(), server_default='', nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_entry_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_entry'))
    )
    op.create_index(op.f('ix_incident_entry_incident_id'), 'incident_entry', ['incident_id'], unique=False)
    op.create_table('incident_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_member_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_member')),
    sa.UniqueConstraint('incident_id', 'corporate_number', name=op.f('uq_incident_member_incident_id'))
    )
    op.create_index(op.f('ix_incident_member_incident_id'), 'incident_member', ['incident_id'], unique=False)
    op.create_table('incident_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('first', 'final', name='reportkind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('number_year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_report_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_report')),
    sa.UniqueConstraint('incident_id', 'kind', name=op.f('uq_incident_report_incident_id')),
    sa.UniqueConstraint('number_year', 'sequence', name=op.f('uq_incident_report_number_year'))
    )
    op.create_index(op.f('ix_incident_report_incident_id'), 'incident_report', ['incident_id'], unique=False)
    op.create_table('incident_tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], name=op.f('fk_incident_tenant_incident_id_incident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_tenant')),
    sa.UniqueConstraint('incident_id', 'tenant_code', name=op.f('uq_incident_tenant_incident_id'))
    )
    op.create_index(op.f('ix_incident_tenant_incident_id'), 'incident_tenant', ['incident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_incident_tenant_incident_id'), table_name='incident_tenant')
    op.drop_table('incident_tenant')
    op.drop_index(op.f('ix_incident_report_incident_id'), table_name='incident_report')
    op.drop_table('incident_report')
    op.drop_index(op.f('ix_incident_member_incident_id'), table_name='incident_member')
    op.drop_table('incident_member')
    op.drop_index(op.f('ix_incident_entry_incident_id'), table_name='incident_entry')
    op.drop_table('incident_entry')
    op.drop_index(op.f('ix_incident_component_incident_id'), table_name='incident_component')
    op.drop_table('incident_component')
    op.drop_index(op.f('ix_incident_status'), table_name='incident')
    op.drop_index(op.f('ix_incident_detected_at'), table_name='incident')
    op.drop_table('incident')
