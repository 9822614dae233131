"""The secretariat's desk (issue 40 items 3 and 4): inquiries with their replies, and events with their
registrations and the year's targets per kind

Revision ID: 0073
Revises: 0072
Create Date: 2026-11-25 12:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0073'
down_revision = '0072'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('secretariat_event',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('open_event', 'member_seminar', 'community_meeting', 'workshop', 'staff_training', name='eventkind', native_enum=False, length=24), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('online_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('audience', sa.Enum('anyone', 'members', 'community', 'staff', name='audience', native_enum=False, length=16), nullable=False),
    sa.Column('archive_url', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_event'))
    )
    op.create_index(op.f('ix_secretariat_event_kind'), 'secretariat_event', ['kind'], unique=False)
    op.create_index(op.f('ix_secretariat_event_starts_at'), 'secretariat_event', ['starts_at'], unique=False)
    op.create_table('secretariat_event_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('open_event', 'member_seminar', 'community_meeting', 'workshop', 'staff_training', name='eventkind', native_enum=False, length=24), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('attendance', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_event_target')),
    sa.UniqueConstraint('fiscal_year', 'kind', name=op.f('uq_secretariat_event_target_fiscal_year'))
    )
    op.create_table('secretariat_inquiry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inquirer_kind', sa.Enum('member', 'municipality', 'other_body', 'resident', name='inquirerkind', native_enum=False, length=16), nullable=False),
    sa.Column('inquirer_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('organisation_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('channel', sa.Enum('web_form', 'mail', 'phone', 'in_person', name='channel', native_enum=False, length=16), nullable=False),
    sa.Column('category', sa.Enum('joining', 'member_info', 'catalogue', 'technical', 'fault', 'personal_data', 'other', name='category', native_enum=False, length=16), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('member_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=True),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=True),
    sa.Column('dataset_uid', sqlmodel.sql.sqltypes.AutoString(length=36), nullable=True),
    sa.Column('incident_ref', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('assignee_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('assignee_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.Enum('received', 'in_progress', 'answered', 'closed', name='inquirystatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('source_ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('personal_data_removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_inquiry'))
    )
    op.create_index(op.f('ix_secretariat_inquiry_category'), 'secretariat_inquiry', ['category'], unique=False)
    op.create_index(op.f('ix_secretariat_inquiry_due_on'), 'secretariat_inquiry', ['due_on'], unique=False)
    op.create_index(op.f('ix_secretariat_inquiry_member_number'), 'secretariat_inquiry', ['member_number'], unique=False)
    op.create_index(op.f('ix_secretariat_inquiry_status'), 'secretariat_inquiry', ['status'], unique=False)
    op.create_index(op.f('ix_secretariat_inquiry_tenant_code'), 'secretariat_inquiry', ['tenant_code'], unique=False)
    op.create_table('secretariat_event_registration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
    sa.Column('organisation_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('member_at_registration', sa.Boolean(), nullable=False),
    sa.Column('subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('status', sa.Enum('registered', 'waitlisted', 'cancelled', name='registrationstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('attended', sa.Boolean(), nullable=False),
    sa.Column('source_ip', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['secretariat_event.id'], name=op.f('fk_secretariat_event_registration_event_id_secretariat_event')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_event_registration'))
    )
    op.create_index(op.f('ix_secretariat_event_registration_corporate_number'), 'secretariat_event_registration', ['corporate_number'], unique=False)
    op.create_index(op.f('ix_secretariat_event_registration_event_id'), 'secretariat_event_registration', ['event_id'], unique=False)
    op.create_index(op.f('ix_secretariat_event_registration_status'), 'secretariat_event_registration', ['status'], unique=False)
    op.create_table('secretariat_inquiry_reply',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inquiry_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('sent_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('notification_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['inquiry_id'], ['secretariat_inquiry.id'], name=op.f('fk_secretariat_inquiry_reply_inquiry_id_secretariat_inquiry')),
    sa.ForeignKeyConstraint(['notification_id'], ['notification.id'], name=op.f('fk_secretariat_inquiry_reply_notification_id_notification')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_inquiry_reply'))
    )
    op.create_index(op.f('ix_secretariat_inquiry_reply_inquiry_id'), 'secretariat_inquiry_reply', ['inquiry_id'], unique=False)


def downgrade() -> None:
    for table in ('secretariat_inquiry_reply', 'secretariat_event_registration', 'secretariat_inquiry',
                  'secretariat_event_target', 'secretariat_event'):
        op.drop_table(table)
