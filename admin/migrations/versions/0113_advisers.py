"""Advisers (issue 58 item 6): secretariat_adviser, the people members consult (fields of expertise, hours per
month), and secretariat_consultation, a member's booking with one and, once recorded, its outcome.

Revision ID: 0113
Revises: 0112
Create Date: 2026-11-27 06:30:00
"""
import sqlalchemy as sa
from alembic import op


revision = '0113'
down_revision = '0112'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'secretariat_adviser',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('fields', sa.String(length=500), nullable=False),
        sa.Column('monthly_hours', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_adviser')),
    )
    op.create_table(
        'secretariat_consultation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('adviser_id', sa.Integer(), nullable=False),
        sa.Column('member_number', sa.String(length=13), nullable=False),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hours', sa.Integer(), nullable=False),
        sa.Column('topic', sa.String(length=500), nullable=False),
        sa.Column('status', sa.Enum('booked', 'held', 'cancelled', name='consultationstatus', native_enum=False,
                                    length=16, create_constraint=True), nullable=False),
        sa.Column('outcome', sa.Text(), server_default='', nullable=False),
        sa.Column('booked_by', sa.String(length=200), nullable=False),
        sa.Column('booked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=200), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['adviser_id'], ['secretariat_adviser.id'],
                                name=op.f('fk_secretariat_consultation_adviser_id_secretariat_adviser')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_secretariat_consultation')),
    )
    for column in ('adviser_id', 'member_number', 'starts_at', 'status'):
        op.create_index(op.f(f'ix_secretariat_consultation_{column}'), 'secretariat_consultation', [column], unique=False)


def downgrade() -> None:
    for column in ('status', 'starts_at', 'member_number', 'adviser_id'):
        op.drop_index(op.f(f'ix_secretariat_consultation_{column}'), table_name='secretariat_consultation')
    op.drop_table('secretariat_consultation')
    op.drop_table('secretariat_adviser')
