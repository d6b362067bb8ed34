"""The config sections that show job history: ``status_page`` (served by ``serve`` beside
``/metrics``) and ``reports`` (sent by ``serve`` on their own schedules), and what they must
agree on with the rest of the config (``report_problems``, called by ``Config``).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator

from cbsalert.configerrors import Located
from cbsalert.configpath import ConfigPath
from cbsalert.configsections import Strict
from cbsalert.schedule import valid_cron

if TYPE_CHECKING:
    from cbsalert.config import Config

MAX_DAYS = 366
# Kinds a report can go to: a report is not an incident (pagerduty) nor an alert that must
# stay firing (alertmanager).
REPORT_KINDS = ("slack", "email", "webhook", "teams")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
TOKEN_MIN = 16


class StatusPage(Strict):
    """``serve``'s read-only status page, on the metrics port (``metrics_port``)."""

    enabled: bool = False
    days: int = Field(default=14, ge=1, le=MAX_DAYS)  # the grid's days
    user_days: int = Field(default=30, ge=1, le=MAX_DAYS)  # a user's own page
    # Asked as ?token= or "Authorization: Bearer"; without one, anyone who reaches the port
    # reads the page (keep it on loopback, or behind a proxy that authenticates).
    token: SecretStr | None = None
    refresh_s: int = Field(default=300, ge=0)  # the page reloads itself; 0: never

    @field_validator("token")
    @classmethod
    def _long_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < TOKEN_MIN:
            raise ValueError(f"must be at least {TOKEN_MIN} characters (a random string)")
        return value


class ReportConfig(Strict):
    """A report ``serve`` sends on its own ``schedule``: the grid (problem rows in full) or
    a summary (counts, owners, the worst rows) of the ``days`` up to yesterday."""

    name: str
    schedule: str
    days: int = Field(default=7, ge=1, le=MAX_DAYS)
    kind: Literal["grid", "summary"] = "summary"
    notify: list[str] = Field(min_length=1)
    owner: str | None = None
    logins: list[str] = Field(default_factory=list)
    # A file prefix, as an email notifier's: PREFIX-subject.txt.j2, PREFIX-body.txt.j2 and
    # PREFIX-body.html.j2, each used when it exists (the built-in one otherwise).
    template: ConfigPath | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.fullmatch(value):
            raise ValueError(
                "1 to 40 letters, digits, '.', '_' or '-', starting with one of the first two"
            )
        return value

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str) -> str:
        return valid_cron(value)


def report_problems(config: Config) -> list[Located]:
    """What the status page and the reports need of the rest of the config."""
    problems: list[Located] = []
    if config.status_page.enabled and config.metrics_port is None:
        problems.append(Located(("status_page", "enabled"), "the status page is served on "
                                "metrics_port: set metrics_port (e.g. 9464)"))  # fmt: skip
    if config.status_page.enabled and config.history_days == 0:
        problems.append(Located(("status_page", "enabled"), "history_days is 0: the status "
                                "page shows job history, and none is kept"))  # fmt: skip
    for key in ("days", "user_days"):
        wanted = getattr(config.status_page, key)
        if config.status_page.enabled and 0 < config.history_days < wanted:
            said = f"{key} is {wanted} days, but history_days keeps {config.history_days}"
            problems.append(Located(("status_page", key), said))
    names: dict[str, int] = {}
    for i, report in enumerate(config.reports):
        first = names.setdefault(report.name, i)
        if first != i:
            problems.append(Located(("reports", i, "name"), f"report name {report.name!r} is "
                                    "used twice", ("reports", first, "name")))  # fmt: skip
        if report.days > config.history_days:
            problems.append(Located(("reports", i, "days"), f"{report.days} days, but "
                                    f"history_days keeps {config.history_days}"))  # fmt: skip
        for j, name in enumerate(report.notify):
            notifier = config.notifiers.get(name)
            if notifier is None:
                known = ", ".join(config.notifiers) or "none"
                problems.append(Located(("reports", i, "notify", j),
                                        f"unknown notifier {name!r} (known: {known})"))  # fmt: skip
            elif notifier.type not in REPORT_KINDS:
                problems.append(Located(("reports", i, "notify", j), f"a report cannot go to "
                                        f"a {notifier.type} notifier (only to "
                                        f"{', '.join(REPORT_KINDS)})"))  # fmt: skip
    return problems
