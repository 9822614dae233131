"""Members keep their own details (issue 58 item 1): member_change keeps every change of a member's
details (applied at once, or waiting for the secretariat: the name, the registered facts, the
representative) with the changed fields before and after; member_organisation.public_profile is what
the member says of itself.

Revision ID: 0110
Revises: 0109
Create Date: 2026-11-27 05:40:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0110'
down_revision = '0109'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member_organisation') as batch:
        batch.add_column(sa.Column('public_profile', sa.Text(), nullable=False, server_default=''))
    op.create_table(
        'member_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.Enum('applied', 'pending', 'approved', 'rejected', name='changestatus', native_enum=False,
                                    create_constraint=True, length=16), nullable=False),
        sa.Column('before', sa.Text(), nullable=False),
        sa.Column('after', sa.Text(), nullable=False),
        sa.Column('requested_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('decision_reason', sa.Text(), nullable=False, server_default=''),
        sa.ForeignKeyConstraint(['organisation_id'], ['member_organisation.id'],
                                name=op.f('fk_member_change_organisation_id_member_organisation')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_member_change')),
    )
    op.create_index(op.f('ix_member_change_organisation_id'), 'member_change', ['organisation_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_member_change_organisation_id'), table_name='member_change')
    op.drop_table('member_change')
    with op.batch_alter_table('member_organisation') as batch:
        batch.drop_column('public_profile')
