"""Deliveries remember how many parts of a split message went out, and which split.

A Slack digest split into several messages that fails partway is resumed from the first
part not sent, instead of posting the sent parts again; ``parts_key`` fingerprints the
parts, so a retry that renders them differently starts over instead of skipping any.

Revision ID: 0003_delivery_parts
Revises: 0002_run_slots
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_delivery_parts"
down_revision: str | None = "0002_run_slots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("parts_sent", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("parts_key", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("parts_key")
        batch.drop_column("parts_sent")
