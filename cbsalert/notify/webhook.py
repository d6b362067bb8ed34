"""Webhook notifier: one JSON document per message, POSTed to any URL, optionally signed.

The document, unless a ``body_template`` gives its own shape::

    {"version": 1, "notifier": NAME, "run": {...}, "alerts": [{...}, ...]}

``run`` and ``alerts`` are the message context (README, "Template context"): each alert has
the fields of ``cbsalert check --format json``'s alerts, its ``state`` (new, escalated,
unsilenced, repeat, resolved) among them.

With a ``secret``, the body is signed as GitHub signs its webhooks: the header
``X-Cbsalert-Signature: sha256=<hex>`` holds the HMAC-SHA256 of the exact bytes of the body
under the secret, so a receiver recomputes it over what it read and compares in constant
time (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries).

A ``body_template`` is a Jinja file whose output must be JSON. Every ``{{ value }}`` in it is
written as a JSON value, quotes included (``{"text": {{ alert.summary }}}``), with control
and bidi characters removed from its strings: no name from the CBS can end a string, add a
key or break the document. What a template renders is parsed before it is sent, so a
template that does not make JSON fails ``cbsalert validate``, not a delivery.

Answers are mapped by ``notify.http.post_json``: 5xx, 429 and dropped connections retried,
any other 4xx except 408 permanent.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from cbsalert import render
from cbsalert.errors import DeliveryError
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.http import json_bytes, post_json
from cbsalert.notify.kinds import WebhookConfig
from cbsalert.safetext import strip_controls

SIGNATURE_HEADER = "X-Cbsalert-Signature"
VERSION = 1  # of the default document; a change that breaks receivers increments it


def _clean(value: Any) -> Any:
    """``value`` with control and bidi characters removed from every string in it."""
    if isinstance(value, str):
        return strip_controls(value)
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _json_value(value: object) -> str:
    """Every ``{{ value }}`` of a body template: one JSON value."""
    return json.dumps(_clean(value), ensure_ascii=False, default=str)


JSON = render.Flavour("json", _json_value)


def signature(secret: str, body: bytes) -> str:
    """The ``X-Cbsalert-Signature`` value of ``body``: ``sha256=`` and the hex HMAC."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookNotifier(Notifier):
    def __init__(self, name: str, config: WebhookConfig) -> None:
        super().__init__(name)
        self.config = config
        template = config.body_template
        self._template = None if template is None else render.user_path(template)

    def render(self, context: MessageContext) -> bytes:
        """The body ``send`` would post; raises ``render.TemplateError`` when the template
        fails or what it renders is not JSON."""
        run, alerts = context["run"], context["alerts"]
        if self._template is None:
            document = {"version": VERSION, "notifier": self.name, "run": run, "alerts": alerts}
            return json_bytes(document)
        template = render.load(JSON, "", self._template)
        text = render.render(template, run=run, alerts=alerts, notifier=self.name)
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise render.TemplateError(
                f"{self._template}: does not render JSON ({exc}); write each value as "
                "{{ value }}, without quotes around it"
            ) from None
        return json_bytes(document)

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        try:
            body = self.render(context)
        except render.TemplateError as exc:
            raise DeliveryError(f"webhook {self.name}: template error: {exc}") from None
        self.post(body)

    def post(self, body: bytes) -> None:
        """POST ``body`` (JSON), signed when a ``secret`` is set: an alert message's
        (``send``) or a scheduled report's. Raises ``DeliveryError`` as ``send`` does."""
        config = self.config
        headers = {name: value.get_secret_value() for name, value in config.headers.items()}
        if config.secret is not None:
            headers[SIGNATURE_HEADER] = signature(config.secret.get_secret_value(), body)
        post_json(
            config.url.get_secret_value(),
            body,
            what=f"webhook {self.name}",
            timeout_s=config.timeout_s,
            secrets=config.secret_values(),
            headers=headers,
        )

    def probe(self) -> Probe:
        """A webhook has no call that checks it without posting: anything sent is a message."""
        return Probe(
            False,
            "a webhook cannot be tested without posting a message "
            f"(`cbsalert test-notify {self.name}` posts a marked test message)",
        )
