"""Legal representatives (issue 56 item 3): resident_representation, a 親権者 or 成年後見人 of a resident recorded
by the residents' desk, who acts for them in the portal. No date of birth is stored: a parent's representation
ends at the represented person's 18th birthday, computed from their encrypted date of birth.

Revision ID: 0111
Revises: 0110
Create Date: 2026-11-27 05:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0111'
down_revision = '0110'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resident_representation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('tenant_code', sa.String(length=6), nullable=False),
        sa.Column('representative_id', sa.Integer(), nullable=False),
        sa.Column('represented_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('parental', 'guardian', name='representationkind', native_enum=False, length=32,
                                  create_constraint=True), nullable=False),
        sa.Column('evidence', sa.Enum('family_register', 'guardianship_certificate', 'court_decision',
                                      name='representationevidence', native_enum=False, length=32), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=255), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=255), nullable=False),
        sa.Column('ended_reason', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['representative_id'], ['resident.id'],
                                name=op.f('fk_resident_representation_representative_id_resident')),
        sa.ForeignKeyConstraint(['represented_id'], ['resident.id'],
                                name=op.f('fk_resident_representation_represented_id_resident')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resident_representation')),
    )
    for column in ('tenant_code', 'representative_id', 'represented_id'):
        op.create_index(op.f(f'ix_resident_representation_{column}'), 'resident_representation', [column], unique=False)


def downgrade() -> None:
    for column in ('represented_id', 'representative_id', 'tenant_code'):
        op.drop_index(op.f(f'ix_resident_representation_{column}'), table_name='resident_representation')
    op.drop_table('resident_representation')
