"""One prefecture's facts as settings: the prefecture's settings, numbered letters, members' bases

Revision ID: 0024
Revises: 0019
Create Date: 2026-11-23 09:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401



revision = '0024'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prefecture_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer_title", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("issuer_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("office", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("office_address", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("office_phone", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("office_email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("bank_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("bank_branch", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("account_type", sa.Enum("ordinary", "current", name="bankaccounttype", native_enum=False, length=32), nullable=False),
        sa.Column("account_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("account_holder", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("document_symbol", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("payment_days", sa.Integer(), nullable=False),
        sa.Column("consortium_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prefecture_settings")),
    )
    op.create_table(
        "billing_statement_document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tenant_code", sqlmodel.sql.sqltypes.AutoString(length=6), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("number_year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("issued_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("reissue_count", sa.Integer(), nullable=False),
        sa.Column("reissued_on", sa.Date(), nullable=True),
        sa.Column("reissued_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["billing_run.id"],
                                name=op.f("fk_billing_statement_document_run_id_billing_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_billing_statement_document")),
        sa.UniqueConstraint("run_id", "tenant_code", name="uq_billing_statement_document_run_tenant"),
        sa.UniqueConstraint("number_year", "sequence", name="uq_billing_statement_document_year_sequence"),
        sa.UniqueConstraint("number_year", "number", name="uq_billing_statement_document_year_number"),
    )
    op.create_index(op.f("ix_billing_statement_document_run_id"), "billing_statement_document", ["run_id"],
                    unique=False)
    op.create_table(
        "member_base",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("branch", "office", name="basekind", native_enum=False, length=32), nullable=False),
        sa.Column("prefecture", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.ForeignKeyConstraint(["organisation_id"], ["member_organisation.id"],
                                name=op.f("fk_member_base_organisation_id_member_organisation")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_base")),
    )
    op.create_index(op.f("ix_member_base_organisation_id"), "member_base", ["organisation_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_member_base_organisation_id"), table_name="member_base")
    op.drop_table("member_base")
    op.drop_index(op.f("ix_billing_statement_document_run_id"), table_name="billing_statement_document")
    op.drop_table("billing_statement_document")
    op.drop_table("prefecture_settings")
