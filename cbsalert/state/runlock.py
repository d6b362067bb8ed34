"""The run lock and scheduled-run slots: one run at a time per state database.

A run holds the lock from before its first CBS call to its last delivery, so overlapping
runs (cron and ``serve``, or two ``serve`` instances on one PostgreSQL) neither send twice
nor load the CBS twice. The lock is a row claimed with a conditional UPDATE, which works on
every backend, kept alive by a heartbeat thread.
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
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from cbsalert.errors import LockTimeoutError, StateError
from cbsalert.state.storage import NO_SYNC, Storage, iso, rowcount
from cbsalert.state.tables import Delivery, RunSlot
from cbsalert.state.tables import RunLockRow as RunLock

log = logging.getLogger(__name__)

LOCK_NAME = "run"
INTERRUPTED = "interrupted: the run sending it stopped before recording the result"


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


class RunLocks(Storage):
    """``run_lock`` and the scheduled-run slots of ``StateStore``."""

    @contextmanager
    def run_lock(self, holder: str, timeout_s: float, ttl_s: float = 600.0) -> Iterator[None]:
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
            yield
        finally:
            stop.set()
            beat.join()
            try:
                with self._write() as s:
                    s.execute(
                        update(RunLock)
                        .where(RunLock.name == LOCK_NAME, RunLock.holder == holder)
                        .values(holder=None, acquired_at=None, expires_at=None)
                    )
            except StateError as error:  # it expires after ttl_s; don't hide the real error
                log.warning("could not release the run lock: %s", error)

    def _try_lock(self, holder: str, ttl_s: float) -> bool:
        """Claim the lock row; on success, whatever an earlier run left "sending" is owed
        again (that run is gone: it released the lock, or was killed and its lock expired).

        A lock whose holder was a process on this host that no longer exists is free at
        once: a run killed by SIGKILL or the OOM killer must not block the next cron run
        for ``ttl_s``.
        """
        now = self._clock()
        with self._write() as s:
            free = or_(RunLock.holder.is_(None), RunLock.expires_at <= now)
            current = s.scalar(select(RunLock.holder).where(RunLock.name == LOCK_NAME))
            if current is not None and _dead_local_holder(current):
                free = or_(free, RunLock.holder == current)
            result = s.execute(
                update(RunLock)
                .where(RunLock.name == LOCK_NAME, free)
                .values(holder=holder, acquired_at=now, expires_at=now + timedelta(seconds=ttl_s))
            )
            if rowcount(result) != 1:
                return False
            if current is not None:
                log.warning("took over the run lock from %s: that run is gone", current)
            s.execute(
                update(Delivery)
                .where(Delivery.status == "sending")
                .values(status="failed", last_error=INTERRUPTED, claim_token=None),
                execution_options=NO_SYNC,
            )
            return True

    def _heartbeat(self, holder: str, ttl_s: float, stop: threading.Event) -> None:
        while not stop.wait(max(ttl_s / 3, 0.05)):
            try:
                now = self._clock()
                with self._write() as s:
                    result = s.execute(
                        update(RunLock)
                        .where(RunLock.name == LOCK_NAME, RunLock.holder == holder)
                        .values(expires_at=now + timedelta(seconds=ttl_s))
                    )
                if rowcount(result) != 1:
                    log.error("lost the run lock (%s): another run took it over", holder)
                    return
            except StateError as error:
                log.warning("could not renew the run lock: %s", error)

    def _lock_message(self, timeout_s: float) -> str:
        with self._read() as s:
            row = s.get(RunLock, LOCK_NAME)
            holder, since = (row.holder, row.acquired_at) if row else (None, None)
        return (
            f"another cbsalert run holds the state database lock ({holder or 'unknown'}, "
            f"since {iso(since) or 'unknown'}); gave up after {timeout_s:g} s"
        )

    # -- scheduled run slots -------------------------------------------------------------------

    def claim_slot(self, slot: str, holder: str, *, now: datetime) -> bool:
        """Claim the scheduled run ``slot`` (its fire time) for ``holder``, who holds the
        run lock. False when another instance has already done it; a slot whose run died
        before finishing is taken over, so its work is not lost."""
        with self._write() as s:
            row = s.get(RunSlot, slot)
            if row is not None and row.finished_at is not None:
                return False
            if row is None:
                s.add(RunSlot(slot=slot, holder=holder, started_at=now))
            else:
                log.warning("taking over scheduled run %s from %s, which died", slot, row.holder)
                row.holder, row.started_at = holder, now
            return True

    def finish_slot(self, slot: str, *, now: datetime) -> None:
        with self._write() as s:
            s.execute(update(RunSlot).where(RunSlot.slot == slot).values(finished_at=now))
