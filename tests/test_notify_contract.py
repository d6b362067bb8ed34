"""The notifier contract: every kind renders and sends, and reading a config imports no
notifier implementation (no slack-sdk, no Jinja) until a notifier is created."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cbsalert.notify import MessageContext, Notifier, Parts


def test_a_notifier_kind_without_render_cannot_be_built() -> None:
    class SendOnly(Notifier):
        def send(self, context: MessageContext, parts: Parts | None = None) -> None:
            return None

    with pytest.raises(TypeError, match="render"):
        SendOnly("chat")  # type: ignore[abstract]


def test_every_notifier_kind_renders_what_it_would_send() -> None:
    from cbsalert.notify.email import EmailNotifier
    from cbsalert.notify.slack import SlackNotifier

    for kind in (EmailNotifier, SlackNotifier):
        assert "render" not in getattr(kind, "__abstractmethods__", frozenset())


def test_reading_a_config_imports_neither_slack_sdk_nor_jinja() -> None:
    # A fresh interpreter: this test process has long imported both.
    program = (
        "import json, sys\n"
        "import cbsalert.config\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))

    assert "cbsalert" in loaded
    assert not loaded & {"slack_sdk", "jinja2", "markupsafe", "smtplib"}
