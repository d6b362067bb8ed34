"""Two `cbsalert serve` instances on one PostgreSQL database: every alert said once.

Needs a PostgreSQL server (``CBSALERT_TEST_PG_URL``; `.ci/run` starts one). Each test gets a
database of its own, created and dropped here.
"""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from cbsalert.devtools.simulator import Simulator
from cbsalert.devtools.slack import SlackSink
from cbsalert.state import open_store
from tests.cli_invoke import invoke
from tests.test_serve import (
    FAILED_JOB,
    GOOD_JOB,
    Serve,
    make_config,
    put_config,
    sim_data,
    user,
    wait_until,
    world,
)

PG_URL = os.environ.get("CBSALERT_TEST_PG_URL")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PG_URL, reason='CBSALERT_TEST_PG_URL is not set (eval "$(bash .ci/pg-start)")'
    ),
]
EVERY_TWO_SECONDS = "*/2 * * * * *"


@pytest.fixture
def pg_database() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    assert PG_URL is not None
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"cbsalert_ha_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def alert_sections(slack: SlackSink) -> list[str]:
    """The login of every entry that reached Slack (a duplicate shows twice): a section
    opening with the login in bold (the headline opens with an emoji)."""
    logins = []
    for message in slack.messages:
        for block in message["blocks"]:
            body = (block.get("text") or {}).get("text", "")
            found = re.match(r"\*([\w-]+)\*", body) if block["type"] == "section" else None
            if found:
                logins.append(found.group(1))
    return logins


def lock_holder_pid(url: str) -> int | None:
    store = open_store(url, auto_upgrade=False)
    try:
        with store.engine.connect() as conn:
            holder = conn.execute(text("SELECT holder FROM run_lock")).scalar()
    finally:
        store.close()
    found = re.search(r":(\d+):", holder or "")
    return int(found.group(1)) if found else None


def start_pair(tmp_path: Path, config: Path) -> tuple[Serve, Serve]:
    args = ("serve", "-c", str(config))
    return Serve(tmp_path, *args).__enter__(), Serve(tmp_path, *args).__enter__()


def test_two_instances_share_the_work_and_a_killed_one_is_taken_over(
    make_sim: Callable[..., Simulator], slack: SlackSink, pg_database: str, tmp_path: Path
) -> None:
    # clinic's backup is fine until it fails later (a login missing from the CBS would be an
    # alert of its own: "could not be checked")
    sim = make_sim(
        world(user("acme", FAILED_JOB), user("bakery", GOOD_JOB), user("clinic", GOOD_JOB))
    )
    raw: dict[str, Any] = make_config(
        sim.url, tmp_path, state=pg_database, schedule=EVERY_TWO_SECONDS,
        watch=[{"login": "acme"}, {"login": "bakery"}, {"login": "clinic"}],
        rules=[{"id": "failed", "kind": "backup_status", "notify": ["slack"]}],
        notifiers={"slack": {"type": "slack", "webhook_url": slack.url}},
        lock_timeout_s=30, lock_ttl_s=3,
    )  # fmt: skip
    config = put_config(tmp_path / "c.yaml", raw)
    upgrade = invoke("db", "upgrade", "-c", str(config))
    assert upgrade.exit_code == 0, upgrade.output
    first, second = start_pair(tmp_path, config)
    try:
        # Several scheduled runs: each is done by one instance, the other skips it.
        for serve in (first, second):
            serve.wait_for(r"run \d+ (finished|skipped)", count=3, timeout=30)
        finished = first.count(r"run \d+ finished") + second.count(r"run \d+ finished")
        skipped = first.count(r"run \d+ skipped") + second.count(r"run \d+ skipped")
        assert finished >= 2 and skipped >= 2, (first.log, second.log)
        assert alert_sections(slack) == ["acme"]

        # A new failure, and a CBS slow enough that a run takes seconds: kill the instance
        # doing the run while it is fetching; the other takes the work over.
        sim.set_data(sim_data(world(user("acme", FAILED_JOB), user("bakery", GOOD_JOB),
                                    user("clinic", FAILED_JOB), latency_ms=400)))  # fmt: skip
        calls_before = sim.count()
        pid = wait_until(
            lambda: sim.count() > calls_before and lock_holder_pid(pg_database),
            "a run fetching from the slow CBS", timeout=20,
        )  # fmt: skip
        victim, survivor = (first, second) if first.proc.pid == pid else (second, first)
        assert victim.proc.pid == pid
        os.kill(pid, signal.SIGKILL)
        victim.proc.wait(10)
        wait_until(lambda: "clinic" in alert_sections(slack), "the survivor's alert", timeout=40)
        survivor.wait_for(r"run \d+ finished", count=survivor.count(r"run \d+ finished") + 1)
        sections = alert_sections(slack)
        assert sections.count("acme") == 1
        assert sections.count("clinic") in (1, 2)  # at most one duplicate after a crash
        assert survivor.proc.poll() is None
        assert "took over the run lock" in survivor.log, survivor.log
    finally:
        for serve in (first, second):
            serve.__exit__(None, None, None)
