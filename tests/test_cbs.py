"""The CBS client over real HTTP: every operation, every quirk, every way the CBS can fail.

Most tests talk to the simulator; the documents' literal example bodies (one of which is not
even valid JSON) are served verbatim by a tiny canned server, so the client is proven
against what the vendor printed, not only against our reading of it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import traceback
import warnings
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import date, datetime
from pathlib import Path
from typing import Any

import certifi
import pytest
from pydantic import SecretStr

from cbsalert.cbs import CbsClient
from cbsalert.cbs_http import exception_chain
from cbsalert.devtools.loopback import LoopbackServer, QuietHandler
from cbsalert.devtools.simulator import SimData, Simulator
from cbsalert.errors import (
    CbsApiError,
    CbsAuthError,
    CbsBadResponseError,
    CbsConnectError,
    CbsError,
    CbsNotApiError,
    CbsServerError,
    CbsUnavailableError,
)

PASSWORD = "system1"
DAY = date(2024, 6, 26)
V6_SET, SET, DEST = "1687750405259", "1687755057644", "1687755083984"
JOB = "2024-06-26-13-24-35"
RUNNING_JOB = "2024-06-26-22-00-00"

Op = Callable[[CbsClient], Awaitable[Any]]
OPERATIONS: dict[str, Op] = {
    "ListBackupSets": lambda c: c.list_backup_sets("obm"),
    "GetBackupSet": lambda c: c.get_destinations("obm", SET),
    "ListBackupJobMode": lambda c: c.list_backup_jobs("obm", DAY),
    "GetBackupJobReportSummary": lambda c: c.get_job_report("obm", "", SET, JOB, DEST),
    "ListRestoreJobStatus": lambda c: c.list_restore_jobs("obm", "", DAY),
    "GetBackupJobProgress": lambda c: c.get_job_progress("obm", SET, DEST, RUNNING_JOB),
}
UNKNOWN_USER: dict[str, Op] = {
    "ListBackupSets": lambda c: c.list_backup_sets("ghost"),
    "GetBackupSet": lambda c: c.get_destinations("ghost", SET),
    "ListBackupJobMode": lambda c: c.list_backup_jobs("ghost", DAY),
    "GetBackupJobReportSummary": lambda c: c.get_job_report("ghost", "", SET, JOB, DEST),
    "ListRestoreJobStatus": lambda c: c.list_restore_jobs("ghost", "", DAY),
    "GetBackupJobProgress": lambda c: c.get_job_progress("ghost", SET, DEST, RUNNING_JOB),
}
each_operation = pytest.mark.parametrize("operation", list(OPERATIONS))


def world(**overrides: Any) -> SimData:
    """The documents' examples as one simulated user, plus a running and an odd job."""
    raw: dict[str, Any] = {
        "system_password": PASSWORD,
        "today": "2024-06-27",
        "users": [
            {
                "login": "obm",
                "backup_sets": [
                    {"id": V6_SET, "name": "v6 File Backup"},
                    {
                        "id": SET,
                        "name": "default-backup-set-name-1",
                        "destinations": [{"id": DEST}],
                    },
                ],
                "jobs": [
                    {"set": V6_SET, "start": "2024-06-26 11:33:52", "end": "2024-06-26 11;34:15"},
                    {
                        "set": SET,
                        "start": "2024-06-26 13:24:35",
                        "end": "2024-06-26 13:25:00",
                        "status": "BS_STOP_SUCCESS_WITH_WARNING",
                        "destinations": {DEST: {"status": "BS_NEW_IN_V11", "warnings": 2}},
                    },
                    {"set": SET, "start": "D-1 22:00:00", "end": None, "done_files": 12},
                ],
                "restores": [
                    {
                        "set": SET,
                        "start": "2024-06-26 13:25:14",
                        "end": "2024-06-26 13:25:21",
                        "id": "2024-06-26-13-25-13",
                        "destination": DEST,
                        "size": 1024,
                    }
                ],
            },
            {"login": "alice", "owner": "reseller"},
            {"login": "bob"},
        ],
    }
    raw.update(overrides)
    return SimData.model_validate(raw)


def client_for(url: str, password: str = PASSWORD, **options: Any) -> CbsClient:
    # The simulator speaks plain HTTP, so certificates never matter here; verify_tls=False
    # only skips loading the CA bundle (~25 ms per client). TLS options have their own test.
    settings: dict[str, Any] = {
        "timeout_s": 2.0,
        "retries": 2,
        "backoff_s": 0.01,
        "verify_tls": False,
        **options,
    }
    return CbsClient(url, "system", SecretStr(password), **settings)


def run(url: str, op: Op, password: str = PASSWORD, **options: Any) -> Any:
    async def go() -> Any:
        async with client_for(url, password, **options) as client:
            return await op(client)

    return asyncio.run(go())


def run_keeping_client(url: str, op: Op, **options: Any) -> tuple[Any, CbsClient]:
    holder: list[CbsClient] = []

    async def go(client: CbsClient) -> Any:
        holder.append(client)
        return await op(client)

    return run(url, go, **options), holder[0]


# -- happy paths, one per operation -----------------------------------------------------------


def test_list_backup_sets_returns_each_set_with_id_name_and_type() -> None:
    with Simulator(world()) as sim:
        sets = run(sim.url, OPERATIONS["ListBackupSets"])
    assert [(s.id, s.name, s.type) for s in sets] == [
        (V6_SET, "v6 File Backup", "FILE"),
        (SET, "default-backup-set-name-1", "FILE"),
    ]


def test_get_destinations_uses_the_versioned_path_and_reads_the_destination_list() -> None:
    with Simulator(world()) as sim:
        destinations = run(sim.url, OPERATIONS["GetBackupSet"])
    assert [(d.id, d.name) for d in destinations] == [(DEST, "AhsayCBS")]
    assert sim.calls[-1].path == "/obs/api/json/2/GetBackupSet.do"


def test_backup_jobs_read_user_id_and_derive_their_ids_from_the_start_time() -> None:
    with Simulator(world()) as sim:
        jobs = run(sim.url, OPERATIONS["ListBackupJobMode"])
    assert [j.id for j in jobs] == ["2024-06-26-11-33-52", JOB, RUNNING_JOB]
    assert {j.user_id for j in jobs} == {"obm"}
    assert jobs[1].mode == "S"
    assert jobs[1].end_time == datetime(2024, 6, 26, 13, 25)
    assert sim.calls[-1].params["BackupDate"] == "2024-06-26"


def test_malformed_end_time_becomes_none_with_a_warning_and_is_not_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Simulator(world()) as sim:
        job = run(sim.url, OPERATIONS["ListBackupJobMode"])[0]
    assert job.end_time is None
    assert job.running is False
    assert any("11;34:15" in r.getMessage() for r in caplog.records if r.levelname == "WARNING")


def test_a_job_with_an_empty_end_time_is_running() -> None:
    with Simulator(world()) as sim:
        job = run(sim.url, OPERATIONS["ListBackupJobMode"])[2]
    assert job.running is True
    assert job.end_time is None
    assert job.start_time == datetime(2024, 6, 26, 22)


def test_job_report_keeps_an_unknown_status_verbatim_and_reads_counts() -> None:
    with Simulator(world()) as sim:
        report = run(sim.url, OPERATIONS["GetBackupJobReportSummary"])
    assert report.status == "BS_NEW_IN_V11"
    assert (report.warnings, report.errors, report.updated_files) == (2, 0, 1)
    assert report.id == JOB


def test_job_report_of_a_running_job_keeps_the_empty_status() -> None:
    with Simulator(world()) as sim:
        report = run(sim.url, lambda c: c.get_job_report("obm", "", SET, RUNNING_JOB, None))
    assert report.status == ""
    assert report.end_time is None
    assert "DestinationID" not in sim.calls[-1].params


def test_restore_jobs_read_their_status_from_the_examples_status_key() -> None:
    with Simulator(world()) as sim:
        (restore,) = run(sim.url, OPERATIONS["ListRestoreJobStatus"])
    assert restore.status == "RESTORE_STOP_SUCCESS"
    assert restore.user_id == "obm"
    assert restore.restore_size == 1024
    assert restore.destination_id == DEST
    assert restore.end_time == datetime(2024, 6, 26, 13, 25, 21)


def test_progress_turns_numbers_sent_as_strings_into_ints() -> None:
    with Simulator(world()) as sim:
        progress = run(sim.url, OPERATIONS["GetBackupJobProgress"])
    assert (progress.current_file_count, progress.total_file_count) == (12, 70)
    assert progress.uploaded_size == 70479290
    assert progress.user_id == "obm"
    assert sim.calls[-1].params["DestinationID"] == DEST


@pytest.mark.parametrize(("login", "sent"), [("obm", False), ("alice", True)])
def test_owner_is_sent_only_when_not_empty(login: str, sent: bool) -> None:
    owner = "reseller" if sent else ""
    with Simulator(world()) as sim:
        run(sim.url, lambda c: c.list_restore_jobs(login, owner, DAY))
        with suppress(CbsApiError):  # alice has no such job; only the request matters
            run(sim.url, lambda c: c.get_job_report(login, owner, SET, JOB, None))
    calls = [c for c in sim.calls if c.operation != "AuthSystemUser"]  # asked after the error
    assert len(calls) == 2
    for call in calls:
        assert ("Owner" in call.params) is sent


# -- every operation, every failure -----------------------------------------------------------


@each_operation
def test_every_operation_succeeds_and_is_counted_once(operation: str) -> None:
    with Simulator(world()) as sim:
        result, client = run_keeping_client(sim.url, OPERATIONS[operation])
    assert result is not None
    assert client.calls == {operation: 1}
    assert client.total_calls == 1
    assert sim.count(operation) == 1
    assert sim.unexpected == []


@each_operation
def test_every_operation_raises_auth_error_for_wrong_credentials(operation: str) -> None:
    with Simulator(world()) as sim, pytest.raises(CbsAuthError) as caught:
        run(sim.url, OPERATIONS[operation], password="wrong")
    assert caught.value.operation == operation
    assert sim.count(operation) == 1  # never retried


@each_operation
def test_every_operation_raises_api_error_for_status_error(operation: str) -> None:
    with Simulator(world()) as sim, pytest.raises(CbsApiError) as caught:
        run(sim.url, UNKNOWN_USER[operation])
    assert type(caught.value) is CbsApiError
    assert caught.value.is_unknown_user
    assert "User 'ghost' not found" in str(caught.value)
    assert sim.count(operation) == 1


@each_operation
def test_every_operation_names_itself_the_http_status_and_the_page_of_an_html_502(
    operation: str,
) -> None:
    with Simulator(world()) as sim, pytest.raises(CbsUnavailableError) as caught:
        sim.inject("502_html", count=3)
        run(sim.url, OPERATIONS[operation])
    message = str(caught.value)
    assert operation in message
    assert "HTTP 502" in message
    assert "<title>502 Bad Gateway</title>" in message
    assert sim.count(operation) == 3


@each_operation
def test_every_operation_retries_a_500_then_succeeds(operation: str) -> None:
    with Simulator(world()) as sim:
        sim.inject("500", operation=operation)
        result = run(sim.url, OPERATIONS[operation])
    assert result is not None
    assert sim.count(operation) == 2


@each_operation
def test_every_operation_retries_a_timeout_then_succeeds(operation: str) -> None:
    with Simulator(world(faults={"hang_s": 1.0})) as sim:
        sim.inject("timeout", operation=operation)
        result = run(sim.url, OPERATIONS[operation], timeout_s=0.3)
    assert result is not None
    assert sim.count(operation) == 2


@each_operation
def test_every_operation_gives_up_when_the_retries_are_exhausted(operation: str) -> None:
    with Simulator(world()) as sim:
        sim.inject("500", count=10)
        with pytest.raises(CbsUnavailableError) as caught:
            run(sim.url, OPERATIONS[operation], retries=2)
    assert "gave up after 3 attempts" in str(caught.value)
    assert "HTTP 500" in str(caught.value)
    assert sim.count(operation) == 3


@each_operation
@pytest.mark.parametrize("kind", ["truncated", "data_string", "data_list"])
def test_every_operation_rejects_broken_or_misshapen_data_without_retrying(
    operation: str, kind: Any
) -> None:
    with Simulator(world()) as sim, pytest.raises(CbsBadResponseError) as caught:
        sim.inject(kind)
        run(sim.url, OPERATIONS[operation])
    assert caught.value.operation == operation
    assert sim.count(operation) == 1


def test_the_failures_counter_counts_api_errors_and_exhausted_retries() -> None:
    async def two_failures(client: CbsClient) -> None:
        for op in (UNKNOWN_USER["ListBackupJobMode"], OPERATIONS["ListRestoreJobStatus"]):
            with pytest.raises(CbsError):
                await op(client)

    with Simulator(world()) as sim:
        sim.inject("500", count=10, operation="ListRestoreJobStatus")
        _, client = run_keeping_client(sim.url, two_failures, retries=1)
    assert client.failures == {"ListBackupJobMode": 1, "ListRestoreJobStatus": 1}
    # AuthSystemUser: asked once, after the first error answer, to tell wrong credentials.
    assert client.calls == {"ListBackupJobMode": 1, "ListRestoreJobStatus": 1, "AuthSystemUser": 1}
    assert client.retries == {"ListRestoreJobStatus": 1}
    assert sim.count("ListRestoreJobStatus") == 2  # the attempts that reached the server


def test_backoff_waits_between_attempts_through_the_injected_sleep() -> None:
    delays: list[float] = []

    async def no_sleep(delay: float) -> None:
        delays.append(delay)

    with Simulator(world()) as sim:
        sim.inject("500", count=2)
        run(sim.url, OPERATIONS["ListBackupJobMode"], backoff_s=5.0, retries=3, sleep=no_sleep)
    assert len(delays) == 2
    assert all(delay >= 2.5 for delay in delays)


def test_an_unreachable_cbs_is_unavailable_after_the_retries() -> None:
    with Simulator(world()) as sim:
        url = sim.url
    with pytest.raises(CbsUnavailableError, match="cannot connect"):
        run(url, OPERATIONS["ListBackupJobMode"], retries=1)


# -- older servers ----------------------------------------------------------------------------


def test_an_older_server_yields_none_for_optional_operations_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def twice_each(client: CbsClient) -> list[Any]:
        return [
            await client.list_backup_sets("obm"),
            await client.list_backup_sets("alice"),
            await client.get_destinations("obm", SET),
            await client.get_destinations("obm", V6_SET),
        ]

    with Simulator(world(version="9.6.0.0")) as sim:
        results, client = run_keeping_client(sim.url, twice_each)
    assert results == [None, None, None, None]
    assert sim.count("ListBackupSets") == 1
    assert sim.count("GetBackupSet") == 1
    assert client.unsupported == {"ListBackupSets", "GetBackupSet"}
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len([m for m in warned if "ListBackupSets" in m]) == 1
    assert len([m for m in warned if "GetBackupSet" in m]) == 1


def test_concurrent_calls_to_a_missing_operation_warn_only_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def all_users(client: CbsClient) -> list[Any]:
        logins = ("obm", "alice", "bob")
        return list(await asyncio.gather(*(client.list_backup_sets(u) for u in logins)))

    with Simulator(world(version="9.6.0.0", latency_ms=50)) as sim:
        results = run(sim.url, all_users)
    assert results == [None, None, None]
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1


def test_an_unknown_user_on_list_backup_sets_still_raises() -> None:
    with Simulator(world()) as sim, pytest.raises(CbsApiError) as caught:
        run(sim.url, UNKNOWN_USER["ListBackupSets"])
    assert caught.value.is_unknown_user


# -- bounded concurrency ----------------------------------------------------------------------


class GaugedSimulator(Simulator):
    """Counts requests in flight at the server. A request leaves the gauge before its answer
    is written, so the client cannot send its next request while the last one still counts."""

    def __init__(self, data: SimData) -> None:
        self.in_flight = 0
        self.peak = 0
        self._gauge = threading.Lock()
        super().__init__(data)

    def _handler_class(self) -> type[QuietHandler]:
        base: Any = super()._handler_class()
        sim = self

        class Gauged(base):  # type: ignore[misc, valid-type]
            def do_POST(self) -> None:
                with sim._gauge:
                    sim.in_flight += 1
                    sim.peak = max(sim.peak, sim.in_flight)
                super().do_POST()

            def send_body(
                self, status: int, body: bytes, content_type: str, headers: Any = None
            ) -> None:
                with sim._gauge:
                    sim.in_flight -= 1
                super().send_body(status, body, content_type, headers)

        return Gauged


@pytest.mark.parametrize("limit", [3, 6])
def test_no_more_requests_are_in_flight_than_max_concurrency(limit: int) -> None:
    async def many(client: CbsClient) -> None:
        await asyncio.gather(*(client.list_backup_jobs("obm", DAY) for _ in range(12)))

    with GaugedSimulator(world(latency_ms=150)) as sim:
        run(sim.url, many, max_concurrency=limit)
    assert sim.count() == 12
    assert sim.peak == limit


# -- construction -----------------------------------------------------------------------------


def test_a_trailing_slash_in_the_base_url_is_ignored() -> None:
    with Simulator(world()) as sim:
        sets = run(sim.url + "/", OPERATIONS["ListBackupSets"])
        run(sim.url + "//", OPERATIONS["GetBackupSet"])
    assert len(sets) == 2
    assert [c.path for c in sim.calls] == [
        "/obs/api/json/ListBackupSets.do",
        "/obs/api/json/2/GetBackupSet.do",
    ]


@pytest.mark.parametrize(
    "tls",
    [
        {"verify_tls": False},
        {"verify_tls": True, "ca_bundle": certifi.where()},
        {"verify_tls": True, "ca_bundle": str(Path(certifi.where()).parent)},
        {"verify_tls": False, "ca_bundle": "/nonexistent/ca.pem"},
    ],
)
def test_tls_options_are_accepted_without_deprecation_warnings(tls: dict[str, Any]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with Simulator(world()) as sim:
            sets = run(sim.url, OPERATIONS["ListBackupSets"], **tls)
    assert len(sets) == 2


# -- the documents' literal example bodies ----------------------------------------------------


@contextmanager
def canned(answers: dict[str, tuple[int, str]]) -> Iterator[str]:
    """A loopback server answering each operation with one fixed body, byte for byte."""

    class Handler(QuietHandler):
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            operation = self.path.rsplit("/", 1)[-1].removesuffix(".do")
            status, text = answers[operation]
            html = text.lstrip().startswith("<")
            self.send_body(status, text.encode(), "text/html" if html else "application/json")

    with LoopbackServer(Handler) as server:
        yield server.base_url


# Copied verbatim from the operation documents (tabs included).
JOB_MODE_EXAMPLE = """{
\t"Status":"OK",
\t"Data":[
\t\t{
\t\t\t"BackupSetName":"v6 File Backup",
\t\t\t"LoginName":"obm",
\t\t\t"Owner":"",
\t\t\t"EndTime":"2024-06-26 11;34:15",
\t\t\t"UserId":"obm",
\t\t\t"StartTime":"2024-06-26 11:33:52",
\t\t\t"BackupJobMode":"M",
\t\t\t"BackupSetID":"1687750405259"
\t\t}
\t]
}"""
REPORT_EXAMPLE = """{
\t"Status":"OK",
\t"Data":{
\t\t"TotalCopiedSize":0,
\t\t"DedupeEnabled":true,
\t\t"DedupeOriginalSize":2384,
\t\t"DedupeSaving":0,
\t\t"EndTime":"2024-08-23 10:00:59",
\t\t"TotalDeletedFilesSize":0,
\t\t"NumOfMovedFiles":0,
\t\t"SuccessPublicFolder":"",
\t\t"TotalUpdatedFilesSize":726,
\t\t"TotalUpdatedPermissionFilesSize":0,
\t\t"NumOfWarnEntries":0,
\t\t"NumOfNewFiles":0,
\t\t"NumOfUpdatedFiles":1,
\t\t"NumOfCopiedFiles":0,
\t\t"ID":"2024-08-23-10-00-36",
\t\t"NumOfErrorEntries":0,
\t\t"BackupJobStatus":"BS_STOP_SUCCESS",
\t\t"TotalNewFilesSize":0,
\t\t"MissedDatabase":"",
\t\t"NumOfUpdatedPermissionFiles":0,
\t\t"SuccessDatabase":"",
\t\t"StartTime":"2024-08-23 10:00:37",
\t\t"NumOfDeletedFiles":0,
\t\t"MissedPublicFolder":"",
\t\t"TotalMovedFilesSize":0
\t}
}"""
RESTORE_EXAMPLE = """{
"Status":"OK",
"Data":[
{
"Status":"RESTORE_STOP_SUCCESS",
"BackupSetName":"default-backup-set-name-1",
"LoginName":"obm",
"Owner":"",
"EndTime":"2024-06-26 13:25:21",
"UserId":"obm",
"RunVersion":"9.11.0.0",
"StartTime":"2024-06-26 13:25:14",
"ID":"2024-06-26-13-25-13",
"BackupSetID":"1687755057644",
"RestoreSize":0,
"DestinationID":"1687755083984"
}
]
}"""
# The document's own example is broken: `"Owner:"",` and no closing brace for the answer.
PROGRESS_EXAMPLE = """{
\t"Status":"OK",
\t"Data":{
\t\t"BackupSetName":"default-backup-set-name-1",
\t\t"LoginName":"obm",
\t\t"Owner:"",
\t\t"EndTime":"2024-06-23 15:29:37",
\t\t"TotalFileCount":"70",
\t\t"StartTime":"2024-06-23 15:28:16",
\t\t"BackupSetID":"1687505199600",
\t\t"UserID":"obm",
\t\t"UploadedFileSize":"70479290",
\t\t"CurrentFileName":"C:\\\\Users\\\\ahsay\\\\Desktop\\\\file_sample.exe",
\t\t"TotalFileSize":"78477452",
\t\t"ID":"2024-06-23-15-27-57",
\t\t"CurrentFileCount":"0"
}"""
PROGRESS_REPAIRED = PROGRESS_EXAMPLE.replace('"Owner:""', '"Owner":""') + "}"
# MORE-OPERATIONS.md describes these two answers in prose.
SETS_EXAMPLE = (
    '{"Status":"OK","Data":[{"ID":"1687505199600","Name":"default-backup-set-name-1",'
    '"Type":"FILE"},{"ID":"17","Name":"Mail","Type":"Office 365 Exchange Online"}]}'
)
BACKUP_SET_EXAMPLE = (
    '{"Status":"OK","Data":{"ID":"1687505199600","Name":"x","DestinationSettings":'
    '{"DestinationList":[{"Id":"1687505211240","Name":"AhsayCBS","Type":"OBS"}]}}}'
)
EXAMPLES = {
    "ListBackupSets": (200, SETS_EXAMPLE),
    "GetBackupSet": (200, BACKUP_SET_EXAMPLE),
    "ListBackupJobMode": (200, JOB_MODE_EXAMPLE),
    "GetBackupJobReportSummary": (200, REPORT_EXAMPLE),
    "ListRestoreJobStatus": (200, RESTORE_EXAMPLE),
    "GetBackupJobProgress": (200, PROGRESS_REPAIRED),
}


def test_the_documents_example_bodies_parse_with_their_quirks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def all_six(client: CbsClient) -> list[Any]:
        return [await op(client) for op in OPERATIONS.values()]

    with canned(EXAMPLES) as url:
        sets, destinations, jobs, report, restores, progress = run(url, all_six)
    assert [s.type for s in sets] == ["FILE", "Office 365 Exchange Online"]
    assert [d.id for d in destinations] == ["1687505211240"]
    (job,) = jobs
    assert (job.id, job.user_id, job.mode, job.end_time, job.running) == (
        "2024-06-26-11-33-52",
        "obm",
        "M",
        None,
        False,
    )
    assert "ignoring malformed CBS time '2024-06-26 11;34:15'" in caplog.text
    assert (report.status, report.updated_files, report.end_time) == (
        "BS_STOP_SUCCESS",
        1,
        datetime(2024, 8, 23, 10, 0, 59),
    )
    (restore,) = restores
    assert (restore.status, restore.user_id, restore.restore_size) == (
        "RESTORE_STOP_SUCCESS",
        "obm",
        0,
    )
    assert (progress.id, progress.owner, progress.total_file_count) == (
        "2024-06-23-15-27-57",
        "",
        70,
    )
    assert progress.current_file == "C:\\Users\\ahsay\\Desktop\\file_sample.exe"


def test_the_progress_documents_literal_example_is_not_json_and_is_refused() -> None:
    answers = {"GetBackupJobProgress": (200, PROGRESS_EXAMPLE)}
    with canned(answers) as url, pytest.raises(CbsBadResponseError, match="not JSON") as caught:
        run(url, OPERATIONS["GetBackupJobProgress"])
    assert caught.value.operation == "GetBackupJobProgress"


def test_the_table_forms_parse_as_well_as_the_examples() -> None:
    restore = (
        '{"Status":"OK","Data":[{"RestoreJobStatus":"RESTORE_STOP_BY_USER","UserID":"u1",'
        '"StartTime":"2024-06-26-13-25-14","EndTime":"2024-06-26-13-25-21","RestoreSize":"42",'
        '"BackupSetName":true,"Surprise":{"a":1}}]}'
    )
    jobs = '{"Status":"OK","Data":[{"ID":"j1","UserID":"u1","EndTime":null,"StartTime":null}]}'
    with canned({"ListRestoreJobStatus": (200, restore), "ListBackupJobMode": (200, jobs)}) as url:
        (r,) = run(url, OPERATIONS["ListRestoreJobStatus"])
        (j,) = run(url, OPERATIONS["ListBackupJobMode"])
    assert (r.status, r.user_id, r.restore_size) == ("RESTORE_STOP_BY_USER", "u1", 42)
    assert r.start_time == datetime(2024, 6, 26, 13, 25, 14)
    assert r.end_time == datetime(2024, 6, 26, 13, 25, 21)
    assert (j.id, j.user_id, j.start_time, j.running) == ("j1", "u1", None, True)


def test_a_long_502_page_is_cut_to_its_first_200_characters() -> None:
    page = "<html><body>" + "x" * 300 + "TAIL-MARKER</body></html>"
    with (
        canned({"ListBackupJobMode": (502, page)}) as url,
        pytest.raises(CbsUnavailableError) as caught,
    ):
        run(url, OPERATIONS["ListBackupJobMode"], retries=0)
    assert "HTTP 502" in str(caught.value)
    assert "<html><body>xxx" in str(caught.value)
    assert "TAIL-MARKER" not in str(caught.value)


def test_a_4xx_html_page_is_a_bad_response() -> None:
    answers = {"ListBackupJobMode": (404, "<html>Not Found</html>")}
    with canned(answers) as url, pytest.raises(CbsNotApiError, match=r"answered HTTP 404 for"):
        run(url, OPERATIONS["ListBackupJobMode"])


# -- secrets ----------------------------------------------------------------------------------

SECRET = "S3cr3t-p@ss-XYZ"


def test_the_password_never_leaks_into_errors_reprs_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "cbsalert"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []
    texts: list[str] = []

    async def attempt(url: str, op: Op, **options: Any) -> None:
        client = client_for(url, SECRET, **options)
        texts.extend([repr(client), str(vars(client))])
        try:
            await op(client)
        except CbsError as exc:
            errors.append(exc)
        finally:
            await client.aclose()

    with Simulator(world(system_password="other", faults={"hang_s": 1.0})) as sim:
        asyncio.run(attempt(sim.url, OPERATIONS["ListBackupSets"]))  # auth
    with Simulator(world(system_password=SECRET, faults={"hang_s": 1.0})) as sim:
        asyncio.run(attempt(sim.url, UNKNOWN_USER["ListBackupJobMode"]))  # API error
        for kind in ("truncated", "data_list", "data_string"):
            sim.inject(kind)  # bad responses
            asyncio.run(attempt(sim.url, OPERATIONS["GetBackupJobReportSummary"]))
        sim.inject("500", count=3)  # unavailable after retries
        asyncio.run(attempt(sim.url, OPERATIONS["ListRestoreJobStatus"], retries=2))
        sim.inject("502_html")
        asyncio.run(attempt(sim.url, OPERATIONS["GetBackupJobProgress"], retries=0))
        sim.inject("timeout")
        asyncio.run(attempt(sim.url, OPERATIONS["GetBackupSet"], timeout_s=0.3, retries=0))
        closed_url = sim.url
    asyncio.run(attempt(closed_url, OPERATIONS["ListBackupSets"], retries=0))  # refused

    kinds = {type(e) for e in errors}
    assert kinds == {CbsAuthError, CbsApiError, CbsBadResponseError, CbsNotApiError,
                     CbsUnavailableError, CbsServerError, CbsConnectError}  # fmt: skip
    assert len(errors) == 9
    assert any("timed out" in str(e) for e in errors)
    for exc in errors:
        texts.append("".join(traceback.format_exception(exc)))
        for linked in exception_chain(exc):
            texts.extend([str(linked), repr(linked)])
    texts.extend(r.getMessage() for r in caplog.records)
    texts.append(caplog.text)
    assert any(r.name.startswith("httpcore") for r in caplog.records)  # DEBUG was on
    assert [t for t in texts if SECRET in t] == []
