"""Carried-over jobs in the state database, on SQLite and PostgreSQL (issue 15.2)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import inspect

from cbsalert.state import StateStore
from cbsalert.state.carried import CarriedJob, _decode, _encode
from cbsalert.state.engine import writer
from cbsalert.state.schema import alembic_config, current_revision, upgrade
from cbsalert.state.tables import CarriedJobRow
from tests.state_helpers import day, morning
from tests.state_helpers import db_url as db_url  # the SQLite + PostgreSQL fixture

HOSTILE = "\x00\x1b[2J<b>*x*</b> `@channel` " + "é" * 10_000


def carried(n: int, job_id: str = "2026-11-20-21-00-00", **fields: object) -> CarriedJob:
    values: dict[str, object] = {
        "login": "alice", "day": day(n), "backup_set_id": "S1", "backup_set_name": "Docs",
        "job_id": job_id, "destinations": ("D1", None), "seen_at": morning(n),
    }  # fmt: skip
    return CarriedJob(**{**values, **fields})  # type: ignore[arg-type]


@pytest.fixture
def store(db_url: str) -> Iterator[StateStore]:
    store = StateStore(db_url)
    store.upgrade()
    yield store
    store.close()


def test_a_running_job_is_remembered_once_and_forgotten_when_done(store: StateStore) -> None:
    jobs = store.carried
    first, other = carried(1), carried(1, job_id="2026-11-20-23-00-00")
    jobs.remember([first, other])
    jobs.remember([first])  # the same day checked again
    assert sorted(jobs.load(), key=lambda j: j.job_id) == [first, other]
    jobs.remember([carried(2)])
    jobs.forget([first])
    assert sorted(j.job_id for j in jobs.load()) == [carried(2).job_id, other.job_id]


def test_any_string_from_the_cbs_is_stored_and_read_back_unchanged(store: StateStore) -> None:
    hostile = carried(1, job_id=HOSTILE, backup_set_id=HOSTILE, backup_set_name=HOSTILE,
                      destinations=(HOSTILE, None))  # fmt: skip
    store.carried.remember([hostile])
    assert store.carried.load() == [hostile]


def test_carried_jobs_older_than_retention_are_pruned(store: StateStore) -> None:
    store.carried.remember([carried(1), carried(5)])
    store.prune(retention_days=3, now=morning(1) + timedelta(days=5))
    assert [j.day for j in store.carried.load()] == [day(5)]


def test_the_migration_adds_the_table_and_takes_it_away_again(db_url: str) -> None:
    store = StateStore(db_url)
    upgrade(store.engine, "0004_notified_severity")
    assert not inspect(store.engine).has_table("carried_jobs")
    upgrade(store.engine, "0005_carried_jobs")
    assert current_revision(store.engine) == "0005_carried_jobs"
    store.carried.remember([carried(1)])
    upgrade(store.engine, "head")  # already there: a no-op
    assert len(store.carried.load()) == 1
    _downgrade(store, "0004_notified_severity")
    assert not inspect(store.engine).has_table("carried_jobs")
    store.close()


def _downgrade(store: StateStore, revision: str) -> None:
    from alembic import command

    with writer(store.engine).begin() as connection:
        command.downgrade(alembic_config(connection), revision)


def test_destination_names_ride_in_the_job_column_and_an_older_row_has_none(
    store: StateStore,
) -> None:
    named = carried(1, names=("Offsite S3", None))
    hostile = carried(2, names=(HOSTILE, None))
    store.carried.remember([named, hostile])
    assert sorted(store.carried.load(), key=lambda j: j.day) == [named, hostile]
    assert (named.name(0), named.name(1), named.name(5)) == ("Offsite S3", None, None)
    # A row remembered by a cbsalert that kept no names: no migration, the ids alone.
    row = _encode(carried(3))
    job = json.loads(str(row["job"]))
    del job["names"]
    older = _decode(CarriedJobRow(**{**row, "job": json.dumps(job)}))
    assert older.names == () and older.name(0) is None
