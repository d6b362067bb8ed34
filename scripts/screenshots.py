#!/usr/bin/env python3
"""Write the README's pictures of what a person gets, from the demo's real messages:
docs/slack-phone.png (the demo's first Slack message, on a 390-pixel phone).

    .venv/bin/python scripts/screenshots.py [--out docs]

Run it again after changing a template or the layout, so the pictures stay true. It needs
the test extras (Playwright) and Debian's chromium.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cbsalert.devtools import slack_preview
from cbsalert.devtools.browser import screenshot
from cbsalert.devtools.demo_messages import demo_contexts
from cbsalert.notify.kinds import SlackConfig


def slack_phone(out: Path) -> Path:
    """The demo's first message as Slack shows it on a phone: its notification on the
    locked screen, then the channel."""
    notifier = SlackConfig(webhook_url="https://hooks.slack.com/services/T/B/X").create("ops")
    payloads = notifier.render(demo_contexts()["small"])
    path = out / "slack-phone.png"
    screenshot(slack_preview.page(payloads), path, full_page=True, scale=1.5)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "docs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(slack_phone(args.out))


if __name__ == "__main__":
    main()
