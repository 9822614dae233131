"""The monthly report to the prefecture (issue 39, item 5): each writing of a month's report with its
figures, workbook and PDF, and when it was sent

Revision ID: 0077
Revises: 0080
Create Date: 2026-11-25 16:40:00
"""
import sqlalchemy as sa
from alembic import op




revision = '0077'
down_revision = '0080'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_monthly_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('figures', sa.Text(), nullable=False),
    sa.Column('xlsx', sa.LargeBinary(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('written_by', sa.String(length=255), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_by', sa.String(length=255), nullable=False),
    sa.Column('recipients', sa.String(length=1000), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_monthly_report')),
    sa.UniqueConstraint('month', 'version', name=op.f('uq_service_monthly_report_month'))
    )
    op.create_index(op.f('ix_service_monthly_report_month'), 'service_monthly_report', ['month'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_service_monthly_report_month'), table_name='service_monthly_report')
    op.drop_table('service_monthly_report')
