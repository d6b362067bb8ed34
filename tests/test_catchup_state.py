"""The days checked, in the state store: on SQLite and PostgreSQL (``CBSALERT_TEST_PG_URL``)."""

from __future__ import annotations

from datetime import timedelta

from cbsalert.catchup import DayEvidence
from cbsalert.state import StateStore
from cbsalert.state.schema import HEAD_REVISION, current_revision, upgrade
from tests.state_helpers import backup, backup_rule, counts, day, db_url, morning, plan, rules_of  # noqa: F401 - db_url is a fixture

RULES = rules_of(backup_rule())


def test_the_days_checked_are_written_with_the_alerts_and_read_back(db_url: str) -> None:  # noqa: F811
    store = StateStore(db_url)
    store.upgrade()
    try:
        assert store.checked.through(["alice", "bob"]) == {}
        store.reconcile_days(
            [DayEvidence(day(1), [backup(1)], {"alice"})], RULES, now=morning(1), plan=plan,
            checked_through={"alice": day(1), "bob": day(1)},
        )  # fmt: skip
        assert store.checked.through(["alice", "bob", "carol"]) == {"alice": day(1), "bob": day(1)}
        store.reconcile_days([], RULES, now=morning(2), checked_through={"bob": day(2)})
        store.reconcile_days(
            [], RULES, now=morning(3), dry_run=True, checked_through={"alice": day(3)}
        )
        assert store.checked.through(["alice", "bob"]) == {"alice": day(1), "bob": day(2)}
        assert counts(store)["alerts"] == 1 and counts(store)["deliveries"] == 1

        # Forgotten with the rest after retention_days: the user is then new again.
        store.prune(1, morning(1) + timedelta(days=1))
        assert store.checked.through(["alice", "bob"]) == {"bob": day(2)}
    finally:
        store.close()


def test_an_installation_upgraded_from_before_catch_up_has_no_record_yet(db_url: str) -> None:  # noqa: F811
    store = StateStore(db_url)
    try:
        upgrade(store.engine, "0005_carried_jobs")
        store.upgrade()
        assert current_revision(store.engine) == HEAD_REVISION
        assert store.checked.through(["alice"]) == {}
    finally:
        store.close()
