"""The secretariat's year (issue 40 item 7): the schedule's work items and the issue list

Revision ID: 0079
Revises: 0076
Create Date: 2026-11-25 16:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0079'
down_revision = '0076'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('secretariat_work_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fiscal_year', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('owner_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('owner_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.Enum('planned', 'in_progress', 'done', name='itemstatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_work_item'))
    )
    op.create_index(op.f('ix_secretariat_work_item_fiscal_year'), 'secretariat_work_item', ['fiscal_year'], unique=False)
    op.create_index(op.f('ix_secretariat_work_item_due_on'), 'secretariat_work_item', ['due_on'], unique=False)
    op.create_table('secretariat_issue',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('detail', sa.Text(), server_default='', nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('raised_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('owner_subject', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('owner_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.Enum('open', 'in_progress', 'resolved', name='issuestatus', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('resolution', sa.Text(), server_default='', nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_issue'))
    )
    op.create_index(op.f('ix_secretariat_issue_raised_on'), 'secretariat_issue', ['raised_on'], unique=False)


def downgrade() -> None:
    op.drop_table('secretariat_issue')
    op.drop_table('secretariat_work_item')
