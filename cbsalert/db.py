"""The state database: its tables, the engine, and Alembic migrations.

The tables mirror ``migrations/versions``; ``tests/test_state.py`` compares the two so they
cannot drift. Times are stored as naive UTC (``UtcDateTime``), which reads back the same on
SQLite and PostgreSQL. Every expected failure (bad URL, unreadable or read-only file, full
disk, unreachable server) becomes a ``StateError`` whose message never shows a password.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    exc,
    inspect,
    text,
)
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from cbsalert.configpath import resolve
from cbsalert.errors import StateError, redact

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

# SQLite waits this long for another writer (the heartbeat, a second run) before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0
_BEGIN_OPTION = "cbsalert_sqlite_begin"


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


class RunLock(Base):
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


# -- engine -----------------------------------------------------------------------------------


def safe_url(url: str) -> str:
    """The URL as it may be shown: password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except exc.ArgumentError:
        return "<unparsable database URL>"


def url_secrets(url: str) -> list[str]:
    """The password in a URL, for redaction of driver messages."""
    try:
        password = make_url(url).password
    except exc.ArgumentError:
        return []
    return [str(password)] if password else []


def state_url(url: str, folder: Path | None = None) -> str:
    """``url`` once it parses and its driver imports, with a relative SQLite file resolved
    against ``folder`` (the config file's), as every path in a config is.

    The one check of a state URL: ``validate`` (through the config) and every command that
    opens the store ask the same question, so ``validate`` never passes a URL that
    ``check`` refuses. Raises ``StateError`` saying what is wrong, never the password.
    """
    try:
        parsed = make_url(url)
    except exc.ArgumentError:
        raise _unusable(url, "not a database URL (like sqlite:///cbsalert.db or "
                        "postgresql+psycopg://user@host/cbsalert)") from None  # fmt: skip
    try:
        parsed.get_dialect().import_dbapi()
    except exc.NoSuchModuleError:
        raise _unusable(url, f"unknown database {parsed.drivername!r}") from None
    except ImportError as error:
        raise _unusable(url, f"its driver is not installed ({error})") from None
    file = parsed.database or ""
    plain_file = file not in ("", ":memory:") and not file.startswith("file:")  # not a URI
    if parsed.get_backend_name() == "sqlite" and plain_file:
        resolved = resolve(file, folder)
        if resolved != file:
            return parsed.set(database=resolved).render_as_string(hide_password=False)
    return url


def _unusable(url: str, reason: object) -> StateError:
    return StateError(f"cannot use state database {safe_url(url)}: {reason}")


def create_state_engine(url: str) -> Engine:
    """An engine; for SQLite, one whose transactions really are transactions.

    pysqlite starts transactions lazily and upgrades read locks to write locks mid-way,
    which SQLite answers with an immediate "database is locked" when another connection
    writes at the same time. We emit BEGIN ourselves (``BEGIN IMMEDIATE`` for writers, see
    ``writer``), so a second writer waits for the busy timeout instead.
    """
    parsed = make_url(state_url(url))
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = create_engine(parsed, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})
            _fix_sqlite_transactions(engine)
            event.listen(engine, "do_connect", _create_private_file)
            return engine
        return create_engine(parsed, pool_pre_ping=True)
    except exc.ArgumentError as error:
        raise _unusable(url, error) from None


def _fix_sqlite_transactions(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(_BEGIN_OPTION, "BEGIN"))


def _create_private_file(_dialect: Any, _record: Any, cargs: list[Any], cparams: Any) -> None:
    """Create a new SQLite file readable by its owner only, before SQLite creates it 0644
    (less the umask): it names every customer whose backups fail. SQLite gives its journal
    and WAL files the mode of the database file. An existing file keeps the mode its owner
    gave it; a path that cannot be created is left to SQLite to report."""
    path = str(cargs[0]) if cargs else ""
    if path in ("", ":memory:") or cparams.get("uri"):
        return
    with suppress(OSError):  # it exists (keep its mode), or SQLite will say why it cannot open it
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def writer(engine: Engine) -> Engine:
    """The same engine, but transactions take SQLite's write lock at once."""
    return engine.execution_options(**{_BEGIN_OPTION: "BEGIN IMMEDIATE"})


@contextmanager
def translate_errors(url: str, action: str, secrets: Sequence[str] = ()) -> Iterator[None]:
    """Turn the database failures a user can cause into a readable ``StateError``."""
    try:
        yield
    except (exc.OperationalError, exc.DatabaseError, exc.InterfaceError) as error:
        detail = str(error.orig) if error.orig is not None else str(error)
        detail = redact(
            detail.strip().splitlines()[0] if detail.strip() else "", [*url_secrets(url), *secrets]
        )
        raise StateError(f"cannot {action} state database {safe_url(url)}: {detail}") from None


# -- migrations -------------------------------------------------------------------------------


def migrations_dir() -> Path:
    """Inside an installed wheel ``cbsalert/migrations``; in a checkout ``./migrations``."""
    packaged = resources.files("cbsalert") / "migrations"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "migrations"


# The newest revision in migrations/versions; tests/test_state.py checks it against Alembic.
# Knowing it here lets every run see that the schema is current without importing Alembic
# (11 MB of a check's memory, and a tenth of a second).
HEAD_REVISION = "0006_checked_days"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic configured in code: no alembic.ini is shipped, and the URL stays out of it."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The head as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _revision(connection: Connection) -> str | None:
    """The schema's revision: the one row of ``alembic_version``, as Alembic keeps it."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:
        raise StateError(f"the state database has {len(found)} schema revisions: {found}")
    return found[0] if found else None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is there already."""
    url = engine.url.render_as_string(hide_password=False)
    with translate_errors(url, "upgrade"), writer(engine).begin() as connection:
        current = _revision(connection)
        if revision == "head" and current == HEAD_REVISION:
            return  # the usual case on every `check`: skip Alembic's start-up and log lines
        from alembic import command
        from alembic.util.exc import CommandError

        log.info("upgrading the state database %s from revision %s", safe_url(url), current)
        try:
            command.upgrade(alembic_config(connection), revision)
        except CommandError as error:  # e.g. a revision from a newer cbsalert
            raise StateError(f"cannot upgrade state database {safe_url(url)}: {error}") from None


def check_revision(engine: Engine) -> None:
    """Raise ``StateError`` unless the schema is exactly the one this cbsalert knows."""
    url = engine.url.render_as_string(hide_password=False)
    with translate_errors(url, "read"):
        current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    from alembic.script import ScriptDirectory

    head = head_revision()
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    where = safe_url(url)
    if current is not None and current not in known:
        raise StateError(
            f"state database {where} has schema revision {current}, newer than this cbsalert "
            "knows: upgrade cbsalert"
        )
    raise StateError(
        f"state database {where} is at schema revision {current or 'none'}, "
        f"this cbsalert needs {head}: run `cbsalert db upgrade`"
    )
