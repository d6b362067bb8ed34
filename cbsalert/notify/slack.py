"""Slack notifier (slack-sdk): incoming webhook or bot token + channel, Block Kit messages."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator

from cbsalert.notify import MessageContext, Notifier, NotifierConfig


class SlackConfig(NotifierConfig):
    type: Literal["slack"] = "slack"
    webhook_url: SecretStr | None = None
    token: SecretStr | None = None
    channel: str | None = None
    base_url: str | None = None  # Web API base, e.g. for a Slack-compatible server or tests

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
        return SlackNotifier(name, self)


class SlackNotifier(Notifier):
    def __init__(self, name: str, config: SlackConfig) -> None:
        super().__init__(name)
        self.config = config

    def send(self, context: MessageContext) -> None:
        raise NotImplementedError("TODO(issue 5)")
