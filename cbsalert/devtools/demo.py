"""``cbsalert demo``: the whole flow, offline, against a simulated CBS and local sinks.

It starts the simulator with the bundled sample world (``demo_data.yaml``), a local
stand-in for Slack and a local SMTP server, then runs the real pipeline twice: the first
run finds and delivers the alerts, the second has nothing new to say.

The same parts can be run by hand for the README's quick start: ``cbsalert simulate``
(``run_simulator``) and ``cbsalert sinks`` (``run_sinks``), each until Ctrl-C.
"""

from __future__ import annotations

import asyncio
import html
import json
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
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
from cbsalert.devtools.simulator import SimData, Simulator, load_sim_data
from cbsalert.devtools.slack import SlackSink
from cbsalert.devtools.smtp import SmtpSink
from cbsalert.errors import UsageError
from cbsalert.pipeline import run_once
from cbsalert.report import print_run, summary_line
from cbsalert.terminal import print_line, text, visible


def demo_data() -> SimData:
    with resources.as_file(resources.files("cbsalert.devtools") / "demo_data.yaml") as path:
        return load_sim_data(path)


def demo_config(sim: Simulator, slack: SlackSink, smtp: SmtpSink, state_dir: Path) -> Config:
    """The config a user would write for this world, pointed at the local servers."""
    return Config.model_validate(demo_settings(sim, slack, smtp, state_dir))


def demo_settings(
    sim: Simulator, slack: SlackSink, smtp: SmtpSink, state_dir: Path
) -> dict[str, Any]:
    """``demo_config`` as the YAML document would hold it, for scenarios that change a
    setting (``cbsalert.devtools.demo_messages``)."""
    return {
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
    }  # fmt: skip


def run_demo(console: Console, *, keep: bool = False) -> None:
    data = demo_data()
    state_dir = Path(tempfile.mkdtemp(prefix="cbsalert-demo-"))
    with Simulator(data) as sim, SlackSink() as slack, SmtpSink() as smtp:
        config = demo_config(sim, slack, smtp, state_dir)
        console.rule(Text("cbsalert demo", "bold"))
        console.print(
            text(
                f"A simulated AhsayCBS at {sim.url} holds {len(data.users)} backup users: "
                "one clean, one failed backup, one with errors, one set that never ran on "
                "schedule, one failed restore, one job still running.\n"
                f"Slack and email go to local stand-ins ({slack.base_url}, "
                f"smtp://{smtp.host}:{smtp.port}); state is kept in {state_dir}.\n",
                multiline=True,
            )
        )
        now = datetime.now(UTC)
        result = asyncio.run(run_once(config, now=now))
        print_run(console, result)

        console.rule("What reached Slack")
        for payload in slack.messages:
            console.print(_slack_preview(payload))
            blocks = payload.get("blocks", [])
            shown = {**payload, "blocks": blocks[:3]}
            print_line(console, "The payload as posted (Block Kit), first blocks:")
            posted = visible(json.dumps(shown, indent=2, ensure_ascii=False), multiline=True)
            console.print(Syntax(posted, "json", word_wrap=True))
            if len(blocks) > 3:
                print_line(console, f"... and {len(blocks) - 3} more blocks")
        console.rule("What reached the on-call mailbox")
        for message in smtp.messages:
            console.print(_email_preview(message))

        console.rule("The same check again")
        again = asyncio.run(run_once(config, now=now))
        print_line(console, "Nothing new to say, so nothing is sent: " + summary_line(again))
    if keep:
        print_line(console, f"state database kept: {state_dir / 'cbsalert-demo.db'}")
    else:
        for file in state_dir.iterdir():
            file.unlink()
        state_dir.rmdir()


def _slack_preview(payload: dict[str, Any]) -> Panel:
    lines = []
    for block in payload.get("blocks", []):
        section = block.get("text")
        if isinstance(section, dict):
            lines.append(html.unescape(str(section.get("text", ""))))
        for element in block.get("elements", []) or []:
            if isinstance(element, dict) and "text" in element:
                lines.append(f"  {html.unescape(str(element['text']))}")
        if block.get("type") == "divider":
            lines.append("─" * 40)
    # Without the zero-width spaces the Slack escaping puts after a colon (so that Slack
    # makes no emoji of "D:"): they are invisible in Slack too.
    body = ("\n".join(lines) or str(payload.get("text", ""))).replace("\u200b", "")
    return Panel(text(body, multiline=True), title="Slack message (as text)", title_align="left")


def _email_preview(message: EmailMessage) -> Panel:
    plain = message.get_body(preferencelist=("plain",))
    body = plain.get_content() if plain is not None else ""
    parts = [p.get_content_type() for p in message.walk() if not p.is_multipart()]
    header = (
        f"From: {message['From']}\nTo: {message['To']}\nSubject: {message['Subject']}\n"
        f"Parts: {', '.join(parts)}\n\n"
    )
    preview = text(header + body, multiline=True)
    return Panel(preview, title="Email (plain-text part)", title_align="left")


def run_simulator(
    console: Console, data: Path | None, *, host: str, port: int, latency_ms: float | None
) -> None:
    """``cbsalert simulate``: serve a data file (default: this demo's world) until Ctrl-C."""
    world = load_sim_data(data) if data is not None else demo_data()
    if latency_ms is not None:
        world = world.model_copy(update={"latency_ms": latency_ms})
    with _listening(host, port, "--port"):
        sim = Simulator(world, host=host, port=port)
    print_line(
        console,
        f"simulated CBS listening on {sim.url} (system user {world.system_user!r}, "
        f"password {world.system_password!r}); Ctrl-C stops",
    )
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()


def run_sinks(console: Console, *, slack_port: int, smtp_port: int) -> None:
    """``cbsalert sinks``: the Slack and mail stand-ins, printing each message as it arrives,
    until Ctrl-C. They accept whatever they are sent (any webhook path, no login)."""
    with ExitStack() as stack:
        with _listening("127.0.0.1", slack_port, "--slack-port"):
            slack = stack.enter_context(SlackSink(port=slack_port))
        with _listening("127.0.0.1", smtp_port, "--smtp-port"):
            smtp = stack.enter_context(SmtpSink(port=smtp_port))
        print_line(console, f"Slack stand-in: export SLACK_WEBHOOK_URL={slack.url}")
        print_line(console, f"mail server: smtp://{smtp.host}:{smtp.port} (no TLS, no login)")
        print_line(console, "waiting for messages; Ctrl-C stops")
        slack_seen = mail_seen = 0
        try:
            while True:
                for payload in slack.messages[slack_seen:]:
                    console.print(_slack_preview(payload))
                    slack_seen += 1
                for message in smtp.messages[mail_seen:]:
                    console.print(_email_preview(message))
                    mail_seen += 1
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass


@contextmanager
def _listening(host: str, port: int, option: str) -> Iterator[None]:
    """A port that cannot be listened on is the person's choice to change: one line, exit 2."""
    try:
        yield
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"cannot listen on {host}:{port}: {reason}; choose another {option} (0 = any free)"
        ) from None
