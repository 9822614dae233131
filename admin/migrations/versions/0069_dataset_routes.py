"""Who uses a dataset (issue 37 item 9): a distribution's route through the API gateway (the broker's
Fiware-Service, Fiware-ServicePath and entity type, or the catalogue's path), and the calls the
gateway let through to each dataset by month, consumer and API client (usage_dataset_call)

Revision ID: 0069
Revises: 0068
Create Date: 2026-11-25 09:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0069'
down_revision = '0068'
branch_labels = None
depends_on = None

_ROUTE_COLUMNS = (('route_service', 50), ('route_service_path', 100), ('route_entity_type', 100), ('route_path', 300))


def upgrade() -> None:
    with op.batch_alter_table('dataset_distribution', schema=None) as batch_op:
        for name, length in _ROUTE_COLUMNS:
            batch_op.add_column(sa.Column(name, sqlmodel.sql.sqltypes.AutoString(length=length), nullable=False,
                                          server_default=''))
    with op.batch_alter_table('dataset_distribution', schema=None) as batch_op:
        for name, _ in _ROUTE_COLUMNS:
            batch_op.alter_column(name, server_default=None)
    op.create_table('usage_dataset_call',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('provider_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('dataset', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('consumer_code', sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('calls', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_dataset_call')),
    sa.UniqueConstraint('period_start', 'provider_code', 'dataset', 'consumer_code', 'client_id',
                        name='uq_usage_dataset_call_key')
    )


def downgrade() -> None:
    op.drop_table('usage_dataset_call')
    with op.batch_alter_table('dataset_distribution', schema=None) as batch_op:
        for name, _ in reversed(_ROUTE_COLUMNS):
            batch_op.drop_column(name)
