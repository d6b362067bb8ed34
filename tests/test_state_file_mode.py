"""The SQLite state file (and its journal) is readable by its owner only, whatever the umask:
it names every customer whose backups fail, and when."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy import insert

from cbsalert.state import open_store
from cbsalert.state.engine import writer
from cbsalert.state.tables import Silence
from tests.state_helpers import morning


@pytest.fixture(params=[0o022, 0o000], ids=["umask 022", "umask 000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_state_file_is_readable_by_its_owner_only(umask: int, tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:///{path}", auto_upgrade=True).close()
    assert mode(path) == 0o600


@pytest.mark.parametrize("journal", ["DELETE", "WAL"])
def test_its_journal_files_are_readable_by_the_owner_only_too(
    umask: int, journal: str, tmp_path: Path
) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:///{path}", auto_upgrade=True).close()
    with closing(sqlite3.connect(path)) as connection:  # WAL mode stays with the file
        connection.execute(f"PRAGMA journal_mode={journal}")
    store = open_store(f"sqlite:///{path}", auto_upgrade=True)
    try:
        with writer(store.engine).begin() as connection:
            connection.execute(insert(Silence), [{"rule": "*", "login": "*", "until": morning(1),
                                                  "created_at": morning(0)}])  # fmt: skip
            extra = [p for p in tmp_path.iterdir() if p.name != "state.db"]
            assert extra, "SQLite wrote no journal"
            assert {p.name: mode(p) for p in extra} == {p.name: 0o600 for p in extra}
    finally:
        store.close()


def test_an_existing_state_file_keeps_the_mode_its_owner_gave_it(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    open_store(f"sqlite:///{path}", auto_upgrade=True).close()
    path.chmod(0o640)  # e.g. readable by a monitoring group, on purpose
    open_store(f"sqlite:///{path}", auto_upgrade=True).close()
    assert mode(path) == 0o640
