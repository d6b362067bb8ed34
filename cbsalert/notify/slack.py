"""Slack notifier (slack-sdk): incoming webhook or bot token + channel, Block Kit messages.

A message is laid out by ``slack_layout``: the headline (the notification's text), a
summary, then one entry per backup set and destination rendered from
``slack-entry.mrkdwn.j2`` (or the user's ``template:`` file; it gets ``run``, ``entry``,
``alerts``, the entry's, and ``compact``), resolved entries after, and what a limited
message left out. It is one message whenever Slack's limits allow (``slack_blocks``), in
parts only as a last resort. A ``template:`` written for the per-alert layout (it names
``alert``, never ``entry``) still works: each alert of an entry is rendered with it, one
after the other.

Errors: https://docs.slack.dev/messaging/sending-messages-using-incoming-webhooks/#handling_errors
and https://docs.slack.dev/reference/methods/chat.postMessage#errors.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import math
import random
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter

from cbsalert import render
from cbsalert.errors import DeliveryError, redact, redact_url
from cbsalert.labels import clip, oneline
from cbsalert.notify import digest, slack_layout
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.http import RateLimitBudget, Retries, post_json, rate_limit_wait
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_text import SLACK

# README: a 429 is waited for at most 3 times, never past 60 s at once or 90 s in all of one
# message; 5xx and dropped connections are retried twice; a timeout is not retried.
RETRIES = Retries(errors=2, rate_limits=3, max_wait_s=60.0, backoff_s=0.3)
RATE_LIMIT_BUDGET_S = 90.0

# Errors that retrying cannot fix; any other error is treated as transient (retries are
# bounded by max_attempts, and losing an alert is worse than one more attempt).
PERMANENT_API_ERRORS = frozenset(
    {
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
        "no_permission", "missing_scope", "not_allowed_token_type", "access_denied",
        "channel_not_found", "is_archived", "channel_is_archived", "not_in_channel",
        "restricted_action", "restricted_action_read_only_channel", "team_access_not_granted",
        "ekm_access_denied", "invalid_blocks", "invalid_blocks_format", "msg_too_long",
        "no_text", "invalid_arguments", "invalid_arg_name", "invalid_charset",
        "invalid_form_data", "two_factor_setup_required", "org_login_required",
        "method_deprecated", "deprecated_endpoint", "no_service", "no_team",
    }
)  # fmt: skip

log = logging.getLogger(__name__)
_SDK_LOG = logging.getLogger("cbsalert.notify.slack.sdk")


class _Redact(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(redact(record.getMessage(), self.secrets))
        record.args = None
        return True


def _sdk_logger(secrets: list[str]) -> logging.Logger:
    """slack-sdk logs request URLs and bodies at DEBUG, and at ERROR errors we report
    ourselves: each Web API client gets a quiet logger of its own (outside the logging
    registry, under ``cbsalert.notify.slack.sdk``) that redacts its notifier's secrets from
    whatever gets through."""
    logger = logging.Logger(_SDK_LOG.name, logging.CRITICAL)
    logger.parent = _SDK_LOG
    logger.addFilter(_Redact(secrets))
    return logger


class _SmallJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 10)


class SlackNotifier(Notifier):
    """An incoming webhook is posted to with ``notify.http.post_json``; the Web API through
    slack-sdk's ``WebClient``, whose public retry handlers retry 5xx and dropped
    connections, while a 429 is waited for here, with the webhook's caps."""

    def __init__(self, name: str, config: SlackConfig) -> None:
        super().__init__(name)
        self.config = config
        self._template = None if config.template is None else render.user_path(config.template)
        self._budget = RateLimitBudget(RATE_LIMIT_BUDGET_S)
        self._client: WebClient | None = None
        if config.token is not None:
            backoff = BackoffRetryIntervalCalculator(
                backoff_factor=RETRIES.backoff_s, jitter=_SmallJitter()
            )
            count = RETRIES.errors
            self._client = WebClient(
                token=config.token.get_secret_value(),
                base_url=config.base_url or WebClient.BASE_URL,
                timeout=max(1, math.ceil(config.timeout_s)),
                logger=_sdk_logger(config.secret_values()),
                retry_handlers=[
                    ConnectionErrorRetryHandler(max_retry_count=count, interval_calculator=backoff),
                    ServerErrorRetryHandler(max_retry_count=count, interval_calculator=backoff),
                ],
            )

    # -- rendering ------------------------------------------------------------------------

    def render(self, context: MessageContext) -> list[dict[str, Any]]:
        """The Slack payloads (``text`` + ``blocks``) that ``send`` would post, in order:
        one, unless even the most compact form does not fit (``slack_layout``)."""
        template = render.load(SLACK, "slack-entry.mrkdwn.j2", self._template)
        message = digest.message(context)
        run = message["run"]
        # A user's template that never names `entry` was written for the per-alert layout
        # (`slack-alert.mrkdwn.j2`, `alert`): an entry is then its alerts' texts in turn.
        per_alert = self._template is not None and "entry" not in render.variables(template)

        def entry_text(entry: Mapping[str, Any], compact: bool) -> str:
            # `alerts`: the entry's, among which a job id is judged worth showing (the
            # `facts` filter): two alerts about one job read as one.
            alerts = entry["alerts"]
            if per_alert:
                texts = [
                    render.render(
                        template, run=run, alert=alert, alerts=alerts, compact=compact
                    ).strip()
                    for alert in alerts
                ]
                return "\n".join(t for t in texts if t) or "—"
            text = render.render(template, run=run, entry=entry, alerts=alerts, compact=compact)
            return text.strip() or "—"

        return slack_layout.payloads(message, entry_text, self.config.compact_over)

    # -- delivery -------------------------------------------------------------------------

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        """Post every part of the message, from the first one not sent before. A retry
        skips parts only when it renders exactly the parts of the earlier attempt (else,
        after an upgrade that lays the message out differently, it starts over)."""
        try:
            payloads = self.render(context)
        except render.TemplateError as exc:
            raise DeliveryError(f"slack {self.name}: template error: {exc}") from None
        parts = parts or Parts()
        key = hashlib.sha256(json.dumps(payloads, sort_keys=True).encode()).hexdigest()
        first = parts.first_unsent(key)
        if parts.sent and not first:
            log.warning(
                "slack %s: the message now renders differently from the attempt that sent %d "
                "part(s); sending all %d parts again",
                self.name,
                parts.sent,
                len(payloads),
            )
        self._budget.left_s = RATE_LIMIT_BUDGET_S
        for number in range(first, len(payloads)):
            try:
                self.post(payloads[number])
            except DeliveryError as exc:
                if number == 0:
                    raise
                done = f" ({number} of {len(payloads)} messages were sent before)"
                raise DeliveryError(str(exc) + done, permanent=exc.permanent) from None
            if parts.record is not None:
                parts.record(number + 1, key)

    def post(self, payload: dict[str, Any]) -> None:
        """One payload posted (the webhook, or chat.postMessage), with the notifier's
        retries and error mapping: a message's parts, and a scheduled report's one post."""
        if self.config.webhook_url is not None:
            # 400 invalid_payload, 403 action_prohibited, 404 no_service, 410
            # channel_is_archived: permanent, as post_json maps every such 4xx.
            post_json(
                self.config.webhook_url.get_secret_value(),
                payload,
                what=f"slack {self.name}: webhook",
                timeout_s=self.config.timeout_s,
                secrets=self.config.secret_values(),
                retries=RETRIES,
                budget=self._budget,
            )
            return
        client, channel = self._client, self.config.channel
        assert client is not None and channel is not None
        self._call(lambda: client.chat_postMessage(channel=channel, **payload), "posting to")

    def _call(self, call: Callable[[], Any], doing: str, name: str | None = None) -> Any:
        """One Web API call; a 429 is asked again after its Retry-After within the caps."""
        waited = 0
        while True:
            try:
                return call()
            except SlackApiError as exc:
                response = exc.response
                if response.status_code == 429 and waited < RETRIES.rate_limits:
                    wait = rate_limit_wait(response.headers, RETRIES, self._budget)
                    if wait is not None:
                        time.sleep(wait)
                        waited += 1
                        continue
                raise self._api_error(exc, name) from None
            except SlackRequestError as exc:  # e.g. a base URL that is not http(s)
                raise DeliveryError(
                    self._safe(f"slack {self.name}: {exc}"), permanent=True
                ) from None
            except (OSError, http.client.HTTPException) as exc:  # refused, timed out, cut off
                reason = getattr(exc, "reason", None) or exc
                raise DeliveryError(
                    self._safe(f"slack {self.name}: {reason}, {doing} {self._host()}")
                ) from None

    def probe(self) -> Probe:
        """A token is checked with auth.test, Slack's own "who am I" call, which posts
        nothing and needs no scope. It does not prove the bot may post to the channel (only
        a message does). An incoming webhook has no such call: anything sent to it is posted."""
        if self._client is None:
            return Probe(
                False,
                "a webhook URL cannot be tested without posting a message "
                f"(`cbsalert test-notify {self.name}` posts a marked test message)",
            )
        answer = self._call(self._client.auth_test, "calling auth.test at", "auth.test")
        who = ", ".join(
            f"{key} {clip(oneline(answer.get(key)), 80)}"
            for key in ("team", "user")
            if answer.get(key)
        )
        return Probe(
            True,
            f"token accepted by auth.test ({who or 'no identity given'}); whether it may post "
            f"to {self.config.channel} shows only when it posts",
        )

    def _api_error(self, exc: SlackApiError, call: str | None = None) -> DeliveryError:
        response = exc.response
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {response.status_code}")
        call = call or f"chat.postMessage to {self.config.channel}"
        message = f"slack {self.name}: {call} failed: {error}"
        if response.status_code == 429:
            message += " (rate limited longer than cbsalert waits)"
        permanent = error in PERMANENT_API_ERRORS or response.status_code in (401, 403, 404)
        return DeliveryError(self._safe(message), permanent=permanent)

    def _host(self) -> str:
        return redact_url(self.config.base_url or WebClient.BASE_URL)

    def _safe(self, text: str) -> str:
        return redact_url(redact(text, self.config.secret_values()))
