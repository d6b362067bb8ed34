"""The benchmark's world: N users x S backup sets with a realistic mix of problems, and the
config a user would write for it.

The mix is drawn from a seeded RNG, so the same options give the same world on every
machine. Times are relative to the simulator's ``today`` (``D-1 22:00:00``), and ``today``
is the real date: rules that compare with the clock (``long_running``, ``auto_resolve``)
then decide the same whenever the benchmark runs.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

SYS_USER = "system"
SYS_PASSWORD = "bench-Sys-S3cret"
TIMEZONE = "UTC"

FAILED_STATUSES = ("BS_STOP_BY_SYSTEM_ERROR", "BS_STOP_BY_QUOTA_EXCEEDED", "BS_STOP_MISSED_BACKUP")

# Fractions per backup set (missed, failed, with errors, still running, run twice) and per
# user (restored something yesterday; a quarter of those restores failed).
P_MISSED, P_FAILED, P_ERRORS, P_RUNNING, P_TWICE = 0.03, 0.05, 0.05, 0.004, 0.05
P_RESTORE, P_RESTORE_FAILED = 0.02, 0.25

RULES: list[dict[str, Any]] = [
    {"id": "backup-failed", "kind": "backup_status", "notify": ["ops-slack", "oncall-email"]},
    {"id": "backup-errors", "kind": "error_count", "threshold": 0, "severity": "warning",
     "notify": ["ops-slack"]},
    {"id": "backup-warnings", "kind": "warning_count", "threshold": 50, "severity": "info",
     "notify": ["ops-slack"]},
    {"id": "scheduled-backup-missing", "kind": "missing_backup", "modes": ["S"],
     "notify": ["ops-slack", "oncall-email"]},
    {"id": "restore-failed", "kind": "restore_status", "severity": "warning",
     "notify": ["ops-slack"]},
    {"id": "backup-stuck", "kind": "long_running", "max_hours": 12, "severity": "warning",
     "notify": ["ops-slack"]},
]  # fmt: skip


@dataclass
class Mix:
    """What the world holds, and so the calls a full check must make."""

    users: int = 0
    sets: int = 0
    sets_ran: int = 0
    jobs: int = 0
    running: int = 0
    failed: int = 0
    with_errors: int = 0
    missed: int = 0
    restores: int = 0
    failed_restores: int = 0

    @property
    def expected_calls(self) -> int:
        """3 per user + 1 per set that ran + 1 per job and destination + 1 per running job
        (every set has one destination here)."""
        return 3 * self.users + self.sets_ran + self.jobs + self.running

    def to_dict(self) -> dict[str, int]:
        return {**asdict(self), "expected_calls": self.expected_calls}


def login(u: int) -> str:
    return f"user{u:05d}"


def make_world(users: int, sets: int, today: date, seed: int = 7) -> tuple[dict[str, Any], Mix]:
    """Simulator data (``SimData`` as a dict) and the counts of what it holds."""
    rng = random.Random(seed)
    mix = Mix(users=users, sets=users * sets)
    out = []
    for u in range(users):
        name = login(u)
        backup_sets, jobs, ran = [], [], set()
        for s in range(sets):
            set_id = str(1_600_000_000_000 + u * 1000 + s)
            backup_sets.append({"id": set_id, "name": f"{name} set {s}"})
            at = f"{18 + s % 6:02d}:{s // 6 % 60:02d}:00"  # distinct start times per user
            for job in _jobs(rng, set_id, at, mix):
                jobs.append(job)
                ran.add(set_id)
        mix.sets_ran += len(ran)
        mix.jobs += len(jobs)
        user: dict[str, Any] = {"login": name, "backup_sets": backup_sets, "jobs": jobs}
        if rng.random() < P_RESTORE and backup_sets:
            failed = rng.random() < P_RESTORE_FAILED
            status = "RESTORE_STOP_BY_ERROR" if failed else "RESTORE_STOP_SUCCESS"
            restore = {"set": backup_sets[0]["id"], "start": "D-1 10:00:00",
                       "end": "D-1 10:04:00", "status": status, "size": 123456}  # fmt: skip
            user["restores"] = [restore]
            mix.restores += 1
            mix.failed_restores += failed
        out.append(user)
    data = {
        "system_user": SYS_USER,
        "system_password": SYS_PASSWORD,
        "timezone": TIMEZONE,
        "today": today.isoformat(),
        "users": out,
    }
    return data, mix


def _jobs(rng: random.Random, set_id: str, at: str, mix: Mix) -> list[dict[str, Any]]:
    """The jobs of one set yesterday: one scheduled job, with the mix's problems."""
    roll = rng.random()
    if roll < P_MISSED:
        mix.missed += 1
        # Half of the missed schedules had a manual job instead (a set that ran, but not as due).
        manual = {"set": set_id, "start": f"D-1 14:{at[3:]}", "end": f"D-1 14:{at[3:5]}:40",
                  "mode": "M"}  # fmt: skip
        return [manual] if rng.random() < 0.5 else []
    job: dict[str, Any] = {"set": set_id, "start": f"D-1 {at}", "end": f"D-1 {at[:5]}:50"}
    if rng.random() < P_RUNNING:
        # Still running since early yesterday: more than 12 hours whenever the bench runs.
        mix.running += 1
        job.update(start=f"D-1 02:{at[3:]}", end=None, status="")
        return [job]
    if roll < P_MISSED + P_FAILED:
        mix.failed += 1
        job["status"] = rng.choice(FAILED_STATUSES)
    elif roll < P_MISSED + P_FAILED + P_ERRORS:
        mix.with_errors += 1
        job.update(status="BS_STOP_SUCCESS_WITH_ERROR", errors=rng.randint(1, 40))
    elif rng.random() < 0.1:
        job.update(status="BS_STOP_SUCCESS_WITH_WARNING", warnings=rng.randint(1, 80))
    if rng.random() < P_TWICE:  # an earlier run the same day; the later one decides
        return [{"set": set_id, "start": f"D-1 01:{at[3:]}", "end": f"D-1 01:{at[3:5]}:30"}, job]
    return [job]


def write_world(path: Path, data: dict[str, Any]) -> Path:
    # JSON: ten thousand users load in a fraction of the time YAML takes.
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_config(
    path: Path,
    *,
    sim_url: str,
    state: Path,
    slack_url: str,
    smtp_port: int,
    users: int,
    concurrency: int,
    history_days: int | None = None,
) -> Path:
    """The config a user would write for this world, pointed at the local servers
    (``history_days``: as given, else the default)."""
    config: dict[str, Any] = {
        "cbs": {"url": sim_url, "sys_user": SYS_USER, "sys_password": SYS_PASSWORD,
                "max_concurrency": concurrency},
        "timezone": TIMEZONE,
        "state": f"sqlite:///{state}",
        "watch": [{"login": login(u)} for u in range(users)],
        "rules": RULES,
        "notifiers": {
            "ops-slack": {"type": "slack", "webhook_url": slack_url},
            "oncall-email": {"type": "email", "smtp_host": "127.0.0.1", "smtp_port": smtp_port,
                             "from": "cbsalert@example.com", "to": ["oncall@example.com"]},
        },
    }  # fmt: skip
    if history_days is not None:
        config["history_days"] = history_days
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)  # it holds literal secrets: cbsalert warns otherwise
    return path
