"""Sending a report: now (``cbsalert report --send NAME``), or for its period once
(``serve``'s scheduled job).

The period of a report is the ``days`` days ending yesterday in the config's zone, as for
``cbsalert report``. A scheduled report holds the run lock (the one a check holds) and
claims a run slot named after the report and its period (``report:NAME:FIRST:LAST``): the
first instance to claim it sends the report, any other (a second ``serve`` on the same
database, or a later firing of the same schedule within the period) finds it done and
sends nothing. Every notifier of a report is tried; one that fails is logged and does not
stop the others. A failed report is not sent again by ``serve`` (its period's slot is
done): ``cbsalert report --send NAME`` sends it by hand.
"""

from __future__ import annotations

import logging
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from cbsalert.configreports import ReportConfig
from cbsalert.errors import DeliveryError, UsageError
from cbsalert.grid.source import GridQuery, last_day, load_grid
from cbsalert.reports.content import ReportContent
from cbsalert.reports.deliver import deliver

if TYPE_CHECKING:
    from cbsalert.config import Config
    from cbsalert.state import StateStore

log = logging.getLogger(__name__)


@dataclass
class Sent:
    """What became of one report: the notifiers it reached, the errors of the others."""

    report: str
    first: str
    last: str
    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def line(self) -> str:
        said = f"report {self.report} ({self.first} to {self.last}) sent to "
        said += ", ".join(self.sent) or "no notifier"
        if self.failed:
            said += f"; failed: {'; '.join(self.failed)}"
        return said


def find_report(config: Config, name: str) -> ReportConfig:
    for report in config.reports:
        if report.name == name:
            return report
    known = ", ".join(r.name for r in config.reports) or "none in the config's reports:"
    raise UsageError(f"no report named {name!r} (known: {known})")


def content_of(
    config: Config, report: ReportConfig, store: StateStore, now: datetime
) -> ReportContent:
    query = GridQuery(end=last_day(config, now), days=report.days, owner=report.owner,
                      logins=tuple(report.logins))  # fmt: skip
    view = load_grid(store.job_history, config.watch, query)
    return ReportContent(report.name, report.kind, config.cbs.name, config.timezone, view, now)


def send_content(config: Config, report: ReportConfig, content: ReportContent) -> Sent:
    """Send ``content`` through each of the report's notifiers."""
    query = content.view.query
    out = Sent(report.name, query.first.isoformat(), query.end.isoformat())
    for name in report.notify:
        settings = config.notifiers[name]
        notifier = settings.create(name)
        try:
            deliver(notifier, settings.type, content, report)
            out.sent.append(name)
        except DeliveryError as exc:
            out.failed.append(str(exc))
        finally:
            notifier.close()
    return out


def send_now(config: Config, name: str, now: datetime | None = None) -> str:
    """``report --send NAME``: the report now, whatever was sent before; raises
    ``DeliveryError`` (exit 1) naming each notifier that failed."""
    report = find_report(config, name)
    from cbsalert.state import open_existing_store

    now = now or datetime.now(UTC)
    with closing(open_existing_store(config.state, secrets=config.secrets())) as store:
        content = content_of(config, report, store, now)
    result = send_content(config, report, content)
    if result.failed:
        raise DeliveryError(result.line())
    return result.line()


def send_scheduled(config: Config, report: ReportConfig, now: datetime, holder: str) -> Sent | None:
    """The report of the period ending yesterday, unless an instance has sent it already
    (then None). Raises ``StateError`` (``LockTimeoutError`` when another run held the
    lock for ``lock_timeout_s``)."""
    from cbsalert.state import open_store

    store = open_store(config.state, auto_upgrade=True, secrets=config.secrets())
    with closing(store), store.lock.hold(holder, config.lock_timeout_s, config.lock_ttl_s):
        content = content_of(config, report, store, now)
        query = content.view.query
        slot = f"report:{report.name}:{query.first}:{query.end}"
        if not store.slots.claim(slot, holder, now=now):
            return None
        result = send_content(config, report, content)
        store.slots.finish(slot, now=now)
    return result
