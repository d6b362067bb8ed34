"""The grid on a terminal: one line per backup set, one column per day, worst rows first.

Fits 80 columns for 7 days and uses the width it is given beyond that: the day columns
are three characters, the rate five, and the user/set label gets the rest (clipped with
``…``, never below 16 characters). Every cell is a symbol *and* the legend says it in words,
so nothing depends on colour. Names from the CBS pass ``terminal.visible``: escape
sequences and control characters are shown, never obeyed.
"""

from __future__ import annotations

from collections.abc import Iterator

from cbsalert.grid.model import CELL_WORDS, Cell, Grid, rate_text
from cbsalert.labels import clip
from cbsalert.terminal import visible

SYMBOLS: dict[Cell, str] = {
    "ok": "✓",
    "warning": "!",
    "failed": "✗",
    "missed": "○",
    "running": "…",
    "not_due": "·",
    "unchecked": "?",
}
_DAY = 3
_PADDED = {cell: f"{symbol:>{_DAY}}" for cell, symbol in SYMBOLS.items()}  # a day's column
_RATE = 5
_MIN_LABEL = 16


def legend(width: int = 80) -> Iterator[str]:
    """The symbols in words, wrapped at ``width``."""
    line = ""
    for cell, symbol in SYMBOLS.items():
        item = f"{symbol} {CELL_WORDS[cell]}"
        if line and len(line) + 2 + len(item) > width:
            yield line
            line = ""
        line = f"{line}  {item}" if line else item
    yield line


def lines(grid: Grid, width: int = 80) -> Iterator[str]:
    """The grid as lines of at most ``width`` characters (a label never shrinks below
    ``_MIN_LABEL``: a very narrow terminal wraps rather than losing the days)."""
    label_w = max(_MIN_LABEL, width - _DAY * len(grid.days) - _RATE - 1)
    head = " " * label_w + "".join(f"{d.day:>{_DAY}}" for d in grid.days) + f"{'ok':>{_RATE}}"
    yield head
    if not grid.rows:
        yield "(no history for these days: run `cbsalert backfill` to fetch past days)"
        return
    for row in grid.rows:
        owner = f" [{row.owner}]" if row.owner else ""
        label = visible(clip(f"{row.login}{owner} · {row.backup_set_name}", label_w))
        label = label if len(label) <= label_w else label[: label_w - 1] + "…"
        cells = "".join(map(_PADDED.__getitem__, row.cells))
        yield f"{label:<{label_w}}{cells}{rate_text(row.rate):>{_RATE}}"
    yield ""
    yield from legend(width)
    if len(grid.owners) > 1 or (grid.owners and grid.owners[0].owner):
        yield ""
        yield "By owner (worst first):"
        name_w = max(_MIN_LABEL, width - 40)  # the counts after it take 39 columns
        for total in grid.owners:
            name = visible(clip(total.owner or "(no owner)", name_w))
            yield (
                f"  {name:<{name_w}} {total.rows:>5} sets {total.problems:>5} with problems"
                f" {rate_text(total.rate):>5}"
            )[:width]
