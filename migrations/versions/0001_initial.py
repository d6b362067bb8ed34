"""Initial state schema: alerts, transitions, deliveries, silences, seen sets, run lock.

Revision ID: 0001_initial
Revises:
Create Date: 2024-06-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(50), nullable=False),
        sa.Column("severity", sa.String(20), nullable=False),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("backup_set_id", sa.String(255), nullable=True),
        sa.Column("backup_set_name", sa.String(500), nullable=True),
        sa.Column("destination_id", sa.String(255), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("since", sa.DateTime(), nullable=False),
        sa.Column("since_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("last_fired_day", sa.Date(), nullable=False),
        sa.Column("last_notified_at", sa.DateTime(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.UniqueConstraint("key", name="uq_alerts_key"),
    )
    op.create_index("ix_alerts_state", "alerts", ["state"])

    op.create_table(
        "transitions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("alert_id", sa.Integer(), sa.ForeignKey("alerts.id"), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    )
    op.create_index("ix_transitions_alert_id", "transitions", ["alert_id"])

    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("notifier", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("claimed_by", sa.String(200), nullable=True),
        sa.Column("claim_token", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_attempt_at", sa.DateTime(), nullable=True),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["status"])
    op.create_index("ix_deliveries_claim_token", "deliveries", ["claim_token"])

    op.create_table(
        "delivery_alerts",
        sa.Column("delivery_id", sa.Integer(), sa.ForeignKey("deliveries.id"), primary_key=True),
        sa.Column("alert_key", sa.String(1000), primary_key=True),
    )
    op.create_index("ix_delivery_alerts_alert_key", "delivery_alerts", ["alert_key"])

    op.create_table(
        "silences",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("rule", sa.String(200), nullable=False),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("backup_set", sa.String(500), nullable=True),
        sa.Column("until", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_silences_until", "silences", ["until"])

    op.create_table(
        "seen_sets",
        sa.Column("login", sa.String(255), primary_key=True),
        sa.Column("set_id", sa.String(255), primary_key=True),
        sa.Column("set_name", sa.String(500), nullable=False),
        sa.Column("first_seen", sa.Date(), nullable=False),
        sa.Column("last_seen", sa.Date(), nullable=False),
    )
    op.create_index("ix_seen_sets_login_last_seen", "seen_sets", ["login", "last_seen"])

    run_lock = op.create_table(
        "run_lock",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("holder", sa.String(200), nullable=True),
        sa.Column("acquired_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
    )
    # The lock is claimed by UPDATE ... WHERE holder IS NULL OR expired: the row must exist.
    op.bulk_insert(run_lock, [{"name": "run", "holder": None}])


def downgrade() -> None:
    for table in (
        "run_lock",
        "seen_sets",
        "silences",
        "delivery_alerts",
        "deliveries",
        "transitions",
        "alerts",
    ):
        op.drop_table(table)
