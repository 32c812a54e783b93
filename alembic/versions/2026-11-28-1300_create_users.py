"""create users

Revision ID: 5c1d7e3a8f20
Revises: 2a6f0c1e9b01
Create Date: 2026-11-28 13:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "5c1d7e3a8f20"
down_revision = "2a6f0c1e9b01"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gp_users",
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=400), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("token_generation", sa.Integer(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_gp_users")),
    )


def downgrade() -> None:
    op.drop_table("gp_users")
