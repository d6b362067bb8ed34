"""The notifier table: kind -> the model of its settings (``notifiers:`` in the config).

Only the settings live here. Each kind's implementation (and its provider's library:
slack-sdk, Jinja, smtplib) is imported by ``create``, when a notifier is made, so that
reading or validating the settings of a config imports none of them.

Adding a kind: its settings model here with one row in ``NOTIFIER_KINDS``, its
``Notifier`` (``render`` + ``send``) in a module of its own, and a test module.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, SecretStr, model_validator

from cbsalert.configpath import ConfigPath
from cbsalert.configsections import check_http_url
from cbsalert.notify.base import Notifier, NotifierConfig
from cbsalert.rules import Duration, format_duration

DEFAULT_SMTP_PORTS = {"none": 25, "starttls": 587, "ssl": 465}


class SlackConfig(NotifierConfig):
    type: Literal["slack"] = "slack"
    webhook_url: SecretStr | None = None
    token: SecretStr | None = None
    channel: str | None = None
    base_url: str | None = None  # Web API base, e.g. for a Slack-compatible server or tests
    compact_over: int = Field(default=20, ge=0)  # larger digests: one line per alert

    @model_validator(mode="after")
    def _one_mode(self) -> SlackConfig:
        if (self.webhook_url is None) == (self.token is None):
            raise ValueError("set exactly one of webhook_url or token (with channel)")
        if self.token is not None and not self.channel:
            raise ValueError("token needs a channel")
        return self

    def secret_values(self) -> list[str]:
        return [s.get_secret_value() for s in (self.webhook_url, self.token) if s is not None]

    def create(self, name: str) -> Notifier:
        from cbsalert.notify.slack import SlackNotifier  # here: see the docstring

        return SlackNotifier(name, self)


class EmailConfig(NotifierConfig):
    type: Literal["email"] = "email"
    smtp_host: str = "localhost"
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    from_: str = Field(alias="from")
    to: list[str] = Field(min_length=1)
    cc: list[str] = Field(default_factory=list)
    subject_template: ConfigPath | None = None
    ca_bundle: ConfigPath | None = None  # PEM file of a private CA to trust for the SMTP server

    @property
    def port(self) -> int:
        return self.smtp_port or DEFAULT_SMTP_PORTS[self.security]

    def secret_values(self) -> list[str]:
        return [self.password.get_secret_value()] if self.password is not None else []

    def create(self, name: str) -> Notifier:
        from cbsalert.notify.email import EmailNotifier  # here: see the docstring

        return EmailNotifier(name, self)


def _secret_url(value: SecretStr) -> SecretStr:
    check_http_url(value.get_secret_value())
    return value


def _headers(value: dict[str, SecretStr]) -> dict[str, SecretStr]:
    """Extra HTTP headers: a name is an RFC 9110 token, a value one line of text."""
    for name, secret in value.items():
        if not _TOKEN.fullmatch(name):
            raise ValueError(f"{name!r} is not a header name")
        if not _HEADER_VALUE.fullmatch(secret.get_secret_value()):
            raise ValueError(f"the value of header {name!r} is not one line of text")
    return value


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[^\x00-\x08\x0a-\x1f\x7f]*")
SecretUrl = Annotated[SecretStr, AfterValidator(_secret_url)]
# Values are secrets (an Authorization header, an API key), redacted as any other.
Headers = Annotated[dict[str, SecretStr], AfterValidator(_headers)]


class WebhookConfig(NotifierConfig):
    type: Literal["webhook"] = "webhook"
    uses_template: ClassVar[bool] = False  # body_template: it renders JSON, not text
    url: SecretUrl  # the path or query of a webhook's URL is often its token
    headers: Headers = Field(default_factory=dict)
    secret: SecretStr | None = None  # HMAC-SHA256 key: X-Cbsalert-Signature: sha256=<hex>
    body_template: ConfigPath | None = None  # a Jinja file rendering the JSON body

    def secret_values(self) -> list[str]:
        values = [self.url, self.secret, *self.headers.values()]
        return [s.get_secret_value() for s in values if s is not None]

    def create(self, name: str) -> Notifier:
        from cbsalert.notify.webhook import WebhookNotifier  # here: see the docstring

        return WebhookNotifier(name, self)


def _base_url(value: str) -> str:
    return check_http_url(value).rstrip("/")


BaseUrl = Annotated[str, AfterValidator(_base_url)]  # paths are appended to it
HttpUrl = Annotated[str, AfterValidator(check_http_url)]


class PagerDutyConfig(NotifierConfig):
    """One Events API v2 event per alert, so every alert of a message is sent: no
    ``max_alerts`` (a digest's limit would leave incidents unopened)."""

    type: Literal["pagerduty"] = "pagerduty"
    uses_template: ClassVar[bool] = False
    routing_key: SecretStr = Field(min_length=1)  # an Events API v2 integration's key
    base_url: BaseUrl = "https://events.pagerduty.com"  # EU: https://events.eu.pagerduty.com
    console_url: HttpUrl | None = None  # linked from every incident: the CBS's web console

    @model_validator(mode="after")
    def _every_alert(self) -> PagerDutyConfig:
        if "max_alerts" in self.model_fields_set:
            raise ValueError("max_alerts does not apply: pagerduty sends one event per alert")
        return self

    def message_limit(self) -> int | None:
        return None

    def secret_values(self) -> list[str]:
        return [self.routing_key.get_secret_value()]

    def create(self, name: str) -> Notifier:
        from cbsalert.notify.pagerduty import PagerDutyNotifier  # here: see the docstring

        return PagerDutyNotifier(name, self)


def _secret_base_url(value: SecretStr) -> SecretStr:
    return SecretStr(check_http_url(value.get_secret_value()).rstrip("/"))


class AlertmanagerConfig(NotifierConfig):
    """Every firing alert is posted each run (``wants_all_firing``) with an ``endsAt``
    ``ends_after`` later, so it stays firing in Alertmanager until the next run posts it
    again; no ``max_alerts`` (an alert left out would end there)."""

    type: Literal["alertmanager"] = "alertmanager"
    uses_template: ClassVar[bool] = False
    wants_all_firing: ClassVar[bool] = True
    # A URL may carry a password (https://user:pw@am.example.com): kept secret.
    url: Annotated[SecretStr, AfterValidator(_secret_base_url)]
    headers: Headers = Field(default_factory=dict)
    ends_after: Duration = timedelta(days=2)

    @model_validator(mode="after")
    def _every_alert(self) -> AlertmanagerConfig:
        if "max_alerts" in self.model_fields_set:
            raise ValueError("max_alerts does not apply: alertmanager is told every alert")
        return self

    def message_limit(self) -> int | None:
        return None

    def schedule_problem(self, longest_gap: timedelta) -> str | None:
        if self.ends_after > longest_gap:
            return None
        return (
            f"ends_after ({format_duration(self.ends_after)}) must be longer than the longest "
            f"time between two runs of `schedule` ({format_duration(longest_gap)}), or "
            "Alertmanager ends a firing alert before the next run posts it again: set "
            f"ends_after: {format_duration(2 * longest_gap)}"
        )

    def secret_values(self) -> list[str]:
        # The URL's password only: its host and path are no secret, and are worth showing.
        password = urlsplit(self.url.get_secret_value()).password
        return [p for p in (password, *(s.get_secret_value() for s in self.headers.values())) if p]

    def create(self, name: str) -> Notifier:
        from cbsalert.notify.alertmanager import AlertmanagerNotifier  # here: see the docstring

        return AlertmanagerNotifier(name, self)


class TeamsConfig(NotifierConfig):
    type: Literal["teams"] = "teams"
    uses_template: ClassVar[bool] = False
    webhook_url: SecretUrl  # a Workflows webhook: its query (sig=...) is the secret

    def secret_values(self) -> list[str]:
        return [self.webhook_url.get_secret_value()]

    def create(self, name: str) -> Notifier:
        from cbsalert.notify.teams import TeamsNotifier  # here: see the docstring

        return TeamsNotifier(name, self)


NOTIFIER_KINDS: dict[str, type[NotifierConfig]] = {
    "slack": SlackConfig,
    "email": EmailConfig,
    "webhook": WebhookConfig,
    "pagerduty": PagerDutyConfig,
    "alertmanager": AlertmanagerConfig,
    "teams": TeamsConfig,
}
