"""What showing job history costs (issue 18.9): ``cbsalert report --days 14`` over 10,000
users x 2 sets with 400 days of history (each format, as a separate process, its wall and
CPU time from ``wait4``), the status page of 2,000 users (GET over loopback from a real
metrics server, as ``serve`` runs it), the weekly grid email of those 2,000 users (its
size, the rows it lists), and SQLite's plan for the report's query.

    .venv/bin/python -m bench.grid [--users 10000] [--days 400] [--db FILE]
    .venv/bin/python bench/run.py --scenario grid

The databases are filled in bulk (``bench.gridfill``); ``--db FILE`` keeps the big one
for the next run (filling 8 million rows takes about 6 minutes on two cores).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.gridfill import fill, login, owner  # noqa: E402

REPEAT = 3
PAGE_USERS = 2000


def _config(path: Path, state: Path, users: int, **extra: Any) -> Path:
    import yaml

    doc = {
        "cbs": {"url": "http://127.0.0.1:9", "sys_user": "system", "sys_password": "bench-pw"},
        "timezone": "UTC", "state": f"sqlite:///{state}",
        "watch": [{"login": login(u), "owner": owner(u)} for u in range(users)],
        "rules": [{"id": "backup-failed", "kind": "backup_status"}],
        **extra,
    }  # fmt: skip
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    path.chmod(0o600)
    return path


def _yesterday() -> Any:
    return datetime.now(UTC).date() - timedelta(days=1)


def _filled(state: Path, users: int, sets: int, days: int) -> dict[str, Any]:
    if state.exists():
        rows = sqlite3.connect(state).execute("SELECT COUNT(*) FROM job_history").fetchone()[0]
        return {"rows": rows, "fill_s": None, "reused": True}
    rows, took = fill(f"sqlite:///{state}", users, sets, days, _yesterday())
    return {"rows": rows, "fill_s": round(took, 1), "reused": False}


def report_runs(config: Path, fmt: str, days: int = 14) -> dict[str, Any]:
    """``cbsalert report`` as a process, ``REPEAT`` times: wall and CPU (median, min)."""
    runs = []
    for _ in range(REPEAT):
        with tempfile.NamedTemporaryFile(suffix=".json") as usage:
            cmd = [sys.executable, str(ROOT / "bench" / "rusage.py"), usage.name, sys.executable,
                   "-m", "cbsalert", "report", "-c", str(config), "--days", str(days),
                   "--format", fmt, "--output", os.devnull]  # fmt: skip
            subprocess.run(
                cmd, check=True, capture_output=True, env={**os.environ, "COLUMNS": "80"}
            )
            runs.append(json.loads(Path(usage.name).read_text()))
    walls, cpus = [r["wall_s"] for r in runs], [r["cpu_s"] for r in runs]
    return {
        "format": fmt,
        "wall_s": round(statistics.median(walls), 3), "wall_min_s": round(min(walls), 3),
        "cpu_s": round(statistics.median(cpus), 3), "cpu_min_s": round(min(cpus), 3),
        "peak_rss_mb": round(max(r["maxrss_kb"] for r in runs) / 1024, 1),
        "exit_codes": sorted({r["exit_code"] for r in runs}),
    }  # fmt: skip


def status_page(config_path: Path) -> dict[str, Any]:
    """GET / (the grid of 14 days) and /user from a metrics server with the status page."""
    import httpx

    from cbsalert.config import load_config
    from cbsalert.metrics import Metrics, MetricsServer
    from cbsalert.statuspage import StatusPages

    config = load_config(config_path)
    pages = StatusPages(lambda: config)
    server = MetricsServer(Metrics(), "127.0.0.1", 0, lambda: True, pages=pages).start()
    out: dict[str, Any] = {}
    try:
        with httpx.Client(timeout=60) as client:
            for name, path in (("grid", "/"), ("problems", "/?problems=1"),
                               ("user", f"/user?login={login(7)}")):  # fmt: skip
                times, size = [], 0
                for _ in range(REPEAT + 1):  # the first one opens the database
                    started = time.perf_counter()
                    answer = client.get(server.url + path)
                    times.append(time.perf_counter() - started)
                    answer.raise_for_status()
                    size = len(answer.content)
                out[name] = {"median_s": round(statistics.median(times[1:]), 3),
                             "first_s": round(times[0], 3), "bytes": size}  # fmt: skip
    finally:
        server.stop()
        pages.close()
    return out


def email_report(config_path: Path) -> dict[str, Any]:
    """The weekly grid email of the page's 2,000 users, rendered as it is sent."""
    from contextlib import closing

    from cbsalert.config import load_config
    from cbsalert.reports.content import ReportContent
    from cbsalert.reports.render import email, mime_size
    from cbsalert.reports.send import content_of
    from cbsalert.state import open_existing_store

    config = load_config(config_path)
    report = config.reports[0]
    started = time.perf_counter()
    with closing(open_existing_store(config.state)) as store:
        content: ReportContent = content_of(config, report, store, datetime.now(UTC))
    parts = email(content, report)
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "bytes": mime_size(parts.text, parts.html), "problem_rows": len(content.problems),
        "listed": parts.listed, "sets": content.summary.sets,
    }  # fmt: skip


def plan(state: Path) -> str:
    from cbsalert.grid.model import RANKED
    from cbsalert.state import StateStore

    store = StateStore(f"sqlite:///{state}")
    seen: list[tuple[str, Any]] = []
    from sqlalchemy import event

    def keep(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", keep)
    end = _yesterday()
    store.job_history.set_days(end - timedelta(days=13), end, RANKED, owner="none")
    store.close()
    statement, parameters = seen[-1]
    connection = sqlite3.connect(state)
    rows = connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters).fetchall()
    return " | ".join(str(row[-1]) for row in rows)


def run_grid(
    work: Path, users: int = 10_000, days: int = 400, db: Path | None = None
) -> dict[str, Any]:
    big = db or work / "grid.db"
    print(f"[grid] history: {users:,} users x 2 sets x {days} days in {big} ...", flush=True)
    out: dict[str, Any] = {"users": users, "days": days, "db": _filled(big, users, 2, days)}
    print(f"[grid] {out['db']['rows']:,} rows ({out['db']}); report runs ...", flush=True)
    config = _config(work / "grid.yaml", big, users)
    out["report"] = [report_runs(config, fmt) for fmt in ("text", "json", "html")]
    out["plan"] = plan(big)
    small = work / "page.db"
    if small.exists():
        small.unlink()
    fill(f"sqlite:///{small}", PAGE_USERS, 2, 30, _yesterday())
    weekly = {
        "name": "weekly",
        "schedule": "0 8 * * 1",
        "days": 7,
        "kind": "grid",
        "notify": ["mail"],
    }
    mail = {"mail": {"type": "email", "from": "cbsalert@example.com", "to": ["ops@example.com"]}}
    page_config = _config(
        work / "page.yaml", small, PAGE_USERS, metrics_port=0, status_page={"enabled": True},
        notifiers=mail, reports=[weekly],
    )  # fmt: skip
    print(f"[grid] status page and email of {PAGE_USERS:,} users ...", flush=True)
    out["status_page"] = status_page(page_config)
    out["email"] = email_report(page_config)
    return out


def print_grid(grid: dict[str, Any] | None) -> None:
    if not grid:
        return
    print(f"\nReport and status page: history of {grid['users']:,} users x 2 sets x "
          f"{grid['days']} days ({grid['db']['rows']:,} rows)")  # fmt: skip
    for r in grid["report"]:
        print(f"  report --days 14 --format {r['format']:<4}: wall {r['wall_s']:.2f} s (min "
              f"{r['wall_min_s']:.2f}), CPU {r['cpu_s']:.2f} s (min {r['cpu_min_s']:.2f}), "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")  # fmt: skip
    print(f"  report's query: {grid['plan']}")
    for name, page in grid["status_page"].items():
        print(f"  status page {name} ({PAGE_USERS:,} users): {page['median_s']:.3f} s "
              f"(first {page['first_s']:.3f} s), {page['bytes']:,} bytes")  # fmt: skip
    mail = grid["email"]
    print(f"  weekly grid email ({PAGE_USERS:,} users): {mail['bytes']:,} bytes, "
          f"{mail['listed']:,} of {mail['problem_rows']:,} problem rows listed, "
          f"{mail['seconds']:.2f} s to read and render")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--db", type=Path, help="the big history database: kept, reused")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cbsalert-bench-grid-") as work:
        result = run_grid(Path(work), args.users, args.days, args.db)
    print_grid(result)
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
