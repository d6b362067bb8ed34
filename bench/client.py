"""The API client alone, against the simulator with no latency: how many calls one core
of the client process sustains, and what the simulator's CPU says about its own limit.

Three measurements over the same loopback connection pool:

* ``httpx``: the same POSTs through a bare ``httpx.AsyncClient`` (the transport's ceiling);
* ``CbsClient``: GetBackupJobReportSummary through the real client (decoding, validation);
* ``fetch_day``: a whole day of every watched user, all six operations, as a check fetches.

"Calls per CPU-second" divides by this process's CPU time (``time.process_time``), so it
measures the client whatever the simulator, sharing the machine, costs.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import itertools
import pstats
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from bench.procs import SimulatorProcess
from bench.world import SYS_PASSWORD, SYS_USER
from cbsalert.cbs import CbsClient
from cbsalert.config import load_config
from cbsalert.fetch import fetch_day, make_client

Target = tuple[str, str, str, str]  # login, set id, job id, destination id


def targets(world: dict[str, Any], today: date) -> list[Target]:
    """Finished jobs of the world, with the ids the CBS gives them (start time)."""
    day = (today - timedelta(days=1)).isoformat()
    out = []
    for user in world["users"]:
        for job in user["jobs"]:
            if job.get("end"):
                hms = job["start"].split()[1].replace(":", "-")
                out.append((user["login"], job["set"], f"{day}-{hms}", f"{job['set']}1"))
    return out


async def _pool(
    work: Iterator[Target], workers: int, one: Callable[[Target], Awaitable[Any]]
) -> None:
    async def worker() -> None:
        for target in work:  # a shared iterator: each target is taken once
            await one(target)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def _raw_httpx(url: str, work: Iterator[Target], concurrency: int) -> None:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:
        endpoint = f"{url}/obs/api/json/GetBackupJobReportSummary.do"

        async def one(t: Target) -> None:
            body = {"SysUser": SYS_USER, "SysPwd": SYS_PASSWORD, "LoginName": t[0],
                    "BackupSetID": t[1], "BackupJobID": t[2], "DestinationID": t[3]}  # fmt: skip
            response = await http.post(endpoint, json=body)
            response.raise_for_status()

        await _pool(work, concurrency * 2, one)


async def _cbs_client(url: str, work: Iterator[Target], concurrency: int) -> None:
    password = SecretStr(SYS_PASSWORD)
    async with CbsClient(url, SYS_USER, password, max_concurrency=concurrency) as client:

        async def one(t: Target) -> None:
            await client.get_job_report(t[0], "", t[1], t[2], t[3])

        await _pool(work, concurrency * 2, one)


def _measure(
    label: str, sim: SimulatorProcess, calls: int, run: Callable[[], Any], profile: bool
) -> dict[str, Any]:
    sim_cpu = sim.cpu_s()
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    if profiler is not None:
        profiler.enable()
    run()
    if profiler is not None:
        profiler.disable()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sim_after = sim.cpu_s()
    sim_s = None if sim_cpu is None or sim_after is None else round(sim_after - sim_cpu, 3)
    row: dict[str, Any] = {
        "client": label,
        "calls": calls,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "calls_per_s": round(calls / wall, 1),
        "calls_per_cpu_s": round(calls / cpu, 1) if cpu else None,
        "sim_cpu_s": sim_s,
        "profiled": profile,
    }
    if row["sim_cpu_s"]:
        row["sim_calls_per_cpu_s"] = round(calls / row["sim_cpu_s"], 1)
    if profiler is not None:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(18)
        row["profile"] = text.getvalue()
    return row


def bench_client(
    sim: SimulatorProcess,
    world: dict[str, Any],
    today: date,
    *,
    calls: int,
    concurrency: int,
    config: Path,
    profile: bool,
) -> list[dict[str, Any]]:
    """The three measurements, under cProfile when ``profile`` (slower: read its calls/s
    as relative only)."""
    jobs = targets(world, today)

    def work() -> Iterator[Target]:
        return itertools.islice(itertools.cycle(jobs), calls)

    rows = []
    # One warm-up round: imports, pydantic schema building, the first connections.
    asyncio.run(_cbs_client(sim.url, itertools.islice(itertools.cycle(jobs), 200), concurrency))
    rows.append(_measure("httpx", sim, calls, lambda: asyncio.run(
        _raw_httpx(sim.url, work(), concurrency)), profile))  # fmt: skip
    rows.append(_measure("CbsClient", sim, calls, lambda: asyncio.run(
        _cbs_client(sim.url, work(), concurrency)), profile))  # fmt: skip
    cfg = load_config(config)
    day = today - timedelta(days=1)
    made: list[int] = []

    def fetch() -> None:
        async def go() -> None:
            client = make_client(cfg)
            try:
                await fetch_day(client, cfg, day)
            finally:
                made.append(client.total_calls)
                await client.aclose()

        asyncio.run(go())

    row = _measure("fetch_day", sim, 0, fetch, profile)
    row["calls"] = made[-1]
    row["calls_per_s"] = round(made[-1] / row["wall_s"], 1)
    row["calls_per_cpu_s"] = round(made[-1] / row["cpu_s"], 1) if row["cpu_s"] else None
    if row["sim_cpu_s"]:
        row["sim_calls_per_cpu_s"] = round(made[-1] / row["sim_cpu_s"], 1)
    rows.append(row)
    return rows
