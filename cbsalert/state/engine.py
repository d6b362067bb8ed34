"""The state database's URL and engine, and the database engines' quirks absorbed once.

Every expected failure (bad URL, missing driver, unreadable or read-only file, full disk,
unreachable server) becomes a ``StateError`` whose message never shows a password. SQLite
needs two fixes to behave like the transactional database the store assumes: transactions
that start when we say (``BEGIN``, ``BEGIN IMMEDIATE`` for writers), and a new file created
readable by its owner only.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import Connection, make_url

from cbsalert.configpath import resolve
from cbsalert.errors import StateError, redact

# SQLite waits this long for another writer (the heartbeat, a second run) before giving up.
SQLITE_BUSY_TIMEOUT_S = 30.0
_BEGIN_OPTION = "cbsalert_sqlite_begin"


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


def missing_sqlite_file(engine: Engine) -> bool:
    """Whether connecting would create a new, empty SQLite file (which a dry run, ``doctor``
    and the commands that read stored state must not)."""
    if engine.dialect.name != "sqlite":
        return False
    path = engine.url.database or ""
    return path not in ("", ":memory:") and not path.startswith("file:") and not Path(path).exists()


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
