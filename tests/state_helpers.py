"""Builders shared by the reconcile and state tests: findings, rules, a day at a time; and
the state tests' database (``db_url``: a SQLite file always, PostgreSQL when
CBSALERT_TEST_PG_URL is set, a fresh schema per test) with the store on it.

Test modules import the fixtures by name (``from tests.state_helpers import db_url, store``).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from cbsalert.model import AlertEvent, Finding
from cbsalert.notify import build_context
from cbsalert.reconcile import AlertChange, AlertSnapshot
from cbsalert.rules import BackupStatusRule, RestoreStatusRule, RuleBase
from cbsalert.state import OwedDelivery, StateStore

DAY1 = date(2026, 11, 20)


def day(n: int) -> date:
    """The n-th day of the test calendar (1-based)."""
    return DAY1 + timedelta(days=n - 1)


def morning(n: int, seconds: int = 0) -> datetime:
    """07:00 UTC the morning after day n, when a daily check of day n runs."""
    return datetime.combine(day(n) + timedelta(days=1), datetime.min.time(), UTC) + timedelta(
        hours=7, seconds=seconds
    )


def backup_rule(rule_id: str = "backup-failed", **fields: Any) -> BackupStatusRule:
    return BackupStatusRule.model_validate({"id": rule_id, "notify": ["ops"], **fields})


def restore_rule(rule_id: str = "restore-failed", **fields: Any) -> RestoreStatusRule:
    return RestoreStatusRule.model_validate({"id": rule_id, "notify": ["ops"], **fields})


def rules_of(*rules: RuleBase) -> dict[str, RuleBase]:
    return {r.id: r for r in rules}


def backup(
    n: int,
    firing: bool = True,
    *,
    login: str = "alice",
    set_id: str | None = "S1",
    rule: str = "backup-failed",
    **fields: Any,
) -> Finding:
    """A backup_status finding about ``login``'s set on day n."""
    status = "BS_STOP_FAILED" if firing else "BS_STOP_SUCCESS"
    name = f"Set {set_id}" if set_id else None
    values: dict[str, Any] = {
        "rule": rule,
        "kind": "backup_status",
        "severity": "critical",
        "firing": firing,
        "login": login,
        "day": day(n),
        "owner": "Alice",
        "backup_set_id": set_id,
        "backup_set_name": name,
        "destination_id": "D1",
        "status": status,
        "summary": f"Backup of '{name}' {'failed with' if firing else 'ended with'} {status}.",
    }
    return Finding(**{**values, **fields})


def restore(n: int, firing: bool = True, *, login: str = "alice", set_id: str = "S1") -> Finding:
    status = "RESTORE_STOP_FAILED" if firing else "RESTORE_STOP_SUCCESS"
    return Finding(
        rule="restore-failed",
        kind="restore_status",
        severity="critical",
        firing=firing,
        login=login,
        day=day(n),
        backup_set_id=set_id,
        backup_set_name=f"Set {set_id}",
        status=status,
        summary=f"Restore from 'Set {set_id}' ended with {status}.",
    )


def applied(
    existing: Mapping[str, AlertSnapshot], changes: list[AlertChange]
) -> dict[str, AlertSnapshot]:
    """The stored alerts after ``changes``, as the store would keep them (ids assigned)."""
    out = dict(existing)
    for change in changes:
        after = change.after
        if after.id is None:
            after = replace(after, id=len(out) + 1000)
        out[after.key] = after
    return out


# -- the database and the store on it ---------------------------------------------------------

PG_ENV = "CBSALERT_TEST_PG_URL"
SECRET = "xoxb-Sup3r-S3cret-T0ken"
TABLES = (
    "alerts", "transitions", "deliveries", "delivery_alerts", "silences", "seen_sets",
    "checked_days", "job_history",
)  # fmt: skip
RULES = rules_of(backup_rule(), restore_rule())


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
