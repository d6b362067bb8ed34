"""The benchmark's processes: the simulated CBS in its own process, and each
``cbsalert check`` as a child whose own peak RSS and CPU time are read from ``wait4``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
# cbsalert.cbs logs each retried attempt at INFO: "<Operation> failed (<why>); retrying in …"
_RETRY = re.compile(r"(\w+) failed \((.*?)\); retrying")
# cbsalert.pipeline logs at INFO what keeping job history took in the run.
_HISTORY = re.compile(r"job history: (\d+) rows written in ([\d.]+) s")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux ``/proc``), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS


class SimulatorProcess:
    """``cbsalert simulate`` in its own process; ``url`` is read from what it prints."""

    def __init__(self, data_file: Path, latency_ms: float) -> None:
        # Kept open as long as the process runs; closed in stop().
        self._err: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        cmd = [sys.executable, "-m", "cbsalert", "simulate", "--data", str(data_file),
               "--port", "0", "--latency-ms", f"{latency_ms:g}"]  # fmt: skip
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._err, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (\S+)", line)
        self.stderr = ""  # what it said on stderr (tracebacks of failed requests), at stop()
        if match is None:
            self.stop()
            raise RuntimeError(f"the simulator did not start: {self.stderr}")
        self.url = match.group(1)
        self.latency_ms = latency_ms

    def cpu_s(self) -> float | None:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if not self._err.closed:
            self._err.seek(0)
            self.stderr = self._err.read().decode(errors="replace")[-4000:]
            self._err.close()

    def __enter__(self) -> SimulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def check_command(config: Path, day: str) -> list[str]:
    """``cbsalert check`` as a user runs it; its JSON carries ``duration_s`` and ``state_s``."""
    # -v: INFO logs on stderr, where the client says which calls it retried and why.
    args = ["-v", "check", "-c", str(config), "--date", day, "--format", "json"]
    return [sys.executable, "-m", "cbsalert", *args]


@dataclass
class CheckRun:
    """One ``cbsalert check`` process, measured from the outside."""

    exit_code: int
    wall_s: float
    maxrss_mb: float
    cpu_s: float
    doc: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""
    retries: list[str] = field(default_factory=list)
    history_s: float | None = None  # making and writing job history rows, in the run


def run_check(cmd: list[str]) -> CheckRun:
    """Run one check through ``rusage.py``, which forks it from a small process and reads
    its peak RSS and CPU time with ``wait4``: they are this check's alone."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.TemporaryDirectory() as tmp,
    ):
        report = Path(tmp) / "rusage.json"
        wrapper = [sys.executable, "-I", str(HERE / "rusage.py"), str(report)]
        subprocess.run([*wrapper, *cmd], stdout=out, stderr=err, check=True)
        usage = json.loads(report.read_text(encoding="utf-8"))
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode()
    try:
        doc = json.loads(text)
    except ValueError:
        doc = {}
    return CheckRun(
        exit_code=usage["exit_code"],
        wall_s=usage["wall_s"],
        maxrss_mb=usage["maxrss_kb"] / 1024,
        cpu_s=usage["cpu_s"],
        doc=doc,
        stderr=errors[-4000:],
        retries=[m.group(0) for m in _RETRY.finditer(errors)],
        history_s=float(found.group(2)) if (found := _HISTORY.search(errors)) else None,
    )
