"""Notifiers: one module per channel behind one small interface, and the kind -> class table.

A run hands each notifier a *message context* (plain JSON-able data, see
``build_context``): the state store keeps it in the delivery row, so a delivery that
failed, or was cut short by a crash, is rendered and sent again from the same data on a
later run. Only the notifier's own module knows its wire format.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cbsalert.configpath import ConfigPath
from cbsalert.model import SEVERITY_ORDER, AlertEvent

MessageContext = dict[str, Any]


@dataclass(frozen=True)
class Parts:
    """Progress of a message sent in several parts (a split Slack digest): how many parts
    an earlier attempt sent, the fingerprint of that attempt's parts, and where to record
    each part sent now (``record(parts_sent_so_far, fingerprint)``)."""

    sent: int = 0
    key: str | None = None
    record: Callable[[int, str], None] | None = None


@dataclass(frozen=True)
class Probe:
    """What ``Notifier.probe`` found: ``tested`` is False when the destination cannot be
    checked without delivering a message; ``detail`` says what was confirmed, or why not."""

    tested: bool
    detail: str


class Notifier(ABC):
    """Delivers rendered messages to one destination."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        """Deliver one message built from ``context``.

        Returns None on success. Raises ``DeliveryError`` on failure, with
        ``permanent=True`` when retrying cannot help (bad credentials, unknown channel,
        recipient refused for good); any other exception is a bug.

        A notifier that splits a message into parts skips the ``parts.sent`` first ones (a
        retry after a failure partway) when the parts it renders now have the fingerprint
        ``parts.key`` of the earlier attempt, else it starts over (a repeat is better than
        a loss), and calls ``parts.record`` after each part. One that sends a single part
        ignores ``parts``.
        """

    def probe(self) -> Probe:
        """Check that the destination can be reached and takes our credentials, without
        delivering anything (``cbsalert doctor``). Raises ``DeliveryError`` as ``send``
        does. A kind that cannot be checked without sending keeps this default."""
        return Probe(False, "cannot be tested without sending a message")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at the end of a run."""


class NotifierConfig(BaseModel):
    """Settings common to every notifier kind."""

    model_config = ConfigDict(extra="forbid")

    type: str
    group: Literal["digest", "per_alert"] = "digest"
    template: ConfigPath | None = None  # relative to the config file's folder
    timeout_s: float = Field(default=10.0, gt=0)
    # A digest lists at most this many alerts; the rest are counted, and `cbsalert alerts`
    # lists them. A first run over thousands of users otherwise posts a hundred Slack
    # messages, or mails several megabytes nobody reads.
    max_alerts: int = Field(default=200, ge=1)

    def secret_values(self) -> list[str]:
        """Values to redact from anything cbsalert prints or stores."""
        return []

    def create(self, name: str) -> Notifier:
        raise NotImplementedError


def build_context(
    day: date,
    timezone: str,
    events: list[AlertEvent],
    now: datetime,
    *,
    test: bool = False,
    limit: int | None = None,
    unchecked: int = 0,
    days: Sequence[date] = (),
    not_checked: Sequence[date] = (),
) -> MessageContext:
    """The data every template sees; documented in the README ("Template context").

    With ``limit``, only the first ``limit`` alerts (by the order below) are listed;
    ``run.counts`` still counts them all and ``run.omitted`` says how many were left out.
    ``unchecked`` is the number of watched users the run could not check (a fact about the
    run, told in every message's header whether or not their alerts are in this message).
    ``days`` are the days the run checked (``day`` the newest; several when it caught up
    missed days: each alert's ``date`` then says which one it is about), ``not_checked``
    the missed days it gave up.
    """
    alerts = sorted(
        (e.to_dict() for e in events),
        key=lambda a: (
            a["state"] == "resolved",
            SEVERITY_ORDER.get(a["severity"], 9),
            a["login"],
            a["backup_set_name"] or "",
            a["rule"],
            a["date"],
        ),
    )
    states = Counter(a["state"] for a in alerts)
    active = [a for a in alerts if a["state"] != "resolved"]
    severities = Counter(a["severity"] for a in active)
    return {
        "run": {
            "date": day.isoformat(),
            "days": [d.isoformat() for d in days or [day]],
            "days_not_checked": [d.isoformat() for d in not_checked],
            "timezone": timezone,
            "generated_at": now.isoformat(),
            "test": test,
            "omitted": max(0, len(alerts) - limit) if limit is not None else 0,
            "counts": {
                "critical": severities.get("critical", 0),
                "warning": severities.get("warning", 0),
                "info": severities.get("info", 0),
                "new": states.get("new", 0),
                "escalated": states.get("escalated", 0),
                "unsilenced": states.get("unsilenced", 0),
                "repeat": states.get("repeat", 0),
                "resolved": states.get("resolved", 0),
                "total": len(alerts),
                "unchecked": unchecked,
            },
        },
        "alerts": alerts[:limit],
    }


def _kinds() -> dict[str, type[NotifierConfig]]:
    from cbsalert.notify.email import EmailConfig
    from cbsalert.notify.slack import SlackConfig

    return {"slack": SlackConfig, "email": EmailConfig}


NOTIFIER_KINDS: dict[str, type[NotifierConfig]] = _kinds()
