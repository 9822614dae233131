"""The people index (issue 38): Keycloak's people with their tenants, searched by the header's search
box within the users list's scope, kept from Keycloak's admin events, renkei's own acts and a rebuild

Revision ID: 0082
Revises: 0081
Create Date: 2026-11-25 16:40:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0082'
down_revision = '0081'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('person_index',
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('username', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('first_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('last_name', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('kana', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('indexed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_person_index'))
    )
    op.create_table('person_index_tenant',
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'tenant_code', name=op.f('pk_person_index_tenant'))
    )
    with op.batch_alter_table('person_index_tenant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_index_tenant_tenant_code'), ['tenant_code'], unique=False)
    op.create_table('person_index_word',
    sa.Column('word', sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
    sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.PrimaryKeyConstraint('word', 'user_id', name=op.f('pk_person_index_word'))
    )
    with op.batch_alter_table('person_index_word', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_index_word_user_id'), ['user_id'], unique=False)
    op.create_table('person_index_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reindexed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('people', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person_index_state'))
    )


def downgrade() -> None:
    op.drop_table('person_index_state')
    with op.batch_alter_table('person_index_word', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_index_word_user_id'))
    op.drop_table('person_index_word')
    with op.batch_alter_table('person_index_tenant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_index_tenant_tenant_code'))
    op.drop_table('person_index_tenant')
    op.drop_table('person_index')
