"""The notifier table: kind -> the model of its settings (``notifiers:`` in the config).

Only the settings live here. Each kind's implementation (and its provider's library:
slack-sdk, Jinja, smtplib) is imported by ``create``, when a notifier is made, so that
reading or validating the settings of a config imports none of them.

Adding a kind: its settings model here with one row in ``NOTIFIER_KINDS``, its
``Notifier`` (``render`` + ``send``) in a module of its own, and a test module.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from cbsalert.configpath import ConfigPath
from cbsalert.notify.base import Notifier, NotifierConfig

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


NOTIFIER_KINDS: dict[str, type[NotifierConfig]] = {"slack": SlackConfig, "email": EmailConfig}
