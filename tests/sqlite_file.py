"""The SQLite state file read from outside cbsalert, as an operator's ``sqlite3`` would."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any


def dump(path: Path) -> str:
    """The whole SQLite database as SQL text (``.dump``)."""
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Run one statement on the SQLite file (committed) and return its rows."""
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(sql).fetchall()
        connection.commit()
        return rows
    finally:
        connection.close()
