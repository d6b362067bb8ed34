"""What a report says, as plain data for its templates: pure, from the grid.

A ``grid`` report lists every backup set with a problem (a failed, missed or warning day)
with its days, worst first, and counts the healthy ones; a ``summary`` lists only the
worst ``SUMMARY_ROWS``. Both give the counts, the success rate, the owners' subtotals and
the watched users without history. How many rows a message can hold is the renderer's
business (``listed``): the rest are counted, never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import Any

from cbsalert.grid.model import CELL_WORDS, GridRow, rate_text
from cbsalert.grid.source import GridView, backfill_command
from cbsalert.grid.summary import GridSummary, headline, summarize
from cbsalert.grid.text import SYMBOLS
from cbsalert.labels import day_label, format_time

SUMMARY_ROWS = 10
# Colours of a cell in an email (text colour): a symbol always says it too.
CELL_COLORS = {
    "ok": "#1a7f37", "warning": "#8a4b00", "failed": "#b71c1c", "missed": "#b71c1c",
    "running": "#0d47a1", "not_due": "#8c959f", "unchecked": "#59636e",
}  # fmt: skip


@dataclass
class ReportContent:
    name: str
    kind: str
    server: str
    timezone: str
    view: GridView
    generated: datetime
    summary: GridSummary = field(init=False)
    problems: list[GridRow] = field(init=False)

    def __post_init__(self) -> None:
        self.summary = summarize(self.view.grid)
        self.problems = [row for row in self.view.grid.rows if row.problem]

    @property
    def wanted_rows(self) -> int:
        """The problem rows this kind of report lists, before any size limit."""
        limit = len(self.problems) if self.kind == "grid" else SUMMARY_ROWS
        return min(limit, len(self.problems))

    def template_data(self, listed: int | None = None) -> dict[str, Any]:
        """What the report's templates get: ``report`` (everything but the rows), ``rows``
        (the first ``listed`` problem rows, worst first; default: ``wanted_rows``) and
        ``left_out`` (problem rows not listed), ``symbols``, ``words`` and ``colors``."""
        listed = self.wanted_rows if listed is None else min(listed, self.wanted_rows)
        view, grid = self.view, self.view.grid
        report = {
            "name": self.name, "kind": self.kind, "server": self.server,
            "timezone": self.timezone, "first": view.query.first.isoformat(),
            "last": view.query.end.isoformat(), "days": len(grid.days),
            "day_labels": [{"iso": d.isoformat(), "day": d.day, "label": day_label(d)}
                           for d in grid.days],
            "headline": headline(self.summary), "summary": self.summary.to_dict(),
            "rate_text": rate_text(self.summary.rate),
            "healthy": self.summary.sets - self.summary.problems,
            "healthy_text": counted(self.summary.sets - self.summary.problems, "backup set"),
            "left_out_text": counted(len(self.problems) - listed, "more backup set"),
            "no_history_text": counted(len(view.no_history), "watched user"),
            "owners": [{"owner": o.owner, "rows": o.rows, "problems": o.problems,
                        "rate_text": rate_text(o.rate)} for o in grid.owners],
            "no_history": view.no_history, "backfill": backfill_command(view),
            "owner": view.query.owner, "logins": list(view.query.logins),
            "generated": format_time(self.generated, self.timezone),
        }  # fmt: skip
        return {
            "report": report,
            "rows": [row_data(row) for row in self.problems[:listed]],
            "left_out": len(self.problems) - listed,
            "symbols": SYMBOLS, "words": CELL_WORDS, "colors": CELL_COLORS,
        }  # fmt: skip


def counted(count: int, noun: str) -> str:
    """``1,900 more backup sets``, ``1 watched user``."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def row_data(row: GridRow) -> dict[str, Any]:
    """One row for a template: names, ``cells`` (codes), ``symbols`` (one string),
    ``runs`` (consecutive equal cells as ``{"cell", "symbols"}``: one coloured span each in
    an email), the rate and the failed or missed days."""
    return {
        "login": row.login, "owner": row.owner, "set": row.backup_set_name,
        "cells": list(row.cells), "symbols": "".join(SYMBOLS[c] for c in row.cells),
        "runs": [{"cell": cell, "symbols": SYMBOLS[cell] * len(list(same))}
                 for cell, same in groupby(row.cells)],
        "rate_text": rate_text(row.rate), "failures": row.failures,
    }  # fmt: skip
