"""Alertmanager notifier: every firing alert, each run, to ``POST {url}/api/v2/alerts``.

Alertmanager keeps an alert firing until its ``endsAt`` and identifies it by its labels
(https://prometheus.io/docs/alerting/latest/clients/), so this kind is told every alert
still firing, not only what changed (``NotifierConfig.wants_all_firing``), and posts each
with ``endsAt`` = the run's time + ``ends_after``: it stays firing until the next run posts
it again, and ends by itself if cbsalert stops. A resolved alert is posted with ``endsAt``
= the run's time, which ends it at once. A silenced alert is not posted (so it ends at its
last ``endsAt``).

Labels (the identity): ``alertname`` (the rule id), ``server`` (the CBS), ``login``,
``backup_set`` and ``destination`` (ids, which do not change when a set is renamed; absent
when the alert has none) and ``severity``. When the severity people last heard differs
(an escalation, a reminder after it eased) the alert under the old severity is ended too;
one that eased without a message keeps its old label set until that one's ``endsAt``.
Annotations: ``summary``, ``description``, ``hint``, ``backup_set_name``, ``owner``.
``startsAt``: when cbsalert first saw the alert fail (``since``).

Every time comes from the message (the run's ``generated_at``), not the clock, so a message
sent again later says what it said then; the run's own message is sent after any older
one still owed, so Alertmanager ends each run with the run's view. Answers: 400 (Alertmanager
refused the alerts) is permanent, 5xx and refused connections are retried
(``notify.http.post_json``); the alerts go in batches of ``BATCH``, the parts of the message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from cbsalert.errors import DeliveryError, redact_url
from cbsalert.labels import clip, oneline, set_label, state_label
from cbsalert.model import alert_key
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.http import get, post_json
from cbsalert.notify.kinds import AlertmanagerConfig
from cbsalert.rules import hint
from cbsalert.safetext import strip_controls

BATCH = 500
ANNOTATION_MAX = 2000
TEST_ENDS_AFTER = timedelta(minutes=5)


def _text(value: object, limit: int = ANNOTATION_MAX) -> str:
    return clip(strip_controls(oneline(value)), limit)


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def latest(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per alert, its newest (a catch-up may hold new, then resolved, of one)."""
    newest: dict[str, dict[str, Any]] = {}
    for alert in sorted(alerts, key=lambda a: str(a.get("date"))):
        newest[alert_key(alert)] = alert
    return list(newest.values())


class AlertmanagerNotifier(Notifier):
    def __init__(self, name: str, config: AlertmanagerConfig) -> None:
        super().__init__(name)
        self.config = config

    def render(self, context: MessageContext) -> list[list[dict[str, Any]]]:
        """The batches of postable alerts ``send`` would post, in order."""
        run, alerts = context["run"], context["alerts"]
        at = datetime.fromisoformat(run["generated_at"])
        if run.get("test"):
            postable = [self._test_alert(run, at, len(alerts))]
        else:
            postable = []
            for alert in latest(alerts):
                postable.extend(self._postable(run, alert, at))
        return [postable[i : i + BATCH] for i in range(0, len(postable), BATCH)]

    def _labels(self, run: Mapping[str, Any], alert: Mapping[str, Any]) -> dict[str, str]:
        labels = {
            "alertname": alert["rule"],
            "server": run.get("server") or "cbsalert",
            "login": alert["login"],
            "backup_set": alert.get("backup_set_id"),
            "destination": alert.get("destination_id"),
            "severity": alert["severity"],
        }
        # An empty label is no label to Alertmanager: left out rather than sent empty.
        return {name: strip_controls(str(value)) for name, value in labels.items() if value}

    def _postable(
        self, run: Mapping[str, Any], alert: Mapping[str, Any], at: datetime
    ) -> list[dict[str, Any]]:
        resolved = alert.get("state") == "resolved"
        ends = at if resolved else at + self.config.ends_after
        since = datetime.fromisoformat(alert["since"]) if alert.get("since") else at
        labels = self._labels(run, alert)
        facts = [state_label(alert), set_label(alert, quote=True)]
        if alert.get("days_failing"):
            facts.append(f"failing for {alert['days_failing']} day(s)")
        if alert.get("status"):
            facts.append(f"job status {alert['status']}")
        facts.append(f"errors {alert.get('errors')}, warnings {alert.get('warnings')}")
        facts.append(f"checked {alert['date']}")
        annotations = {
            "summary": _text(alert["summary"]),
            "description": _text("; ".join(str(f) for f in facts)),
            "hint": _text(hint(alert)),
            "backup_set_name": _text(alert.get("backup_set_name") or ""),
            "owner": _text(alert.get("owner") or ""),
        }
        out = [
            {
                "labels": labels,
                "annotations": {k: v for k, v in annotations.items() if v},
                "startsAt": _time(min(since, ends)),
                "endsAt": _time(ends),
            }
        ]
        before = alert.get("previous_severity")
        if before and before != alert["severity"] and not resolved:
            # People last heard it at another severity: that label set is another alert.
            ended = {"severity": before}
            out.append(
                {
                    "labels": {**labels, **ended},
                    "startsAt": _time(min(since, at)),
                    "endsAt": _time(at),
                }
            )
        return out

    def _test_alert(self, run: Mapping[str, Any], at: datetime, count: int) -> dict[str, Any]:
        """A test message: one marked alert that ends by itself after a few minutes."""
        return {
            "labels": {
                "alertname": "cbsalert_test",
                "server": run.get("server") or "cbsalert",
                "severity": "info",
                "test": "true",
            },
            "annotations": {
                "summary": f"TEST from cbsalert notifier {self.name} ({count} sample alerts)",
                "description": "Sent by `cbsalert test-notify`; it ends by itself.",
            },
            "startsAt": _time(at),
            "endsAt": _time(at + TEST_ENDS_AFTER),
        }

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        """Post each batch not sent before."""
        batches = self.render(context)
        parts = parts or Parts()
        key = hashlib.sha256(json.dumps(batches, sort_keys=True).encode()).hexdigest()
        config = self.config
        headers = {name: value.get_secret_value() for name, value in config.headers.items()}
        for number in range(parts.first_unsent(key), len(batches)):
            try:
                post_json(
                    f"{config.url.get_secret_value()}/api/v2/alerts",
                    batches[number],
                    what=f"alertmanager {self.name}",
                    timeout_s=config.timeout_s,
                    secrets=config.secret_values(),
                    headers=headers,
                )
            except DeliveryError as exc:
                if not number:
                    raise
                done = f" (batch {number + 1} of {len(batches)}; the ones before were sent)"
                raise DeliveryError(str(exc) + done, permanent=exc.permanent) from None
            if parts.record is not None:
                parts.record(number + 1, key)

    def probe(self) -> Probe:
        """``GET /-/ready``: Alertmanager answers 200 once it serves; nothing is posted."""
        config = self.config
        url = config.url.get_secret_value()
        get(
            f"{url}/-/ready",
            what=f"alertmanager {self.name}",
            timeout_s=config.timeout_s,
            secrets=config.secret_values(),
            headers={name: value.get_secret_value() for name, value in config.headers.items()},
        )
        return Probe(True, f"{redact_url(url)} is ready (GET /-/ready); no alert posted")
