"""database guards: schema-qualified guard functions, fixed search_path, immutable run lines, accounts and resolutions

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-22 10:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401


revision = '0006'
down_revision = '0003'
branch_labels = None
depends_on = None


from admin.migrations.legacy_guards import AUDIT_GUARDS_0001_PG, LEDGER_GUARDS_0001_PG  # noqa: E402
from billing.models import ledger_guards_pg  # noqa: E402
from core.audit import audit_guards_pg  # noqa: E402
from core.db import quoted_current_schema  # noqa: E402
from governance.models import resolution_guards_pg  # noqa: E402

# PostgreSQL only: the guard functions of 0001 are replaced by schema-qualified ones with a fixed
# search_path (the same statements create_all runs), and accounts, run lines and council
# resolutions get their guards. SQLite's triggers cannot be fooled by a TEMP table the same way
# (they name tables of their own schema) and are unchanged.
_NEW_TRIGGERS = {"billing_account": "billing_account_fixed", "billing_run_line": "billing_run_line_fixed",
                 "council_resolution": "council_resolution_fixed"}
_NEW_FUNCTIONS = ["billing_guard_account", "billing_guard_run_line", "council_guard_resolution"]
_LEDGER_TABLES = ("billing_posting", "billing_account", "billing_run_line")  # the runs' guard came in 0016


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = quoted_current_schema(bind)
    ledger = [statement for table in _LEDGER_TABLES for statement in ledger_guards_pg(schema, table)]
    for statement in audit_guards_pg(schema) + ledger + resolution_guards_pg(schema):
        op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    schema = quoted_current_schema(bind)
    for table, trigger in _NEW_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {schema}.{table}")
    for function in _NEW_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {schema}.{function}()")
    # back to the 0001 forms (unqualified names, the caller's search_path)
    for statement in (LEDGER_GUARDS_0001_PG
                      + [s for statements in AUDIT_GUARDS_0001_PG.values() for s in statements]):
        if statement.strip().startswith("CREATE OR REPLACE FUNCTION"):  # replaces the SET clause too
            op.execute(statement.strip())
