"""Email notifier (SMTP): multipart/alternative, plain text and an HTML table."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from cbsalert.notify import MessageContext, Notifier, NotifierConfig


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
    subject_template: str | None = None

    def secret_values(self) -> list[str]:
        return [self.password.get_secret_value()] if self.password is not None else []

    def create(self, name: str) -> Notifier:
        return EmailNotifier(name, self)


class EmailNotifier(Notifier):
    def __init__(self, name: str, config: EmailConfig) -> None:
        super().__init__(name)
        self.config = config

    def send(self, context: MessageContext) -> None:
        raise NotImplementedError("TODO(issue 5)")
