"""The state database's engine and transactions, shared by the parts of the state store.

``StateStore`` (``cbsalert.state.store``) is composed of ``RunLocks``
(``cbsalert.state.runlock``), ``Outbox`` (``cbsalert.state.outbox``) and its own alert
logic; each of them reads and writes through the transactions here, so every expected
database failure becomes a readable ``StateError`` that never shows a password.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result
from sqlalchemy.orm import Session

from cbsalert.errors import redact
from cbsalert.state import engine as db
from cbsalert.state import schema

CHUNK = 500  # keys per IN (...): well under SQLite's and PostgreSQL's parameter limits
NO_SYNC = {"synchronize_session": False}


class Storage:
    """The engine, a writer that takes SQLite's write lock at once, and the clock."""

    def __init__(
        self,
        url: str,
        *,
        secrets: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        self._secrets = [*secrets, *db.url_secrets(url)]
        self.engine = db.create_state_engine(url)
        self._writer = db.writer(self.engine)
        self._clock = clock or (lambda: datetime.now(UTC))

    def upgrade(self) -> None:
        schema.upgrade(self.engine)

    def check_schema(self) -> None:
        schema.check_revision(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def read(self) -> AbstractContextManager[Session]:
        """A read transaction, for the parts composed with this storage."""
        return self._read()

    def write(self) -> AbstractContextManager[Session]:
        """A write transaction, for the parts composed with this storage."""
        return self._write()

    def _read(self) -> AbstractContextManager[Session]:
        return self._transaction(self.engine, "read")

    def _write(self) -> AbstractContextManager[Session]:
        """A transaction that holds SQLite's write lock from its start."""
        return self._transaction(self._writer, "write")

    @contextmanager
    def _transaction(self, engine: Engine, action: str) -> Iterator[Session]:
        with (
            db.translate_errors(self.url, action, self._secrets),
            Session(engine, expire_on_commit=False) as s,
            s.begin(),
        ):
            yield s


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
