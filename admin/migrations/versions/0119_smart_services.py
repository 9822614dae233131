"""Smart-city services, ideas and the municipalities' needs (issue 57 item 5): smartcity_service (a service found,
its status proposed → piloting → running or withdrawn), smartcity_idea (a workshop's idea, its proposer and stage),
smartcity_need (a municipality's answer to the yearly survey), the links smartcity_idea_need (idea → need) and
smartcity_service_idea (service → idea), and smartcity_service_target (the fiscal year's target of services found).

Revision ID: 0119
Revises: 0118
Create Date: 2026-11-28 09:00:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0119'
down_revision = '0118'
branch_labels = None
depends_on = None

FIELDS = ('tourism', 'disaster', 'mobility', 'health', 'childcare', 'administration', 'environment', 'industry', 'other')
SCOPES = ('prefecture', 'regional')
STATUSES = ('proposed', 'piloting', 'running', 'withdrawn')
STAGES = ('raised', 'studying', 'adopted', 'dropped')


def upgrade() -> None:
    op.create_table(
        'smartcity_service',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('summary', sa.Text(), server_default='', nullable=False),
        sa.Column('field', sa.Enum(*FIELDS, name='servicefield', native_enum=False, length=16), nullable=False),
        sa.Column('scope', sa.Enum(*SCOPES, name='servicescope', native_enum=False, length=16), nullable=False),
        sa.Column('found_on', sa.Date(), nullable=False),
        sa.Column('status', sa.Enum(*STATUSES, name='servicestatus', native_enum=False, length=16,
                                    create_constraint=True), nullable=False),
        sa.Column('status_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_smartcity_service')),
    )
    for column in ('found_on', 'status'):
        op.create_index(op.f(f'ix_smartcity_service_{column}'), 'smartcity_service', [column], unique=False)
    op.create_table(
        'smartcity_idea',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('description', sa.Text(), server_default='', nullable=False),
        sa.Column('workshop', sa.String(length=200), nullable=False),
        sa.Column('proposed_on', sa.Date(), nullable=False),
        sa.Column('proposer_number', sa.String(length=13), nullable=False),
        sa.Column('proposer_name', sa.String(length=200), nullable=False),
        sa.Column('stage', sa.Enum(*STAGES, name='ideastage', native_enum=False, length=16, create_constraint=True),
                  nullable=False),
        sa.Column('stage_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_smartcity_idea')),
    )
    for column in ('proposed_on', 'stage'):
        op.create_index(op.f(f'ix_smartcity_idea_{column}'), 'smartcity_idea', [column], unique=False)
    op.create_table(
        'smartcity_need',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('fiscal_year', sa.Integer(), nullable=False),
        sa.Column('field', sa.Enum(*FIELDS, name='servicefield', native_enum=False, length=16), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), server_default='', nullable=False),
        sa.Column('answered_by', sa.String(length=255), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_smartcity_need')),
    )
    for column in ('tenant_code', 'fiscal_year'):
        op.create_index(op.f(f'ix_smartcity_need_{column}'), 'smartcity_need', [column], unique=False)
    op.create_table(
        'smartcity_idea_need',
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['idea_id'], ['smartcity_idea.id'], name=op.f('fk_smartcity_idea_need_idea_id_smartcity_idea')),
        sa.ForeignKeyConstraint(['need_id'], ['smartcity_need.id'], name=op.f('fk_smartcity_idea_need_need_id_smartcity_need')),
        sa.PrimaryKeyConstraint('idea_id', 'need_id', name=op.f('pk_smartcity_idea_need')),
    )
    op.create_index(op.f('ix_smartcity_idea_need_need_id'), 'smartcity_idea_need', ['need_id'], unique=False)
    op.create_table(
        'smartcity_service_idea',
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('idea_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['service_id'], ['smartcity_service.id'],
                                name=op.f('fk_smartcity_service_idea_service_id_smartcity_service')),
        sa.ForeignKeyConstraint(['idea_id'], ['smartcity_idea.id'], name=op.f('fk_smartcity_service_idea_idea_id_smartcity_idea')),
        sa.PrimaryKeyConstraint('service_id', 'idea_id', name=op.f('pk_smartcity_service_idea')),
    )
    op.create_index(op.f('ix_smartcity_service_idea_idea_id'), 'smartcity_service_idea', ['idea_id'], unique=False)
    op.create_table(
        'smartcity_service_target',
        sa.Column('fiscal_year', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('target', sa.Integer(), nullable=False),
        sa.Column('set_by', sa.String(length=255), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('fiscal_year', name=op.f('pk_smartcity_service_target')),
    )


def downgrade() -> None:
    op.drop_table('smartcity_service_target')
    op.drop_index(op.f('ix_smartcity_service_idea_idea_id'), table_name='smartcity_service_idea')
    op.drop_table('smartcity_service_idea')
    op.drop_index(op.f('ix_smartcity_idea_need_need_id'), table_name='smartcity_idea_need')
    op.drop_table('smartcity_idea_need')
    for column in ('fiscal_year', 'tenant_code'):
        op.drop_index(op.f(f'ix_smartcity_need_{column}'), table_name='smartcity_need')
    op.drop_table('smartcity_need')
    for column in ('stage', 'proposed_on'):
        op.drop_index(op.f(f'ix_smartcity_idea_{column}'), table_name='smartcity_idea')
    op.drop_table('smartcity_idea')
    for column in ('status', 'found_on'):
        op.drop_index(op.f(f'ix_smartcity_service_{column}'), table_name='smartcity_service')
    op.drop_table('smartcity_service')
