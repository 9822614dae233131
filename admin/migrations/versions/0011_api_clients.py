"""API clients: client-credentials clients with IP allowlists

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 11:00:00
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401
import sqlmodel  # noqa: F401



revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_client",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("scopes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("allowlist", sa.Text(), nullable=False),
        sa.Column("allow_any", sa.Boolean(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client")),
    )
    op.create_index(op.f("ix_api_client_tenant_code"), "api_client", ["tenant_code"], unique=False)
    op.create_table(
        "api_client_credential",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_client_id", sa.Integer(), nullable=False),
        sa.Column("keycloak_client_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["api_client_id"], ["api_client.id"],
                                name=op.f("fk_api_client_credential_api_client_id_api_client")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client_credential")),
        sa.UniqueConstraint("keycloak_client_id", name=op.f("uq_api_client_credential_keycloak_client_id")),
    )
    op.create_index(op.f("ix_api_client_credential_api_client_id"), "api_client_credential", ["api_client_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_client_credential_api_client_id"), table_name="api_client_credential")
    op.drop_table("api_client_credential")
    op.drop_index(op.f("ix_api_client_tenant_code"), table_name="api_client")
    op.drop_table("api_client")
