"""uncompressed job payloads

Job inputs and result values are written once, read a few times and deleted after the retention
age. PostgreSQL's default TOAST compression (pglz) costs more than it saves on them: a 20 MB result
took 780 ms to insert compressed and 145 ms uncompressed, a 0.8 MB input 16 ms and 9 ms. STORAGE
EXTERNAL keeps them out of line, uncompressed. Only the catalog changes (no table rewrite); rows
already stored stay as they are. Nothing to do on SQLite.

Revision ID: 8e4b2c6d1a57
Revises: 5c1d7e3a8f20
Create Date: 2026-11-28 14:00:00
"""

from __future__ import annotations

from alembic import op

revision = "8e4b2c6d1a57"
down_revision = "5c1d7e3a8f20"
branch_labels = None
depends_on = None


def _storage(mode: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"ALTER TABLE gp_jobs ALTER COLUMN inputs SET STORAGE {mode}")
    op.execute(f"ALTER TABLE gp_job_results ALTER COLUMN value SET STORAGE {mode}")


def upgrade() -> None:
    _storage("EXTERNAL")


def downgrade() -> None:
    _storage("EXTENDED")
