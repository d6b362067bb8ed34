"""Job history: every job a check looked at, every expected set that did not run, every user
that could not be checked, one row per (login, set, destination, day, job), kept
``history_days`` (issue 18.1). What the history rule kinds compare a job with, and what the
report's grid of users x sets x days is made of.

The indexes are chosen for the queries that read it, so none of them scans the table
(``tests/test_jobhistory_store.py`` asks SQLite's EXPLAIN QUERY PLAN):

* ``ix_job_history_login_day`` (login, day): the history rules' window, "these users' rows
  of the N days before D", read a chunk of users at a time while a check fetches; replacing
  a user's day when it is checked again; backfill's "which days does this user have". Login
  first, then day: one range per user, whatever its sets (a (login, set, destination, day)
  index would make the window read every day of a user's sets, as the rules ask for all of
  them at once).
* ``ix_job_history_day`` (day): the report's grid ("every row of the last 14 days") and
  pruning after ``history_days``.

Revision ID: 0008_job_history
Revises: 0006_checked_days
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_job_history"
# 0007 (first failed day) is written at the same time on another branch: this revision
# follows whichever is the head when the two are merged.
down_revision: str | None = "0006_checked_days"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTS = (
    "errors", "warnings", "new_files", "updated_files", "deleted_files", "moved_files",
    "new_size", "updated_size", "deleted_size", "moved_size", "dedupe_original_size",
)  # fmt: skip


def upgrade() -> None:
    op.create_table(
        "job_history",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("login", sa.String(255), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("backup_set_id", sa.String(255), nullable=False),
        sa.Column("backup_set_name", sa.String(500), nullable=True),
        sa.Column("destination_id", sa.String(255), nullable=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("job_id", sa.String(255), nullable=True),
        sa.Column("mode", sa.String(500), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("status", sa.String(500), nullable=True),
        sa.Column("start_time", sa.DateTime(), nullable=True),
        sa.Column("end_time", sa.DateTime(), nullable=True),
        sa.Column("duration_s", sa.BigInteger(), nullable=True),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in _COUNTS),
        sa.Column("recorded_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_job_history_login_day", "job_history", ["login", "day"])
    op.create_index("ix_job_history_day", "job_history", ["day"])


def downgrade() -> None:
    op.drop_index("ix_job_history_day", table_name="job_history")
    op.drop_index("ix_job_history_login_day", table_name="job_history")
    op.drop_table("job_history")
