"""Fail points: named steps of a check where a fault test kills the process (test-only).

The pipeline calls ``point(name)`` as it passes each step below; that does nothing unless
this process was started by the test-only entry point::

    python -m cbsalert.devtools.faults [--kill-at POINT] [--file-size-limit BYTES] -- ARGS

which arms the point, then runs ``cbsalert ARGS`` in the same process. Reaching an armed
point SIGKILLs the process: no ``finally``, no ``atexit``, no flush, like a power cut or the
OOM killer at that exact step, instead of a timing guess. ``--file-size-limit`` sets
RLIMIT_FSIZE first (it binds root too), so the state database cannot grow: a full disk.

Not an environment variable on purpose: no stray setting can arm a production process;
only a process started this way ever has a point armed. Tests: tests/test_faults_process.py.
"""

from __future__ import annotations

import argparse
import os
import resource
import runpy
import signal
import sys
from typing import Literal

Point = Literal["evaluated", "reconciled", "sent"]
POINTS: dict[Point, str] = {
    "evaluated": "rules evaluated; nothing reconciled or stored yet",
    "reconciled": "alert changes and owed deliveries committed, run lock held; nothing sent",
    "sent": "a message delivered (the notifier returned); not yet marked sent",
}
_armed: set[str] = set()  # filled by main() only


def point(name: Point) -> None:
    """The run has passed step ``name``; die here if this process was armed to."""
    if name in _armed:
        os.kill(os.getpid(), signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        raise SystemExit("usage: python -m cbsalert.devtools.faults [OPTIONS] -- CBSALERT-ARGS")
    split = argv.index("--")
    parser = argparse.ArgumentParser(
        prog="python -m cbsalert.devtools.faults",
        description="Run cbsalert with a fault injected (for the fault tests only).",
        epilog="points: " + "; ".join(f"{name}: {what}" for name, what in POINTS.items()),
    )
    parser.add_argument("--kill-at", choices=list(POINTS), action="append", default=[])
    parser.add_argument("--file-size-limit", type=int, metavar="BYTES")
    options = parser.parse_args(argv[:split])
    if options.file_size_limit is not None:
        hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
        resource.setrlimit(resource.RLIMIT_FSIZE, (options.file_size_limit, hard))
    _armed.update(options.kill_at)
    sys.argv = ["cbsalert", *argv[split + 1 :]]
    runpy.run_module("cbsalert", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    # Run with -m, this file is ``__main__``: a second copy of the module. Arm the copy the
    # pipeline imports.
    from cbsalert.devtools.faults import main as _main

    _main()
