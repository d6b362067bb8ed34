"""``fetch_day``: one day of every watched user from the simulator, within the concurrency bound,
each user's failure kept to that user. One user's hostile records are test_fetch_user.py's."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from cbsalert.config import Config
from cbsalert.devtools.simulator import Simulator
from cbsalert.fetch import FetchResult, fetch_day, make_client
from cbsalert.model import UserSnapshot
from tests.conftest import config_dict, sim_data
from tests.test_cbs import GaugedSimulator

DAY = date(2026, 11, 22)
LOGINS = ["alice", "bob", "carol"]


def user(login: str) -> dict[str, Any]:
    job = {"set": "1", "start": "2026-11-22 22:00:00", "end": "2026-11-22 22:20:00"}
    return {"login": login, "backup_sets": [{"id": "1", "name": "Docs"}], "jobs": [job]}


def config(sim: Simulator, tmp_path: Path, **cbs: Any) -> Config:
    raw = config_dict(sim.url, tmp_path, watch=[{"login": u.login} for u in sim.data.users])
    raw["cbs"].update(cbs)
    return Config.model_validate(raw)


def fetch(cfg: Config, **kwargs: Any) -> FetchResult:
    async def go() -> FetchResult:
        async with make_client(cfg) as client:
            return await fetch_day(client, cfg, DAY, **kwargs)

    return asyncio.run(go())


def test_no_more_calls_are_in_flight_than_max_concurrency_across_users(tmp_path: Path) -> None:
    world = sim_data({"latency_ms": 50, "users": [user(f"u{i}") for i in range(8)]})
    with GaugedSimulator(world) as sim:
        result = fetch(config(sim, tmp_path, max_concurrency=2))
        assert sim.count() == 8 * 5  # 3 listings, GetBackupSet, one job report, per user
    assert sorted(result.checked_logins) == [f"u{i}" for i in range(8)]
    assert sim.peak == 2


def test_a_user_whose_calls_fail_is_a_check_error_and_the_others_are_fetched(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim({"users": [user(login) for login in LOGINS]})
    sim.inject("500", count=2, operation="ListBackupJobMode", login="bob")  # and its retry
    result = fetch(config(sim, tmp_path))
    assert [(e.login, e.operation) for e in result.errors] == [("bob", "ListBackupJobMode")]
    assert "500" in result.errors[0].message
    assert result.checked_logins == {"alice", "carol"}
    assert [(s.login, len(s.jobs)) for s in result.snapshots] == [("alice", 1), ("carol", 1)]


def test_each_snapshot_is_handed_over_as_it_comes_and_not_kept(
    make_sim: Callable[..., Simulator], tmp_path: Path
) -> None:
    sim = make_sim({"users": [user(login) for login in LOGINS]})
    consumed: list[UserSnapshot] = []
    progress: list[tuple[int, int]] = []
    result = fetch(
        config(sim, tmp_path), consume=consumed.append, progress=lambda *p: progress.append(p)
    )
    assert result.snapshots == []
    assert sorted(s.login for s in consumed) == LOGINS
    assert progress == [(1, 3), (2, 3), (3, 3)]
