"""PagerDuty notifier: one Events API v2 event per alert, deduplicated by the alert's key.

https://developer.pagerduty.com/docs/events-api-v2/trigger-events/ (the fields and their
limits) and .../overview/ (answers): ``POST {base_url}/v2/enqueue``; 202 accepted; 400 a bad
event (permanent); 429 too many events for the integration (about 120 a minute: waited for
``RATE_LIMIT_WAIT_S`` when the answer does not say how long, as PagerDuty suggests, then
retried on the next run); 5xx retried. An event is at most 512 KB.

Each alert of a message is one event whose ``dedup_key`` is the alert's key (hashed when
longer than PagerDuty's 255 characters): ``trigger`` when it is new, got worse, came out of
a silence or is a reminder (PagerDuty adds it to the open incident, or opens a new one if
that was resolved), ``resolve`` when it is resolved. A test message (``test-notify``) is one
marked trigger event and its resolve, not one incident per sample alert.

The events of a message are its parts: each one sent is recorded, so a retry after a
failure partway sends only the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from cbsalert.errors import DeliveryError
from cbsalert.labels import clip, oneline, set_label, state_label
from cbsalert.model import alert_key
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.http import RateLimitBudget, Retries, post_json
from cbsalert.notify.kinds import PagerDutyConfig
from cbsalert.rules import hint
from cbsalert.safetext import strip_controls

SUMMARY_MAX = 1024  # payload.summary
DEDUP_KEY_MAX = 255
FIELD_MAX = 255  # source, component, group, class: short labels in PagerDuty's lists
DETAIL_MAX = 1024  # each custom detail: an event stays far below 512 KB
RATE_LIMIT_WAIT_S = 30.0
RETRIES = Retries(errors=2, rate_limits=3, max_wait_s=60.0, unstated_wait_s=RATE_LIMIT_WAIT_S)
SEVERITIES = {"critical": "critical", "warning": "warning", "info": "info"}
TRIGGERS = frozenset({"new", "escalated", "unsilenced", "repeat", "firing"})
# The alert's fields shown as the incident's details (the job's facts).
DETAILS = (
    "summary", "rule", "kind", "state", "severity", "previous_severity", "login", "owner",
    "backup_set_name", "backup_set_id", "destination_id", "job_id", "status", "start_time",
    "end_time", "errors", "warnings", "date", "since", "days_failing",
)  # fmt: skip


def _text(value: object, limit: int) -> str:
    """One line, no control or bidi character, at most ``limit`` characters."""
    return clip(strip_controls(oneline(value)), limit)


def dedup_key(alert: Mapping[str, Any]) -> str:
    """The alert's key; a longer one is cut and ends in its hash, so it stays unique."""
    key = alert_key(alert)
    if len(key) <= DEDUP_KEY_MAX:
        return key
    return f"{key[:200]}~{hashlib.sha256(key.encode()).hexdigest()[:48]}"


class PagerDutyNotifier(Notifier):
    def __init__(self, name: str, config: PagerDutyConfig) -> None:
        super().__init__(name)
        self.config = config

    def render(self, context: MessageContext) -> list[dict[str, Any]]:
        """The events ``send`` would post, in order, without the routing key (it is added
        when posting, so neither ``validate`` nor the parts' fingerprint ever holds it)."""
        run, alerts = context["run"], context["alerts"]
        if run.get("test"):
            return self._test_events(run, alerts)
        # By day, so that an alert that resolved and fired again in a catch-up ends open.
        ordered = sorted(alerts, key=lambda a: str(a.get("date")))
        return [self._event(run, alert) for alert in ordered]

    def _event(self, run: Mapping[str, Any], alert: Mapping[str, Any]) -> dict[str, Any]:
        key = dedup_key(alert)
        if alert.get("state") not in TRIGGERS:
            return {"event_action": "resolve", "dedup_key": key}
        details = {
            field: _text(alert[field], DETAIL_MAX)
            if isinstance(alert[field], str)
            else alert[field]
            for field in DETAILS
            if alert.get(field) is not None
        }
        details["what changed"] = state_label(alert)
        details["what to do"] = _text(hint(alert), DETAIL_MAX)
        details["days checked"] = [str(d) for d in run.get("days") or [run["date"]]]
        summary = f"{alert['login']}: {alert['summary']}"
        return self._trigger(key, run, alert, summary, details)

    def _trigger(
        self,
        key: str,
        run: Mapping[str, Any],
        alert: Mapping[str, Any],
        summary: str,
        details: dict[str, Any],
    ) -> dict[str, Any]:
        event: dict[str, Any] = {
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": _text(summary, SUMMARY_MAX),
                "source": _text(run.get("server") or "cbsalert", FIELD_MAX),
                "severity": SEVERITIES.get(str(alert.get("severity")), "warning"),
                "timestamp": run["generated_at"],
                "component": _text(set_label(alert), FIELD_MAX),
                "group": _text(alert.get("login") or "", FIELD_MAX),
                "class": _text(alert.get("kind") or "", FIELD_MAX),
                "custom_details": details,
            },
            "client": "cbsalert",
        }
        if self.config.console_url:
            event["client_url"] = self.config.console_url
            event["links"] = [{"href": self.config.console_url, "text": "AhsayCBS console"}]
        return event

    def _test_events(
        self, run: Mapping[str, Any], alerts: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A test message: one marked trigger, then its resolve (nobody is paged twice)."""
        key = f"cbsalert-test|{self.name}"
        sample = dict(alerts[0]) if alerts else {"login": "cbsalert", "kind": "test"}
        sample["severity"] = "info"
        summary = f"TEST from cbsalert ({len(alerts)} sample alerts): resolved at once"
        details = {"test": True, "sample alerts": len(alerts)}
        return [
            self._trigger(key, run, sample, summary, details),
            {"event_action": "resolve", "dedup_key": key},
        ]

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        """Post each event not sent before; ``DeliveryError`` says how many went out."""
        events = self.render(context)
        parts = parts or Parts()
        key = hashlib.sha256(json.dumps(events, sort_keys=True).encode()).hexdigest()
        first = parts.first_unsent(key)
        budget = RateLimitBudget()
        routing_key = self.config.routing_key.get_secret_value()
        for number in range(first, len(events)):
            try:
                post_json(
                    f"{self.config.base_url}/v2/enqueue",
                    {"routing_key": routing_key, **events[number]},
                    what=f"pagerduty {self.name}",
                    timeout_s=self.config.timeout_s,
                    secrets=self.config.secret_values(),
                    retries=RETRIES,
                    budget=budget,
                )
            except DeliveryError as exc:
                done = f" (event {number + 1} of {len(events)}"
                done += f"; the {number} before it were sent)" if number else ")"
                raise DeliveryError(str(exc) + done, permanent=exc.permanent) from None
            if parts.record is not None:
                parts.record(number + 1, key)

    def probe(self) -> Probe:
        """The Events API has no call that checks a routing key without sending an event."""
        return Probe(
            False,
            "PagerDuty's Events API cannot check a routing key without sending an event "
            f"(`cbsalert test-notify {self.name}` opens a marked test incident and resolves it)",
        )
