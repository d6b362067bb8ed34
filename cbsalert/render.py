"""Jinja2 templates for messages: one environment per output kind, all with StrictUndefined.

Three kinds of output, three escaping rules:

* ``text`` (email subject and plain-text body): no escaping; templates pipe data through
  ``oneline`` so that a name holding a newline cannot forge lines or headers.
* ``html`` (email HTML body): Jinja's HTML autoescape.
* both mail kinds: control and bidi characters are removed from every ``{{ value }}`` by
  the environment's ``finalize`` (``strip_controls``).
* ``slack`` (mrkdwn for one alert's section): every ``{{ value }}`` is escaped for Slack by
  the environment's ``finalize`` (``&``, ``<``, ``>`` and the formatting characters, see
  ``escape_mrkdwn``), collapsed to one line and clipped to ``SLACK_VALUE_MAX`` characters.
  Filters that produce formatting on purpose return ``Mrkdwn``, which passes unescaped.

Built-in templates live in ``cbsalert/templates``; a notifier's ``template:`` points at the
user's files (see ``notify.email`` / ``notify.slack`` for how). The per-kind "what to do"
hints come from the rule kinds (``cbsalert.rules.KIND_HINTS``), so every template shares them.
"""

from __future__ import annotations

import functools
import re
import traceback
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    pass_context,
)
from jinja2.runtime import Context
from markupsafe import Markup

from cbsalert.errors import ConfigError
from cbsalert.labels import days_phrase
from cbsalert.rules import DEFAULT_HINT, KIND_HINTS
from cbsalert.safetext import strip_controls

if TYPE_CHECKING:
    from cbsalert.config import Config

OutputKind = Literal["text", "html", "slack"]

RESOLVED_HINT = "Nothing to do: this is fixed."

# Text colour, background and border of each severity in the HTML email.
SEVERITY_COLORS: dict[str, tuple[str, str]] = {
    "critical": ("#b71c1c", "#fdecea"),
    "warning": ("#8a4b00", "#fff4e5"),
    "info": ("#0d47a1", "#e8f1fb"),
    "resolved": ("#1b5e20", "#edf7ed"),
}
SLACK_ICONS: dict[str, str] = {
    "critical": ":red_circle:",
    "warning": ":large_orange_circle:",
    "info": ":large_blue_circle:",
    "resolved": ":white_check_mark:",
}
STATE_LABELS: dict[str, str] = {
    "new": "new",
    "escalated": "got worse",
    "unsilenced": "silence ended",
    "repeat": "still failing",
    "firing": "still failing",
    "resolved": "resolved",
}
SLACK_VALUE_MAX = 300


class Mrkdwn(str):
    """Slack text that is already escaped or formatted on purpose."""

    __slots__ = ()


# -- formatting helpers shared by templates and notifiers ------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _parse(value: str | datetime, zone: str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(_zone(zone)) if moment.tzinfo else moment


def format_time(value: str | datetime | None, zone: str, *, date: bool = True) -> str:
    """``2026-11-22 22:15 CET``: every time a person reads carries its zone."""
    if value is None:
        return ""
    moment = _parse(value, zone)
    return moment.strftime("%Y-%m-%d %H:%M %Z" if date else "%H:%M %Z").strip()


def format_span(alert: dict[str, Any], zone: str) -> str:
    """When the job ran: ``ran 2026-11-22 22:15-23:40 CET``, ``started ..., no end time``."""
    start, end = alert.get("start_time"), alert.get("end_time")
    if start is None and end is None:
        return ""
    if start is None:
        return f"ended {format_time(end, zone)}"
    if end is None:
        return f"started {format_time(start, zone)}, no end time"
    first, last = _parse(start, zone), _parse(end, zone)
    if first.date() == last.date() and first.tzname() == last.tzname():
        return f"ran {first:%Y-%m-%d %H:%M}\u2013{last:%H:%M} {last:%Z}".strip()
    return f"ran {format_time(first, zone)} → {format_time(last, zone)}"


def counts_phrase(counts: dict[str, int]) -> str:
    """``2 critical, 1 warning, 1 resolved, 3 users not checked``; ``no alerts`` when there
    is nothing."""
    labels = {"critical": "critical", "warning": "warning", "info": "info", "resolved": "resolved"}
    parts = [
        f"{counts[key]} {label}{'s' if key == 'warning' and counts[key] > 1 else ''}"
        for key, label in labels.items()
        if counts.get(key)
    ]
    unchecked = unchecked_phrase(counts)
    return ", ".join([*parts, unchecked] if unchecked else parts) or "no alerts"


def unchecked_phrase(counts: dict[str, int]) -> str:
    """``3 users not checked`` (watched users the run could not check); empty when none.
    ``get``: a message stored by an older cbsalert has no such count."""
    count = counts.get("unchecked") or 0
    return f"{plural(count, 'user')} not checked" if count else ""


def run_days(run: dict[str, Any]) -> str:
    """The days a message's run checked: ``2026-11-22``, ``2026-11-20 to 2026-11-22``.
    ``get``: a message stored by an older cbsalert has only ``date``."""
    return days_phrase(run.get("days") or [run["date"]])


def set_label(alert: dict[str, Any]) -> str:
    if alert.get("backup_set_name"):
        return str(alert["backup_set_name"])
    if alert.get("backup_set_id"):
        return f"set {alert['backup_set_id']}"
    return "all backup sets"


def state_label(alert: dict[str, Any]) -> str:
    """``new``, ``got worse: was warning``, ``still failing, was critical``: what changed,
    and the severity people last heard when it is not the alert's now."""
    state = str(alert.get("state"))
    label = STATE_LABELS.get(state, state)
    was = alert.get("previous_severity")
    if not was:
        return label
    return f"{label}: was {was}" if state == "escalated" else f"{label}, was {was}"


def hint(alert: dict[str, Any]) -> str:
    if alert.get("state") == "resolved":
        return RESOLVED_HINT
    return KIND_HINTS.get(str(alert.get("kind")), DEFAULT_HINT)


def oneline(value: object) -> str:
    return " ".join(str(value).split())


def clip(value: object, length: int = 300) -> str:
    """Cut a string to ``length`` characters, ending in an ellipsis when it was cut."""
    text = str(value)
    return text if len(text) <= length else text[: max(length - 1, 0)].rstrip() + "…"


# Look-alikes: ASTERISK OPERATOR, MODIFIER LETTER LOW MACRON, TILDE OPERATOR, MODIFIER
# LETTER GRAVE ACCENT.
_MRKDWN_SUBSTITUTES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
# The @ of Slack's special mentions, replaced by FULLWIDTH COMMERCIAL AT.
_MENTION_AT = re.compile(r"@(?=(?:channel|here|everyone|group)\b)", re.IGNORECASE)


def escape_mrkdwn(value: object) -> str:
    """Make data inert in Slack mrkdwn, keeping it readable.

    Control and bidi characters are removed (``strip_controls``). ``&``, ``<`` and ``>``
    become entities (Slack's documented escaping), so ``<!channel>`` is text. Slack has no
    escape for ``*``, ``_``, ``~`` and backticks, so a formatting character that could open
    or close a span (one next to a space, punctuation or the end) is replaced by a
    look-alike character; one between two letters or digits (``daily_backup``) cannot
    format anything in Slack and is kept, so ordinary names stay copyable. The ``@`` of
    ``@channel``, ``@here`` and ``@everyone`` becomes a look-alike too: with the text
    objects' ``verbatim: true`` Slack should not parse them, and this holds even where it
    might (the fallback ``text`` of a message, a Slack-compatible server).
    """
    text = strip_controls(oneline(value))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MENTION_AT.sub("\uff20", text)
    out = []
    for i, char in enumerate(text):
        if char in _MRKDWN_SUBSTITUTES:
            before = text[i - 1] if i else " "
            after = text[i + 1] if i + 1 < len(text) else " "
            if char == "`" or not (before.isalnum() and after.isalnum()):
                char = _MRKDWN_SUBSTITUTES[char]
        out.append(char)
    return "".join(out)


def clip_mrkdwn(text: str, length: int) -> str:
    """Clip escaped Slack text without leaving half an entity (``&am``) at the end."""
    if len(text) <= length:
        return text
    return re.sub(r"&[a-z]*$", "", text[: length - 1]).rstrip() + "…"


def _slack_finalize(value: object) -> object:
    if isinstance(value, Mrkdwn):
        return value
    if value is None:
        return "—"
    return escape_mrkdwn(clip(oneline(value), SLACK_VALUE_MAX))


def _plain_finalize(value: object) -> object:
    """Text and HTML mail: no control or bidi character from the data (a NUL can make an
    SMTP server refuse the whole mail; an override makes a name read backwards)."""
    if value is None:
        return "—"
    if isinstance(value, Markup):
        return Markup(strip_controls(value))
    return strip_controls(value) if isinstance(value, str) else value


# -- environments and loading ----------------------------------------------------------------


@pass_context
def _localtime(context: Context, value: str | None, date: bool = True) -> str:
    return format_time(value, context["run"]["timezone"], date=date) or "—"


@pass_context
def _span(context: Context, alert: dict[str, Any]) -> str:
    return format_span(alert, context["run"]["timezone"])


def _bold(value: object) -> Mrkdwn:
    text = escape_mrkdwn(clip(value, SLACK_VALUE_MAX))
    # Slack drops a closing `*` that follows punctuation unless a word boundary is forced.
    guard = "" if text[-1:].isalnum() else "\u200b"
    return Mrkdwn(f"*{text}{guard}*")


def _icon(alert: dict[str, Any]) -> Mrkdwn:
    key = "resolved" if alert.get("state") == "resolved" else str(alert.get("severity"))
    return Mrkdwn(SLACK_ICONS.get(key, ":grey_question:"))


def plural(count: int | str | None, noun: str) -> str:
    if isinstance(count, str):  # "unknown": a count the CBS sent that cannot be read
        return f"{noun} count {count}"
    count = count or 0
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _colors(alert: dict[str, Any]) -> tuple[str, str]:
    key = "resolved" if alert.get("state") == "resolved" else str(alert.get("severity"))
    return SEVERITY_COLORS.get(key, ("#333333", "#f5f5f5"))


@functools.lru_cache(maxsize=32)
def environment(kind: OutputKind, user_dir: Path | None = None) -> Environment:
    """An environment that finds the user's files first, then the built-in templates.

    Cached: compiling the templates again for every message cost more than the rest of a
    check. Jinja still notices a changed file (auto_reload), so ``serve`` picks edits up."""
    loaders: list[BaseLoader] = []
    if user_dir is not None:
        loaders.append(FileSystemLoader(str(user_dir)))
    loaders.append(PackageLoader("cbsalert", "templates"))
    env = Environment(
        loader=ChoiceLoader(loaders),
        undefined=StrictUndefined,
        autoescape=kind == "html",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=_slack_finalize if kind == "slack" else _plain_finalize,
    )
    env.filters.update(
        localtime=_localtime,
        span=_span,
        counts=counts_phrase,
        days=days_phrase,
        unchecked=unchecked_phrase,
        setlabel=set_label,
        hint=hint,
        oneline=oneline,
        clip=clip,
        plural=plural,
        colors=_colors,
        state_label=state_label,
    )
    if kind == "slack":
        env.filters.update(bold=_bold, icon=_icon)
    env.globals.update(hints=KIND_HINTS, default_hint=DEFAULT_HINT, resolved_hint=RESOLVED_HINT)
    return env


def user_path(path: str) -> Path:
    """A user's template path, ``~`` expanded. A loaded config's paths are already resolved
    against its folder (``cbsalert.configpath``); only a config built in code can still
    hold a relative one, which is then from the working directory."""
    return Path(path).expanduser().absolute()


def load(kind: OutputKind, builtin: str, path: Path | None = None) -> Template:
    """The user's file at ``path`` when given, else the built-in template ``builtin``.

    Raises ``TemplateError`` naming the file on a missing file or a syntax error.
    """
    env = environment(kind, path.parent if path is not None else None)
    name = path.name if path is not None else builtin
    try:
        return env.get_template(name)
    except TemplateNotFound:
        where = str(path) if path is not None else f"built-in {builtin}"
        raise TemplateError(f"{where}: template file not found") from None
    except TemplateSyntaxError as exc:
        raise TemplateError(describe(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        where = str(path) if path is not None else f"built-in {builtin}"
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise TemplateError(f"{where}: cannot read the template: {reason}") from None


def render(template: Template, **context: Any) -> str:
    """Render, turning any error into a ``TemplateError`` that names the file and line."""
    try:
        return template.render(**context)
    except Exception as exc:  # any error in a user's template is reported, not a crash
        raise TemplateError(describe(exc, template)) from None


class TemplateError(Exception):
    """A template could not be loaded or rendered; the message names the file and line."""


def describe(exc: BaseException, template: Template | None = None) -> str:
    """``file:line: message`` for a Jinja error, found from the error or its traceback."""
    if isinstance(exc, TemplateSyntaxError):
        where = exc.filename or exc.name or "<template>"
        return f"{where}:{exc.lineno}: syntax error: {exc.message}"
    where = template.filename if template is not None and template.filename else "<template>"
    line: int | None = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2") or frame.filename == where:
            where, line = frame.filename, frame.lineno
    kind = "" if type(exc).__module__.startswith("jinja2") else f"{type(exc).__name__}: "
    return f"{where}:{line if line is not None else '?'}: {kind}{exc}"


# The sample alerts and validate_templates live in cbsalert.notify.testmsg; these names are
# re-exported so that callers find everything about templates here.
def sample_context(
    now: datetime, timezone: str = "UTC", *, test: bool = False, hostile: bool = False
) -> dict[str, Any]:
    """A message context with one alert of every kind and state, for previews and tests."""
    from cbsalert.notify.testmsg import sample_context as build

    return build(now, timezone, test=test, hostile=hostile)


def validate_templates(config: Config) -> list[str]:
    """Render every notifier's templates with sample alerts; problems, empty when fine."""
    from cbsalert.notify.testmsg import validate_templates as check

    return check(config)


def check_templates(config: Config) -> None:
    """Raise ``ConfigError`` listing every template problem: a broken template is a config
    error found before a run (check, validate, serve and its reloads), not a delivery
    failure at 7 a.m."""
    problems = validate_templates(config)
    if problems:
        raise ConfigError(f"{config.source}: template problems", problems=problems)


def send_test(config: Config, name: str, now: datetime) -> None:
    """Send a message marked TEST through one notifier (``cbsalert test-notify NAME``)."""
    from cbsalert.notify.testmsg import send_test as send

    send(config, name, now)
