"""The run lock and scheduled-run slots: one run at a time per state database.

A run holds the lock from before its first CBS call to its last delivery, so overlapping
runs (cron and ``serve``, or two ``serve`` instances on one PostgreSQL) neither send twice
nor load the CBS twice. The lock is a row claimed with a conditional UPDATE, which works on
every backend, kept alive by a heartbeat thread.

Taking the lock does nothing else: what a new holder may now do (requeue the deliveries an
earlier run left half-sent, claim owed ones) is the outbox's job, which asks a ``HeldLock``
to ``confirm`` in its own transaction that the lock is still held.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from cbsalert.errors import LockTimeoutError, StateError
from cbsalert.state.storage import Storage, iso, rowcount
from cbsalert.state.tables import RunLockRow, RunSlot

log = logging.getLogger(__name__)

LOCK_NAME = "run"


def holder_id(label: str = "run") -> str:
    """A lock holder name unique to this process and call, readable in messages."""
    return f"{label}@{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


_HOLDER = re.compile(r"^(?:[^@]*@)?(?P<host>[^:@]+):(?P<pid>\d+)(?::[0-9a-f]+)?$")


def _dead_local_holder(holder: str) -> bool:
    """Whether a lock holder (``host:pid`` or ``holder_id()``) names a process on this
    host that has exited. Unknown formats, other hosts and live processes are not dead."""
    match = _HOLDER.match(holder)
    if match is None or match.group("host") != socket.gethostname():
        return False
    pid = int(match.group("pid"))
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # e.g. PermissionError: it exists, under another user
        return False
    return False


@dataclass(frozen=True)
class HeldLock:
    """The run lock as ``RunLock.hold`` hands it to its holder. Work that only the holder may
    do asks it to ``confirm``, inside that work's own transaction: a lock that expired and
    was taken over by another run is refused there, atomically."""

    holder: str

    def confirm(self, s: Session, doing: str) -> None:
        """Raise ``StateError`` unless ``holder`` holds the lock; the row stays locked (FOR
        UPDATE) until ``s`` ends, so no other run can take it over meanwhile."""
        query = select(RunLockRow.holder).where(RunLockRow.name == LOCK_NAME).with_for_update()
        if s.scalar(query) != self.holder:
            raise StateError(f"{self.holder} must hold the run lock to {doing}")


class RunLock:
    """The ``run_lock`` table: one holder at a time, kept alive while held."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    @contextmanager
    def hold(self, holder: str, timeout_s: float, ttl_s: float = 600.0) -> Iterator[HeldLock]:
        """Hold the database-wide run lock; wait up to ``timeout_s``, then LockTimeoutError.

        The lock is a row claimed with a conditional UPDATE and kept alive by a heartbeat
        thread; a holder that was killed stops beating and its lock expires after ``ttl_s``.
        """
        deadline = time.monotonic() + timeout_s
        while not self._try_lock(holder, ttl_s):
            left = deadline - time.monotonic()
            if left <= 0:
                raise LockTimeoutError(self._lock_message(timeout_s))
            time.sleep(min(0.2, left))
        stop = threading.Event()
        beat = threading.Thread(
            target=self._heartbeat, args=(holder, ttl_s, stop), name="cbsalert-lock", daemon=True
        )
        beat.start()
        try:
            yield HeldLock(holder)
        finally:
            stop.set()
            beat.join()
            try:
                with self._storage.write() as s:
                    s.execute(
                        update(RunLockRow)
                        .where(RunLockRow.name == LOCK_NAME, RunLockRow.holder == holder)
                        .values(holder=None, acquired_at=None, expires_at=None)
                    )
            except StateError as error:  # it expires after ttl_s; don't hide the real error
                log.warning("could not release the run lock: %s", error)

    def _try_lock(self, holder: str, ttl_s: float) -> bool:
        """Claim the lock row: free, expired, or held by a process on this host that no
        longer exists (a run killed by SIGKILL or the OOM killer must not block the next
        cron run for ``ttl_s``).
        """
        now = self._storage.now()
        with self._storage.write() as s:
            free = or_(RunLockRow.holder.is_(None), RunLockRow.expires_at <= now)
            current = s.scalar(select(RunLockRow.holder).where(RunLockRow.name == LOCK_NAME))
            if current is not None and _dead_local_holder(current):
                free = or_(free, RunLockRow.holder == current)
            result = s.execute(
                update(RunLockRow)
                .where(RunLockRow.name == LOCK_NAME, free)
                .values(holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=ttl_s))
            )
            if rowcount(result) != 1:
                return False
            if current is not None:
                log.warning("took over the run lock from %s: that run is gone", current)
            return True

    def _heartbeat(self, holder: str, ttl_s: float, stop: threading.Event) -> None:
        while not stop.wait(max(ttl_s / 3, 0.05)):
            try:
                now = self._storage.now()
                with self._storage.write() as s:
                    result = s.execute(
                        update(RunLockRow)
                        .where(RunLockRow.name == LOCK_NAME, RunLockRow.holder == holder)
                        .values(expires_at=now + timedelta(seconds=ttl_s))
                    )
                if rowcount(result) != 1:
                    log.error("lost the run lock (%s): another run took it over", holder)
                    return
            except StateError as error:
                log.warning("could not renew the run lock: %s", error)

    def _lock_message(self, timeout_s: float) -> str:
        with self._storage.read() as s:
            row = s.get(RunLockRow, LOCK_NAME)
            holder, since = (row.holder, row.acquired_at) if row else (None, None)
        return (
            f"another cbsalert run holds the state database lock ({holder or 'unknown'}, "
            f"since {iso(since) or 'unknown'}); gave up after {timeout_s:g} s"
        )


class RunSlots:
    """The ``run_slots`` table: which instance did each scheduled run."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def claim(self, slot: str, holder: str, *, now: datetime) -> bool:
        """Claim the scheduled run ``slot`` (its fire time) for ``holder``, who holds the
        run lock. False when another instance has already done it; a slot whose run died
        before finishing is taken over, so its work is not lost."""
        with self._storage.write() as s:
            row = s.get(RunSlot, slot)
            if row is not None and row.finished_at is not None:
                return False
            if row is None:
                s.add(RunSlot(slot=slot, holder=holder, started_at=now))
            else:
                log.warning("taking over scheduled run %s from %s, which died", slot, row.holder)
                row.holder, row.started_at = holder, now
            return True

    def finish(self, slot: str, *, now: datetime) -> None:
        with self._storage.write() as s:
            s.execute(update(RunSlot).where(RunSlot.slot == slot).values(finished_at=now))

    def prune(self, cutoff: datetime) -> None:
        with self._storage.write() as s:
            s.execute(delete(RunSlot).where(RunSlot.started_at < cutoff))
