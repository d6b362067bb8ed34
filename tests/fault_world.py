"""The world the fault tests share, a config over it, and a check of its day.

Three users over two days (the simulator's "today" is 2026-11-23):

* ``user-alice``: set 1 failed on DAY1 and succeeded on DAY2 (a fetch fault on DAY2 must not
  be taken for that success);
* ``user-bob``: set 2 failed on both days (still firing, nothing new to say on DAY2);
* ``user-carol``: set 3 fine on both days.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cbsalert.config import load_config
from cbsalert.pipeline import RunResult, run_once
from tests.conftest import config_dict, write_config

DAY1 = date(2026, 11, 21)
DAY2 = date(2026, 11, 22)
NOW1 = datetime(2026, 11, 22, 7, 0, tzinfo=UTC)
NOW2 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)

ALICE, BOB, CAROL = "user-alice", "user-bob", "user-carol"
LOGINS = (ALICE, BOB, CAROL)
FAILED = "BS_STOP_BY_SYSTEM_ERROR"


def _job(day_offset: int, set_id: str, status: str = "BS_STOP_SUCCESS") -> dict[str, Any]:
    return {
        "set": set_id,
        "start": f"D-{day_offset} 20:00:00",
        "end": f"D-{day_offset} 20:30:00",
        "status": status,
    }


WORLD: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "users": [
        {
            "login": ALICE,
            "backup_sets": [{"id": "1", "name": "Docs"}],
            "jobs": [_job(2, "1", FAILED), _job(1, "1")],
        },
        {
            "login": BOB,
            "backup_sets": [{"id": "2", "name": "Mail"}],
            "jobs": [_job(2, "2", FAILED), _job(1, "2", FAILED)],
        },
        {
            "login": CAROL,
            "backup_sets": [{"id": "3", "name": "Photos"}],
            "jobs": [_job(2, "3"), _job(1, "3")],
        },
    ],
}


def many_users(count: int) -> dict[str, Any]:
    """``count`` users ``user-000``... whose only set failed on DAY2."""
    return {
        "timezone": "Europe/Amsterdam",
        "users": [
            {
                "login": f"user-{i:03d}",
                "backup_sets": [{"id": f"{i}", "name": f"Set {i}"}],
                "jobs": [_job(1, f"{i}", FAILED)],
            }
            for i in range(count)
        ],
    }


def fault_config(
    sim_url: str,
    tmp_path: Path,
    *,
    logins: Iterable[str] = LOGINS,
    slack_url: str | None = None,
    smtp_port: int | None = None,
    group: str = "digest",
    **overrides: Any,
) -> dict[str, Any]:
    """A config over the world, routed to a Slack webhook and/or an SMTP server."""
    notifiers: dict[str, Any] = {}
    if slack_url is not None:
        notifiers["slack"] = {"type": "slack", "webhook_url": slack_url, "group": group,
                              "timeout_s": 1}  # fmt: skip
    if smtp_port is not None:
        notifiers["mail"] = {
            "type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
            "from": "cbsalert@example.com", "to": ["ops@example.com"], "group": group,
            "timeout_s": 2,
        }  # fmt: skip
    rules = [{"id": "backup-failed", "kind": "backup_status", "notify": list(notifiers)}]
    watch = [{"login": x} for x in logins]
    return config_dict(
        sim_url, tmp_path, **{"watch": watch, "rules": rules, "notifiers": notifiers, **overrides}
    )


def save(tmp_path: Path, raw: dict[str, Any], name: str = "cbsalert.yaml") -> Path:
    return write_config(tmp_path / name, raw)


def check_args(path: Path, day: date = DAY2, *extra: str) -> list[str]:
    """``cbsalert check`` of ``day`` (DAY2 by default) with the config at ``path``."""
    return ["check", "-c", str(path), "--date", day.isoformat(), *extra]


def check_in_process(path: Path, day: date = DAY2, **kwargs: Any) -> RunResult:
    """A normal check in this process (the same ``run_once`` as the CLI, without the
    second of interpreter start-up): used for the run that follows a killed one."""
    return asyncio.run(run_once(load_config(path), day=day, **kwargs))
