"""Notifiers: one module per channel behind one small interface, and the kind -> class table.

* ``base``: ``Notifier`` (``render`` + ``send``, and ``probe``), ``NotifierConfig``;
* ``context``: the message context every notifier renders (``build_context``);
* ``kinds``: each kind's settings and ``NOTIFIER_KINDS``; implementations are imported only
  when a notifier is created (``slack``, ``email``, ``webhook``, ``pagerduty``,
  ``alertmanager``, ``teams``), so reading a config imports neither slack-sdk nor Jinja;
* ``http``: posting to an HTTP endpoint with bounded retries, for webhook-style kinds;
* ``slack_text`` / ``slack_blocks``: Slack's escaping and message layout;
* ``testmsg``: the sample alerts, template validation and ``test-notify``.

Only the notifier's own modules know its wire format. The names below are re-exported so
that callers say ``from cbsalert.notify import Notifier``.
"""

from __future__ import annotations

from cbsalert.notify.base import Notifier, NotifierConfig, Parts, Probe
from cbsalert.notify.context import MessageContext, build_context
from cbsalert.notify.kinds import NOTIFIER_KINDS

__all__ = [
    "NOTIFIER_KINDS", "MessageContext", "Notifier", "NotifierConfig", "Parts", "Probe",
    "build_context",
]  # fmt: skip
