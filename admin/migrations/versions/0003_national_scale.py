"""national scale: usage events partitioned by month (PostgreSQL), idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

_EVENT_COLUMNS = "event_id, occurred_at, tenant_code, metric, quantity, batch_id"


def upgrade() -> None:
    _usage_partitions_upgrade()


def downgrade() -> None:
    _usage_partitions_downgrade()


# --- usage: usage_event partitioned by Japan-time month on PostgreSQL; event_id kept unique by
# usage_event_key (a partitioned table's keys must hold its partition key). SQLite gets the same
# columns and keys in a plain table.

def _usage_partitions_upgrade() -> None:
    from usage import partitions

    bind = op.get_bind()
    postgresql = bind.dialect.name == "postgresql"
    op.create_table('usage_event_key',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_usage_event_key'))
    )
    op.execute("INSERT INTO usage_event_key (event_id, occurred_at, batch_id) "
               "SELECT event_id, occurred_at, batch_id FROM usage_event")
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_event_occurred_at'))
    op.rename_table('usage_event', 'usage_event_0002')
    if postgresql:  # constraint (index) names are per schema
        op.execute("ALTER TABLE usage_event_0002 RENAME CONSTRAINT pk_usage_event TO pk_usage_event_0002")
        op.execute("ALTER TABLE usage_event_0002 RENAME CONSTRAINT uq_usage_event_event_id TO uq_usage_event_0002_event_id")
    op.create_table('usage_event',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('event_id', 'occurred_at', name=op.f('pk_usage_event')),
    postgresql_partition_by='RANGE (occurred_at)'
    )
    if postgresql:  # the default partition, the retention window's months and three ahead
        partitions.create_initial(bind)
    op.execute(f"INSERT INTO usage_event ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM usage_event_0002")
    op.drop_table('usage_event_0002')


def _usage_partitions_downgrade() -> None:
    op.rename_table('usage_event', 'usage_event_0003')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE usage_event_0003 RENAME CONSTRAINT pk_usage_event TO pk_usage_event_0003")
    op.create_table('usage_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('tenant_code', sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
    sa.Column('metric', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('quantity', sa.BigInteger(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_event')),
    sa.UniqueConstraint('event_id', name=op.f('uq_usage_event_event_id'))
    )
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_event_occurred_at'), ['occurred_at'], unique=False)
    op.execute(f"INSERT INTO usage_event ({_EVENT_COLUMNS}) SELECT {_EVENT_COLUMNS} FROM usage_event_0003 "
               "ORDER BY occurred_at, event_id")
    op.drop_table('usage_event_0003')  # drops its partitions with it
    op.drop_table('usage_event_key')
