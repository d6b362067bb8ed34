"""``cbsalert demo``: the whole flow, offline, against a simulated CBS and local sinks.

It starts the simulator with the bundled sample world (``demo_data.yaml``), a local
stand-in for Slack and a local SMTP server, then runs the real pipeline twice: the first
run finds and delivers the alerts, the second has nothing new to say.
"""

from __future__ import annotations

import asyncio
import html
import json
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.text import Text

from cbsalert.config import Config
from cbsalert.pipeline import run_once
from cbsalert.report import print_run, summary_line
from cbsalert.simulator import SimData, Simulator, load_sim_data
from cbsalert.sinks import SlackSink, SmtpSink


def demo_data() -> SimData:
    with resources.as_file(resources.files("cbsalert") / "demo_data.yaml") as path:
        return load_sim_data(path)


def demo_config(sim: Simulator, slack: SlackSink, smtp: SmtpSink, state_dir: Path) -> Config:
    """The config a user would write for this world, pointed at the local servers."""
    return Config.model_validate(
        {
            "cbs": {
                "url": sim.url,
                "sys_user": sim.data.system_user,
                "sys_password": sim.data.system_password,
                "max_concurrency": 4,
            },
            "timezone": sim.data.timezone,
            "state": f"sqlite:///{state_dir / 'cbsalert-demo.db'}",
            "watch": [{"login": u.login, "owner": u.owner} for u in sim.data.users],
            "rules": [
                {"id": "backup-failed", "kind": "backup_status",
                 "notify": ["ops-slack", "oncall-email"]},
                {"id": "backup-errors", "kind": "error_count", "threshold": 0,
                 "severity": "warning", "notify": ["ops-slack"]},
                {"id": "scheduled-backup-missing", "kind": "missing_backup", "modes": ["S"],
                 "notify": ["ops-slack", "oncall-email"]},
                {"id": "restore-failed", "kind": "restore_status", "severity": "warning",
                 "notify": ["ops-slack"]},
                {"id": "backup-stuck", "kind": "long_running", "max_hours": 12,
                 "severity": "warning", "notify": ["ops-slack"]},
            ],
            "notifiers": {
                "ops-slack": {"type": "slack", "webhook_url": slack.url},
                "oncall-email": {
                    "type": "email",
                    "smtp_host": smtp.host,
                    "smtp_port": smtp.port,
                    "from": "cbsalert@example.com",
                    "to": ["oncall@example.com"],
                },
            },
        }
    )  # fmt: skip


def run_demo(console: Console, *, keep: bool = False) -> None:
    data = demo_data()
    state_dir = Path(tempfile.mkdtemp(prefix="cbsalert-demo-"))
    with Simulator(data) as sim, SlackSink() as slack, SmtpSink() as smtp:
        config = demo_config(sim, slack, smtp, state_dir)
        console.rule("[bold]cbsalert demo")
        console.print(
            f"A simulated AhsayCBS at {sim.url} holds {len(data.users)} backup users: "
            "one clean, one failed backup, one with errors, one set that never ran on "
            "schedule, one failed restore, one job still running.\n"
            f"Slack and email go to local stand-ins ({slack.url.split('/services')[0]}, "
            f"smtp://{smtp.host}:{smtp.port}); state is kept in {state_dir}.\n",
            highlight=False,
        )
        now = datetime.now(UTC)
        result = asyncio.run(run_once(config, now=now))
        print_run(console, result)

        console.rule("What reached Slack")
        for payload in slack.messages:
            console.print(_slack_preview(payload))
            blocks = payload.get("blocks", [])
            shown = {**payload, "blocks": blocks[:3]}
            console.print("The payload as posted (Block Kit), first blocks:")
            console.print(
                Syntax(json.dumps(shown, indent=2, ensure_ascii=False), "json", word_wrap=True)
            )
            if len(blocks) > 3:
                console.print(f"... and {len(blocks) - 3} more blocks", highlight=False)
        console.rule("What reached the on-call mailbox")
        for message in smtp.messages:
            console.print(_email_preview(message))

        console.rule("The same check again")
        again = asyncio.run(run_once(config, now=now))
        console.print(
            "Nothing new to say, so nothing is sent: " + summary_line(again), highlight=False
        )
    if keep:
        console.print(f"state database kept: {state_dir / 'cbsalert-demo.db'}")
    else:
        for file in state_dir.iterdir():
            file.unlink()
        state_dir.rmdir()


def _slack_preview(payload: dict[str, Any]) -> Panel:
    lines = []
    for block in payload.get("blocks", []):
        text = block.get("text")
        if isinstance(text, dict):
            lines.append(html.unescape(str(text.get("text", ""))))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and "text" in element:
                lines.append(f"  {html.unescape(str(element['text']))}")
        if block.get("type") == "divider":
            lines.append("─" * 40)
    body = "\n".join(lines) or str(payload.get("text", ""))
    return Panel(Text(body), title="Slack message (as text)", title_align="left")


def _email_preview(message: EmailMessage) -> Panel:
    plain = message.get_body(preferencelist=("plain",))
    text = plain.get_content() if plain is not None else ""
    parts = [p.get_content_type() for p in message.walk() if not p.is_multipart()]
    header = (
        f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n"
        f"Parts: {', '.join(parts)}\n\n"
    )
    return Panel(Text(header + text), title="Email (plain-text part)", title_align="left")
