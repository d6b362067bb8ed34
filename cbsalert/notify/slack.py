"""Slack notifier (slack-sdk): incoming webhook or bot token + channel, Block Kit messages.

A message is a header with the counts, a context line saying which day's backups it is
about, and one section per alert rendered from ``slack-alert.mrkdwn.j2`` (or the user's
``template:`` file, which renders one alert's section text; it gets ``run``, ``alert`` and
``compact``). A digest with more than ``compact_over`` alerts shows one line per alert,
packed into sections. Messages are split so that each stays within Slack's limits: at most
50 blocks, 3,000 characters per section, and ``MESSAGE_BUDGET`` characters of blocks JSON.

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
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient

from cbsalert import render
from cbsalert.errors import DeliveryError, redact, redact_url
from cbsalert.labels import clip, oneline, plural
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.kinds import SlackConfig
from cbsalert.notify.slack_blocks import (
    SECTION_MAX,
    headline,
    intro,
    pack,
    section,
    split,
)
from cbsalert.notify.slack_text import SLACK, clip_mrkdwn, escape_mrkdwn

MAX_RETRY_AFTER_S = 60.0  # a longer Retry-After fails the delivery (transient) instead
RATE_LIMIT_BUDGET_S = 90.0  # total time one send() may spend waiting for rate limits

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

# slack-sdk logs request URLs and bodies (the webhook URL is a secret) at DEBUG and errors
# we report ourselves at ERROR: its logger is quiet, and redacts whatever gets through.
log = logging.getLogger(__name__)
_SDK_LOG = logging.getLogger("cbsalert.notify.slack.sdk")
_SDK_LOG.setLevel(logging.CRITICAL)
_SECRETS: set[str] = set()


class _Redact(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_url(redact(record.getMessage(), list(_SECRETS)))
        record.args = None
        return True


_SDK_LOG.addFilter(_Redact())


class _SmallJitter(Jitter):
    def recalculate(self, duration: float) -> float:
        return duration * (1 + random.random() / 10)


class _RateLimitHandler(RateLimitErrorRetryHandler):
    """Honours Retry-After, but never waits longer than the caps: then the 429 stands."""

    def __init__(self) -> None:
        super().__init__(max_retry_count=3)
        self.waited = 0.0

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after(response.headers)
        return wait <= MAX_RETRY_AFTER_S and self.waited + wait <= RATE_LIMIT_BUDGET_S

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        wait = _retry_after(response.headers if response is not None else {})
        self.waited += wait
        state.next_attempt_requested = True
        time.sleep(wait)
        state.increment_current_attempt()


def _retry_after(headers: Any) -> float:
    for key, value in dict(headers).items():
        if key.lower() == "retry-after":
            raw = value[0] if isinstance(value, list) else value
            try:
                return max(float(raw), 0.0)
            except (TypeError, ValueError):
                return MAX_RETRY_AFTER_S + 1  # an HTTP date or garbage: do not guess
    return 1.0


class SlackNotifier(Notifier):
    def __init__(self, name: str, config: SlackConfig) -> None:
        super().__init__(name)
        self.config = config
        _SECRETS.update(config.secret_values())
        self._template = None if config.template is None else render.user_path(config.template)
        self._rate_limit = _RateLimitHandler()
        backoff = BackoffRetryIntervalCalculator(backoff_factor=0.3, jitter=_SmallJitter())
        handlers = [
            self._rate_limit,
            ConnectionErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
            ServerErrorRetryHandler(max_retry_count=2, interval_calculator=backoff),
        ]
        timeout = max(1, math.ceil(config.timeout_s))
        self._webhook: WebhookClient | None = None
        self._client: WebClient | None = None
        if config.webhook_url is not None:
            self._webhook = WebhookClient(
                config.webhook_url.get_secret_value(),
                timeout=timeout,
                logger=_SDK_LOG,
                retry_handlers=handlers,
            )
        else:
            assert config.token is not None
            self._client = WebClient(
                token=config.token.get_secret_value(),
                base_url=config.base_url or WebClient.BASE_URL,
                timeout=timeout,
                logger=_SDK_LOG,
                retry_handlers=handlers,
            )

    # -- rendering ------------------------------------------------------------------------

    def render(self, context: MessageContext) -> list[dict[str, Any]]:
        """The Slack payloads (``text`` + ``blocks``) that ``send`` would post, in order."""
        template = render.load(SLACK, "slack-alert.mrkdwn.j2", self._template)
        run, alerts = context["run"], context["alerts"]
        compact = len(alerts) > self.config.compact_over
        texts = [
            clip_mrkdwn(
                render.render(template, run=run, alert=alert, compact=compact).strip(),
                SECTION_MAX,
            )
            or "—"
            for alert in alerts
        ]
        sections = pack(texts) if compact else texts
        if run.get("omitted"):
            sections.append(
                f"… and {plural(run['omitted'], 'more alert')}, not listed here: run "
                "`cbsalert alerts` on the cbsalert host to see them all."
            )
        parts = split([section(text) for text in sections], intro(run, "(99/99)"))
        payloads = []
        for number, blocks in enumerate(parts, start=1):
            part = f"({number}/{len(parts)})" if len(parts) > 1 else ""
            head = intro(run, part)
            fallback = headline(run, part, emoji=False)
            if len(alerts) == 1 and not run.get("omitted"):  # not one listed of many
                alert = alerts[0]
                summary = escape_mrkdwn(clip(alert["summary"], 300))
                login = escape_mrkdwn(clip(alert["login"], 100))
                fallback += f": {login}: {summary}"
            payloads.append({"text": fallback, "blocks": head + blocks})
        return payloads

    # -- delivery -------------------------------------------------------------------------

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        """Post every part of the message, from the first one not sent before. A retry
        skips parts only when it renders exactly the parts of the earlier attempt (a
        changed template or ``compact_over`` splits differently): then it starts over."""
        try:
            payloads = self.render(context)
        except render.TemplateError as exc:
            raise DeliveryError(f"slack {self.name}: template error: {exc}") from None
        parts = parts or Parts()
        key = hashlib.sha256(json.dumps(payloads, sort_keys=True).encode()).hexdigest()
        first = parts.sent if parts.key == key else 0
        if parts.sent and not first:
            log.warning(
                "slack %s: the message now renders differently from the attempt that sent %d "
                "part(s); sending all %d parts again",
                self.name,
                parts.sent,
                len(payloads),
            )
        self._rate_limit.waited = 0.0
        for number in range(first, len(payloads)):
            try:
                self._post(payloads[number])
            except DeliveryError as exc:
                if number == 0:
                    raise
                done = f" ({number} of {len(payloads)} messages were sent before)"
                raise DeliveryError(str(exc) + done, permanent=exc.permanent) from None
            if parts.record is not None:
                parts.record(number + 1, key)

    def _post(self, payload: dict[str, Any]) -> None:
        where = f"slack {self.name}"
        try:
            if self._webhook is not None:
                response = self._webhook.send_dict(payload)
                if response.status_code != 200:
                    raise self._webhook_error(response.status_code, response.body or "")
            else:
                assert self._client is not None and self.config.channel is not None
                self._client.chat_postMessage(channel=self.config.channel, **payload)
        except SlackApiError as exc:
            raise self._api_error(exc) from None
        except SlackRequestError as exc:  # e.g. a webhook URL that is not http(s)
            raise DeliveryError(self._safe(f"{where}: {exc}"), permanent=True) from None
        except (OSError, http.client.HTTPException) as exc:  # refused, timed out, cut off
            reason = getattr(exc, "reason", None) or exc
            raise DeliveryError(
                self._safe(f"{where}: {reason}, posting to {self._host()}")
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
        where = f"slack {self.name}"
        try:
            answer = self._client.auth_test()
        except SlackApiError as exc:
            raise self._api_error(exc, "auth.test") from None
        except SlackRequestError as exc:
            raise DeliveryError(self._safe(f"{where}: {exc}"), permanent=True) from None
        except (OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise DeliveryError(
                self._safe(f"{where}: {reason}, calling auth.test at {self._host()}")
            ) from None
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

    def _webhook_error(self, status: int, body: str) -> DeliveryError:
        text = clip(oneline(body), 200) or "(empty answer)"
        message = f"slack {self.name}: webhook answered HTTP {status}: {text}"
        if status == 429:
            message += " (rate limited longer than cbsalert waits)"
        # 400 invalid_payload, 403 action_prohibited, 404 no_service / channel_not_found,
        # 410 channel_is_archived: the webhook or the message is wrong, retrying cannot help.
        permanent = 400 <= status < 500 and status not in (408, 429)
        return DeliveryError(self._safe(message), permanent=permanent)

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
        if self._webhook is not None:
            return redact_url(self._webhook.url)
        return redact_url(self.config.base_url or WebClient.BASE_URL)

    def _safe(self, text: str) -> str:
        return redact_url(redact(text, self.config.secret_values()))
