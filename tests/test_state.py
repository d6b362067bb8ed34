"""StateStore on a real database: a SQLite file always, PostgreSQL when CBSALERT_TEST_PG_URL is set.

For PostgreSQL every test gets a fresh schema (``search_path`` in the URL), dropped after.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, insert
from sqlalchemy.engine import make_url

from cbsalert.errors import LockTimeoutError, StateError
from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context
from cbsalert.rules import RuleBase
from cbsalert.state import HeldLock, OwedDelivery, SilenceNotFoundError, StateStore, open_store
from cbsalert.state import alerts as alerts_module
from cbsalert.state.engine import writer
from cbsalert.state.schema import HEAD_REVISION, current_revision, head_revision, upgrade
from cbsalert.state.tables import Alert, Base
from tests.state_helpers import backup, backup_rule, day, morning, restore, restore_rule, rules_of

PG_ENV = "CBSALERT_TEST_PG_URL"
SECRET = "xoxb-Sup3r-S3cret-T0ken"
TABLES = (
    "alerts", "transitions", "deliveries", "delivery_alerts", "silences", "seen_sets",
    "checked_days",
)  # fmt: skip
RULES = rules_of(backup_rule(), restore_rule())
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state.db'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set (e.g. postgresql+psycopg://user:pw@127.0.0.1/test)")
    schema = f"cbsalert_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    store = StateStore(db_url, secrets=[SECRET])
    store.upgrade()
    yield store
    store.close()


def counts(store: StateStore) -> dict[str, int]:
    with store.engine.connect() as connection:
        return {
            table: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table}").scalar_one()
            for table in TABLES
        }


def plan(events: list[AlertEvent]) -> list[tuple[str, dict[str, Any], list[str]]]:
    """One digest per notifier, as the pipeline makes them."""
    names = sorted({name for e in events for name in e.notify})
    out = []
    for name in names:
        group = [e for e in events if name in e.notify]
        context = build_context(group[0].finding.day, "UTC", group, morning(1))
        out.append((name, context, [e.finding.key for e in group]))
    return out


def check(
    store: StateStore,
    n: int,
    *findings: Finding,
    rules: dict[str, RuleBase] = RULES,
    now: datetime | None = None,
    dry_run: bool = False,
) -> list[AlertEvent]:
    return store.reconcile(
        list(findings),
        rules,
        day=day(n),
        now=now or morning(n),
        checked_logins={"alice"},
        dry_run=dry_run,
        plan=plan,
    )


def claim(store: StateStore, now: datetime, max_attempts: int = 5) -> list[OwedDelivery]:
    """Claim as a run does: holding the run lock, after requeueing what a run left behind."""
    with store.lock.hold("me", timeout_s=5) as lock:
        store.outbox.requeue_interrupted(lock)
        return store.outbox.claim_owed(lock, max_attempts=max_attempts, now=now)


def send_all(store: StateStore, now: datetime) -> list[OwedDelivery]:
    owed = claim(store, now)
    for delivery in owed:
        store.outbox.mark_sent(delivery.id, now=now)
    return owed


def states(owed: list[OwedDelivery]) -> list[list[str]]:
    return [[a["state"] for a in d.context["alerts"]] for d in owed]


# -- schema ---------------------------------------------------------------------------------


def test_upgrade_creates_the_schema_the_models_describe_and_is_idempotent(db_url: str) -> None:
    store = StateStore(db_url)
    store.upgrade()
    store.upgrade()
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    # HEAD_REVISION spares a run from importing Alembic: it must be Alembic's head.
    assert current_revision(store.engine) == head_revision() == HEAD_REVISION
    assert counts(store) == dict.fromkeys(TABLES, 0)
    store.close()
    open_store(db_url, auto_upgrade=False).close()


def test_a_database_from_the_previous_release_is_upgraded_keeping_its_deliveries(
    db_url: str,
) -> None:
    store = StateStore(db_url)
    upgrade(store.engine, "0002_run_slots")
    with writer(store.engine).begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO deliveries (notifier, status, context, attempts, permanent, created_at)"
            " VALUES ('ops', 'failed', '{}', 1, false, '2026-11-22 07:00:00')"
        )
    store.upgrade()
    assert current_revision(store.engine) == HEAD_REVISION
    with store.engine.connect() as connection:
        rows = connection.exec_driver_sql("SELECT status, parts_sent FROM deliveries").all()
    assert [tuple(r) for r in rows] == [("failed", 0)]
    store.close()


def test_an_alert_told_before_the_upgrade_escalates_only_above_what_people_heard(
    db_url: str,
) -> None:
    store = StateStore(db_url)
    upgrade(store.engine, "0003_delivery_parts")
    with writer(store.engine).begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO alerts (key, rule, kind, severity, login, owner, state, since,"
            " since_day, last_day, last_fired_day, last_notified_at, summary) VALUES"
            f" ('{backup(1).key}', 'backup-failed', 'backup_status', 'warning', 'alice', '',"
            " 'firing', '2026-11-21 07:00:00', '2026-11-20', '2026-11-20', '2026-11-20',"
            " '2026-11-21 07:00:00', 'warned')"
        )
    store.upgrade()
    with store.engine.connect() as connection:
        heard = connection.exec_driver_sql("SELECT notified_severity FROM alerts").scalar_one()
    assert heard == "warning"
    assert [e.state for e in check(store, 2, backup(2, severity="warning"))] == ["firing"]
    escalated = check(store, 3, backup(3))
    assert [(e.state, e.previous_severity) for e in escalated] == [("escalated", "warning")]
    store.close()


def test_open_store_upgrades_sqlite_but_asks_for_db_upgrade_elsewhere(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        empty = open_store(db_url, auto_upgrade=False)
        assert check(empty, 1, backup(1), dry_run=True)[0].state == "new"
        empty.close()
        assert not Path(make_url(db_url).database or "").exists()
        store = open_store(db_url, auto_upgrade=True)
        assert current_revision(store.engine) == head_revision()
        store.close()
        return
    with pytest.raises(StateError, match="run `cbsalert db upgrade`"):
        open_store(db_url, auto_upgrade=True)


def test_a_check_on_a_current_schema_does_not_import_alembic(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_store(url, auto_upgrade=True).close()
    code = (
        "import sys; from cbsalert.state import open_store; "
        f"open_store({url!r}, auto_upgrade=True).close(); "
        f"open_store({url!r}, auto_upgrade=False).close(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# -- alerts ---------------------------------------------------------------------------------


def test_set_failing_three_nights_gets_one_message_then_one_resolved(store: StateStore) -> None:
    check(store, 1, backup(1))
    assert states(send_all(store, morning(1))) == [["new"]]
    for n in (2, 3):
        check(store, n, backup(n))
        assert send_all(store, morning(n)) == []
    check(store, 4, backup(4, firing=False))
    assert states(send_all(store, morning(4))) == [["resolved"]]
    assert counts(store)["transitions"] == 2


def test_reminder_goes_out_when_the_repeat_interval_has_passed(store: StateStore) -> None:
    rules = rules_of(backup_rule(repeat_interval="2d"))
    check(store, 1, backup(1), rules=rules)
    check(store, 2, backup(2), rules=rules)
    events = check(store, 3, backup(3), rules=rules)
    assert [(e.state, e.days_failing) for e in events] == [("repeat", 3)]
    assert states(send_all(store, morning(3))) == [["new"], ["repeat"]]


def test_state_change_and_its_messages_are_written_together_or_not_at_all(
    store: StateStore,
) -> None:
    def broken_plan(events: list[AlertEvent]) -> list[tuple[str, dict[str, Any], list[str]]]:
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError):
        store.reconcile(
            [backup(1)], RULES, day=day(1), now=morning(1), checked_logins={"alice"},
            plan=broken_plan,
        )  # fmt: skip
    assert counts(store) == dict.fromkeys(TABLES, 0)
    assert [e.state for e in check(store, 1, backup(1))] == ["new"]
    assert states(send_all(store, morning(1))) == [["new"]]


def test_rerun_of_a_day_and_backfill_of_an_older_day_change_nothing(store: StateStore) -> None:
    check(store, 5, backup(5))
    send_all(store, morning(5))
    before = counts(store)
    assert [e.notify for e in check(store, 5, backup(5), now=morning(5, 90))] == [()]
    check(store, 4, backup(4, firing=False), now=morning(5, 120))
    assert counts(store) == before
    assert [a["state"] for a in store.list_alerts()] == ["firing"]


def test_dry_run_reads_the_state_and_writes_nothing(store: StateStore) -> None:
    check(store, 1, backup(1))
    before = counts(store)
    events = check(store, 2, backup(2, firing=False), backup(2, set_id="S2"), dry_run=True)
    assert sorted((e.state, e.notify) for e in events) == [
        ("new", ("ops",)),
        ("resolved", ("ops",)),
    ]
    assert counts(store) == before
    assert [a["state"] for a in store.list_alerts()] == ["firing"]


def test_failed_restore_resolves_quietly_after_a_week(store: StateStore) -> None:
    check(store, 1, restore(1))
    send_all(store, morning(1))
    events = check(store, 8)
    assert [(e.state, e.notify) for e in events] == [("resolved", ())]
    assert send_all(store, morning(8)) == []
    assert store.list_alerts() == []


def test_silenced_alert_changes_state_but_sends_nothing(store: StateStore) -> None:
    store.silences.add("backup-*", "alice", "S1", morning(3), "disk swap", "ops", now=morning(1))
    events = check(store, 1, backup(1), backup(1, set_id="S2"))
    assert [(e.finding.backup_set_id, e.silenced) for e in events] == [
        ("S1", True),
        ("S2", False),
    ]
    [owed] = send_all(store, morning(1))
    assert owed.alert_keys == (backup(1, set_id="S2").key,)
    assert len(store.list_alerts()) == 2


def test_silences_are_listed_until_they_expire_and_can_be_removed(store: StateStore) -> None:
    now = morning(1)
    keep = store.silences.add("*", "bob", None, now + timedelta(days=1), "away", "ann", now=now)
    old = store.silences.add("x", "y", None, now - timedelta(hours=1), "done", "ann", now=now)
    assert [s["id"] for s in store.silences.listing(now=now)] == [keep]
    listed = store.silences.listing(include_expired=True, now=now)
    assert [(s["id"], s["active"]) for s in listed] == [(old, False), (keep, True)]
    assert listed[1]["reason"] == "away"
    store.silences.remove(keep)
    with pytest.raises(SilenceNotFoundError, match=f"no silence with id {keep}"):
        store.silences.remove(keep)


def test_list_alerts_shows_firing_ones_and_with_all_the_resolved_too(store: StateStore) -> None:
    check(store, 1, backup(1), backup(1, set_id="S2"))
    check(store, 2, backup(2, firing=False))
    [firing] = store.list_alerts()
    assert firing["backup_set_id"] == "S2"
    assert firing["state"] == "firing"
    assert firing["since"] == morning(1).isoformat()
    assert firing["last_seen"] == day(1).isoformat()
    assert firing["summary"].startswith("Backup of 'Set S2' failed")
    assert firing["failed_deliveries"] == 0
    everything = store.list_alerts(include_resolved=True)
    assert sorted(a["state"] for a in everything) == ["firing", "resolved"]


def test_reconcile_loads_only_the_alerts_of_this_runs_findings(
    store: StateStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [
        {"key": f"backup-failed|u{i}|S|D1", "rule": "backup-failed", "kind": "backup_status",
         "severity": "critical", "login": f"u{i}", "owner": "", "state": "resolved",
         "since": morning(1), "since_day": day(1), "last_day": day(1), "last_fired_day": day(1),
         "summary": ""}
        for i in range(5000)
    ]  # fmt: skip
    with writer(store.engine).begin() as connection:
        connection.execute(insert(Alert), rows)
    loaded: list[str] = []
    decide = alerts_module.reconcile_days

    def spy(days: Any, existing: Any, *args: Any, **kwargs: Any) -> Any:
        loaded.extend(existing)
        return decide(days, existing, *args, **kwargs)

    monkeypatch.setattr(alerts_module, "reconcile_days", spy)
    check(store, 2, backup(2), backup(2, login="u7", set_id="S"))
    assert loaded == ["backup-failed|u7|S|D1"]


# -- deliveries -----------------------------------------------------------------------------


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
        store.outbox.mark_failed(
            owed.id, f"timeout #{attempt}", permanent=False, now=morning(attempt)
        )
    assert claim(store, morning(4), max_attempts=3) == []
    [alert] = store.list_alerts()
    assert (alert["failed_deliveries"], alert["last_delivery_error"]) == (1, "timeout #3")


def test_failing_notifier_does_not_hold_back_the_others(store: StateStore) -> None:
    check(store, 1, backup(1), rules=rules_of(backup_rule(notify=["ops", "mail"])))
    first = claim(store, morning(1))
    assert sorted(d.notifier for d in first) == ["mail", "ops"]
    for delivery in first:
        if delivery.notifier == "ops":
            store.outbox.mark_failed(delivery.id, "503 from Slack", permanent=False, now=morning(1))
        else:
            store.outbox.mark_sent(delivery.id, now=morning(1))
    assert [(d.notifier, d.attempts) for d in claim(store, morning(2))] == [("ops", 2)]


def test_permanent_failure_is_not_retried_every_run_but_daily_and_stays_visible(
    store: StateStore,
) -> None:
    check(store, 1, backup(1))
    [owed] = claim(store, morning(1), max_attempts=2)
    store.outbox.mark_failed(owed.id, "channel_not_found", permanent=True, now=morning(1))
    for hours in (1, 6, 12):
        assert claim(store, morning(1) + timedelta(hours=hours), max_attempts=2) == []
    [again] = claim(store, morning(2), max_attempts=2)  # a day later: someone may have fixed it
    assert again.attempts == 2
    store.outbox.mark_failed(again.id, "channel_not_found", permanent=True, now=morning(2))
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


# -- run lock -------------------------------------------------------------------------------


def _hold_lock(url: str, holder: str, taken: threading.Event, release: threading.Event) -> None:
    store = StateStore(url)
    with store.lock.hold(holder, timeout_s=5):
        taken.set()
        release.wait(10)
    store.close()


def test_second_run_waits_for_the_lock_then_gives_up_clearly(
    db_url: str, store: StateStore
) -> None:
    taken, release = threading.Event(), threading.Event()
    first = threading.Thread(target=_hold_lock, args=(db_url, "cron-run", taken, release))
    first.start()
    try:
        assert taken.wait(10)
        started = time.monotonic()
        timeout = pytest.raises(LockTimeoutError, match=r"cron-run.*gave up after 0\.5 s")
        with timeout, store.lock.hold("serve", timeout_s=0.5):
            pass
        assert time.monotonic() - started >= 0.5
    finally:
        release.set()
        first.join()
    with store.lock.hold("serve", timeout_s=1):
        pass


def test_waiting_run_gets_the_lock_once_the_other_releases_it(
    db_url: str, store: StateStore
) -> None:
    taken, release = threading.Event(), threading.Event()
    first = threading.Thread(target=_hold_lock, args=(db_url, "cron-run", taken, release))
    first.start()
    assert taken.wait(10)
    threading.Timer(0.3, release.set).start()
    with store.lock.hold("serve", timeout_s=10):
        assert release.is_set()
    first.join()


def test_lock_is_kept_alive_by_its_heartbeat(db_url: str, store: StateStore) -> None:
    with store.lock.hold("long-run", timeout_s=1, ttl_s=0.5):
        time.sleep(0.9)  # well past the TTL: only the heartbeat keeps the lock
        other = StateStore(db_url)
        with pytest.raises(LockTimeoutError), other.lock.hold("other", timeout_s=0.2):
            pass
        other.close()


# -- sets, pruning, errors, secrets ---------------------------------------------------------


def test_sets_seen_are_remembered_per_user_with_the_last_day_seen(store: StateStore) -> None:
    store.seen.record(day(1), {"alice": {"S1": "Docs", "S2": "Mail"}, "bob": {"S9": "All"}})
    store.seen.record(day(5), {"alice": {"S1": "Documents"}})
    store.seen.record(day(3), {"alice": {"S1": "Old name"}})
    assert store.seen.since(["alice", "bob", "carol"], day(4)) == {
        "alice": {"S1": "Documents"},
        "bob": {},
        "carol": {},
    }
    assert store.seen.since(["alice"], day(1)) == {"alice": {"S1": "Documents", "S2": "Mail"}}


def test_sets_seen_of_more_users_than_one_chunk_are_all_kept(store: StateStore) -> None:
    users = [f"user{i:04d}" for i in range(1234)]  # CHUNK is 500
    store.seen.record(day(1), {u: {"S1": "Docs", "S2": "Mail"} for u in users})
    store.seen.record(day(2), {u: {"S1": "Docs", "S3": "New"} for u in users[::2]})
    seen = store.seen.since(users, day(2))
    assert all(seen[u] == {"S1": "Docs", "S3": "New"} for u in users[::2])
    assert all(seen[u] == {} for u in users[1::2])
    assert store.seen.since(users[:1], day(1)) == {
        users[0]: {"S1": "Docs", "S2": "Mail", "S3": "New"}
    }


def test_prune_forgets_old_resolved_alerts_and_finished_deliveries(store: StateStore) -> None:
    check(store, 1, backup(1), backup(1, set_id="S2"))
    send_all(store, morning(1))
    check(store, 2, backup(2, firing=False))
    send_all(store, morning(2))
    store.outbox.enqueue([("ops", {"alerts": []}, [])], now=morning(2))
    assert store.prune(90, morning(50)) == 0
    assert store.prune(90, morning(2) + timedelta(days=91)) == 1
    assert [a["backup_set_id"] for a in store.list_alerts(include_resolved=True)] == ["S2"]
    remaining = counts(store)
    assert (remaining["transitions"], remaining["deliveries"]) == (1, 1)
    assert [d.notifier for d in claim(store, morning(99), max_attempts=5)] == ["ops"]


def test_no_secret_reaches_the_database(store: StateStore) -> None:
    [delivery_id] = store.outbox.enqueue([("ops", {"text": f"token {SECRET}"}, [])], now=morning(1))
    claim(store, morning(1), max_attempts=5)
    store.outbox.mark_failed(
        delivery_id, f"invalid_auth for {SECRET}", permanent=True, now=morning(1)
    )
    with store.engine.connect() as connection:
        dump = json.dumps(
            [
                [list(map(str, row)) for row in connection.exec_driver_sql(f"SELECT * FROM {t}")]
                for t in TABLES
            ]
        )
    assert "invalid_auth for ***" in dump
    assert SECRET not in dump


def test_read_only_database_gives_a_state_error(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    writable = StateStore(f"sqlite:///{path}")
    writable.upgrade()
    writable.close()
    read_only = StateStore(f"sqlite:///file:{path}?mode=ro&uri=true")
    with pytest.raises(StateError, match=r"cannot write state database .*readonly"):
        read_only.outbox.enqueue([("ops", {}, [])], now=morning(1))
    read_only.close()


def test_database_of_a_newer_cbsalert_is_refused_clearly(db_url: str, store: StateStore) -> None:
    with writer(store.engine).begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(StateError, match="9999_future"):
        store.upgrade()
    with pytest.raises(StateError, match="newer than this cbsalert knows"):
        open_store(db_url, auto_upgrade=False)


def test_unusable_database_url_gives_a_state_error_without_the_password() -> None:
    with pytest.raises(StateError) as caught:
        open_store("postgresql+psycopg://cbs:Pw-d0nt-show@127.0.0.1:1/x", auto_upgrade=True)
    assert "Pw-d0nt-show" not in str(caught.value)
    assert "cbs:***@127.0.0.1:1" in str(caught.value)
    with pytest.raises(StateError, match="cannot use state database"):
        StateStore("nosuchdb://x")


WHEEL_CHECK = """
import sys, sqlite3
from pathlib import Path
import cbsalert
from cbsalert.state import StateStore
from cbsalert.state.schema import migrations_dir
assert "/site-packages/cbsalert/" in cbsalert.__file__, cbsalert.__file__
assert migrations_dir().is_relative_to(Path(cbsalert.__file__).parent)
store = StateStore(sys.argv[1])
store.upgrade()
store.upgrade()
store.close()
print(sorted(r[0] for r in sqlite3.connect(sys.argv[2]).execute(
    "select name from sqlite_master where type = 'table'")))
"""


def test_installed_wheel_carries_the_migrations_and_upgrades_an_empty_db(tmp_path: Path) -> None:
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # Offline with the hatchling already installed; else pip fetches it (CI's fresh .venv).
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    subprocess.run(
        [*pip, "wheel", "--no-deps", *isolation, "-w", wheels, ROOT],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    [wheel] = wheels.glob("cbsalert-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", site, wheel],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    # Dependencies come from the test environment; its .pth files (which put the source
    # checkout on the path) are not processed from a plain path entry like this one.
    Path(site, "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    database = tmp_path / "fresh.db"
    result = subprocess.run(
        [python, "-c", WHEEL_CHECK, f"sqlite:///{database}", database],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "'alembic_version', 'alerts'" in result.stdout
    assert "'run_lock'" in result.stdout
