"""tables and columns for the admin UI's workflows (notices, four-eyes on runs, invitations)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 14:15:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # billing: four eyes on allocation runs (who computed / reviewed, and whether the rule applied)
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.add_column(sa.Column('created_by_key', sa.String(length=600), server_default='', nullable=False))
        batch_op.add_column(sa.Column('reviewed_by_key', sa.String(length=600), server_default='', nullable=False))
        batch_op.add_column(sa.Column('four_eyes', sa.Boolean(), server_default=sa.true(), nullable=False))


    # governance: notices of the operator to all or some municipalities
    op.create_table('notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('audience', sa.Enum('all_active', 'chosen', name='noticeaudience', native_enum=False, length=32), nullable=False),
    sa.Column('show_until', sa.Date(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_by', sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice'))
    )
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_published_at'), ['published_at'], unique=False)

    op.create_table('notice_tenant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('notice_id', sa.Integer(), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['notice.id'], name=op.f('fk_notice_tenant_notice_id_notice')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notice_tenant')),
    sa.UniqueConstraint('notice_id', 'tenant_code', name=op.f('uq_notice_tenant_notice_id'))
    )
    with op.batch_alter_table('notice_tenant', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notice_tenant_notice_id'), ['notice_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notice_tenant_tenant_code'), ['tenant_code'], unique=False)


def downgrade() -> None:
    # governance: notices
    with op.batch_alter_table('notice_tenant', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_tenant_tenant_code'))
        batch_op.drop_index(batch_op.f('ix_notice_tenant_notice_id'))
    op.drop_table('notice_tenant')
    with op.batch_alter_table('notice', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notice_published_at'))
    op.drop_table('notice')
    # billing: four eyes on allocation runs
    with op.batch_alter_table('billing_run', schema=None) as batch_op:
        batch_op.drop_column('four_eyes')
        batch_op.drop_column('reviewed_by_key')
        batch_op.drop_column('created_by_key')
