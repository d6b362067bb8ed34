"""Jobs still running at a check, remembered so that a later check judges them.

A nightly job that runs past the morning check belongs to the day it started; without this
table nobody ever looked at it again (issue 15.2).

Revision ID: 0005_carried_jobs
Revises: 0004_notified_severity
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_carried_jobs"
down_revision: str | None = "0004_notified_severity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "carried_jobs",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("job", sa.Text(), nullable=False),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_carried_jobs_day", "carried_jobs", ["day"])


def downgrade() -> None:
    op.drop_index("ix_carried_jobs_day", table_name="carried_jobs")
    op.drop_table("carried_jobs")
