"""Run a command; write its own wall time, peak RSS and CPU time as JSON to a file.

``python bench/rusage.py OUT.json CMD...``. Linux records a process's peak RSS across
``exec``, so a child forked straight from the benchmark (which holds a 10,000-user world
in memory) would report the benchmark's size as its own. Forked from this small process,
the check's ``ru_maxrss`` is the check's alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time


def main() -> int:
    out, cmd = sys.argv[1], sys.argv[2:]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    report = {
        "wall_s": wall,
        "maxrss_kb": usage.ru_maxrss,  # kilobytes on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "exit_code": proc.returncode,
    }
    with open(out, "w", encoding="utf-8") as file:
        json.dump(report, file)
    return 0


if __name__ == "__main__":
    sys.exit(main())
