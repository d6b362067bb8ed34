"""Each watched user's last day checked in full, so that a run catches up the days missed.

After an outage of the CBS (or of cbsalert), or a day a user could not be checked, the
next run checks the days in between as well (``catch_up_days``). An existing installation
has no record yet: its first run after the upgrade catches up nothing, as a new one.

Revision ID: 0006_checked_days
Revises: 0004_notified_severity
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_checked_days"
down_revision: str | None = "0005_carried_jobs"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "checked_days",
        sa.Column("login", sa.String(255), primary_key=True),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("checked_days")
