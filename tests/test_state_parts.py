"""The state store's parts: each takes one Storage, none knows another, and what spans
several (a run's reconcile) is one transaction because the storage joins nested ones.

On a SQLite file always, on PostgreSQL when CBSALERT_TEST_PG_URL is set.
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

import cbsalert.state
from cbsalert.errors import StateError
from cbsalert.state import HeldLock, StateStore
from cbsalert.state.outbox import INTERRUPTED
from tests.state_helpers import counts, day, db_url, morning  # noqa: F401 - db_url is a fixture
from tests.state_helpers import store as store  # the StateStore on it

PACKAGE = Path(cbsalert.state.__file__).parent
PARTS = ("alerts", "silences", "outbox", "runlock", "history", "carried", "jobhistory")
SHARED = {"cbsalert.state.storage", "cbsalert.state.tables"}


def _state_imports(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module}.py").read_text())
    found = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    return {name for name in found if name and name.startswith("cbsalert.state")}


@pytest.mark.parametrize("part", PARTS)
def test_a_part_of_the_store_imports_only_the_storage_and_the_tables(part: str) -> None:
    assert _state_imports(part) <= SHARED


def test_each_part_is_composed_over_the_one_storage_not_inherited(tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        assert StateStore.__mro__ == (StateStore, object)
        parts = [value for value in vars(store).values() if value is not store.storage]
        assert len(parts) == 9
        for part in parts:
            assert type(part).__mro__ == (type(part), object)
            [(name, param)] = list(inspect.signature(type(part)).parameters.items())
            assert (name, param.annotation) == ("storage", "Storage")
            assert part._storage is store.storage
    finally:
        store.close()


def _leave_sending(store: StateStore) -> int:
    [delivery_id] = store.outbox.enqueue([("ops", {"alerts": []}, [])], now=morning(1))
    with store.engine.begin() as connection:
        connection.execute(text("UPDATE deliveries SET status = 'sending', attempts = 1"))
    return delivery_id


def _delivery(store: StateStore, delivery_id: int) -> tuple[str, str | None]:
    with store.engine.connect() as connection:
        query = text("SELECT status, last_error FROM deliveries WHERE id = :id")
        row = connection.execute(query, {"id": delivery_id}).one()
    return row.status, row.last_error


def test_taking_the_run_lock_leaves_the_deliveries_to_the_outbox(store: StateStore) -> None:
    delivery_id = _leave_sending(store)
    with store.lock.hold("next", timeout_s=5) as lock:
        assert _delivery(store, delivery_id) == ("sending", None)
        store.outbox.requeue_interrupted(lock)
        assert _delivery(store, delivery_id) == ("failed", INTERRUPTED)
        [owed] = store.outbox.claim_owed(lock, max_attempts=5, now=morning(1))
    assert (owed.id, owed.attempts) == (delivery_id, 2)


def test_only_the_lock_holder_may_requeue_what_another_run_was_sending(
    store: StateStore,
) -> None:
    delivery_id = _leave_sending(store)
    with pytest.raises(StateError, match="must hold the run lock to requeue deliveries"):
        store.outbox.requeue_interrupted(HeldLock("me"))
    with store.lock.hold("sender", timeout_s=5), pytest.raises(StateError):
        store.outbox.requeue_interrupted(HeldLock("me"))
    assert _delivery(store, delivery_id) == ("sending", None)


def test_parts_written_inside_one_transaction_are_undone_together(store: StateStore) -> None:
    with pytest.raises(RuntimeError, match="renderer crashed"), store.storage.write():
        store.silences.add("*", "bob", None, morning(3), "away", "ann", now=morning(1))
        store.seen.record(day(1), {"bob": {"S1": "Docs"}})
        store.outbox.enqueue([("ops", {}, [])], now=morning(1))
        store.checked.record({"bob": day(1)}, now=morning(1))
        raise RuntimeError("renderer crashed")
    assert set(counts(store).values()) == {0}
    assert store.silences.listing(include_expired=True) == []


def test_a_write_cannot_join_a_read_transaction(store: StateStore) -> None:
    with store.storage.read(), pytest.raises(RuntimeError, match="cannot join a read"):
        store.outbox.enqueue([("ops", {}, [])], now=morning(1))
    assert counts(store)["deliveries"] == 0


def test_a_transaction_joins_only_in_its_own_thread(store: StateStore) -> None:
    """The heartbeat renews the lock from its own thread, in its own transaction."""
    seen: list[bool] = []
    with store.storage.write() as outer:

        def other() -> None:
            with store.storage.read() as inner:
                seen.append(inner is outer)

        thread = threading.Thread(target=other)
        thread.start()
        thread.join(10)
    assert seen == [False]


def test_parsing_a_config_checks_the_state_url_without_loading_the_store() -> None:
    code = (
        "import sys, cbsalert.config; "
        "print(sorted(m for m in sys.modules if m.startswith('cbsalert.state')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['cbsalert.state', 'cbsalert.state.engine']"
