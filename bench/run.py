"""The cbsalert benchmark: ``python bench/run.py [--quick] [--scenario S]`` (issue 7).

It generates a simulated CBS with N users x S backup sets and a realistic mix of problems,
starts the simulator in its own process with a fixed latency per request, and runs real,
non-dry ``cbsalert check`` processes against it (state in a fresh SQLite file, Slack and
email to local sinks in this process): a first run that has everything to say, and the
same check again with nothing new. It prints a table and writes ``bench/results.json``.

Scenarios: ``main`` (N=2,000, S=2, L=50 ms, max_concurrency 16), ``history`` (the main
check writing job history against the same check with ``history_days: 0``, in pairs, and
SQLite's plan for the history queries), ``prefill`` (the main check with 100,000 alerts
already stored), ``rss`` (N=10,000), ``client`` (the API client alone at L=0), ``grid``
(``report`` over 10,000 users' 400 days of history, the status page and the report email
of 2,000: ``bench/grid.py``). ``all`` runs them in that order; it takes about 20 minutes
on two cores, most of it the N=10,000 runs and filling the grid's 8 million rows
(``--rss-runs 1`` and ``--grid-db FILE``, which keeps them for the next run, save most).
The exit status is 1 when a check failed or made a different number of API calls than
the rules require; a missed performance target is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.client import bench_client  # noqa: E402
from bench.grid import print_grid, run_grid  # noqa: E402
from bench.history import explain, rows_kept, summary  # noqa: E402
from bench.prefill import prefill  # noqa: E402
from bench.procs import CheckRun, SimulatorProcess, check_command, run_check  # noqa: E402
from bench.report import (  # noqa: E402
    print_client,
    print_history,
    print_runs,
    print_targets,
    targets,
)
from bench.world import Mix, make_world, write_config, write_world  # noqa: E402
from cbsalert.devtools.slack import SlackSink  # noqa: E402
from cbsalert.devtools.smtp import SmtpSink  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results.json"
SCENARIOS = ("all", "main", "history", "prefill", "rss", "client", "grid")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--users", type=int, default=2000, help="N for main/prefill/client")
    p.add_argument("--sets", type=int, default=2, help="backup sets per user (S)")
    p.add_argument("--latency-ms", type=float, default=50.0, help="simulator latency (L)")
    p.add_argument("--concurrency", type=int, default=16, help="cbs.max_concurrency")
    p.add_argument("--rss-users", type=int, default=10_000, help="N for the rss scenario")
    p.add_argument("--rss-runs", type=int, default=2, choices=(1, 2), help="checks at N=rss")
    p.add_argument("--prefill-rows", type=int, default=100_000)
    p.add_argument("--history-pairs", type=int, default=2, help="checks with/without history")
    p.add_argument("--client-calls", type=int, default=5000)
    p.add_argument("--grid-users", type=int, default=10_000, help="users of the grid scenario")
    p.add_argument("--grid-db", type=Path, help="grid: the 400-day history database, kept")
    p.add_argument("--profile", action="store_true", help="cProfile the client even if fast")
    p.add_argument("--scenario", choices=SCENARIOS, default="all")
    p.add_argument("--quick", action="store_true", help="a small smoke run (seconds)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--output", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    if args.quick:
        args.users, args.rss_users, args.latency_ms = 100, 300, 10.0
        args.prefill_rows, args.client_calls, args.grid_users = 5000, 1000, 300
    return args


class Bench:
    def __init__(self, args: argparse.Namespace, work: Path, today: date) -> None:
        self.args = args
        self.work = work
        self.today = today
        self.day = (today - timedelta(days=1)).isoformat()
        self.rows: list[dict[str, Any]] = []
        self.problems: list[str] = []
        self.worlds: dict[str, dict[str, int]] = {}
        self.notes: dict[str, str] = {}
        self.slack = SlackSink().start()
        self.smtp = SmtpSink().start()

    def close(self) -> None:
        self.slack.stop()
        self.smtp.stop()

    def simulator_said(self, name: str, sim: SimulatorProcess) -> None:
        """A request the simulator failed shows as a traceback on its stderr: keep it."""
        if sim.stderr.strip():
            self.notes[f"{name} simulator stderr"] = sim.stderr
            print(f"[{name}] the simulator wrote on stderr:\n{sim.stderr[-1500:]}", flush=True)

    def world(self, name: str, users: int) -> tuple[Path, dict[str, Any], Mix]:
        data, mix = make_world(users, self.args.sets, self.today)
        print(f"[{name}] world: {_describe(mix)}", flush=True)
        self.worlds[name] = mix.to_dict()
        return write_world(self.work / f"{name}-world.json", data), data, mix

    def config(
        self, name: str, sim: SimulatorProcess, users: int, state: Path,
        history_days: int | None = None,
    ) -> Path:  # fmt: skip
        return write_config(
            self.work / f"{name}.yaml", sim_url=sim.url, state=state, slack_url=self.slack.url,
            smtp_port=self.smtp.port, users=users, concurrency=self.args.concurrency,
            history_days=history_days,
        )  # fmt: skip

    def checks(
        self, scenario: str, sim: SimulatorProcess, mix: Mix, state: Path, runs: int,
        history_days: int | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """``runs`` checks in a row on the same state; one table row each."""
        config = self.config(scenario, sim, mix.users, state, history_days)
        cmd = check_command(config, self.day)
        out = []
        for number in range(1, runs + 1):
            slack0, mail0, sim0 = len(self.slack.messages), len(self.smtp.messages), sim.cpu_s()
            print(f"[{scenario}] check {number}/{runs} ...", end=" ", flush=True)
            run = run_check(cmd)
            sim1 = sim.cpu_s()
            row = _row(run, sim.latency_ms, self.args.concurrency)
            row.update(
                scenario=scenario, run=number, users=mix.users, sets=self.args.sets,
                expected_calls=mix.expected_calls,
                sim_cpu_s=None if sim0 is None or sim1 is None else round(sim1 - sim0, 2),
                slack_posts=len(self.slack.messages) - slack0,
                emails=len(self.smtp.messages) - mail0,
            )  # fmt: skip
            print(f"{run.wall_s:.1f}s, {row['api_calls']} calls, exit {run.exit_code}", flush=True)
            if run.retries:  # a transport hiccup, not the rules asking twice: shown apart
                print(f"[{scenario}] check {number}: {len(run.retries)} attempt(s) retried: "
                      f"{'; '.join(run.retries[:3])}", flush=True)  # fmt: skip
            if run.exit_code != 0 or not run.doc:
                self.problems.append(
                    f"{scenario} run {number}: exit {run.exit_code}: {run.stderr.strip()[-1500:]}"
                )
            if row["api_calls"] != mix.expected_calls:
                self.problems.append(
                    f"{scenario} run {number}: {row['api_calls']} API calls, the rules require "
                    f"{mix.expected_calls} ({_describe(mix)})"
                )
            out.append(row)
        self.rows.extend(out)
        return out


def _row(run: CheckRun, latency_ms: float, concurrency: int) -> dict[str, Any]:
    """One table row from what the check printed and what ``wait4`` said about it."""
    doc = run.doc
    calls = int(doc.get("api_calls", 0))  # operations; retried attempts are in api_retries
    ideal = calls * latency_ms / 1000 / concurrency
    run_s = doc.get("duration_s")
    deliveries = doc.get("deliveries") or {}
    return {
        "latency_ms": latency_ms, "concurrency": concurrency, "api_calls": calls,
        "retries": int(doc.get("api_retries", len(run.retries))), "retried": run.retries[:10],
        "calls_by_operation": doc.get("calls_by_operation"),
        "wall_s": round(run.wall_s, 3), "run_s": run_s, "ideal_s": round(ideal, 3),
        "wall_over_ideal": round(run.wall_s / ideal, 4) if ideal else None,
        "run_over_ideal": round(run_s / ideal, 4) if ideal and run_s else None,
        "calls_per_s": round(calls / run.wall_s, 1),
        "peak_rss_mb": round(run.maxrss_mb, 1), "cpu_s": round(run.cpu_s, 2),
        "state_s": doc.get("state_s"), "history_s": run.history_s,
        "deliveries_sent": deliveries.get("sent"), "deliveries_failed": deliveries.get("failed"),
        "alerts_reported": len(doc.get("alerts", [])),
        "users_checked": (doc.get("users") or {}).get("checked"),
        "exit_code": run.exit_code,
    }  # fmt: skip


def _describe(mix: Mix) -> str:
    return (
        f"{mix.users} users, {mix.sets} sets ({mix.sets_ran} ran), {mix.jobs} jobs, "
        f"{mix.failed} failed, {mix.with_errors} with errors, {mix.missed} missed, "
        f"{mix.running} running, {mix.restores} restores ({mix.failed_restores} failed); "
        f"expected API calls {mix.expected_calls}"
    )


def run(args: argparse.Namespace, work: Path, results: dict[str, Any]) -> list[str]:
    today = datetime.now(UTC).date()
    bench = Bench(args, work, today)
    scenario = args.scenario
    main_world: tuple[Path, dict[str, Any], Mix] | None = None
    try:
        if scenario in ("all", "main", "history", "prefill"):
            main_world = file, _, mix = bench.world("main", args.users)
            with SimulatorProcess(file, args.latency_ms) as sim:
                baseline = None
                if scenario in ("all", "main"):
                    baseline = bench.checks("main", sim, mix, work / "main.db", runs=2)[0]
                if scenario in ("all", "history"):
                    results["history"] = history(bench, sim, mix, work, args.history_pairs)
                if scenario in ("all", "prefill"):
                    if baseline is None:
                        baseline = bench.checks("empty", sim, mix, work / "empty.db", runs=1)[0]
                    took, count = prefill(work / "prefill.db", args.prefill_rows)
                    print(f"[prefill] {count} alert rows stored in {took:.1f}s", flush=True)
                    row = bench.checks("prefill", sim, mix, work / "prefill.db", runs=1)[0]
                    row["prefilled_rows"] = count
                    results["prefill"] = {"rows": count, "empty": baseline, "prefilled": row}
            bench.simulator_said("main", sim)
        if scenario in ("all", "rss"):
            file, _, mix = bench.world("rss", args.rss_users)
            with SimulatorProcess(file, args.latency_ms) as sim:
                bench.checks("rss", sim, mix, work / "rss.db", runs=args.rss_runs)
            bench.simulator_said("rss", sim)
        if scenario in ("all", "client"):
            file, data, mix = main_world or bench.world("main", args.users)
            with SimulatorProcess(file, 0) as sim:
                config = bench.config("client", sim, mix.users, work / "client.db")
                print("[client] L=0 ...", flush=True)
                results["client"] = bench_client(
                    sim, data, today, calls=args.client_calls, concurrency=args.concurrency,
                    config=config, profile=False,
                )  # fmt: skip
                slow = [
                    r for r in results["client"]
                    if r["client"] != "httpx" and (r["calls_per_cpu_s"] or 0) < 1000
                ]  # fmt: skip
                if slow or args.profile:  # say where the client's time goes
                    results["client"] += bench_client(
                        sim, data, today, calls=args.client_calls,
                        concurrency=args.concurrency, config=config, profile=True,
                    )  # fmt: skip
            bench.simulator_said("client", sim)
        if scenario in ("all", "grid"):
            results["grid"] = run_grid(work, args.grid_users, db=args.grid_db)
    finally:
        bench.close()
    results["worlds"] = bench.worlds
    results["notes"] = bench.notes
    results["runs"] = bench.rows
    return bench.problems


def history(
    bench: Bench, sim: SimulatorProcess, mix: Mix, work: Path, pairs: int
) -> dict[str, Any]:
    """The main check without history and with it, alternately, each on a fresh database."""
    off: list[dict[str, Any]] = []
    on: list[dict[str, Any]] = []
    for n in range(1, pairs + 1):
        off += bench.checks("no-history", sim, mix, work / f"off{n}.db", runs=1, history_days=0)
        on += bench.checks("history", sim, mix, work / f"on{n}.db", runs=1)
    out = summary(off, on)
    out["rows_per_check"] = rows_kept(work / "on1.db")
    out["plans"] = explain(work / "on1.db", bench.today)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # A SIGTERM unwinds like Ctrl-C, so the simulator processes are stopped, not orphaned.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    work = Path(tempfile.mkdtemp(prefix="cbsalert-bench-"))
    started = datetime.now(UTC)
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "command": " ".join(["python", "bench/run.py", *(argv or sys.argv[1:])]),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": _cpus()},
        "code": _revision(),
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
    }  # fmt: skip
    try:
        problems = run(args, work, results)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["targets"] = targets(results, args)
    results["problems"] = problems
    results["took_s"] = round((datetime.now(UTC) - started).total_seconds(), 1)
    print()
    print_runs(results["runs"])
    print_client(results.get("client", []))
    print_history(results.get("history"))
    print_grid(results.get("grid"))
    if args.quick:
        print("\n(a --quick run: the targets are for the full sizes, shown for reference only)")
    print_targets(results["targets"])
    for problem in problems:
        print(f"PROBLEM: {problem}")
    args.output.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")
    print(f"\nwrote {args.output} (took {results['took_s']:.0f}s)")
    return 1 if problems else 0


def _revision() -> str:
    """The commit measured, marked ``+dirty`` when the package has uncommitted changes."""

    def git(*args: str) -> str:
        cmd = ["git", "-C", str(ROOT), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()

    try:
        head, dirty = git("rev-parse", "--short", "HEAD"), git("status", "--porcelain", "cbsalert")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def _cpus() -> int | None:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


if __name__ == "__main__":
    sys.exit(main())
