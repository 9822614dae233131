"""A dataset's verdict bound to its file: the checked file's SHA-256, size, the standard's version and the
distribution it is (dataset_check)

Revision ID: 0065
Revises: 0063
Create Date: 2026-11-25 09:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0065'
down_revision = '0063'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('dataset_check', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('byte_size', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('standard_version', sqlmodel.sql.sqltypes.AutoString(length=64),
                                      server_default='', nullable=False))
        batch_op.add_column(sa.Column('distribution_url', sqlmodel.sql.sqltypes.AutoString(length=1000),
                                      server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('dataset_check', schema=None) as batch_op:
        batch_op.drop_column('distribution_url')
        batch_op.drop_column('standard_version')
        batch_op.drop_column('byte_size')
        batch_op.drop_column('sha256')
