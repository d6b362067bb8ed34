"""The grid as one self-contained HTML page: ``report --format html`` and the status page.

Rendered with the HTML flavour of ``cbsalert.render`` (autoescape on, control characters
dropped), so a CBS name cannot inject markup. No JavaScript: filters are a GET form, the
status page refreshes itself with a meta tag. Each cell carries its symbol as well as its
colour, and its day and meaning in a title (made once per day and kind of cell: the
rows' cells are joined in Python, not looped over in the template, which for 2,000 users
took most of the page's second).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from cbsalert import render
from cbsalert.grid.model import CELL_WORDS, Grid, rate_text
from cbsalert.grid.text import SYMBOLS
from cbsalert.labels import day_label

TEMPLATE = "grid.html.j2"


def page(
    grid: Grid,
    *,
    title: str,
    generated: str,
    filters: dict[str, Any] | None = None,
    refresh_s: int | None = None,
    user_link: bool = False,
    base: str = "",
    link_suffix: str = "",
    notes: Sequence[str] = (),
    template: str = TEMPLATE,
    **extra: Any,
) -> str:
    """The page's HTML. ``filters`` (owner, only_problems, owners) shows the filter form;
    ``user_link`` links each user to ``{base}user?login={login}{link_suffix}`` (the
    status page's ``&token=...``, when the token came in the URL); ``notes`` are lines
    shown above the grid (users without history). A page that extends the grid's
    (``template``, the status page's user page) gets ``extra`` as well."""
    data = grid.to_dict()
    cells = _cell_html(grid)
    for row, source in zip(data["rows"], grid.rows, strict=True):
        row["rate_text"] = rate_text(source.rate)
        row["cells_html"] = Markup("".join([cells[i][c] for i, c in enumerate(source.cells)]))
    for owner, total in zip(data["owners"], grid.owners, strict=True):
        owner["rate_text"] = rate_text(total.rate)
    loaded = render.load(render.HTML, template)
    return render.render(
        loaded, title=title, grid=data, words=CELL_WORDS, symbols=SYMBOLS,
        days=_days(grid), generated=generated, filters=filters or {},
        refresh_s=refresh_s, user_link=user_link, base=base, link_suffix=link_suffix,
        notes=list(notes), **extra,
    )  # fmt: skip


def _cell_html(grid: Grid) -> list[dict[str, str]]:
    """Each day's span for each kind of cell, made once: a page of 4,000 rows has 56,000
    cells and only 7 x its days different ones. Nothing in them comes from the CBS (a
    cell code, a date, cbsalert's own words), so they are markup as they are."""
    return [
        {cell: f'<span class="c {cell}" title="{day.isoformat()}: {word}">{SYMBOLS[cell]}</span>'
         for cell, word in CELL_WORDS.items()}
        for day in grid.days
    ]  # fmt: skip


def _days(grid: Grid) -> Sequence[dict[str, Any]]:
    return [
        {"iso": d.isoformat(), "day": d.day, "weekday": day_label(d).split()[0]} for d in grid.days
    ]
