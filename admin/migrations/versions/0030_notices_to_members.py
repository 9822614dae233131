"""Notices to member organisations: notice.to_members and the notice_member addressees

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-23 13:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('to_members', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table('notice_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('corporate_number', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_member_notice_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_member')),
    sa.UniqueConstraint('notice_id', 'corporate_number', name=op.f('uq_notice_member_notice_id'))
    )
    with op.batch_alter_table('notice_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_member_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_member_corporate_number'), ['corporate_number'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notice_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_member_corporate_number'))
        batch_op.drop_index(batch_op.f('ix_notice_member_notice_id'))
    op.drop_table('notice_member')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_column('to_members')
