"""Meetings and minutes, the data-utilisation community and working groups (issue 40 items 5 and 6):
meetings with their attendees and agenda items (a council proposal decided at one meeting at most),
the minutes' text or attached PDF with their approval and publication; the groups and their members

Revision ID: 0078
Revises: 0083
Create Date: 2026-11-25 16:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0078'
down_revision = '0083'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('council', 'prefecture', 'community', 'working_group', name='meetingkind', native_enum=False, length=16), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('place', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('minutes_status', sa.Enum('none', 'draft', 'approved', 'published', name='minutesstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('minutes_text', sa.Text(), server_default='', nullable=False),
    sa.Column('minutes_pdf', sa.LargeBinary(), nullable=True),
    sa.Column('minutes_filename', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('written_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('written_by_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('approved_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notice_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_meeting_notice_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting'))
    )
    op.create_index(op.f('ix_meeting_group_id'), 'meeting', ['group_id'], unique=False)
    op.create_index(op.f('ix_meeting_held_at'), 'meeting', ['held_at'], unique=False)
    op.create_index(op.f('ix_meeting_kind'), 'meeting', ['kind'], unique=False)
    op.create_table('meeting_attendee',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_attendee_meeting_id_meeting')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_attendee'))
    )
    op.create_index(op.f('ix_meeting_attendee_meeting_id'), 'meeting_attendee', ['meeting_id'], unique=False)
    op.create_table('meeting_agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['meeting_id'], ['meeting.id'], name=op.f('fk_meeting_agenda_item_meeting_id_meeting')),
    sa.ForeignKeyConstraint(['proposal_id'], ['council_proposal.id'], name=op.f('fk_meeting_agenda_item_proposal_id_council_proposal')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting_agenda_item')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_meeting_agenda_item_proposal_id'))
    )
    op.create_index(op.f('ix_meeting_agenda_item_meeting_id'), 'meeting_agenda_item', ['meeting_id'], unique=False)
    op.create_table('secretariat_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('community', 'working_group', name='groupkind', native_enum=False, length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('purpose', sa.Text(), server_default='', nullable=False),
    sa.Column('target_members', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_group')),
    sa.UniqueConstraint('name', name=op.f('uq_secretariat_group_name'))
    )
    op.create_index(op.f('ix_secretariat_group_kind'), 'secretariat_group', ['kind'], unique=False)
    op.create_table('secretariat_group_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['secretariat_group.id'], name=op.f('fk_secretariat_group_member_group_id_secretariat_group')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_group_member')),
    sa.UniqueConstraint('group_id', 'corporate_number', name=op.f('uq_secretariat_group_member_group_id'))
    )
    op.create_index(op.f('ix_secretariat_group_member_corporate_number'), 'secretariat_group_member', ['corporate_number'], unique=False)
    op.create_index(op.f('ix_secretariat_group_member_group_id'), 'secretariat_group_member', ['group_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_secretariat_group_member_group_id'), table_name='secretariat_group_member')
    op.drop_index(op.f('ix_secretariat_group_member_corporate_number'), table_name='secretariat_group_member')
    op.drop_table('secretariat_group_member')
    op.drop_index(op.f('ix_secretariat_group_kind'), table_name='secretariat_group')
    op.drop_table('secretariat_group')
    op.drop_index(op.f('ix_meeting_agenda_item_meeting_id'), table_name='meeting_agenda_item')
    op.drop_table('meeting_agenda_item')
    op.drop_index(op.f('ix_meeting_attendee_meeting_id'), table_name='meeting_attendee')
    op.drop_table('meeting_attendee')
    op.drop_index(op.f('ix_meeting_kind'), table_name='meeting')
    op.drop_index(op.f('ix_meeting_held_at'), table_name='meeting')
    op.drop_index(op.f('ix_meeting_group_id'), table_name='meeting')
    op.drop_table('meeting')
