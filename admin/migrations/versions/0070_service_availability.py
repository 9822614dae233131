"""Running the platform (issue 39 items 1, 2 and 4): the components probed, their up and down
intervals, the probe results kept a year, planned maintenance windows with their components and
tenants, and the service settings (availability target, outage confirmation, permitted hours)

Revision ID: 0070
Revises: 0069
Create Date: 2026-11-25 12:33:21
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0070'
down_revision = '0069'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_component',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('name_ja', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('name_en', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('builtin', sa.Boolean(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('expected_status', sa.Integer(), nullable=False),
    sa.Column('timeout_ms', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_component')),
    sa.UniqueConstraint('key', name=op.f('uq_service_component_key'))
    )
    op.create_table('service_settings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_basis_points', sa.Integer(), nullable=False),
    sa.Column('outage_after_minutes', sa.Integer(), nullable=False),
    sa.Column('maintenance_weekdays_only', sa.Boolean(), nullable=False),
    sa.Column('maintenance_start_hour', sa.Integer(), nullable=False),
    sa.Column('maintenance_end_hour', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_settings'))
    )
    op.create_table('maintenance_window',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outside_hours_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('to_members', sa.Boolean(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('scheduled_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_maintenance_window_notice_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_window'))
    )
    with op.batch_alter_table('maintenance_window', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_window_starts_at'), ['starts_at'], unique=False)

    op.create_table('service_interval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('up', 'down', name='componentstate', native_enum=False, length=8), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_probe_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('probes', sa.Integer(), nullable=False),
    sa.Column('response_ms_total', sa.BigInteger(), nullable=False),
    sa.Column('response_ms_max', sa.Integer(), nullable=False),
    sa.Column('detail', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('outage_confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recovered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['component_id'], ['service_component.id'], name=op.f('fk_service_interval_component_id_service_component')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_interval'))
    )
    with op.batch_alter_table('service_interval', schema=None) as batch_op:
        batch_op.create_index('ix_service_interval_component_start', ['component_id', 'started_at'], unique=False)

    op.create_table('service_probe',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.Column('probed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('response_ms', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['service_component.id'], name=op.f('fk_service_probe_component_id_service_component')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_probe'))
    )
    with op.batch_alter_table('service_probe', schema=None) as batch_op:
        batch_op.create_index('ix_service_probe_component_time', ['component_id', 'probed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_probe_probed_at'), ['probed_at'], unique=False)

    op.create_table('maintenance_component',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('component_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['service_component.id'], name=op.f('fk_maintenance_component_component_id_service_component')),
    sa.ForeignKeyConstraint(['window_id'], ['maintenance_window.id'], name=op.f('fk_maintenance_component_window_id_maintenance_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_component')),
    sa.UniqueConstraint('window_id', 'component_id', name=op.f('uq_maintenance_component_window_id'))
    )
    with op.batch_alter_table('maintenance_component', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_component_window_id'), ['window_id'], unique=False)

    op.create_table('maintenance_tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.ForeignKeyConstraint(['window_id'], ['maintenance_window.id'], name=op.f('fk_maintenance_tenant_window_id_maintenance_window')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_tenant')),
    sa.UniqueConstraint('window_id', 'tenant_code', name=op.f('uq_maintenance_tenant_window_id'))
    )
    with op.batch_alter_table('maintenance_tenant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_tenant_window_id'), ['window_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('maintenance_tenant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_tenant_window_id'))

    op.drop_table('maintenance_tenant')
    with op.batch_alter_table('maintenance_component', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_component_window_id'))

    op.drop_table('maintenance_component')
    with op.batch_alter_table('service_probe', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_probe_probed_at'))
        batch_op.drop_index('ix_service_probe_component_time')

    op.drop_table('service_probe')
    with op.batch_alter_table('service_interval', schema=None) as batch_op:
        batch_op.drop_index('ix_service_interval_component_start')

    op.drop_table('service_interval')
    with op.batch_alter_table('maintenance_window', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_maintenance_window_starts_at'))

    op.drop_table('maintenance_window')
    op.drop_table('service_settings')
    op.drop_table('service_component')
