"""The members' site's solution register (issue 58 item 2): member_solution (a member's solution, listed or
withdrawn, with its contact and its folded words for search), member_solution_category (its categories from the
fixed list) and member_solution_need (the municipalities' needs it answers).

Revision ID: 0122
Revises: 0121
Create Date: 2026-11-28 16:30:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0122'
down_revision = '0121'
branch_labels = None
depends_on = None

STATUSES = ('listed', 'withdrawn')
CATEGORIES = ('data_platform', 'open_data', 'analytics', 'iot', 'government_dx', 'mobility', 'disaster', 'health',
              'education', 'tourism', 'agriculture', 'environment', 'security', 'other')


def upgrade() -> None:
    op.create_table(
        'member_solution',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('description', sa.Text(), server_default='', nullable=False),
        sa.Column('contact_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column('status', sa.Enum(*STATUSES, name='solutionstatus', native_enum=False, length=16,
                                    create_constraint=True), nullable=False),
        sa.Column('status_reason', sa.Text(), server_default='', nullable=False),
        sa.Column('search_text', sa.Text(), server_default='', nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_solution')),
    )
    for column in ('corporate_number', 'status'):
        op.create_index(op.f(f'ix_member_solution_{column}'), 'member_solution', [column], unique=False)
    op.create_table(
        'member_solution_category',
        sa.Column('solution_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.Enum(*CATEGORIES, name='solutioncategory', native_enum=False, length=24), nullable=False),
        sa.ForeignKeyConstraint(['solution_id'], ['member_solution.id'],
                                name=op.f('fk_member_solution_category_solution_id_member_solution')),
        sa.PrimaryKeyConstraint('solution_id', 'category', name=op.f('pk_member_solution_category')),
    )
    op.create_index(op.f('ix_member_solution_category_category'), 'member_solution_category', ['category'], unique=False)
    op.create_table(
        'member_solution_need',
        sa.Column('solution_id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['solution_id'], ['member_solution.id'],
                                name=op.f('fk_member_solution_need_solution_id_member_solution')),
        sa.ForeignKeyConstraint(['need_id'], ['smartcity_need.id'],
                                name=op.f('fk_member_solution_need_need_id_smartcity_need')),
        sa.PrimaryKeyConstraint('solution_id', 'need_id', name=op.f('pk_member_solution_need')),
    )
    op.create_index(op.f('ix_member_solution_need_need_id'), 'member_solution_need', ['need_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_member_solution_need_need_id'), table_name='member_solution_need')
    op.drop_table('member_solution_need')
    op.drop_index(op.f('ix_member_solution_category_category'), table_name='member_solution_category')
    op.drop_table('member_solution_category')
    for column in ('status', 'corporate_number'):
        op.drop_index(op.f(f'ix_member_solution_{column}'), table_name='member_solution')
    op.drop_table('member_solution')
