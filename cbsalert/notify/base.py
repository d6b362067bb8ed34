"""What every notifier is: a ``Notifier`` renders a message context and sends it, and a
``NotifierConfig`` holds its settings and creates it.

The error contract is in ``send``'s docstring: None on success, ``DeliveryError`` with
``permanent`` on failure. ``render`` is part of the contract, not an extra: ``cbsalert
validate`` renders every notifier's messages from the sample alerts, so a kind that could
not be rendered without sending would be a kind whose template typos are found at 7 a.m.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cbsalert.configpath import ConfigPath
from cbsalert.notify.context import MessageContext


@dataclass(frozen=True)
class Parts:
    """Progress of a message sent in several parts (a split Slack digest): how many parts
    an earlier attempt sent, the fingerprint of that attempt's parts, and where to record
    each part sent now (``record(parts_sent_so_far, fingerprint)``)."""

    sent: int = 0
    key: str | None = None
    record: Callable[[int, str], None] | None = None

    def first_unsent(self, key: str) -> int:
        """Where a send whose parts now have the fingerprint ``key`` starts: after the
        parts sent before when they are the same parts, else at the first (a repeat is
        better than a loss)."""
        return self.sent if self.key == key else 0


@dataclass(frozen=True)
class Probe:
    """What ``Notifier.probe`` found: ``tested`` is False when the destination cannot be
    checked without delivering a message; ``detail`` says what was confirmed, or why not."""

    tested: bool
    detail: str


class Notifier(ABC):
    """Delivers rendered messages to one destination."""

    def __init__(self, name: str) -> None:
        self.name = name

    @abstractmethod
    def render(self, context: MessageContext) -> object:
        """What ``send`` would deliver for ``context`` (a Slack payload list, an email),
        without delivering it. Raises ``render.TemplateError`` naming the template file and
        line when a template fails; ``cbsalert validate`` calls it with the sample alerts."""

    @abstractmethod
    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        """Deliver one message built from ``context``.

        Returns None on success. Raises ``DeliveryError`` on failure, with
        ``permanent=True`` when retrying cannot help (bad credentials, unknown channel,
        recipient refused for good); any other exception is a bug.

        A notifier that splits a message into parts skips the ``parts.sent`` first ones (a
        retry after a failure partway) when the parts it renders now have the fingerprint
        ``parts.key`` of the earlier attempt, else it starts over (a repeat is better than
        a loss), and calls ``parts.record`` after each part. One that sends a single part
        ignores ``parts``.
        """

    def probe(self) -> Probe:
        """Check that the destination can be reached and takes our credentials, without
        delivering anything (``cbsalert doctor``). Raises ``DeliveryError`` as ``send``
        does. A kind that cannot be checked without sending keeps this default."""
        return Probe(False, "cannot be tested without sending a message")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once at the end of a run."""


class NotifierConfig(BaseModel):
    """Settings common to every notifier kind, and what a kind asks of the pipeline.

    A kind that keeps a provider's view of what fires (Alertmanager, whose alerts expire
    unless posted again) sets ``wants_all_firing``: it then gets, each run, every alert
    still firing of a rule routed to it, besides what people are told. One that must see
    every alert of a message (one provider event per alert) returns None from
    ``message_limit``.
    """

    model_config = ConfigDict(extra="forbid")

    wants_all_firing: ClassVar[bool] = False
    uses_template: ClassVar[bool] = True  # False: `template` means nothing to this kind

    type: str
    group: Literal["digest", "per_alert"] = "digest"
    template: ConfigPath | None = None  # relative to the config file's folder
    timeout_s: float = Field(default=10.0, gt=0)
    # A digest lists at most this many alerts; the rest are counted, and `cbsalert alerts`
    # lists them. A first run over thousands of users otherwise posts a hundred Slack
    # messages, or mails several megabytes nobody reads.
    max_alerts: int = Field(default=200, ge=1)

    @model_validator(mode="after")
    def _template_used(self) -> Self:
        if self.template is not None and not self.uses_template:
            raise ValueError(f"a {self.type} notifier takes no `template`")
        return self

    def message_limit(self) -> int | None:
        """How many alerts one message lists (the rest are counted): ``max_alerts``."""
        return self.max_alerts

    def schedule_problem(self, longest_gap: timedelta) -> str | None:
        """What is wrong with these settings given the longest time between two scheduled
        runs (only asked of a kind that ``wants_all_firing``), or None."""
        return None

    def secret_values(self) -> list[str]:
        """Values to redact from anything cbsalert prints or stores."""
        return []

    def create(self, name: str) -> Notifier:
        """The notifier these settings describe; each kind imports its implementation here,
        so that reading a config never imports a provider's library."""
        raise NotImplementedError
