"""The state database's tables, as SQLAlchemy declares them.

They mirror ``migrations/versions`` (``cbsalert.state.schema``); ``tests/test_state.py``
compares the two so they cannot drift. Times are stored as naive UTC (``UtcDateTime``),
which reads back the same on SQLite and PostgreSQL. Each table belongs to one part of the
store (``cbsalert.state``): alerts and transitions to ``alerts``, deliveries to ``outbox``,
silences, seen sets and checked days to theirs, the run lock and slots to ``runlock``,
carried jobs to ``carried``, job history to ``jobhistory``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; stored naive in UTC on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the state database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


class Base(DeclarativeBase):
    pass


class Alert(Base):
    """One alert identity (``Finding.key``) and where it stands."""

    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("key", name="uq_alerts_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(1000))
    rule: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(50))
    severity: Mapped[str] = mapped_column(String(20))
    login: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(255), default="")
    backup_set_id: Mapped[str | None] = mapped_column(String(255))
    backup_set_name: Mapped[str | None] = mapped_column(String(500))
    destination_id: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(20), index=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime())
    since_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    last_fired_day: Mapped[date] = mapped_column(Date)
    last_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # The severity in the last message about it: a higher one is announced, a lower not.
    notified_severity: Mapped[str | None] = mapped_column(String(20))
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    summary: Mapped[str] = mapped_column(Text, default="")


class Transition(Base):
    """A change of an alert's state (``firing``, ``resolved``), of its severity while firing
    (``escalated``, ``deescalated``), or a reminder (``repeat``)."""

    __tablename__ = "transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    day: Mapped[date] = mapped_column(Date)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text, default="")


class Delivery(Base):
    """One message to one notifier: written before sending, marked after."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    notifier: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), index=True)  # pending/sending/sent/failed
    context: Mapped[str] = mapped_column(Text)  # JSON of build_context(): holds no secret
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Parts of a split message already sent (a Slack digest): a retry resumes after them.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    parts_key: Mapped[str | None] = mapped_column(String(64))  # which split they belong to
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    claim_token: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class DeliveryAlert(Base):
    """Which alerts a delivery speaks about (a digest covers many)."""

    __tablename__ = "delivery_alerts"
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), primary_key=True)
    alert_key: Mapped[str] = mapped_column(String(1000), primary_key=True, index=True)


class Silence(Base):
    """Mutes matching alerts until ``until``; they are still tracked."""

    __tablename__ = "silences"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(200))
    login: Mapped[str] = mapped_column(String(255))
    backup_set: Mapped[str | None] = mapped_column(String(500))
    until: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class SeenSet(Base):
    """Backup sets observed per user, for servers too old for ListBackupSets."""

    __tablename__ = "seen_sets"
    __table_args__ = (Index("ix_seen_sets_login_last_seen", "login", "last_seen"),)
    login: Mapped[str] = mapped_column(String(255), primary_key=True)
    set_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    set_name: Mapped[str] = mapped_column(String(500), default="")
    first_seen: Mapped[date] = mapped_column(Date)
    last_seen: Mapped[date] = mapped_column(Date)


class CheckedDay(Base):
    """A watched user's last day checked in full: every day up to it was checked (or given
    up as older than ``catch_up_days``). A run catches up the days after it."""

    __tablename__ = "checked_days"
    login: Mapped[str] = mapped_column(String(255), primary_key=True)
    last_day: Mapped[date] = mapped_column(Date)
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RunLockRow(Base):
    """One row per lock name; claimed by a conditional UPDATE, so it works on any backend."""

    __tablename__ = "run_lock"
    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str | None] = mapped_column(String(200))
    acquired_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RunSlot(Base):
    """A scheduled run (its fire time) and the instance that did it: with two ``serve``
    instances on one database, each scheduled run is done once. Claimed under the run lock."""

    __tablename__ = "run_slots"
    __table_args__ = (Index("ix_run_slots_started_at", "started_at"),)
    slot: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class CarriedJobRow(Base):
    """A backup job still running at a check, judged at a later one (``cbsalert.carryover``).

    The CBS's ids and names are kept as one JSON document: any string the CBS sends (a NUL,
    ten thousand characters) is stored the same on every backend, and ``key`` (a digest of
    login, day, set and job) keeps one row per job however long its ids are."""

    __tablename__ = "carried_jobs"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date, index=True)  # the day the job belongs to
    job: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())  # the check that saw it running


class JobHistoryRow(Base):
    """One job on one destination and day as a check saw it, an expected set that did not
    run (``missed``) or a user that could not be checked (``unchecked``): the plain data of
    ``cbsalert.jobhistory.HistoryJob``, kept ``history_days``. ``backup_set_id`` is ``""``
    for a row about the user as a whole. Counts and sizes are 64-bit, ``None`` when unknown.
    The indexes serve the queries that read it (see migration 0008)."""

    __tablename__ = "job_history"
    __table_args__ = (
        Index("ix_job_history_login_day", "login", "day"),
        Index("ix_job_history_day", "day"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(255))
    owner: Mapped[str] = mapped_column(String(255))
    backup_set_id: Mapped[str] = mapped_column(String(255))
    backup_set_name: Mapped[str | None] = mapped_column(String(500))
    destination_id: Mapped[str | None] = mapped_column(String(255))
    day: Mapped[date] = mapped_column(Date)
    job_id: Mapped[str | None] = mapped_column(String(255))
    mode: Mapped[str | None] = mapped_column(String(500))
    outcome: Mapped[str] = mapped_column(String(20))
    status: Mapped[str | None] = mapped_column(String(500))
    start_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime())
    duration_s: Mapped[int | None] = mapped_column(BigInteger)
    errors: Mapped[int | None] = mapped_column(BigInteger)
    warnings: Mapped[int | None] = mapped_column(BigInteger)
    new_files: Mapped[int | None] = mapped_column(BigInteger)
    updated_files: Mapped[int | None] = mapped_column(BigInteger)
    deleted_files: Mapped[int | None] = mapped_column(BigInteger)
    moved_files: Mapped[int | None] = mapped_column(BigInteger)
    new_size: Mapped[int | None] = mapped_column(BigInteger)
    updated_size: Mapped[int | None] = mapped_column(BigInteger)
    deleted_size: Mapped[int | None] = mapped_column(BigInteger)
    moved_size: Mapped[int | None] = mapped_column(BigInteger)
    dedupe_original_size: Mapped[int | None] = mapped_column(BigInteger)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime())
