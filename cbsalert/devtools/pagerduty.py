"""A loopback stand-in for PagerDuty's Events API v2, checking events as PagerDuty does.

``POST /v2/enqueue``: 202 ``{"status": "success", "message": "Event processed",
"dedup_key": ...}`` for a valid event; 400 ``{"status": "invalid event", "message": "Event
object is invalid", "errors": [...]}`` otherwise, with the errors PagerDuty gives
(https://developer.pagerduty.com/docs/events-api-v2/trigger-events/). It is stricter than
PagerDuty in one way: an unknown top-level field is an error, so that a misspelt field is
found here rather than silently ignored there. ``incidents`` folds the accepted events into
what PagerDuty would show: the open alerts by dedup key.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from cbsalert.devtools.receiver import JsonReceiver, Received

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
FIELDS = {"routing_key", "event_action", "dedup_key", "payload", "images", "links", "client",
          "client_url"}  # fmt: skip
MAX_BYTES = 512 * 1024


def event_errors(event: Any) -> list[str]:
    """What PagerDuty would refuse in ``event`` (empty: it is accepted)."""
    if not isinstance(event, dict):
        return ["Event object is not a JSON object"]
    errors = [f"Unknown field '{name}'" for name in sorted(set(event) - FIELDS)]
    key = event.get("routing_key")
    if not isinstance(key, str) or len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    elif not key.isalnum():
        errors.append("'routing_key' cannot contain non-alphanumeric characters.")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup = event.get("dedup_key")
    if dedup is not None and (not isinstance(dedup, str) or len(dedup) > 255):
        errors.append("'dedup_key' is too long (maximum is 255 characters)")
    if action in ("acknowledge", "resolve") and not dedup:
        errors.append("'dedup_key' is required for acknowledge and resolve events")
    if action == "trigger":
        errors += _payload_errors(event.get("payload"))
    for link in event.get("links") or []:
        if not isinstance(link, dict) or not isinstance(link.get("href"), str):
            errors.append("'links' entries need an 'href'")
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > 1024:
        errors.append("'summary' is too long (maximum is 1024 characters)")
    if not isinstance(payload.get("source"), str) or not payload["source"]:
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append("'payload.severity' is invalid (must be critical, error, warning or info)")
    if "timestamp" in payload:
        try:
            datetime.fromisoformat(str(payload["timestamp"]))
        except ValueError:
            errors.append("'payload.timestamp' is not a valid ISO 8601 timestamp")
    details = payload.get("custom_details")
    if details is not None and not isinstance(details, dict):
        errors.append("'payload.custom_details' must be an object")
    return errors


def _judge(request: Received) -> tuple[int, Any]:
    if request.path != "/v2/enqueue":
        return 404, {"status": "not found"}
    if len(request.body) > MAX_BYTES:
        return 400, {"status": "invalid event", "message": "Event object is invalid",
                     "errors": ["Event is larger than 512 KB"]}  # fmt: skip
    errors = event_errors(request.payload)
    if errors:
        return 400, {"status": "invalid event", "message": "Event object is invalid",
                     "errors": errors}  # fmt: skip
    dedup = request.payload.get("dedup_key") or uuid.uuid4().hex
    return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup}


def pagerduty_sink(**kwargs: Any) -> JsonReceiver:
    """The Events API v2 on loopback; its ``base_url`` is what ``base_url`` takes."""
    return JsonReceiver(_judge, **kwargs)


def incidents(sink: JsonReceiver) -> dict[str, dict[str, Any]]:
    """The open alerts after the accepted events, by dedup key: each one's last trigger
    event (a resolve closes it; a later trigger opens a new one)."""
    open_: dict[str, dict[str, Any]] = {}
    for event in sink.accepted:
        key = event["dedup_key"]
        if event["event_action"] == "trigger":
            open_[key] = event
        elif event["event_action"] == "resolve":
            open_.pop(key, None)
    return open_
