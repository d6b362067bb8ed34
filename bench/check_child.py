"""``cbsalert check`` exactly as the CLI runs it, with the run's own timings in its JSON.

``RunResult`` measures ``duration_s`` (the whole run) and ``state_s`` (time in the state
store) but ``to_json`` does not print them yet; this adds them (and the calls per
operation) without changing anything else. ``bench/run.py`` stops using it by itself
once ``cbsalert check --format json`` carries ``duration_s`` and ``state_s``.
"""

from __future__ import annotations

from typing import Any

from cbsalert import pipeline
from cbsalert.cli import main

_to_json = pipeline.RunResult.to_json


def _with_timings(self: pipeline.RunResult) -> dict[str, Any]:
    doc = _to_json(self)
    doc.setdefault("duration_s", round(self.duration_s, 4))
    doc.setdefault("state_s", round(self.state_s, 4))
    doc.setdefault("calls_by_operation", dict(self.calls_by_operation))
    return doc


pipeline.RunResult.to_json = _with_timings  # type: ignore[method-assign]

if __name__ == "__main__":
    main()
