"""``serve``'s report jobs: one per report of the running config, on the report's own
``schedule`` (read in the config's ``timezone``), replaced when a reload changes them.

They run in the service's one worker thread, like the check: a report due while the check
runs is sent right after it, so a daily grid at 08:00 shows the 07:00 check's day. Late
firings are handled as the check's are (coalesced; run when at most ``MISFIRE_GRACE_S``
late), and the run slot of each report and period (``reports.send``) makes a second firing
or a second instance send nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cbsalert.errors import CbsalertError, LockTimeoutError, redact
from cbsalert.reports.send import send_scheduled
from cbsalert.schedule import MISFIRE_GRACE_S, cron_trigger

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from cbsalert.config import Config

log = logging.getLogger(__name__)

JOB_PREFIX = "report:"


def schedule_reports(scheduler: BaseScheduler, config: Config, run: Callable[[str], None]) -> None:
    """Make the scheduler's report jobs those of ``config``: ``run(name)`` per report."""
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX):
            scheduler.remove_job(job.id)
    for report in config.reports:
        scheduler.add_job(
            run, trigger=cron_trigger(report.schedule, config.timezone), args=[report.name],
            id=JOB_PREFIX + report.name, name=f"cbsalert report {report.name}",
            max_instances=1, coalesce=True, misfire_grace_time=MISFIRE_GRACE_S,
        )  # fmt: skip


def run_report(config: Config, name: str, now: datetime | None = None) -> None:
    """One scheduled report, logged; never raises (the service outlives a failed report)."""
    from cbsalert.state import holder_id

    report = next((r for r in config.reports if r.name == name), None)
    if report is None:  # removed by a reload since it was scheduled
        return
    secrets = config.secrets()
    try:
        result = send_scheduled(config, report, now or datetime.now(UTC), holder_id("report"))
    except LockTimeoutError as exc:
        log.warning("report %s skipped: %s", name, redact(str(exc), secrets))
        return
    except CbsalertError as exc:
        log.error("report %s failed: %s", name, redact(str(exc), secrets))
        return
    except Exception as exc:  # a bug in one report must not stop the service
        reason = redact(f"{type(exc).__name__}: {exc}", secrets)
        log.error("report %s failed unexpectedly: %s", name, reason, exc_info=True)
        return
    if result is None:
        log.info("report %s: already sent for this period (by this or another instance)", name)
    elif result.failed:
        log.error("%s", redact(result.line(), secrets))
    else:
        log.info("%s", result.line())


def next_runs(scheduler: BaseScheduler) -> str:
    """``weekly 2026-11-30T08:00:00+01:00, daily ...`` for the start-up log line."""
    parts = []
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.next_run_time is not None:
            parts.append(
                f"{job.id[len(JOB_PREFIX) :]} {job.next_run_time.isoformat(timespec='seconds')}"
            )
    return ", ".join(parts)
