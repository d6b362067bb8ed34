"""Alerts remember the severity people last heard, so that only a worse one is announced.

An alert firing at ``warning`` whose set then fails outright is announced as "got worse";
one that eases, or flaps back to what people already heard, is not. Alerts that people
have heard about are taken to have heard their stored severity.

Revision ID: 0004_notified_severity
Revises: 0003_delivery_parts
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_notified_severity"
down_revision: str | None = "0003_delivery_parts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("notified_severity", sa.String(20), nullable=True))
    op.execute("UPDATE alerts SET notified_severity = severity WHERE last_notified_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("notified_severity")
