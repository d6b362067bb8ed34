"""A report as each kind of notifier gets it.

* **Email**: a subject, a plain-text part and an HTML part with inline styles, from
  ``report-subject.txt.j2``, ``report-body.txt.j2`` and ``report-body.html.j2``. The two
  parts together, encoded as they travel, are held under ``EMAIL_BUDGET`` bytes (the
  whole message under 100 KB: below Gmail's ~102 KB clipping, a size any server takes):
  the problem rows are listed in full when they fit, else the worst that fit, and the
  rest are counted with the command that lists them.
* **Slack**: a short summary in Block Kit (a header, the counts, the worst
  ``SLACK_ROWS`` rows, what was left out), within Slack's limits: 50 blocks, 150
  characters of header, 3,000 per section. Data is escaped for mrkdwn.
* **Webhook**: ``{"version": 1, "notifier", "report": {...}, "text"}``, at most
  ``WEBHOOK_ROWS`` rows (the rest counted).
* **Teams** and the text of every other use: the plain-text body.

A report's ``template`` is a file prefix, as an email notifier's: ``PREFIX-subject.txt.j2``,
``PREFIX-body.txt.j2`` and ``PREFIX-body.html.j2`` replace the built-in ones, each when it
exists (at least one must: a mistyped prefix is a config error, not a silent default).
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cbsalert import render
from cbsalert.configreports import ReportConfig
from cbsalert.labels import clip, number, oneline
from cbsalert.notify.slack_text import clip_mrkdwn, escape_mrkdwn
from cbsalert.reports.content import ReportContent
from cbsalert.safetext import strip_controls

if TYPE_CHECKING:
    from cbsalert.config import Config

EMAIL_BUDGET = 95_000
SUBJECT_MAX = 200
SLACK_ROWS = 10
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3000
WEBHOOK_ROWS = 500
PARTS = {"subject": "subject.txt.j2", "text": "body.txt.j2", "html": "body.html.j2"}


@dataclass(frozen=True)
class Email:
    subject: str
    text: str
    html: str
    listed: int


def template_paths(report: ReportConfig) -> dict[str, Path | None]:
    """The user's file for each part (``subject``, ``text``, ``html``), None where the
    built-in one is used. Raises ``render.TemplateError`` for a prefix with no file."""
    if report.template is None:
        return dict.fromkeys(PARTS)
    prefix = render.user_path(report.template)
    found = {part: prefix.with_name(f"{prefix.name}-{name}") for part, name in PARTS.items()}
    paths: dict[str, Path | None] = {k: p if p.is_file() else None for k, p in found.items()}
    if not any(paths.values()):
        names = ", ".join(str(p) for p in found.values())
        raise render.TemplateError(f"{prefix}: no report template found (looked for {names})")
    return paths


def email(content: ReportContent, report: ReportConfig) -> Email:
    """The email's parts, with as many problem rows as keep them within ``EMAIL_BUDGET``."""
    paths = template_paths(report)
    subject_t = render.load(render.TEXT, "report-subject.txt.j2", paths["subject"])
    text_t = render.load(render.TEXT, "report-body.txt.j2", paths["text"])
    html_t = render.load(render.HTML, "report-body.html.j2", paths["html"])

    def parts(listed: int) -> tuple[str, str]:
        data = content.template_data(listed)
        return render.render(text_t, **data).strip() + "\n", render.render(html_t, **data)

    listed = content.wanted_rows
    text, html = parts(listed)
    if mime_size(text, html) > EMAIL_BUDGET and listed:
        # Rows cost about the same each: a first guess from a render without rows, then
        # fewer until the parts fit (a user's template is measured the same way).
        base = mime_size(*parts(0))
        per_row = max((mime_size(text, html) - base) / listed, 1.0)
        listed = max(0, min(listed - 1, int((EMAIL_BUDGET - base) / per_row)))
        text, html = parts(listed)
        while mime_size(text, html) > EMAIL_BUDGET and listed:
            listed = max(0, listed - max(1, listed // 10))
            text, html = parts(listed)
    subject = render.render(subject_t, **content.template_data(0))
    subject = clip(strip_controls(oneline(subject)), SUBJECT_MAX)
    return Email(subject, text, html, listed)


def mime_size(text: str, html: str) -> int:
    """Bytes of the two parts as they travel: encoded as an email encodes them (a part with
    long lines of non-ASCII text goes as base64 or quoted-printable, a third bigger)."""
    message = EmailMessage()
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return len(message.as_bytes())


def text(content: ReportContent, report: ReportConfig) -> str:
    """The plain-text report (every listed row: not fitted to a size)."""
    template = render.load(render.TEXT, "report-body.txt.j2", template_paths(report)["text"])
    return render.render(template, **content.template_data()).strip() + "\n"


def slack(content: ReportContent) -> dict[str, Any]:
    """A Slack message (``text`` and ``blocks``): the counts and the worst rows."""
    data = content.template_data(SLACK_ROWS)
    report, rows = data["report"], data["rows"]
    title = f"Backup report {report['name']}: {report['first']} to {report['last']}"
    counts = " · ".join([
        f"*{number(content.summary.sets)}* backup sets",
        f"*{number(content.summary.problems)}* with problems",
        f"*{report['rate_text']}* of backup days ok",
    ])  # fmt: skip
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": clip(title, SLACK_HEADER_MAX)}},
        _section(f"{escape_mrkdwn(report['headline'])}.\n{counts}"),
    ]
    if rows:
        lines = [_slack_row(row) for row in rows]
        intro = "*Worst backup sets*, a symbol a day, oldest first:"
        blocks.append(_section("\n".join([intro, *lines])))
    notes = []
    if data["left_out"]:
        more = report["left_out_text"]
        command = f"cbsalert report --problems --days {report['days']}"
        notes.append(f"… and {more} with problems: `{command}` lists them all.")
    if report["no_history"]:
        users = report["no_history_text"]
        notes.append(f"{users} without history for these days: `{report['backfill']}`.")
    server = escape_mrkdwn(clip(report["server"], 100))
    notes.append(f"CBS {server} · generated {report['generated']}")
    text = clip_mrkdwn(" · ".join(notes), SLACK_SECTION_MAX)
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": text}]})
    fallback = clip(f"{title}: {strip_controls(oneline(report['headline']))}", 300)
    return {"text": escape_mrkdwn(fallback), "blocks": blocks}


def _slack_row(row: dict[str, Any]) -> str:
    """```✓✓✗✓``` 71% *login* (owner) · set``: the symbols are cbsalert's, the rest escaped."""
    owner = f" ({escape_mrkdwn(clip(row['owner'], 40))})" if row["owner"] else ""
    who = f"*{escape_mrkdwn(clip(row['login'], 80))}*{owner}"
    return f"`{row['symbols']}` {row['rate_text']} {who} · {escape_mrkdwn(clip(row['set'], 80))}"


def webhook(content: ReportContent, report: ReportConfig, notifier: str) -> dict[str, Any]:
    """A webhook's JSON document: the report's data, its rows (at most ``WEBHOOK_ROWS``),
    and its plain text."""
    data = content.template_data(WEBHOOK_ROWS)
    document = {**data["report"], "rows": data["rows"], "left_out": data["left_out"]}
    return {"version": 1, "notifier": notifier, "report": document, "text": text(content, report)}


def _section(mrkdwn: str) -> dict[str, Any]:
    text = {"type": "mrkdwn", "text": clip_mrkdwn(mrkdwn, SLACK_SECTION_MAX), "verbatim": True}
    return {"type": "section", "text": text}


TEAMS_ROWS = 20


def teams(content: ReportContent) -> list[dict[str, Any]]:
    """An Adaptive Card's body: the headline, the counts, the worst ``TEAMS_ROWS`` rows.
    Data is made inert for Teams Markdown (``notify.teams.inert``)."""
    from cbsalert.notify.teams import inert

    data = content.template_data(TEAMS_ROWS)
    report, rows = data["report"], data["rows"]

    def block(text: str, **style: Any) -> dict[str, Any]:
        return {"type": "TextBlock", "text": text, "wrap": True, **style}

    meta = " · ".join([
        f"Report {inert(report['name'], 40)}", f"CBS {inert(report['server'], 100)}",
        f"{report['first']} to {report['last']}", f"{report['rate_text']} of backup days ok",
    ])  # fmt: skip
    out = [
        block(inert(report["headline"], 400), size="Medium", weight="Bolder"),
        block(meta, isSubtle=True, spacing="None"),
    ]
    for row in rows:
        owner = f" ({inert(row['owner'], 40)})" if row["owner"] else ""
        line = f"{row['symbols']} {row['rate_text']} **{inert(row['login'], 80)}**{owner}"
        out.append(block(f"{line} · {inert(row['set'], 80)}", spacing="None"))
    if data["left_out"]:
        more = report["left_out_text"]
        command = f"cbsalert report --problems --days {report['days']}"
        out.append(block(f"… and {more} with problems: {command} lists them all.", isSubtle=True))
    return out


def template_problems(config: Config) -> list[str]:
    """Each report's templates rendered with a sample grid (``cbsalert validate``, and
    before ``serve`` takes a config): one line per problem, naming the file and line."""
    from datetime import date, datetime

    from cbsalert.grid.model import RANKED, grid_of, report_days
    from cbsalert.grid.source import GridQuery, GridView
    from cbsalert.jobhistory import SetDays

    problems = []
    for i, report in enumerate(config.reports):
        days = report_days(date(2026, 11, 22), report.days)
        failed = RANKED.index("failed")
        ranks = (failed, *[None] * (report.days - 1))
        sample = [SetDays("<obm>", "reseller & co", "1", "Docs\n[x]", ranks)]
        view = GridView(grid_of(sample, days), GridQuery(end=days[-1], days=report.days), ["new"])
        content = ReportContent(report.name, report.kind, config.cbs.name, config.timezone,
                                view, datetime(2026, 11, 23, 8))  # fmt: skip
        try:
            email(content, report)
        except render.TemplateError as exc:
            problems.append(f"reports[{i}] ({report.name}): {exc}")
    return problems
