"""Jinja2 templates for messages: the environment, its generic filters, loading and rendering.

Every environment has StrictUndefined and finds the user's files first, then the built-in
templates (``cbsalert/templates``). How data is escaped depends on the output, and each
notifier owns its own: a ``Flavour`` names one output's autoescape, ``finalize`` (applied
to every ``{{ value }}``) and extra filters. This module defines the two mail flavours:

* ``TEXT`` (email subject and plain-text body): no escaping; templates pipe data through
  ``oneline`` so that a name holding a newline cannot forge lines or headers.
* ``HTML`` (email HTML body): Jinja's HTML autoescape; its ``summary`` filter shows a
  status constant small and grey (the words before it are what a person reads).
* both: control and bidi characters are removed from every ``{{ value }}`` by the
  environment's ``finalize`` (``strip_controls``).

Slack's mrkdwn flavour is the Slack notifier's (``cbsalert.notify.slack_text``). The words
the filters produce are ``cbsalert.labels``'; the per-kind hints are the rule kinds'
(``cbsalert.rules.hint``).
"""

from __future__ import annotations

import functools
import re
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    meta,
    pass_context,
)
from jinja2.runtime import Context
from markupsafe import Markup, escape

from cbsalert.cbswords import modes_phrase, status_phrase
from cbsalert.labels import (
    alert_badge,
    backups_phrase,
    clip,
    counts_phrase,
    day_label,
    days_phrase,
    destination_label,
    failing_phrase,
    format_time,
    job_counts,
    job_facts,
    job_label,
    oneline,
    plural,
    set_label,
    severity_badge,
    severity_key,
    short_days,
    state_label,
    unchecked_phrase,
)
from cbsalert.labels import format_span as _format_span
from cbsalert.rules import DEFAULT_HINT, KIND_HINTS, RESOLVED_HINT, hint
from cbsalert.safetext import strip_controls

# Text colour, background and border of each severity in the HTML email.
SEVERITY_COLORS: dict[str, tuple[str, str]] = {
    "critical": ("#b71c1c", "#fdecea"),
    "warning": ("#8a4b00", "#fff4e5"),
    "info": ("#0d47a1", "#e8f1fb"),
    "resolved": ("#1b5e20", "#edf7ed"),
}


@dataclass(frozen=True)
class Flavour:
    """One kind of output: how every ``{{ value }}`` is escaped (``finalize``, and
    ``autoescape`` for HTML) and the filters only it has (``filters``, name -> function).
    Frozen and hashable: environments are cached per flavour."""

    name: str
    finalize: Callable[[object], object]
    autoescape: bool = False
    filters: tuple[tuple[str, Callable[..., Any]], ...] = ()


def _plain_finalize(value: object) -> object:
    """Text and HTML mail: no control or bidi character from the data (a NUL can make an
    SMTP server refuse the whole mail; an override makes a name read backwards)."""
    if value is None:
        return "—"
    if isinstance(value, Markup):
        return Markup(strip_controls(value))
    return strip_controls(value) if isinstance(value, str) else value


def _summary(alert: dict[str, Any], length: int = 500) -> str:
    """An alert's summary on one line, cut to ``length``."""
    return clip(oneline(alert.get("summary") or ""), length)


# A status constant as the CBS sends it; anything else in ``status`` is data, not markup.
_CONSTANT = re.compile(r"[A-Z][A-Z0-9_]*")
_SMALL_CODE = '<code style="font-size:11px;color:#59636e;">{}</code>'


def _summary_html(alert: dict[str, Any], length: int = 500) -> Markup:
    """The summary, escaped, with its status constant (``(BS_STOP_BY_SYSTEM_ERROR)``, from
    ``cbswords.status_phrase``) small and grey: shown once, after the words."""
    text = escape(_summary(alert, length))
    status = alert.get("status")
    if isinstance(status, str) and _CONSTANT.fullmatch(status):
        small = Markup(_SMALL_CODE).format(status)
        text = Markup(str(text).replace(f"({status})", f"({small})"))
    return text


TEXT = Flavour("text", _plain_finalize)
HTML = Flavour("html", _plain_finalize, autoescape=True, filters=(("summary", _summary_html),))


@pass_context
def _localtime(context: Context, value: str | None, date: bool = True) -> str:
    return format_time(value, context["run"]["timezone"], date=date) or "—"


@pass_context
def _span(context: Context, alert: dict[str, Any]) -> str:
    return _format_span(alert, context["run"]["timezone"])


def _siblings(context: Context) -> list[dict[str, Any]]:
    """The message's alerts, when the template has them (a Slack section renders one)."""
    alerts = context.get("alerts")
    return alerts if isinstance(alerts, list) else []


@pass_context
def _job_label(context: Context, alert: dict[str, Any]) -> str:
    return job_label(alert, _siblings(context))


@pass_context
def _facts(
    context: Context, alert: dict[str, Any], destination: bool = True, said: str = ""
) -> str:
    return job_facts(alert, _siblings(context), destination=destination, said=said)


def _colors(alert: dict[str, Any]) -> tuple[str, str]:
    return SEVERITY_COLORS.get(severity_key(alert), ("#333333", "#f5f5f5"))


@functools.lru_cache(maxsize=32)
def environment(flavour: Flavour, user_dir: Path | None = None) -> Environment:
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
        autoescape=flavour.autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        finalize=flavour.finalize,
    )
    env.filters.update(
        localtime=_localtime,
        span=_span,
        counts=counts_phrase,
        days=days_phrase,
        shortdays=short_days,
        unchecked=unchecked_phrase,
        setlabel=set_label,
        hint=hint,
        oneline=oneline,
        clip=clip,
        plural=plural,
        colors=_colors,
        state_label=state_label,
        badge=alert_badge,
        severity_badge=severity_badge,
        status=status_phrase,
        modes=modes_phrase,
        job_counts=job_counts,
        destination=destination_label,
        job_label=_job_label,
        facts=_facts,
        summary=_summary,
        failing=failing_phrase,
        shortday=day_label,
        backups=backups_phrase,
    )
    env.filters.update(dict(flavour.filters))
    env.globals.update(hints=KIND_HINTS, default_hint=DEFAULT_HINT, resolved_hint=RESOLVED_HINT)
    return env


def user_path(path: str) -> Path:
    """A user's template path, ``~`` expanded. A loaded config's paths are already resolved
    against its folder (``cbsalert.configpath``); only a config built in code can still
    hold a relative one, which is then from the working directory."""
    return Path(path).expanduser().absolute()


def load(flavour: Flavour, builtin: str, path: Path | None = None) -> Template:
    """The user's file at ``path`` when given, else the built-in template ``builtin``.

    Raises ``TemplateError`` naming the file on a missing file or a syntax error.
    """
    env = environment(flavour, path.parent if path is not None else None)
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


def variables(template: Template) -> set[str]:
    """The context names a template's own source uses (not those of the files it includes
    or extends): how a notifier tells an older override, written for other variables, from
    a current one. Empty when the source cannot be read again."""
    env, name = template.environment, template.name
    if env.loader is None or name is None:
        return set()
    try:
        source, _, _ = env.loader.get_source(env, name)
        return set(meta.find_undeclared_variables(env.parse(source)))
    except (TemplateNotFound, TemplateSyntaxError, OSError, UnicodeDecodeError):
        return set()


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
