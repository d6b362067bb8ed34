"""The one storage object every part of the state store takes: engine, transactions, clock.

Each part (alerts, outbox, run lock, ...) reads and writes only through ``read()`` and
``write()`` here, so every expected database failure becomes a readable ``StateError`` that
never shows a password.

A transaction opened while another is open on the same storage, in the same thread, *joins*
it: that is how ``StateStore`` makes several parts' writes one atomic step (a run's alert
changes, the messages they owe and the days checked) without the parts knowing each other.
A write cannot join a read: that is a programming error, not a database failure.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Result
from sqlalchemy.orm import Session

from cbsalert.errors import redact
from cbsalert.state.engine import create_state_engine, translate_errors, url_secrets, writer

CHUNK = 500  # keys per IN (...): well under SQLite's and PostgreSQL's parameter limits
NO_SYNC = {"synchronize_session": False}


class Storage:
    """The engine, a writer that takes SQLite's write lock at once, the secrets to redact
    and the clock."""

    def __init__(
        self,
        url: str,
        *,
        secrets: Sequence[str] = (),
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        self._secrets = [*secrets, *url_secrets(url)]
        self.engine = create_state_engine(url)
        self._writer = writer(self.engine)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._open = threading.local()  # the transaction open in this thread, if any

    def now(self) -> datetime:
        return self._clock()

    def redact(self, text: str) -> str:
        """``text`` without the configured secrets or the database password."""
        return redact(text, self._secrets)

    def close(self) -> None:
        self.engine.dispose()

    def read(self) -> AbstractContextManager[Session]:
        """A read transaction (or the one already open in this thread)."""
        return self._transaction(write=False)

    def write(self) -> AbstractContextManager[Session]:
        """A write transaction, holding SQLite's write lock from its start (or the write
        transaction already open in this thread)."""
        return self._transaction(write=True)

    @contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Session]:
        joined: tuple[Session, bool] | None = getattr(self._open, "current", None)
        if joined is not None:
            session, writing = joined
            if write and not writing:
                raise RuntimeError("a write transaction cannot join a read transaction")
            yield session
            return
        engine, action = (self._writer, "write") if write else (self.engine, "read")
        with (
            translate_errors(self.url, action, self._secrets),
            Session(engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            self._open.current = (session, write)
            try:
                yield session
            finally:
                self._open.current = None


def chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def rowcount(result: Result[Any]) -> int:
    return cast(CursorResult[Any], result).rowcount


def iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
