"""A state database that has seen a lot: 100,000 alerts of users the check does not watch.

Most are resolved (old incidents kept for ``retention_days``), one in twenty still firing;
none is a restore alert that fires, since those the check must load on every run. Rows go
in with one bulk INSERT after the real migrations, so the schema is exactly the one a
check would create.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.world import RULES
from cbsalert.state import StateStore
from cbsalert.state.tables import Alert

FIRING_EVERY = 20  # 5 % of the rows are firing alerts


def prefill(state: Path, rows: int, seed: int = 11) -> tuple[float, int]:
    """Create ``state`` with ``rows`` alerts; returns (seconds taken, rows in the table)."""
    started = time.perf_counter()
    store = StateStore(f"sqlite:///{state}")
    try:
        store.upgrade()
        with store.engine.begin() as connection:
            connection.execute(insert(Alert), list(_rows(rows, seed)))
        with store.engine.connect() as connection:
            count = int(connection.scalar(select(func.count()).select_from(Alert)) or 0)
    finally:
        store.close()
    return time.perf_counter() - started, count


def _rows(rows: int, seed: int) -> Any:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    severities = {r["id"]: r.get("severity", "critical") for r in RULES}
    for i in range(rows):
        rule = RULES[i % len(RULES)]
        firing = i % FIRING_EVERY == 0 and rule["kind"] != "restore_status"
        login = f"former{i // 6:06d}"  # six alerts per former user
        set_id = str(1_700_000_000_000 + i)
        ago = rng.randint(1, 80)  # within retention_days (90): the check prunes none of them
        since = now - timedelta(days=ago + rng.randint(0, 5))
        last = (now - timedelta(days=ago)).date()
        yield {
            "key": f"{rule['id']}|{login}|{set_id}|{set_id}1",
            "rule": rule["id"],
            "kind": rule["kind"],
            "severity": severities[rule["id"]],
            "login": login,
            "owner": "",
            "backup_set_id": set_id,
            "backup_set_name": f"{login} set",
            "destination_id": f"{set_id}1",
            "state": "firing" if firing else "resolved",
            "since": since,
            "since_day": since.date(),
            "last_day": last,
            "last_fired_day": since.date() if not firing else last,
            "last_notified_at": since,
            "resolved_at": None if firing else now - timedelta(days=ago),
            "summary": f"{rule['kind']} on {login}",
        }
