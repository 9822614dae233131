"""Personal data only by consent: services, consent texts, consent and linkage records (hash-chained), assurance levels

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-23 08:55:33.995928
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from core.db import quoted_current_schema
from residents.consent.models import guards_pg, sqlite_guards


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('assurance_level',
    sa.Column('level', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('label_ja', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('label_en', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('level', name=op.f('pk_assurance_level'))
    )
    op.create_table('chain_anchor',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purged_through_seq', sa.BigInteger(), nullable=False),
    sa.Column('purged_through_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purged_count', sa.BigInteger(), nullable=False),
    sa.Column('purged_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('archive_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('archive_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_chain_anchor'))
    )
    op.create_table('chain_head',
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_chain_head'))
    )
    op.create_table('consent_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('receipt_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
    sa.Column('event', sa.Enum('given', 'withdrawn', 'expired', name='consentevent', native_enum=False, length=32), nullable=False),
    sa.Column('refers_to', sa.Integer(), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('subject_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('controller', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('text_id', sa.Integer(), nullable=False),
    sa.Column('text_number', sa.Integer(), nullable=False),
    sa.Column('text_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purposes', sa.Text(), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('method', sa.Enum('web', 'app', 'paper', name='consentmethod', native_enum=False, length=32), nullable=False),
    sa.Column('assurance_level', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_by_issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('recorded_by_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('recorded_by_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('api_client_id', sa.Integer(), nullable=True),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_record')),
    sa.UniqueConstraint('receipt_id', name=op.f('uq_consent_record_receipt_id')),
    sa.UniqueConstraint('seq', name=op.f('uq_consent_record_seq'))
    )
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.create_index('ix_consent_record_person_service', ['service_id', 'tenant_code', 'subject_id', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_record_service_id'), ['service_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_record_tenant_code'), ['tenant_code'], unique=False)

    op.create_table('linkage_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('service_owner', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('subject_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('allowed', sa.Boolean(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('consent_record_id', sa.Integer(), nullable=True),
    sa.Column('consent_receipt_id', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('client', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('caller_issuer', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('caller_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('request_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('prev_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_linkage_record')),
    sa.UniqueConstraint('seq', name=op.f('uq_linkage_record_seq'))
    )
    with op.batch_alter_table('linkage_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_linkage_record_occurred_at'), ['occurred_at'], unique=False)
        batch_op.create_index('ix_linkage_record_person', ['tenant_code', 'subject_id', 'seq'], unique=False)
        batch_op.create_index(batch_op.f('ix_linkage_record_service_id'), ['service_id'], unique=False)

    op.create_table('data_service',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('controller', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('controller_contact', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('responsibility', sa.Text(), server_default='', nullable=False),
    sa.Column('retention_days', sa.Integer(), nullable=False),
    sa.Column('required_level', sa.Integer(), nullable=False),
    sa.Column('api_client_id', sa.Integer(), nullable=True),
    sa.Column('current_text_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('registered', 'approved', 'suspended', 'ended', name='servicestatus', native_enum=False, length=32), nullable=False),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_client.id'], name=op.f('fk_data_service_api_client_id_api_client')),
    sa.ForeignKeyConstraint(['required_level'], ['assurance_level.level'], name=op.f('fk_data_service_required_level_assurance_level')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_service'))
    )
    with op.batch_alter_table('data_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_data_service_owner_code'), ['owner_code'], unique=False)

    op.create_table('consent_text',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body_ja', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), server_default='', nullable=False),
    sa.Column('content_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.ForeignKeyConstraint(['service_id'], ['data_service.id'], name=op.f('fk_consent_text_service_id_data_service')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_text')),
    sa.UniqueConstraint('service_id', 'number', name=op.f('uq_consent_text_service_id'))
    )
    with op.batch_alter_table('consent_text', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_text_service_id'), ['service_id'], unique=False)

    op.create_table('consent_data_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('dataset_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.ForeignKeyConstraint(['text_id'], ['consent_text.id'], name=op.f('fk_consent_data_item_text_id_consent_text')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_data_item')),
    sa.UniqueConstraint('text_id', 'name', name=op.f('uq_consent_data_item_text_id'))
    )
    with op.batch_alter_table('consent_data_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_data_item_text_id'), ['text_id'], unique=False)

    op.create_table('consent_purpose',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('statement', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['text_id'], ['consent_text.id'], name=op.f('fk_consent_purpose_text_id_consent_text')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_purpose')),
    sa.UniqueConstraint('text_id', 'statement', name=op.f('uq_consent_purpose_text_id'))
    )
    with op.batch_alter_table('consent_purpose', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_purpose_text_id'), ['text_id'], unique=False)

    # the append-only guards, as create_all installs them
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in sqlite_guards():
            op.execute(statement)
    else:
        for statement in guards_pg(quoted_current_schema(bind)):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS renkei_consent_record_guard() CASCADE")
        op.execute("DROP FUNCTION IF EXISTS renkei_linkage_record_guard() CASCADE")
    with op.batch_alter_table('consent_purpose', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_purpose_text_id'))

    op.drop_table('consent_purpose')
    with op.batch_alter_table('consent_data_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_data_item_text_id'))

    op.drop_table('consent_data_item')
    with op.batch_alter_table('consent_text', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_text_service_id'))

    op.drop_table('consent_text')
    with op.batch_alter_table('data_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_data_service_owner_code'))

    op.drop_table('data_service')
    with op.batch_alter_table('linkage_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_linkage_record_service_id'))
        batch_op.drop_index('ix_linkage_record_person')
        batch_op.drop_index(batch_op.f('ix_linkage_record_occurred_at'))

    op.drop_table('linkage_record')
    with op.batch_alter_table('consent_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_record_tenant_code'))
        batch_op.drop_index(batch_op.f('ix_consent_record_service_id'))
        batch_op.drop_index('ix_consent_record_person_service')

    op.drop_table('consent_record')
    op.drop_table('chain_head')
    op.drop_table('chain_anchor')
    op.drop_table('assurance_level')
