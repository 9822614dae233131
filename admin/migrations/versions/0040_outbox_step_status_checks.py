"""Notifications' and provisioning steps' statuses are enums in the database too (CHECK
constraints, as migration 0035 gave the other lifecycles); the rows are kept as they are

The values are written out here, for the reason 0035 gives.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-24 00:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0040'
down_revision = '0039'
branch_labels = None
depends_on = None

# table -> (constraint name (the enum's, as core.db.enum_column names it), values)
CHECKED = {
    "notification": ("notificationstatus", ("queued", "sent", "failed")),
    "provisioning_step": ("stepstatus", ("pending", "done", "failed")),
}


def upgrade() -> None:
    for table, (name, values) in CHECKED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:  # SQLite: a rebuild (neither table has a trigger)
            batch_op.create_check_constraint(
                op.f(f"ck_{table}_{name}"), sa.text(f"status IN ({', '.join(repr(value) for value in values)})"))


def downgrade() -> None:
    for table, (name, _values) in CHECKED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
