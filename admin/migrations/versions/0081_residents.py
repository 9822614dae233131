"""The residents' side (issue 42 items 1, 2, 5 and part of 8): residents with their common IDs and encrypted
items, the identifiers providers gave them, the enrolments held for review, and the links to services' IDs

Revision ID: 0081
Revises: 0077
Create Date: 2026-11-25 16:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0081'
down_revision = '0077'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('resident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uid', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('common_id', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('status', sa.Enum('active', 'review', 'duplicate', name='residentstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('full_name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('birth_date', sa.Text(), nullable=False),
    sa.Column('sex', sa.Text(), nullable=False),
    sa.Column('key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('person_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('address_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('verification', sa.Enum('my_number_card', 'photo_id', 'two_documents', 'provider', name='verificationmethod', native_enum=False, length=32), nullable=False),
    sa.Column('assurance_level', sa.Integer(), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enrolled_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['assurance_level'], ['assurance_level.level'], name=op.f('fk_resident_assurance_level_assurance_level')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident')),
    sa.UniqueConstraint('common_id', name=op.f('uq_resident_common_id')),
    sa.UniqueConstraint('uid', name=op.f('uq_resident_uid'))
    )
    op.create_index(op.f('ix_resident_tenant_code'), 'resident', ['tenant_code'], unique=False)
    op.create_index('ix_resident_tenant_person', 'resident', ['tenant_code', 'person_hash'], unique=False)
    op.create_table('resident_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_resident_identity_resident_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_identity')),
    sa.UniqueConstraint('tenant_code', 'issuer', 'subject', name=op.f('uq_resident_identity_tenant_code'))
    )
    op.create_index(op.f('ix_resident_identity_resident_id'), 'resident_identity', ['resident_id'], unique=False)
    op.create_table('resident_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('matched_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('provider_identifier', 'basic_four', name='matchreason', native_enum=False, length=32), nullable=False),
    sa.Column('address_matches', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('open', 'same_person', 'different_person', name='reviewstatus', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('decision_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['resident.id'], name=op.f('fk_resident_review_candidate_id_resident')),
    sa.ForeignKeyConstraint(['matched_id'], ['resident.id'], name=op.f('fk_resident_review_matched_id_resident')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_review')),
    sa.UniqueConstraint('candidate_id', name=op.f('uq_resident_review_candidate_id'))
    )
    op.create_index(op.f('ix_resident_review_tenant_code'), 'resident_review', ['tenant_code'], unique=False)
    op.create_table('service_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('resident_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('service_user_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('method', sa.Enum('counter', 'portal_signin', 'portal_code', 'service_api', name='linkmethod', native_enum=False, length=32), nullable=False),
    sa.Column('assurance_level', sa.Integer(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('linked_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['assurance_level'], ['assurance_level.level'], name=op.f('fk_service_link_assurance_level_assurance_level')),
    sa.ForeignKeyConstraint(['resident_id'], ['resident.id'], name=op.f('fk_service_link_resident_id_resident')),
    sa.ForeignKeyConstraint(['service_id'], ['data_service.id'], name=op.f('fk_service_link_service_id_data_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_link')),
    sa.UniqueConstraint('resident_id', 'service_id', name=op.f('uq_service_link_resident_id')),
    sa.UniqueConstraint('service_id', 'service_user_id', name=op.f('uq_service_link_service_id'))
    )
    op.create_index(op.f('ix_service_link_resident_id'), 'service_link', ['resident_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_service_link_resident_id'), table_name='service_link')
    op.drop_table('service_link')
    op.drop_index(op.f('ix_resident_review_tenant_code'), table_name='resident_review')
    op.drop_table('resident_review')
    op.drop_index(op.f('ix_resident_identity_resident_id'), table_name='resident_identity')
    op.drop_table('resident_identity')
    op.drop_index('ix_resident_tenant_person', table_name='resident')
    op.drop_index(op.f('ix_resident_tenant_code'), table_name='resident')
    op.drop_table('resident')
