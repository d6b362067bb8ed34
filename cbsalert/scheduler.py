"""``cbsalert serve``: ``run_once`` on the config's schedule, until told to stop.

APScheduler 3 fires the runs from a single worker thread, with ``max_instances=1`` (a slow
run is never joined by a second one: that firing is skipped), ``coalesce=True`` (a machine
that slept through several firings runs once, not once per firing) and a generous
``misfire_grace_time`` (a run that is hours late still runs: yesterday is still yesterday).

Signals are blocked in every thread and taken synchronously by the main thread with
``sigtimedwait``, so no handler ever runs in the middle of a lock or a database write:

* SIGHUP reloads the config, in a thread of its own (so does a changed file, noticed
  before each run); a new config that cannot be used, for any reason, is logged and the
  old one kept (``cbsalert.reload``).
* SIGTERM and SIGINT stop scheduling, let the run in progress finish its deliveries (at
  most ``shutdown_timeout_s``), and exit 0. If the run is still going after that (or a
  second signal comes), the process exits anyway: the delivery protocol (see
  ``cbsalert.state``) means the next run sends whatever was owed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler

from cbsalert import __version__
from cbsalert.config import Config, find_config
from cbsalert.errors import CbsalertError, ConfigError, LockTimeoutError, redact
from cbsalert.logs import setup_logging
from cbsalert.metrics import Metrics, MetricsServer, Pages
from cbsalert.pipeline import default_day, run_once
from cbsalert.reload import Reloader, load_checked
from cbsalert.reports.jobs import next_runs, run_report, schedule_reports
from cbsalert.runwatch import RunWatch
from cbsalert.schedule import MISFIRE_GRACE_S, cron_trigger, scheduled_slot
from cbsalert.statuspage import StatusPages

log = logging.getLogger(__name__)

JOB_ID = "check"
SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGHUP})


class Service:
    """The current config and the scheduled job; shared by the main and the worker thread."""

    def __init__(self, path: Path, config: Config, metrics: Metrics) -> None:
        self.path = path
        self.config = config
        self.metrics = metrics
        self.watch = RunWatch(metrics)
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)}, timezone=config.zone
        )
        self._lock = threading.Lock()
        self.reloader = Reloader(path, self._apply, lambda: self.config.secrets())
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._runs = 0

    # -- scheduling ------------------------------------------------------------------------

    def start(self, *, run_now: bool) -> None:
        config = self.config
        self.scheduler.add_job(
            self.run_scheduled,
            trigger=cron_trigger(config.schedule, config.timezone),
            id=JOB_ID,
            name="cbsalert check",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=MISFIRE_GRACE_S,
        )
        if run_now:
            # Its own one-shot job, off the schedule: it must not take (or be refused) the
            # slot of a scheduled run that an earlier process or another instance did.
            self.scheduler.add_job(
                self.run_scheduled,
                trigger="date",
                run_date=datetime.now(config.zone),
                kwargs={"scheduled": False},
                id=JOB_ID + "-now",
                name="cbsalert check (--run-now)",
                misfire_grace_time=None,  # however late the start, it runs
            )
        schedule_reports(self.scheduler, config, self.run_report)
        self.scheduler.start(paused=True)  # resumed once the start is logged

    def resume(self) -> None:
        self.scheduler.resume()

    def next_run(self) -> str:
        job = self.scheduler.get_job(JOB_ID)
        when = job.next_run_time if job is not None else None
        return when.isoformat(timespec="seconds") if when is not None else "none"

    @property
    def healthy(self) -> bool:
        return not self._stopping and bool(self.scheduler.running)

    # -- config --------------------------------------------------------------------------------

    def _apply(self, new: Config, reason: str) -> None:
        """Make a reloaded config the running one (see ``cbsalert.reload``)."""
        setup_logging(secrets=new.secrets())
        with self._lock:
            old, self.config = self.config, new
        if (new.schedule, new.timezone) != (old.schedule, old.timezone):
            self.scheduler.reschedule_job(JOB_ID, trigger=cron_trigger(new.schedule, new.timezone))
        if (new.reports, new.timezone) != (old.reports, old.timezone):
            schedule_reports(self.scheduler, new, self.run_report)
        if (new.metrics_port, new.metrics_host) != (old.metrics_port, old.metrics_host):
            log.warning("metrics_port or metrics_host changed: restart cbsalert to apply it")
        log.info("config reloaded (%s): %s; next run %s", reason, _describe(new), self.next_run())

    # -- one run -------------------------------------------------------------------------------

    def run_scheduled(self, scheduled: bool = True) -> None:
        """The job: one check of yesterday, its log line, metrics and heartbeat. Never raises.

        ``scheduled`` is False for the ``--run-now`` run, which belongs to no slot."""
        with self._lock:
            if self._stopping:
                return
            self._idle.clear()
            self._runs += 1
            number = self._runs
        started = time.monotonic()
        try:
            self.reloader.reload_if_changed()
            with self._lock:
                config = self.config
            self._run(config, number, scheduled=scheduled)
        except Exception as exc:  # the service must outlive a bug in one run
            # A bug, or the machine out of something ("Too many open files"): still a
            # failed run, counted and reported like any other.
            reason = redact(f"{type(exc).__name__}: {exc}", self.config.secrets())
            log.error("run %d failed unexpectedly: %s", number, reason, exc_info=True)
            self.watch.failed(self.config, time.monotonic() - started)
        finally:
            self._idle.set()

    def run_report(self, name: str) -> None:
        """A scheduled report's job (``cbsalert.reports.jobs``); never raises."""
        with self._lock:
            if self._stopping:
                return
            self._idle.clear()
            config = self.config
        try:
            run_report(config, name)
        finally:
            self._idle.set()

    def _run(self, config: Config, number: int, *, scheduled: bool = True) -> None:
        now = datetime.now(UTC)
        day = default_day(config, now)
        slot = scheduled_slot(config, now) if scheduled else None
        selecting = f" and {len(config.selections)} selections" if config.selections else ""
        log.info("run %d started: checking %s for %d users%s", number, day, len(config.watch),
                 selecting)  # fmt: skip
        started = time.monotonic()
        try:
            # No day: yesterday, and the days missed before it (catch-up), as `check` does.
            result = asyncio.run(run_once(config, now=now, slot=slot))
        except LockTimeoutError as exc:
            # With two instances on one database, the other one is doing this run.
            log.info("run %d skipped: %s", number, redact(str(exc), config.secrets()))
            return
        except CbsalertError as exc:
            log.error("run %d failed: %s", number, redact(str(exc), config.secrets()))
            self.watch.failed(config, time.monotonic() - started)
            return
        if result.skipped:
            log.info("run %d skipped: %s", number, result.skipped)
            return
        self.watch.finished(number, config, result)

    # -- stopping ------------------------------------------------------------------------------

    def stop(self, reason: str, timeout_s: float) -> bool:
        """No new runs; wait up to ``timeout_s`` for the one in progress. True if it ended."""
        with self._lock:
            self._stopping = True
        self.reloader.stop()
        running = not self._idle.is_set()
        log.info(
            "%s: stopping%s", reason,
            f"; waiting up to {timeout_s:g}s for the run in progress" if running else "",
        )  # fmt: skip
        self.scheduler.shutdown(wait=False)
        deadline = time.monotonic() + timeout_s
        while not self._idle.wait(0.05):
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning("the run in progress did not end within %gs; exiting anyway", timeout_s)
                return False
            caught = signal.sigtimedwait(SIGNALS, 0)
            if caught is not None and caught.si_signo != signal.SIGHUP:
                log.warning("%s again: exiting without waiting for the run", _name(caught.si_signo))
                return False
        return True


def serve(
    config_path: str | Path | None, *, run_now: bool = False, shutdown_timeout_s: float = 120.0
) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (0). Raises ConfigError at start."""
    path = find_config(config_path)
    config = load_checked(path)
    setup_logging(secrets=config.secrets())
    if logging.getLogger().level > logging.DEBUG:
        # We log each run ourselves; APScheduler's and Alembic's per-run lines are noise here.
        for name in ("apscheduler", "alembic"):
            logging.getLogger(name).setLevel(logging.WARNING)
    metrics = Metrics()
    service = Service(path, config, metrics)
    # Blocked before any thread starts, so every thread inherits the mask and the signals
    # wait for the main thread's sigtimedwait.
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
    server: MetricsServer | None = None
    pages = StatusPages(lambda: service.config) if config.status_page.enabled else None
    try:
        if config.metrics_port is not None:
            server = _metrics_server(
                metrics, config.metrics_host, config.metrics_port, lambda: service.healthy, pages
            )
        service.start(run_now=run_now)
        log.info(
            "cbsalert %s serving %s: %s; %snext scheduled run %s",
            __version__, path, _describe(config), "running once now (--run-now); " if run_now
            else "", service.next_run(),
        )  # fmt: skip
        if config.reports:
            log.info("reports: next %s", next_runs(service.scheduler))
        if server is not None:
            log.info("metrics on %s/metrics and %s/healthz", server.url, server.url)
            if pages is not None:
                log.info("status page on %s/", server.url)
        service.resume()
        while True:
            caught = signal.sigtimedwait(SIGNALS, 1.0)
            if caught is None:
                continue
            if caught.si_signo == signal.SIGHUP:
                service.reloader.request("SIGHUP")
                continue
            break
        finished = service.stop(_name(caught.si_signo), shutdown_timeout_s)
        if server is not None:
            server.stop()
        if pages is not None:
            pages.close()
        if not finished:
            # The worker thread cannot be interrupted and Python would wait for it at exit.
            logging.shutdown()
            os._exit(0)
        log.info("stopped")
        return 0
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _metrics_server(
    metrics: Metrics, host: str, port: int, healthy: Callable[[], bool], pages: Pages | None
) -> MetricsServer:
    try:
        return MetricsServer(metrics, host, port, healthy, pages=pages).start()
    except OSError as exc:
        raise ConfigError(
            f"metrics_port: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None


def _describe(config: Config) -> str:
    return (
        f"{len(config.watch)} watched users"
        + (f" and {len(config.selections)} selections" if config.selections else "")
        + f", {len(config.rules)} rules, "
        f"{len(config.notifiers)} notifiers, schedule {config.schedule!r} ({config.timezone})"
        + (", heartbeat on" if config.heartbeat_url else "")
    )


def _name(signo: int) -> str:
    return signal.Signals(signo).name
