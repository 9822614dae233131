"""Lifecycles: every status column of a declared lifecycle refuses any value outside its enum
(a CHECK constraint, on SQLite and PostgreSQL alike); the rows are kept as they are

The values are written out here (not read from the models) so that this revision keeps meaning
what it meant when a status is later added: that takes a migration of its own that replaces the
constraint.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-23 20:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0035'
down_revision = '0034'
branch_labels = None
depends_on = None


# table -> (constraint name (the enum's, as core.db.enum_column names it), column, values)
CHECKED = {
    "tenant": ("tenantstatus", "status",
               ("applied", "screening", "approved", "provisioning", "active", "suspended", "withdrawn")),
    "api_client": ("clientstatus", "status", ("pending", "active", "disabled", "revoked", "rejected")),
    "api_client_request": ("requeststatus", "status", ("pending", "approved", "rejected", "superseded")),
    "member_organisation": ("memberstatus", "status", ("unconfirmed", "applied", "approved", "rejected", "withdrawn")),
    "council_proposal": ("proposalstatus", "status", ("open", "adopted", "rejected", "withdrawn")),
    "agreement_version": ("versionstatus", "status", ("draft", "published")),
    "billing_policy": ("policystatus", "status", ("draft", "adopted", "superseded")),
    "dataset": ("datasetstatus", "status", ("draft", "submitted", "published", "withdrawn")),
}


def _condition(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade() -> None:
    for table, (name, column, values) in CHECKED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:  # SQLite: a rebuild (none of these has a trigger)
            batch_op.create_check_constraint(op.f(f"ck_{table}_{name}"), sa.text(_condition(column, values)))


def downgrade() -> None:
    for table, (name, _column, _values) in CHECKED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
