"""The simulated CBS: it must answer like the documents' examples, quirks and all.

These tests speak raw HTTP to the simulator (no CbsClient), so they pin down the wire format
the client tests rely on: ``UserId`` and no ``ID`` in ListBackupJobMode, ``Status`` in
ListRestoreJobStatus, numbers as strings in GetBackupJobProgress.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from cbsalert.devtools.simulator import SimData, Simulator, load_sim_data

PASSWORD = "system1"
# One connection pool for the module: a new httpx client per request costs ~40 ms of TLS setup.
# Made by the module fixture, so that a worker which runs this module's tests in several
# batches (pytest-xdist's worksteal) gets a fresh pool each time, not a closed one.
_HTTP = httpx.Client(timeout=5)


@pytest.fixture(scope="module", autouse=True)
def _http_pool() -> Any:
    global _HTTP
    if _HTTP.is_closed:
        _HTTP = httpx.Client(timeout=5)
    yield
    _HTTP.close()


def world(**overrides: Any) -> SimData:
    """One user shaped after the documents' examples; ``today`` is fixed."""
    raw: dict[str, Any] = {
        "today": "2024-06-27",
        "users": [
            {
                "login": "obm",
                "backup_sets": [
                    {"id": "1687750405259", "name": "v6 File Backup"},
                    {
                        "id": "1687755057644",
                        "name": "default-backup-set-name-1",
                        "destinations": [{"id": "1687755083984", "name": "AhsayCBS"}],
                    },
                ],
                "jobs": [
                    {
                        "set": "1687750405259",
                        "start": "2024-06-26 11:33:52",
                        "end": "2024-06-26 11;34:15",
                        "mode": "M",
                    },
                    {"set": "1687755057644", "start": "D-1 22:00:00", "end": None},
                ],
                "restores": [
                    {
                        "set": "1687755057644",
                        "start": "2024-06-26 13:25:14",
                        "end": "2024-06-26 13:25:21",
                        "id": "2024-06-26-13-25-13",
                        "destination": "1687755083984",
                    }
                ],
            },
            {"login": "alice", "owner": "reseller"},
        ],
    }
    raw.update(overrides)
    return SimData.model_validate(raw)


def post(
    sim: Simulator, operation: str, password: str = PASSWORD, *, v2: bool = False, **params: Any
) -> httpx.Response:
    path = f"/obs/api/json/{'2/' if v2 else ''}{operation}.do"
    body = {"SysUser": "system", "SysPwd": password, **params}
    return _HTTP.post(sim.url + path, json=body)


def data_of(response: httpx.Response) -> Any:
    payload = response.json()
    assert payload["Status"] == "OK", payload
    return payload["Data"]


def test_wrong_password_is_refused_with_the_documented_message() -> None:
    with Simulator(world()) as sim:
        payload = post(sim, "ListBackupJobMode", "nope", LoginName="obm").json()
    assert payload["Status"] == "Error"
    assert payload["Message"] == "Incorrect system username/password"


def test_unknown_login_answers_no_such_user() -> None:
    with Simulator(world()) as sim:
        payload = post(sim, "ListBackupJobMode", LoginName="ghost", BackupDate="2024-06-26").json()
    assert payload == {
        "Status": "Error",
        "Message": "[UserCacheManager.NoSuchUserExpt] User 'ghost' not found.",
        "ExptType": "com.ahsay.obs.core.dbs.c",
    }


def test_calls_are_recorded_without_the_password() -> None:
    with Simulator(world()) as sim:
        post(sim, "ListBackupSets", LoginName="obm")
        post(sim, "GetBackupSet", v2=True, LoginName="obm", BackupSetID="1687755057644")
        post(sim, "ListBackupSets", "wrong", LoginName="obm")
    assert [c.operation for c in sim.calls] == ["ListBackupSets", "GetBackupSet", "ListBackupSets"]
    assert sim.calls[1].path == "/obs/api/json/2/GetBackupSet.do"
    assert sim.calls[0].params == {"SysUser": "system", "LoginName": "obm"}
    assert all("SysPwd" not in c.params for c in sim.calls)
    assert sim.count("ListBackupSets") == 2
    assert sim.count() == 3


def test_operations_outside_the_read_set_are_recorded_as_unexpected() -> None:
    with Simulator(world()) as sim:
        refused = post(sim, "RemoveUser", LoginName="obm").json()
        not_found = _HTTP.post(sim.url + "/obs/admin/index.do", json={})
        post(sim, "ListBackupSets", LoginName="obm")
    assert refused["Status"] == "Error"
    assert not_found.status_code == 404
    assert [c.operation for c in sim.unexpected] == ["RemoveUser", "/obs/admin/index.do"]
    assert all("SysPwd" not in c.params for c in sim.unexpected)


def test_list_backup_job_mode_answers_like_the_example() -> None:
    with Simulator(world()) as sim:
        rows = data_of(post(sim, "ListBackupJobMode", LoginName="obm", BackupDate="2024-06-26"))
    assert rows[0] == {
        "BackupSetName": "v6 File Backup",
        "LoginName": "obm",
        "Owner": "",
        "EndTime": "2024-06-26 11;34:15",
        "UserId": "obm",
        "StartTime": "2024-06-26 11:33:52",
        "BackupJobMode": "M",
        "BackupSetID": "1687750405259",
    }
    assert rows[1]["EndTime"] == ""


def test_list_backup_job_mode_accepts_the_examples_date_with_a_time_part() -> None:
    with Simulator(world()) as sim:
        rows = data_of(
            post(sim, "ListBackupJobMode", LoginName="obm", BackupDate="2024-06-26-11-33-52")
        )
        other_day = data_of(
            post(sim, "ListBackupJobMode", LoginName="obm", BackupDate="2024-06-25")
        )
    assert len(rows) == 2
    assert other_day == []


def test_relative_times_resolve_against_today() -> None:
    data = world(
        today="2024-03-01",
        users=[{"login": "obm", "jobs": [{"set": "1", "start": "D-1 22:00:00", "end": "D 9:30"}]}],
    )
    with Simulator(data) as sim:
        rows = data_of(post(sim, "ListBackupJobMode", LoginName="obm", BackupDate="2024-02-29"))
        report = data_of(
            post(
                sim,
                "GetBackupJobReportSummary",
                LoginName="obm",
                BackupSetID="1",
                BackupJobID="2024-02-29-22-00-00",
            )
        )
    assert rows[0]["StartTime"] == "2024-02-29 22:00:00"
    assert rows[0]["EndTime"] == "2024-03-01 09:30:00"
    assert report["ID"] == "2024-02-29-22-00-00"


def test_restore_status_answers_with_status_and_user_id_like_the_example() -> None:
    with Simulator(world()) as sim:
        rows = data_of(post(sim, "ListRestoreJobStatus", LoginName="obm", RestoreDate="2024-06-26"))
    assert rows == [
        {
            "Status": "RESTORE_STOP_SUCCESS",
            "BackupSetName": "default-backup-set-name-1",
            "LoginName": "obm",
            "Owner": "",
            "EndTime": "2024-06-26 13:25:21",
            "UserId": "obm",
            "RunVersion": "9.11.0.0",
            "StartTime": "2024-06-26 13:25:14",
            "ID": "2024-06-26-13-25-13",
            "BackupSetID": "1687755057644",
            "RestoreSize": 0,
            "DestinationID": "1687755083984",
        }
    ]


def running_job_data(operation: str, **params: str) -> Any:
    """``operation``'s Data about obm's job that is still running (``world()``)."""
    job = {"LoginName": "obm", "BackupSetID": "1687755057644", "BackupJobID": "2024-06-26-22-00-00"}
    with Simulator(world()) as sim:
        return data_of(post(sim, operation, **job, **params))


def test_progress_sends_every_number_as_a_string() -> None:
    progress = running_job_data("GetBackupJobProgress")
    assert progress["UserID"] == "obm"
    for key in ("TotalFileCount", "CurrentFileCount", "UploadedFileSize", "TotalFileSize"):
        assert isinstance(progress[key], str), key


def test_report_of_a_running_job_has_an_empty_status_and_empty_strings() -> None:
    report = running_job_data("GetBackupJobReportSummary", DestinationID="1687755083984")
    assert report["BackupJobStatus"] == ""
    assert report["EndTime"] == ""
    assert report["MissedDatabase"] == ""
    assert report["NumOfCopiedFiles"] == 0  # a key the table lacks


def test_get_backup_set_lists_destinations_under_destination_settings() -> None:
    with Simulator(world()) as sim:
        configured = data_of(
            post(sim, "GetBackupSet", v2=True, LoginName="obm", BackupSetID="1687755057644")
        )
        defaulted = data_of(
            post(sim, "GetBackupSet", v2=True, LoginName="obm", BackupSetID="1687750405259")
        )
        missing = post(sim, "GetBackupSet", v2=True, LoginName="obm", BackupSetID="9").json()
    assert [d["Id"] for d in configured["DestinationSettings"]["DestinationList"]] == [
        "1687755083984"
    ]
    assert [d["Id"] for d in defaulted["DestinationSettings"]["DestinationList"]] == [
        "16877504052591"
    ]
    assert missing["Status"] == "Error"


@pytest.mark.parametrize("operation", ["ListBackupSets", "GetBackupSet"])
def test_servers_older_than_9_7_refuse_the_optional_operations(operation: str) -> None:
    with Simulator(world(version="9.6.0.0")) as sim:
        payload = post(sim, operation, LoginName="obm", BackupSetID="1687755057644").json()
        jobs = post(sim, "ListBackupJobMode", LoginName="obm", BackupDate="2024-06-26").json()
    assert payload["Status"] == "Error"
    assert "NoSuchUserExpt" not in payload["Message"]
    assert jobs["Status"] == "OK"


def test_injected_faults_hit_only_the_next_n_matching_calls() -> None:
    with Simulator(world()) as sim:
        sim.inject("500", count=2, operation="ListBackupJobMode", login="obm")
        params = {"LoginName": "obm", "BackupDate": "2024-06-26"}
        other_op = post(sim, "ListRestoreJobStatus", LoginName="obm", RestoreDate="2024-06-26")
        other_login = post(sim, "ListBackupJobMode", LoginName="alice", BackupDate="2024-06-26")
        statuses = [post(sim, "ListBackupJobMode", **params).status_code for _ in range(3)]
    assert other_op.status_code == 200
    assert other_login.status_code == 200
    assert statuses == [500, 500, 200]


@pytest.mark.parametrize(
    ("kind", "status", "check"),
    [
        ("502_html", 502, lambda r: "<html>" in r.text),
        (
            "truncated",
            200,
            lambda r: r.text.startswith('{"Status":"OK"') and not r.text.endswith("}"),
        ),
        ("data_string", 200, lambda r: r.json()["Data"] == "no data"),
        ("data_list", 200, lambda r: r.json()["Data"] == [1, 2, 3]),
        ("refuse_auth", 200, lambda r: "Incorrect system" in r.json()["Message"]),
    ],
)
def test_each_injected_fault_kind_answers_its_way(kind: Any, status: int, check: Any) -> None:
    with Simulator(world()) as sim:
        sim.inject(kind)
        faulty = post(sim, "ListBackupSets", LoginName="obm")
        healthy = post(sim, "ListBackupSets", LoginName="obm")
    assert faulty.status_code == status
    assert check(faulty)
    assert data_of(healthy)[0]["ID"] == "1687750405259"


def test_a_timeout_fault_hangs_longer_than_the_callers_patience() -> None:
    data = world(faults={"hang_s": 1.0})
    with Simulator(data) as sim:
        sim.inject("timeout")
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                sim.url + "/obs/api/json/ListBackupSets.do",
                json={"SysUser": "system", "SysPwd": PASSWORD, "LoginName": "obm"},
                timeout=0.2,
            )
        assert data_of(post(sim, "ListBackupSets", LoginName="obm"))


def outcomes(seed: int) -> list[int]:
    faults = {"error_rate": 0.3, "html_rate": 0.2, "truncated_rate": 0.2, "seed": seed}
    with Simulator(world(faults=faults)) as sim:
        responses = [post(sim, "ListBackupSets", LoginName="obm") for _ in range(30)]
    # 200 with complete JSON, 200 truncated (-1), 500 or 502.
    return [
        -1 if r.status_code == 200 and not r.text.endswith("}") else r.status_code
        for r in responses
    ]


def test_random_faults_with_the_same_seed_repeat_the_same_sequence() -> None:
    first, again, other = outcomes(7), outcomes(7), outcomes(8)
    assert first == again
    assert first != other
    assert {200, 500, 502, -1} <= set(first)


def test_set_data_replaces_the_world_of_a_running_simulator() -> None:
    with Simulator(world()) as sim:
        before = data_of(post(sim, "ListBackupSets", LoginName="obm"))
        sim.set_data(world(users=[{"login": "obm"}]))
        after = data_of(post(sim, "ListBackupSets", LoginName="obm"))
    assert len(before) == 2
    assert after == []


def test_get_requests_are_not_allowed() -> None:
    with Simulator(world()) as sim:
        response = _HTTP.get(sim.url + "/obs/api/json/ListBackupSets.do")
    assert response.status_code == 405


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_sim_data_loads_from_yaml_or_json(tmp_path: Path, suffix: str) -> None:
    raw = {"today": "2024-06-27", "version": "9.6.0.0", "users": [{"login": "obm"}]}
    path = tmp_path / f"world{suffix}"
    path.write_text(json.dumps(raw), encoding="utf-8")  # JSON is valid YAML too
    data = load_sim_data(path)
    assert data.today == date(2024, 6, 27)
    assert data.version == "9.6.0.0"
    assert [u.login for u in data.users] == ["obm"]
