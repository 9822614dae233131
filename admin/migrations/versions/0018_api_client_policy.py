"""API clients: the operator's policy, requests waiting for approval, credentials missing in Keycloak;
invitation decoys (no enumeration)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-23 09:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_client_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("max_prefix_v4", sa.Integer(), nullable=False),
        sa.Column("max_prefix_v6", sa.Integer(), nullable=False),
        sa.Column("approval_scopes", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("max_expiry_days", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client_policy")),
    )
    op.create_table(
        "api_client_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("api_client_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.Enum("create", "change", name="requestkind", native_enum=False, length=16), nullable=False),
        sa.Column("status", sa.Enum("pending", "approved", "rejected", "superseded", name="requeststatus",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("requested_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["api_client_id"], ["api_client.id"],
                                name=op.f("fk_api_client_request_api_client_id_api_client")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_client_request")),
    )
    op.create_index(op.f("ix_api_client_request_api_client_id"), "api_client_request", ["api_client_id"], unique=False)
    with op.batch_alter_table("api_client_credential") as batch:
        batch.add_column(sa.Column("missing_since", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "invitation_decoy",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("tenant_code", sqlmodel.sql.sqltypes.AutoString(length=13), nullable=False),
        sa.Column("username", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("first_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("last_name", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("roles", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_decoy")),
    )
    op.create_index(op.f("ix_invitation_decoy_tenant_code"), "invitation_decoy", ["tenant_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_invitation_decoy_tenant_code"), table_name="invitation_decoy")
    op.drop_table("invitation_decoy")
    with op.batch_alter_table("api_client_credential") as batch:
        batch.drop_column("missing_since")
    op.drop_index(op.f("ix_api_client_request_api_client_id"), table_name="api_client_request")
    op.drop_table("api_client_request")
    op.drop_table("api_client_policy")
