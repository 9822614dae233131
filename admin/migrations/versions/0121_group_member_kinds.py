"""Working groups with municipal staff (issue 57 item 4): a group's member is of a kind (a consortium member, a
municipality's or the prefecture's staff member, an adviser), with the person's tenant, Keycloak user id, name and
affiliation beside the member organisation's corporate number; ``member_key`` is who the member is, unique in the
group instead of the corporate number. A working group may be a sub-body of the council (``under_council``).

Backfill: every member so far is a consortium member whose key is its corporate number; no group is under the council.

Revision ID: 0121
Revises: 0120
Create Date: 2026-11-28 13:00:00
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0121'
down_revision = '0120'
branch_labels = None
depends_on = None

KINDS = ('consortium_member', 'municipal_staff', 'prefecture_staff', 'adviser')


def upgrade() -> None:
    with op.batch_alter_table('secretariat_group') as batch:
        batch.add_column(sa.Column('under_council', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('secretariat_group_member') as batch:
        batch.add_column(sa.Column('member_kind', sa.Enum(*KINDS, name='memberkind', native_enum=False, length=24),
                                   nullable=False, server_default='consortium_member'))
        batch.add_column(sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('user_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('affiliation', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('member_key', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False,
                                   server_default=''))
    op.execute("UPDATE secretariat_group_member SET member_key = corporate_number")
    with op.batch_alter_table('secretariat_group_member') as batch:
        batch.drop_constraint('uq_secretariat_group_member_group_id', type_='unique')
        batch.create_unique_constraint('uq_secretariat_group_member_group_id', ['group_id', 'member_key'])
        batch.create_index('ix_secretariat_group_member_tenant_code', ['tenant_code'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM secretariat_group_member WHERE member_kind <> 'consortium_member'")
    with op.batch_alter_table('secretariat_group_member') as batch:
        batch.drop_index('ix_secretariat_group_member_tenant_code')
        batch.drop_constraint('uq_secretariat_group_member_group_id', type_='unique')
        batch.create_unique_constraint('uq_secretariat_group_member_group_id', ['group_id', 'corporate_number'])
        for column in ('member_key', 'affiliation', 'name', 'user_id', 'tenant_code', 'member_kind'):
            batch.drop_column(column)
    with op.batch_alter_table('secretariat_group') as batch:
        batch.drop_column('under_council')
