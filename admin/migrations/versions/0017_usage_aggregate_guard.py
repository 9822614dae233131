"""Usage aggregates written only through the owner's function, which checks them against the batch's events

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-23 09:20:00
"""
from alembic import op
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


from core.db import quoted_current_schema  # noqa: E402
from usage.models import USAGE_ADD_FUNCTION, usage_guards_pg, usage_guards_sqlite  # noqa: E402

# Ingest runs the function from now on: the application role may execute it, and loses INSERT and
# UPDATE on usage_aggregate, when the owner grants it again after the upgrade
# (`renkei db grant --app-role NAME`, as docs/deployment.md says for every release).


def upgrade() -> None:
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_event_batch_id'), ['batch_id'], unique=False)
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for statement in usage_guards_pg(quoted_current_schema(bind)):
            op.execute(statement)
    elif bind.dialect.name == "sqlite":
        for name, statement in usage_guards_sqlite().items():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {quoted_current_schema(bind)}.{USAGE_ADD_FUNCTION}")
    elif bind.dialect.name == "sqlite":
        for name in usage_guards_sqlite():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table('usage_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_event_batch_id'))
