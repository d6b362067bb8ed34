"""Microsoft Teams notifier: an Adaptive Card posted to a Workflows webhook.

A Teams channel takes messages through a workflow ("When a Teams webhook request is
received", https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook),
whose URL holds its signature (``sig=``): the URL is the secret. The body is a message with
one Adaptive Card attachment::

    {"type": "message",
     "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                      "contentUrl": null, "content": {"type": "AdaptiveCard", ...}}]}

The card reads summary first, as the other digests (``cbsalert.notify.digest``): the
headline naming the worst entries, the days and the server, what happened by count, then
one entry per backup set, worst first, each with what happened, its summary and what to
do. Teams refuses a message over about 28 KB (413 Request Entity Too Large, some tenants
sooner): entries that do not fit in ``PAYLOAD_BUDGET`` bytes are left out and counted in a
last line, with those the digest's ``max_alerts`` left out.

Card text is Markdown to Teams: data is made inert (``inert``): one line, no control or
bidi character, clipped, and the characters that format (``*``, ``_``, ``~``, backticks,
brackets that make a link, a list marker at the start) replaced by look-alikes. HTML is
shown as text by Teams, so ``<`` and ``>`` stay.

The workflow answers 202 once it has the request; it posts the card afterwards, so a card
Teams cannot show fails in the workflow's run history, not here. 429 is retried after its
Retry-After, 5xx retried, any other 4xx (a deleted workflow, a wrong signature, 413) is
permanent (``notify.http.post_json``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from cbsalert.labels import (
    SEVERITY_EMOJI,
    clip,
    format_time,
    oneline,
    plural,
    run_days,
    state_label,
)
from cbsalert.notify import digest
from cbsalert.notify.base import Notifier, Parts, Probe
from cbsalert.notify.context import MessageContext
from cbsalert.notify.http import json_bytes, post_json
from cbsalert.notify.kinds import TeamsConfig
from cbsalert.rules import hint
from cbsalert.safetext import strip_controls

CARD_TYPE = "application/vnd.microsoft.card.adaptive"
PAYLOAD_BUDGET = 24_000  # bytes of JSON, below Teams' ~28 KB with room for its own framing
TEXT_MAX = 300
# Look-alikes: ASTERISK OPERATOR, MODIFIER LETTER LOW MACRON, TILDE OPERATOR, MODIFIER
# LETTER GRAVE ACCENT, FULLWIDTH SQUARE BRACKETS.
_SUBSTITUTES = str.maketrans(
    {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb", "[": "\uff3b", "]": "\uff3d"}
)
# A list marker at the start of a text (``- ``, ``+ ``, ``1. ``, ``1) ``): HYPHEN, FULLWIDTH
# PLUS SIGN, ONE DOT LEADER, FULLWIDTH RIGHT PARENTHESIS.
_LIST_MARKER = re.compile(r"^([-+]|\d+[.)])(?=\s)")
_MARKER_SUBSTITUTES = str.maketrans({"-": "\u2010", "+": "\uff0b", ".": "\u2024", ")": "\uff09"})


def inert(value: object, limit: int = TEXT_MAX) -> str:
    """Data as Teams Markdown that formats nothing: see the module docstring."""
    text = clip(strip_controls(oneline(value)), limit).translate(_SUBSTITUTES)
    return _LIST_MARKER.sub(lambda m: m.group().translate(_MARKER_SUBSTITUTES), text)


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


class TeamsNotifier(Notifier):
    def __init__(self, name: str, config: TeamsConfig) -> None:
        super().__init__(name)
        self.config = config

    def render(self, context: MessageContext) -> dict[str, Any]:
        """The Workflows payload ``send`` would post, within ``PAYLOAD_BUDGET`` bytes."""
        message = digest.message(context)
        run, entries = message["run"], message["entries"]
        head = self._head(run, message["headline"])
        blocks = [self._entry(run, entry) for entry in entries]
        sizes = [len(json_bytes(block)) + 1 for block in blocks]
        longest_tail = self._left_out(run, entries)  # as if every entry were left out
        base = len(json_bytes(_payload([*head, *([longest_tail] if longest_tail else [])])))
        keep = len(blocks)
        while keep and base + sum(sizes[:keep]) > PAYLOAD_BUDGET:
            keep -= 1
        tail = self._left_out(run, entries[keep:])
        return _payload([*head, *blocks[:keep], *([tail] if tail else [])])

    def _head(self, run: Mapping[str, Any], headline: str) -> list[dict[str, Any]]:
        zone = run["timezone"]
        facts = [f"Backups of {run_days(run)}", f"checked {format_time(run['generated_at'], zone)}"]
        if run.get("server"):
            facts.append(f"CBS {inert(run['server'], 100)}")
        blocks = [_text(inert(headline, 400), size="Medium", weight="Bolder")]
        if run.get("test"):
            test = "TEST MESSAGE from cbsalert: sample alerts, to show what a real message "
            blocks.append(_text(test + "looks like. Nothing needs doing.", color="Attention"))
        blocks.append(_text(" · ".join(facts), isSubtle=True, spacing="None"))
        if run.get("days_not_checked"):
            missed = run_days({"date": "", "days": run["days_not_checked"]})
            blocks.append(_text(f"Not checked: {missed} (older than catch_up_days)", isSubtle=True))
        summary = run.get("summary") or {}
        what = [f"{row['count']} {inert(row['what'], 80)}" for row in summary.get("what", [])]
        if what:
            blocks.append(_text("What happened: " + ", ".join(what)))
        owners = [f"{inert(o['owner'] or 'no owner', 60)} ({o['count']})"
                  for o in summary.get("owners", [])]  # fmt: skip
        if owners:
            blocks.append(_text("Most affected owners: " + ", ".join(owners), isSubtle=True))
        if not run["counts"]["total"]:
            blocks.append(_text("No alerts."))
        return blocks

    def _entry(self, run: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
        first = entry["alerts"][0]
        icon = SEVERITY_EMOJI["resolved" if entry["resolved"] else str(entry["severity"])]
        title = f"{icon} **{inert(digest.entry_name(entry, run), 120)}** — {inert(entry['what'])}"
        title += f" ({inert(state_label(first), 80)})"
        if len(entry["alerts"]) > 1:
            title += f" · {len(entry['alerts'])} alerts"
        details = [inert(first.get("summary"))]
        if entry.get("owner"):
            details.append(f"owner {inert(entry['owner'], 80)}")
        days = first.get("days_failing") or 0
        if first.get("since") and not entry["resolved"] and days > 1:
            since = format_time(first["since"], run["timezone"])
            details.append(f"failing since {since} ({plural(days, 'day')})")
        return {
            "type": "Container",
            "separator": True,
            "items": [
                _text(title),
                _text(" · ".join(details), spacing="None"),
                _text(f"What to do: {inert(hint(first))}", isSubtle=True, spacing="None"),
            ],
        }

    def _left_out(
        self, run: Mapping[str, Any], dropped: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any] | None:
        """The last line: what neither ``max_alerts`` nor the size limit let in, or None."""
        alerts = sum(len(e["alerts"]) for e in dropped) + (run.get("omitted") or 0)
        if not alerts:
            return None
        return _text(
            f"… and {plural(alerts, 'more alert')}, not listed here: run `cbsalert alerts` on "
            "the cbsalert host to see them all.",
            isSubtle=True,
            separator=True,
        )

    def send(self, context: MessageContext, parts: Parts | None = None) -> None:
        self.post(self.render(context))

    def post_card(self, body: list[dict[str, Any]]) -> None:
        """Post an Adaptive Card of ``body`` (a scheduled report's); as ``send`` does."""
        self.post(_payload(body))

    def post(self, payload: dict[str, Any]) -> None:
        post_json(
            self.config.webhook_url.get_secret_value(),
            json_bytes(payload),
            what=f"teams {self.name}",
            timeout_s=self.config.timeout_s,
            secrets=self.config.secret_values(),
        )

    def probe(self) -> Probe:
        """A workflow's webhook has no call that checks it without posting a message."""
        return Probe(
            False,
            "a Teams workflow webhook cannot be tested without posting a message "
            f"(`cbsalert test-notify {self.name}` posts a marked test card)",
        )


def _payload(body: list[dict[str, Any]]) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [{"contentType": CARD_TYPE, "contentUrl": None, "content": card}],
    }
