"""The home pages' figures read from indexes at national size: the audit log by time (its oldest,
latest and recent records: the auditor's home page and the log's ?recent=30 list) and the monthly
usage figures by metric and month over every tenant (the usage page's total row, the home chart)

Revision ID: 0076
Revises: 0073
Create Date: 2026-11-25 13:45:00
"""
from alembic import op


revision = '0076'
down_revision = '0073'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_record_occurred_at', 'audit_record', ['occurred_at'], unique=False)
    op.create_index('ix_usage_aggregate_month_metric', 'usage_aggregate', ['granularity', 'metric', 'period_start'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_usage_aggregate_month_metric', table_name='usage_aggregate')
    op.drop_index('ix_audit_record_occurred_at', table_name='audit_record')
