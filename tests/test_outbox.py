"""The outbox on a real database (SQLite, and PostgreSQL when CBSALERT_TEST_PG_URL is set):
a delivery is owed until sent, retried within its attempts, claimed only under the run lock,
and never sent twice by two runs at once.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest

from cbsalert.errors import LockTimeoutError, StateError
from cbsalert.state import HeldLock, StateStore
from tests.state_helpers import (  # fixtures by name (db_url, store)
    backup,
    backup_rule,
    check,
    claim,
    morning,
    rules_of,
)
from tests.state_helpers import (
    db_url as db_url,
)
from tests.state_helpers import (
    store as store,
)


def test_delivery_is_pending_until_sent_and_then_never_again(store: StateStore) -> None:
    [delivery_id] = store.outbox.enqueue([("ops", {"alerts": []}, [])], now=morning(1))
    [owed] = claim(store, morning(1), max_attempts=5)
    assert (owed.id, owed.notifier, owed.attempts) == (delivery_id, "ops", 1)
    store.outbox.mark_sent(owed.id, now=morning(1))
    assert claim(store, morning(2), max_attempts=5) == []


def test_failed_delivery_is_retried_on_each_claim_until_max_attempts(store: StateStore) -> None:
    check(store, 1, backup(1))
    for attempt in (1, 2, 3):
        [owed] = claim(store, morning(attempt), max_attempts=3)
        assert owed.attempts == attempt
        store.outbox.mark_failed(owed.id, f"timeout #{attempt}", permanent=False)
    assert claim(store, morning(4), max_attempts=3) == []
    [alert] = store.list_alerts()
    assert (alert["failed_deliveries"], alert["last_delivery_error"]) == (1, "timeout #3")


def test_failing_notifier_does_not_hold_back_the_others(store: StateStore) -> None:
    check(store, 1, backup(1), rules=rules_of(backup_rule(notify=["ops", "mail"])))
    first = claim(store, morning(1))
    assert sorted(d.notifier for d in first) == ["mail", "ops"]
    for delivery in first:
        if delivery.notifier == "ops":
            store.outbox.mark_failed(delivery.id, "503 from Slack", permanent=False)
        else:
            store.outbox.mark_sent(delivery.id, now=morning(1))
    assert [(d.notifier, d.attempts) for d in claim(store, morning(2))] == [("ops", 2)]


def test_permanent_failure_is_not_retried_every_run_but_daily_and_stays_visible(
    store: StateStore,
) -> None:
    check(store, 1, backup(1))
    [owed] = claim(store, morning(1), max_attempts=2)
    store.outbox.mark_failed(owed.id, "channel_not_found", permanent=True)
    for hours in (1, 6, 12):
        assert claim(store, morning(1) + timedelta(hours=hours), max_attempts=2) == []
    [again] = claim(store, morning(2), max_attempts=2)  # a day later: someone may have fixed it
    assert again.attempts == 2
    store.outbox.mark_failed(again.id, "channel_not_found", permanent=True)
    assert claim(store, morning(3), max_attempts=2) == []  # out of attempts
    [alert] = store.list_alerts()
    assert alert["failed_deliveries"] == alert["permanent_failures"] == 1
    assert alert["last_delivery_error"] == "channel_not_found"


def test_claiming_without_the_run_lock_is_refused(store: StateStore) -> None:
    store.outbox.enqueue([("ops", {}, [])], now=morning(1))
    with pytest.raises(StateError, match="must hold the run lock"):
        store.outbox.claim_owed(HeldLock("me"), max_attempts=5, now=morning(1))
    with store.lock.hold("other", timeout_s=1), pytest.raises(StateError):
        store.outbox.claim_owed(HeldLock("me"), max_attempts=5, now=morning(1))


def test_two_runs_at_once_never_send_the_same_delivery(db_url: str, store: StateStore) -> None:
    store.outbox.enqueue([("ops", {"n": i}, []) for i in range(40)], now=morning(1))
    got: dict[str, list[int]] = {}

    def run(name: str) -> None:
        mine = StateStore(db_url)
        with mine.lock.hold(name, timeout_s=20) as lock:
            owed = mine.outbox.claim_owed(lock, max_attempts=5, now=morning(1))
            got[name] = [d.id for d in owed]
            for delivery_id in got[name]:
                mine.outbox.mark_sent(delivery_id, now=morning(1))
        mine.close()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("cron", "serve")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got["cron"] + got["serve"]) == list(range(1, 41))
    assert [] in (got["cron"], got["serve"])


CRASH = """
import os, signal, sys
from datetime import UTC, datetime
from cbsalert.state import StateStore
store = StateStore(sys.argv[1])
with store.lock.hold("killed-run", timeout_s=10, ttl_s=60) as lock:
    print(len(store.outbox.claim_owed(lock, max_attempts=5, now=datetime.now(UTC))), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""


def test_delivery_claimed_by_a_killed_run_is_owed_again_once_its_lock_expires(
    db_url: str, store: StateStore
) -> None:
    store.outbox.enqueue([("ops", {"alerts": []}, [])], now=datetime.now(UTC))
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH, db_url], capture_output=True, text=True, timeout=60
    )
    assert (crashed.returncode, crashed.stdout) == (-signal.SIGKILL, "1\n"), crashed.stderr
    with pytest.raises(LockTimeoutError, match="killed-run"), store.lock.hold("next", 0.3):
        pass
    later = datetime.now(UTC) + timedelta(seconds=61)
    after_ttl = StateStore(db_url, clock=lambda: later)
    with after_ttl.lock.hold("next", timeout_s=0) as lock:
        after_ttl.outbox.requeue_interrupted(lock)
        [owed] = after_ttl.outbox.claim_owed(lock, max_attempts=5, now=later)
    after_ttl.close()
    assert owed.attempts == 2
