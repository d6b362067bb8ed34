"""A simulated AhsayCBS: a real HTTP server on loopback, answering like the documents' examples.

It serves the six read operations cbsalert uses, and the credential self-test
AuthSystemUser (``cbsalert doctor``), from a data file (YAML or JSON, see
``SimData``), with the quirks of the examples kept on purpose: ListBackupJobMode records
carry ``UserId`` and no ``ID``; ListRestoreJobStatus records say ``Status`` and ``UserId`` and
give times as ``yyyy-MM-dd HH:mm:ss`` although the table promises ``RestoreJobStatus``,
``UserID`` and ``yyyy-MM-dd-HH-mm-ss``; GetBackupJobProgress sends every number as a string;
GetBackupJobReportSummary sends ``""`` for absent numbers and keys the table lacks.

Faults can be injected (latency, a fraction of 500s, timeouts, HTML 502 pages, truncated
JSON, wrong shapes) at random with a seed, or scripted for the next N calls. Every call is
logged without its password so tests can count calls and assert that nothing but the read
operations was ever called.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from cbsalert.cbs import AUTH_SYSTEM_USER, READ_OPERATIONS
from cbsalert.errors import ConfigError
from cbsalert.httpserve import LoopbackServer, QuietHandler

FaultKind = Literal[
    "500", "502_html", "timeout", "truncated", "data_string", "data_list", "refuse_auth"
]
_PATH = re.compile(r"^/obs/api/json/(?:2/)?(?P<op>[A-Za-z0-9]+)\.do$")
_RELATIVE = re.compile(r"^D(?P<offset>[+-]\d+)?\s+(?P<time>\d{1,2}:\d{2}(?::\d{2})?)$")
_OPTIONAL_SINCE = (9, 7)  # ListBackupSets and GetBackupSet exist from CBS 9.7 on
_SERVED = frozenset((*READ_OPERATIONS, AUTH_SYSTEM_USER))


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SimDestination(_Model):
    id: str
    name: str = "AhsayCBS"


class SimBackupSet(_Model):
    id: str
    name: str
    type: str = "FILE"
    destinations: list[SimDestination] | None = None

    def destination_list(self) -> list[SimDestination]:
        if self.destinations is None:
            return [SimDestination(id=f"{self.id}1")]
        return self.destinations


class SimResult(_Model):
    status: str = "BS_STOP_SUCCESS"
    errors: int = 0
    warnings: int = 0


# A count as the report sends it: hostile worlds send NaN, 1e400 or "0x10".
SimCount = int | float | str


class SimJob(_Model):
    set: str
    start: str
    end: str | None = None
    mode: str | None = "S"
    status: str = "BS_STOP_SUCCESS"
    errors: SimCount = 0
    warnings: SimCount = 0
    id: str | None = None
    listed_on: str | None = None  # the BackupDate that lists it (default: its start's date)
    destinations: dict[str, SimResult] = Field(default_factory=dict)
    current_file: str = "C:\\Users\\ahsay\\Desktop\\file_sample.exe"
    total_files: int = 70
    done_files: int = 0


class SimRestore(_Model):
    set: str
    start: str
    end: str | None = None
    status: str = "RESTORE_STOP_SUCCESS"
    id: str | None = None
    destination: str | None = None
    size: int = 0
    listed_on: str | None = None  # the RestoreDate that lists it (default: its start's date)


class SimUser(_Model):
    login: str
    owner: str = ""
    user_id: str | None = None
    backup_sets: list[SimBackupSet] = Field(default_factory=list)
    jobs: list[SimJob] = Field(default_factory=list)
    restores: list[SimRestore] = Field(default_factory=list)


class SimFaults(_Model):
    error_rate: float = 0.0  # fraction of calls answered HTTP 500
    html_rate: float = 0.0  # fraction answered by an HTML 502 page (a proxy)
    timeout_rate: float = 0.0  # fraction that hang for `hang_s`
    truncated_rate: float = 0.0  # fraction whose JSON is cut short
    hang_s: float = 30.0
    seed: int = 1


class SimData(_Model):
    """The simulator's world. Times are absolute (``2024-06-23 15:27:57``, anything the CBS
    itself would send, malformed ones included) or relative to ``today``: ``D-1 22:00:00``."""

    system_user: str = "system"
    system_password: str = "system1"
    version: str = "10.1.0.0"
    timezone: str = "UTC"
    today: date | None = None
    latency_ms: float = 0.0
    faults: SimFaults = Field(default_factory=SimFaults)
    users: list[SimUser] = Field(default_factory=list)


def load_sim_data(path: str | Path) -> SimData:
    """Read a data file (YAML, or JSON, which YAML reads too); a wrong one raises
    ``ConfigError`` with ``file:line`` problems, like the config (names are taken as
    written: no ``${ENV}`` expansion)."""
    from cbsalert.config import parse_document  # here: config pulls in every notifier

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the simulator data: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the simulator data is not UTF-8 text") from None
    data, _ = parse_document(text, str(path), SimData, what="simulator data", expand_env=False)
    return data


@dataclass
class Call:
    operation: str
    params: dict[str, Any]
    path: str


@dataclass
class _Scripted:
    kind: FaultKind
    count: int
    operation: str | None
    login: str | None


@dataclass
class _World:
    """The data, resolved: relative times made absolute, job ids filled in."""

    data: SimData
    today: date
    users: dict[str, SimUser] = field(default_factory=dict)

    def time(self, text: str | None) -> str:
        if text is None:
            return ""
        match = _RELATIVE.match(text.strip())
        if not match:
            return text
        day = self.today + timedelta(days=int(match.group("offset") or 0))
        hms = match.group("time")
        if hms.count(":") == 1:
            hms += ":00"
        return f"{day.isoformat()} {int(hms[:-6]):02d}{hms[-6:]}"


def _job_id(start: str) -> str:
    return re.sub(r"[ :;T]", "-", start.strip())


class Simulator:
    """Use as a context manager; ``url`` is the base URL to give the client."""

    def __init__(self, data: SimData, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self.calls: list[Call] = []
        self.unexpected: list[Call] = []
        self._scripted: list[_Scripted] = []
        self._world = self._resolve(data)
        self._rng = random.Random(data.faults.seed)
        self._server = LoopbackServer((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    # -- control ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def data(self) -> SimData:
        return self._world.data

    def set_data(self, data: SimData) -> None:
        with self._lock:
            self._world = self._resolve(data)
            self._rng = random.Random(data.faults.seed)

    def inject(
        self,
        kind: FaultKind,
        count: int = 1,
        operation: str | None = None,
        login: str | None = None,
    ) -> None:
        """Make the next ``count`` matching calls fail with ``kind``."""
        with self._lock:
            self._scripted.append(_Scripted(kind, count, operation, login))

    def count(self, operation: str | None = None) -> int:
        with self._lock:
            return sum(1 for c in self.calls if operation in (None, c.operation))

    def start(self) -> str:
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Simulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the world ------------------------------------------------------------------------

    @staticmethod
    def _resolve(data: SimData) -> _World:
        today = data.today or datetime.now(ZoneInfo(data.timezone)).date()
        world = _World(data=data, today=today)
        for user in data.users:
            jobs = [
                job.model_copy(
                    update={
                        "start": world.time(job.start),
                        "end": world.time(job.end) if job.end is not None else None,
                        "id": job.id or _job_id(world.time(job.start)),
                    }
                )
                for job in user.jobs
            ]
            restores = [
                r.model_copy(
                    update={
                        "start": world.time(r.start),
                        "end": world.time(r.end) if r.end is not None else None,
                        "id": r.id or _job_id(world.time(r.start)),
                    }
                )
                for r in user.restores
            ]
            world.users[user.login] = user.model_copy(update={"jobs": jobs, "restores": restores})
        return world

    def _supports_optional(self) -> bool:
        parts = tuple(int(p) for p in re.findall(r"\d+", self._world.data.version)[:2])
        return parts >= _OPTIONAL_SINCE

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The JSON body the CBS would send for one call (faults aside)."""
        world = self._world
        if (
            params.get("SysUser") != world.data.system_user
            or params.get("SysPwd") != world.data.system_password
        ):
            return _error("Incorrect system username/password", "com.ahsay.obs.core.dbs.c")
        if operation == AUTH_SYSTEM_USER:
            return {"Status": "OK"}  # the document's example: no Data at all
        if operation not in READ_OPERATIONS:
            return _error(f"Unsupported API: {operation}", "com.ahsay.cbs.api.a")
        if operation in ("ListBackupSets", "GetBackupSet") and not self._supports_optional():
            return _error(f"Unsupported API: {operation}", "com.ahsay.cbs.api.a")
        login = str(params.get("LoginName", ""))
        user = world.users.get(login)
        if user is None:
            return _error(
                f"[UserCacheManager.NoSuchUserExpt] User '{login}' not found.",
                "com.ahsay.obs.core.dbs.c",
            )
        handler = getattr(self, f"_op_{operation}")
        result: dict[str, Any] = handler(user, params)
        return result

    def send_raw(self, handler: QuietHandler, operation: str, params: dict[str, Any]) -> bool:
        """A seam for tests' hostile servers (tests/hostile.py): answer one call on the wire
        yourself and return True. The simulator itself always answers like the CBS."""
        return False

    def _op_ListBackupSets(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        return _ok([{"ID": s.id, "Name": s.name, "Type": s.type} for s in user.backup_sets])

    def _op_GetBackupSet(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        wanted = str(params.get("BackupSetID", ""))
        for s in user.backup_sets:
            if s.id == wanted:
                destinations = [
                    {"Id": d.id, "Name": d.name, "Type": "OBS", "Enabled": True}
                    for d in s.destination_list()
                ]
                return _ok(
                    {
                        "ID": s.id,
                        "Name": s.name,
                        "Type": s.type,
                        "Owner": user.owner,
                        "DestinationSettings": {"DestinationList": destinations},
                    }
                )
        return _error(f"Backup set '{wanted}' not found", "com.ahsay.obs.core.dbs.b")

    def _op_ListBackupJobMode(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        # The table says yyyy-MM-dd, the example sends yyyy-MM-dd-HH-mm-ss: take the date part.
        day = str(params.get("BackupDate", ""))[:10]
        only_set = params.get("BackupSetID")
        names = {s.id: s.name for s in user.backup_sets}
        rows = []
        for job in user.jobs:
            if not (job.listed_on or job.start).startswith(day) or (
                only_set and job.set != only_set
            ):
                continue
            rows.append(
                {
                    "BackupSetName": names.get(job.set, ""),
                    "LoginName": user.login,
                    "Owner": user.owner,
                    "EndTime": job.end or "",
                    "UserId": user.user_id or user.login,
                    "StartTime": job.start,
                    "BackupJobMode": job.mode,
                    "BackupSetID": job.set,
                }
            )
        return _ok(rows)

    def _find_job(self, user: SimUser, params: dict[str, Any]) -> SimJob | None:
        for job in user.jobs:
            if job.set == params.get("BackupSetID") and job.id == params.get("BackupJobID"):
                return job
        return None

    def _op_GetBackupJobReportSummary(
        self, user: SimUser, params: dict[str, Any]
    ) -> dict[str, Any]:
        job = self._find_job(user, params)
        if job is None:
            return _error("Backup job not found", "com.ahsay.obs.core.dbs.b")
        result = job.destinations.get(str(params.get("DestinationID", "")))
        status = job.status if job.end else ""
        if result is not None:
            status = result.status if job.end else ""
        errors = result.errors if result else job.errors
        warnings = result.warnings if result else job.warnings
        return _ok(
            {
                "TotalCopiedSize": 0,
                "DedupeEnabled": True,
                "DedupeOriginalSize": 2384,
                "DedupeSaving": 0,
                "EndTime": job.end or "",
                "TotalDeletedFilesSize": 0,
                "NumOfMovedFiles": 0,
                "SuccessPublicFolder": "",
                "TotalUpdatedFilesSize": 726,
                "TotalUpdatedPermissionFilesSize": 0,
                "NumOfWarnEntries": warnings,
                "NumOfNewFiles": 0,
                "NumOfUpdatedFiles": 1,
                "NumOfCopiedFiles": 0,
                "ID": job.id,
                "NumOfErrorEntries": errors,
                "BackupJobStatus": status,
                "TotalNewFilesSize": 0,
                "MissedDatabase": "",
                "NumOfUpdatedPermissionFiles": 0,
                "SuccessDatabase": "",
                "StartTime": job.start,
                "NumOfDeletedFiles": 0,
                "MissedPublicFolder": "",
                "TotalMovedFilesSize": 0,
            }
        )

    def _op_ListRestoreJobStatus(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        day = str(params.get("RestoreDate", ""))[:10]
        names = {s.id: s.name for s in user.backup_sets}
        rows = []
        for r in user.restores:
            if not (r.listed_on or r.start).startswith(day):
                continue
            rows.append(
                {
                    "Status": r.status,
                    "BackupSetName": names.get(r.set, ""),
                    "LoginName": user.login,
                    "Owner": user.owner,
                    "EndTime": r.end or "",
                    "UserId": user.user_id or user.login,
                    "RunVersion": "9.11.0.0",
                    "StartTime": r.start,
                    "ID": r.id,
                    "BackupSetID": r.set,
                    "RestoreSize": r.size,
                    "DestinationID": r.destination or f"{r.set}1",
                }
            )
        return _ok(rows)

    def _op_GetBackupJobProgress(self, user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
        job = self._find_job(user, params)
        if job is None:
            return _error("Backup job not found", "com.ahsay.obs.core.dbs.b")
        names = {s.id: s.name for s in user.backup_sets}
        return _ok(
            {
                "BackupSetName": names.get(job.set, ""),
                "LoginName": user.login,
                "Owner": user.owner,
                "EndTime": job.end or "",
                "TotalFileCount": str(job.total_files),
                "StartTime": job.start,
                "BackupSetID": job.set,
                "UserID": user.user_id or user.login,
                "UploadedFileSize": "70479290",
                "CurrentFileName": job.current_file,
                "TotalFileSize": "78477452",
                "ID": job.id,
                "CurrentFileCount": str(job.done_files),
            }
        )

    # -- faults ---------------------------------------------------------------------------

    def _take_fault(self, operation: str, login: str) -> FaultKind | None:
        with self._lock:
            for scripted in self._scripted:
                if scripted.operation not in (None, operation):
                    continue
                if scripted.login not in (None, login):
                    continue
                scripted.count -= 1
                if scripted.count <= 0:
                    self._scripted.remove(scripted)
                return scripted.kind
            faults = self._world.data.faults
            roll = self._rng.random()
        for rate, kind in (
            (faults.error_rate, "500"),
            (faults.html_rate, "502_html"),
            (faults.timeout_rate, "timeout"),
            (faults.truncated_rate, "truncated"),
        ):
            if roll < rate:
                return kind  # type: ignore[return-value]
            roll -= rate
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(QuietHandler):
            # Headers and body go out in two writes; with Nagle on, each answer waits ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self.send_body(405, b"Method Not Allowed", "text/plain")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                match = _PATH.match(self.path)
                try:
                    params = json.loads(raw) if raw else {}
                    if not isinstance(params, dict):
                        raise ValueError
                except ValueError:
                    params = {}
                operation = match.group("op") if match else self.path
                call = Call(
                    operation,
                    {k: v for k, v in params.items() if k != "SysPwd"},
                    self.path,
                )
                with sim._lock:
                    sim.calls.append(call)
                    if operation not in _SERVED:
                        sim.unexpected.append(call)
                latency = sim._world.data.latency_ms
                if latency:
                    time.sleep(latency / 1000)
                if match is None:
                    self.send_body(404, b"<html><body>404 Not Found</body></html>", "text/html")
                    return
                if sim.send_raw(self, operation, params):
                    return
                fault = sim._take_fault(operation, str(params.get("LoginName", "")))
                if fault is not None:
                    self._fault(fault)
                    return
                body = json.dumps(sim.answer(operation, params)).encode()
                self.send_body(200, body, "application/json;charset=UTF-8")

            def _fault(self, kind: FaultKind) -> None:
                if kind == "500":
                    self.send_body(
                        500, b'{"Status":"Error","Message":"Internal error"}', "text/plain"
                    )
                elif kind == "502_html":
                    page = (
                        b"<html><head><title>502 Bad Gateway</title></head>"
                        b"<body><h1>502 Bad Gateway</h1></body></html>"
                    )
                    self.send_body(502, page, "text/html")
                elif kind == "timeout":
                    time.sleep(sim._world.data.faults.hang_s)
                    self.send_body(200, b'{"Status":"OK","Data":[]}', "application/json")
                elif kind == "truncated":
                    cut = b'{"Status":"OK","Data":[{"BackupSetName":"v6 Fi'
                    self.send_body(200, cut, "application/json")
                elif kind == "data_string":
                    self.send_body(200, b'{"Status":"OK","Data":"no data"}', "application/json")
                elif kind == "data_list":
                    self.send_body(200, b'{"Status":"OK","Data":[1,2,3]}', "application/json")
                elif kind == "refuse_auth":
                    body = json.dumps(_error("Incorrect system username/password", "c")).encode()
                    self.send_body(200, body, "application/json")

        return Handler


def _ok(data: Any) -> dict[str, Any]:
    return {"Status": "OK", "Data": data}


def _error(message: str, expt_type: str) -> dict[str, Any]:
    return {"Status": "Error", "Message": message, "ExptType": expt_type}


@contextmanager
def running(data: SimData, port: int = 0) -> Iterator[Simulator]:
    with Simulator(data, port=port) as sim:
        yield sim
