"""The run lock on a real database (SQLite, and PostgreSQL when CBSALERT_TEST_PG_URL is set):
one run at a time, a waiting run gives up clearly or gets the lock once it is released, and
a long run keeps its lock by its heartbeat.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import create_engine, select

from cbsalert.errors import LockTimeoutError
from cbsalert.state import StateStore
from cbsalert.state.tables import RunLockRow
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture
from tests.state_helpers import store as store  # the StateStore on it


def _hold_lock(url: str, holder: str, taken: threading.Event, release: threading.Event) -> None:
    store = StateStore(url)
    with store.lock.hold(holder, timeout_s=5):
        taken.set()
        release.wait(10)
    store.close()


@contextmanager
def held_by_cron_run(url: str) -> Iterator[threading.Event]:
    """The run lock held by "cron-run" (another store, in another thread) until the event
    yielded is set, or the block ends."""
    taken, release = threading.Event(), threading.Event()
    first = threading.Thread(target=_hold_lock, args=(url, "cron-run", taken, release))
    first.start()
    try:
        assert taken.wait(10)
        yield release
    finally:
        release.set()
        first.join()


def test_second_run_waits_for_the_lock_then_gives_up_clearly(
    db_url: str, store: StateStore
) -> None:
    with held_by_cron_run(db_url):
        started = time.monotonic()
        timeout = pytest.raises(LockTimeoutError, match=r"cron-run.*gave up after 0\.5 s")
        with timeout, store.lock.hold("serve", timeout_s=0.5):
            pass
        assert time.monotonic() - started >= 0.5
    with store.lock.hold("serve", timeout_s=1):
        pass


def test_waiting_run_gets_the_lock_once_the_other_releases_it(
    db_url: str, store: StateStore
) -> None:
    with held_by_cron_run(db_url) as release:
        threading.Timer(0.3, release.set).start()
        with store.lock.hold("serve", timeout_s=10):
            assert release.is_set()


def test_lock_is_kept_alive_by_its_heartbeat(db_url: str, store: StateStore) -> None:
    """The heartbeat pushes the expiry forward: once it has beaten, the lock outlives the
    TTL it was taken with, and another run cannot take it. Judged by the stored expiry,
    not by sleeping past the TTL, so a loaded machine cannot make it flaky."""
    engine = create_engine(db_url)
    ttl = 3.0
    with store.lock.hold("long-run", timeout_s=1, ttl_s=ttl):
        with engine.connect() as conn:
            acquired, first_expiry = conn.execute(
                select(RunLockRow.acquired_at, RunLockRow.expires_at)
            ).one()
            deadline = time.monotonic() + 30
            expiry = first_expiry
            while expiry == first_expiry and time.monotonic() < deadline:
                time.sleep(0.05)
                expiry = conn.execute(select(RunLockRow.expires_at)).scalar_one()
                conn.rollback()
        assert expiry is not None and acquired is not None
        assert expiry - acquired > timedelta(seconds=ttl)  # the heartbeat extended it
        other = StateStore(db_url)
        with pytest.raises(LockTimeoutError), other.lock.hold("other", timeout_s=0.2):
            pass
        other.close()
    engine.dispose()
