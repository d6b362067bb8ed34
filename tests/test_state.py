"""StateStore on a real database: a SQLite file always, PostgreSQL when CBSALERT_TEST_PG_URL is set.

For PostgreSQL every test gets a fresh schema (``search_path`` in the URL), dropped after.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import sysconfig
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert
from sqlalchemy.engine import make_url

from cbsalert.errors import StateError
from cbsalert.model import AlertEvent
from cbsalert.state import OwedDelivery, SilenceNotFoundError, StateStore, open_store
from cbsalert.state import alerts as alerts_module
from cbsalert.state.engine import writer
from cbsalert.state.schema import HEAD_REVISION, current_revision, head_revision, upgrade
from cbsalert.state.tables import Alert, Base
from tests.state_helpers import (  # fixtures by name (db_url, store)
    RULES,
    SECRET,
    TABLES,
    backup,
    backup_rule,
    check,
    claim,
    counts,
    day,
    morning,
    restore,
    rules_of,
)
from tests.state_helpers import (
    db_url as db_url,
)
from tests.state_helpers import (
    store as store,
)

ROOT = Path(__file__).resolve().parent.parent


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
    store.outbox.mark_failed(delivery_id, f"invalid_auth for {SECRET}", permanent=True)
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
