"""Usage aggregates: room in each page for in-place (HOT) updates; no index of tenant_code beside the unique key that starts with it

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23 02:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


from usage.models import AGGREGATE_FILLFACTOR  # noqa: E402


def upgrade() -> None:
    with op.batch_alter_table('usage_aggregate', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_usage_aggregate_tenant_code'))
    if op.get_bind().dialect.name == "postgresql":
        # new and moved rows only; existing pages gain room as they are rewritten (VACUUM FULL to do it at once)
        op.execute(f"ALTER TABLE usage_aggregate SET (fillfactor = {int(AGGREGATE_FILLFACTOR)})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE usage_aggregate RESET (fillfactor)")
    with op.batch_alter_table('usage_aggregate', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_usage_aggregate_tenant_code'), ['tenant_code'], unique=False)
