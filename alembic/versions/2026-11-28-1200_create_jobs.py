"""create jobs

Revision ID: 2a6f0c1e9b01
Revises:
Create Date: 2026-11-28 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "2a6f0c1e9b01"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gp_jobs",
        sa.Column("id", sa.String(length=33), nullable=False),
        sa.Column("service", sa.String(length=200), nullable=False),
        sa.Column("task", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=True),
        sa.Column("inputs", JSON, nullable=False),
        sa.Column("messages", JSON, nullable=False),
        sa.Column("progress", JSON, nullable=True),
        sa.Column("time_limit", sa.Float(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cancel_requested_at", TIMESTAMP, nullable=True),
        sa.Column("created", TIMESTAMP, nullable=False),
        sa.Column("started", TIMESTAMP, nullable=True),
        sa.Column("heartbeat", TIMESTAMP, nullable=True),
        sa.Column("finished", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gp_jobs")),
    )
    op.create_index(op.f("ix_gp_jobs_status_created"), "gp_jobs", ["status", "created"])
    op.create_index(op.f("ix_gp_jobs_status_heartbeat"), "gp_jobs", ["status", "heartbeat"])
    op.create_index(op.f("ix_gp_jobs_finished"), "gp_jobs", ["finished"])
    op.create_index(op.f("ix_gp_jobs_owner_status"), "gp_jobs", ["owner", "status"])
    op.create_table(
        "gp_job_results",
        sa.Column("job_id", sa.String(length=33), nullable=False),
        sa.Column("param", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("data_type", sa.String(length=100), nullable=False),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("has_z", sa.Boolean(), nullable=False),
        sa.Column("has_m", sa.Boolean(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["gp_jobs.id"], name=op.f("fk_gp_job_results_job_id_gp_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", "param", name=op.f("pk_gp_job_results")),
    )


def downgrade() -> None:
    op.drop_table("gp_job_results")
    op.drop_index(op.f("ix_gp_jobs_owner_status"), table_name="gp_jobs")
    op.drop_index(op.f("ix_gp_jobs_finished"), table_name="gp_jobs")
    op.drop_index(op.f("ix_gp_jobs_status_heartbeat"), table_name="gp_jobs")
    op.drop_index(op.f("ix_gp_jobs_status_created"), table_name="gp_jobs")
    op.drop_table("gp_jobs")
