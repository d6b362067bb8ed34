"""The status grid: every watched user's backup sets x days, from job history.

``model`` turns history rows into the grid (pure); ``source`` reads it from the state
database (the database reduces the rows); ``summary`` says it in a few numbers; ``text``
draws it for a terminal and ``html`` as a page. The ``report`` command, scheduled reports
and the status page all show this one model.
"""

from cbsalert.grid.model import CELL_WORDS, Cell, Grid, GridRow, OwnerTotal, build_grid

__all__ = ["CELL_WORDS", "Cell", "Grid", "GridRow", "OwnerTotal", "build_grid"]
