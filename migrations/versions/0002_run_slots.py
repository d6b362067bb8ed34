"""Scheduled run slots: which instance did which scheduled run (two `serve` instances).

Revision ID: 0002_run_slots
Revises: 0001_initial
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_run_slots"
down_revision: str | None = "0001_initial"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_slots",
        sa.Column("slot", sa.String(100), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_run_slots_started_at", "run_slots", ["started_at"])


def downgrade() -> None:
    op.drop_index("ix_run_slots_started_at", table_name="run_slots")
    op.drop_table("run_slots")
