"""Words for people: one definition of each phrase that templates, the terminal and the
built-in alerts share. Pure: no Jinja, no rich, nothing from the rest of cbsalert, so every
layer may import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta


def days_phrase(days: Iterable[date | str]) -> str:
    """``2026-11-17``, ``2026-11-17 and 2026-11-18``, ``2026-11-16 to 2026-11-18``; days
    that are not consecutive are listed."""
    ordered = sorted({d if isinstance(d, date) else date.fromisoformat(d) for d in days})
    spans: list[list[date]] = []
    for d in ordered:
        if spans and d - spans[-1][-1] == timedelta(days=1):
            spans[-1].append(d)
        else:
            spans.append([d])
    parts: list[str] = []
    for span in spans:
        if len(span) > 2:
            parts.append(f"{span[0]} to {span[-1]}")
        else:
            parts.extend(str(d) for d in span)
    if len(parts) < 2:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
