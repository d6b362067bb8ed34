"""One report message through one notifier, by the notifier's kind: an explicit table,
as for alerts (``SENDERS``). Each sender renders what its kind takes (``reports.render``)
and hands it to the notifier's own delivery, so a report has the same retries, error
mapping and redaction as an alert: ``DeliveryError`` with ``permanent`` on failure.

Kinds that are not here cannot be named in a report's ``notify`` (``configreports``): a
report is neither an incident (pagerduty) nor an alert that must stay firing
(alertmanager).
"""

from __future__ import annotations

from collections.abc import Callable

from cbsalert import render
from cbsalert.configreports import ReportConfig
from cbsalert.errors import DeliveryError
from cbsalert.notify.base import Notifier
from cbsalert.notify.http import json_bytes
from cbsalert.reports import render as report_render
from cbsalert.reports.content import ReportContent

Sender = Callable[[Notifier, ReportContent, ReportConfig], None]


def _email(notifier: Notifier, content: ReportContent, report: ReportConfig) -> None:
    from cbsalert.notify.email import EmailNotifier

    assert isinstance(notifier, EmailNotifier)
    parts = report_render.email(content, report)
    notifier.deliver(notifier.message(parts.subject, parts.text, parts.html))


def _slack(notifier: Notifier, content: ReportContent, report: ReportConfig) -> None:
    from cbsalert.notify.slack import SlackNotifier

    assert isinstance(notifier, SlackNotifier)
    # The notifier's one post: the webhook or chat.postMessage, with its retries and error
    # mapping, as EmailNotifier.deliver and WebhookNotifier.post are for theirs.
    notifier.post(report_render.slack(content))


def _webhook(notifier: Notifier, content: ReportContent, report: ReportConfig) -> None:
    from cbsalert.notify.webhook import WebhookNotifier

    assert isinstance(notifier, WebhookNotifier)
    notifier.post(json_bytes(report_render.webhook(content, report, notifier.name)))


def _teams(notifier: Notifier, content: ReportContent, report: ReportConfig) -> None:
    from cbsalert.notify.teams import TeamsNotifier

    assert isinstance(notifier, TeamsNotifier)
    notifier.post_card(report_render.teams(content))


SENDERS: dict[str, Sender] = {
    "email": _email,
    "slack": _slack,
    "webhook": _webhook,
    "teams": _teams,
}


def deliver(notifier: Notifier, kind: str, content: ReportContent, report: ReportConfig) -> None:
    """Send the report through ``notifier`` (of ``kind``). Raises ``DeliveryError``; a
    template that fails is a permanent one, naming the file and line."""
    try:
        SENDERS[kind](notifier, content, report)
    except render.TemplateError as exc:
        raise DeliveryError(
            f"{kind} {notifier.name}: template error: {exc}", permanent=True
        ) from None
