"""An email's HTML within the size at which Gmail clips it.

Gmail shows "[Message clipped]" and hides the rest of a message whose HTML is over about
102 KB: the end of a long digest, with what it left out, would be lost. 300 alerts as cards
made 206 KB. So the HTML part is measured after rendering and, when it is over
``HTML_BUDGET``, rendered again with fewer entries as full cards (``cards``) and the rest
as one line each; if even the lines do not fit, the last entries are left out too, and
counted with what ``max_alerts`` left out (``run.summary.left_out``, ``run.omitted``). The
plain-text part is not fitted: it stays complete.

The sizes are measured, not predicted from the template, so a user's own template is held
to the same budget (one that is too big whatever it lists is sent as it is).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import groupby
from typing import Any

from cbsalert.model import SEVERITY_ORDER
from cbsalert.notify import digest
from cbsalert.notify.context import MessageContext

# Bytes of UTF-8 HTML; under Gmail's ~102 KB with room for the headers Gmail counts too.
HTML_BUDGET = 95_000
# An entry as one line takes more than this: more entries than the budget holds at this
# size are not even rendered (a 10,000-alert digest renders ~1,500 entries, not 10,000).
LINE_BYTES_AT_LEAST = 60
# Cards kept before the entries listed as lines are cut: the worst ones in full, always.
MIN_CARDS = 10

Render = Callable[[MessageContext, int], str]  # (context, cards) -> HTML


def size(html: str) -> int:
    """Bytes as the part travels: UTF-8, each line ending in CRLF (RFC 5322)."""
    return len(html.encode("utf-8")) + html.count("\n")


def fit(render: Render, context: MessageContext, budget: int = HTML_BUDGET) -> str:
    """``render(context, cards)`` for the most ``cards`` and listed entries that keep the
    HTML within ``budget`` bytes: first fewer cards (down to ``MIN_CARDS``), then fewer
    entries listed, then fewer cards again."""
    total = len(_groups(context["alerts"]))
    listed = min(total, budget // LINE_BYTES_AT_LEAST)
    context = cut(context, listed)  # once: the cuts below are of a short list
    html = render(context, listed)
    if size(html) <= budget:
        return html
    # A linear model of the size, from three renders: a base, a line per entry, a card's
    # extra over its line. The model picks the first try; measuring decides.
    lines = size(render(context, 0))
    base = size(render(cut(context, 0), 0))
    per_line = max((lines - base) / max(listed, 1), 1.0)
    per_card = max((size(html) - lines) / max(listed, 1), 1.0)
    cards = min(MIN_CARDS, listed)
    room = budget - base - cards * per_card
    listed = max(cards, min(listed, int(room / per_line)))
    room = budget - base - listed * per_line
    cards = max(cards, min(listed, int(room / per_card)))
    while True:
        html = render(cut(context, listed), cards)
        if size(html) <= budget or listed == 0:
            return html
        if cards > MIN_CARDS or (cards and listed <= cards):
            cards -= max(1, cards // 10)
        else:
            listed -= max(1, (listed - cards) // 10)


def cut(context: MessageContext, listed: int) -> MessageContext:
    """``context`` listing only its first ``listed`` entries: the alerts of the others are
    added to ``run.omitted`` and counted in ``run.summary.left_out``, as if ``max_alerts``
    had left them out."""
    groups = _groups(context["alerts"])
    if listed >= len(groups):
        return context
    kept, dropped = groups[:listed], groups[listed:]
    run = dict(context["run"])
    run["omitted"] = (run.get("omitted") or 0) + sum(len(g) for g in dropped)
    summary = dict(run.get("summary") or {})
    summary["left_out"] = merge(digest.summary(dropped, 0)["left_out"], summary.get("left_out"))
    run["summary"] = summary
    return {**context, "run": run, "alerts": [a for g in kept for a in g]}


def _groups(alerts: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    return [list(group) for _, group in groupby(alerts, key=digest.entry_key)]


def merge(first: Mapping[str, Any], then: Mapping[str, Any] | None) -> dict[str, Any]:
    """Two ``left_out`` counts as one; ``first``'s users named first (they are the worse).
    A user named in ``first`` and among ``then``'s unnamed ones is counted twice: ``then``
    keeps only a count of those."""
    if not then:
        return dict(first)
    rows: dict[str, dict[str, Any]] = {}
    for row in [*first["what"], *then["what"]]:
        seen = rows.setdefault(row["what"], {**row, "count": 0})
        seen["count"] += row["count"]
        if SEVERITY_ORDER.get(row["severity"], 9) < SEVERITY_ORDER.get(seen["severity"], 9):
            seen["severity"] = row["severity"]
    logins = list(dict.fromkeys([*first["logins"], *then["logins"]]))
    more = first["more_logins"] + then["more_logins"]
    more += max(0, len(logins) - digest.LOGINS_LISTED)
    counted = ("entries", "critical", "warning", "info", "resolved")
    return {
        **{key: first[key] + then[key] for key in counted},
        "what": sorted(
            rows.values(), key=lambda r: (SEVERITY_ORDER.get(r["severity"], 9), -r["count"])
        ),
        "logins": logins[: digest.LOGINS_LISTED],
        "more_logins": more,
    }
