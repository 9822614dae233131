"""Every chain's anchor only moves forward and is never deleted: chain_anchor (the linkage records'
purge anchor) gets the guards audit_anchor has had since 0001

The statements are the rule's own (core.chain.anchor_guards_sqlite, anchor_guards_pg), which
create_all installs too; the rows are kept as they are.

Revision ID: 0043
Revises: 0042
Create Date: 2026-11-25 00:00:00
"""
from alembic import op

from core.chain import anchor_guards_pg, anchor_guards_sqlite
from core.db import quoted_current_schema

revision = '0043'
down_revision = '0042'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in anchor_guards_sqlite("chain_anchor"):
            op.execute(statement)
    else:
        for statement in anchor_guards_pg(quoted_current_schema(bind), "chain_anchor"):
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS renkei_chain_anchor_guard() CASCADE")
    else:
        op.execute("DROP TRIGGER IF EXISTS chain_anchor_forward_only")
        op.execute("DROP TRIGGER IF EXISTS chain_anchor_no_delete")
