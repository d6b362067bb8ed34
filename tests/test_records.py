"""Typed CBS records: lenient about the documents' contradictions, strict about failing cleanly.

The example-based tests pin each quirk; the property-based tests feed the models and every
client method arbitrary JSON (tests/cbs_strategies.py: the documented keys mapped to anything,
any top-level ``Data``) and demand that they either parse or raise the client's own
``CbsError``: a ValidationError, TypeError or RecursionError escaping would crash a whole run
over one odd record. Decoding a whole answer (cbs_answer.py) is tested in test_cbs_answer.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from contextlib import suppress
from datetime import datetime
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr

from cbsalert.cbs import CbsClient
from cbsalert.errors import CbsError
from cbsalert.records import (
    BackupJob,
    BackupSet,
    JobProgress,
    JobReport,
    RestoreJob,
    parse_cbs_time,
)
from tests.cbs_strategies import json_values, modest, records, top_level

# -- the quirks, one by one -------------------------------------------------------------------


@pytest.mark.parametrize("model", [RestoreJob, JobProgress, BackupJob])
@pytest.mark.parametrize("key", ["UserID", "UserId"])
def test_user_id_is_read_under_either_spelling(model: type[BaseModel], key: str) -> None:
    assert model.model_validate({key: "u-17"}).user_id == "u-17"  # type: ignore[attr-defined]


@pytest.mark.parametrize("key", ["RestoreJobStatus", "Status"])
def test_restore_status_is_read_under_the_tables_or_the_examples_key(key: str) -> None:
    assert (
        RestoreJob.model_validate({key: "RESTORE_STOP_BY_ERROR"}).status == "RESTORE_STOP_BY_ERROR"
    )


@pytest.mark.parametrize("value", [70, "70", " 70 ", 70.0, "70.0"])
def test_numbers_are_read_as_numbers_or_as_strings(value: Any) -> None:
    assert JobProgress.model_validate({"TotalFileCount": value}).total_file_count == 70


@pytest.mark.parametrize("value", ["", None, "   "])
def test_empty_strings_and_nulls_become_none_or_empty(value: Any) -> None:
    keys = ("NumOfWarnEntries", "EndTime", "BackupJobStatus", "ID")
    report = JobReport.model_validate(dict.fromkeys(keys, value))
    assert report.warnings is None
    assert report.end_time is None
    assert report.status == ("" if value is None else value)
    assert (
        RestoreJob.model_validate({"DestinationID": value, "RestoreSize": value}).restore_size
        is None
    )


def test_unknown_keys_are_ignored() -> None:
    backup_set = BackupSet.model_validate({"ID": "1", "Name": "n", "Surprise": {"x": [1]}})
    assert backup_set.model_dump() == {"id": "1", "name": "n", "type": ""}


@pytest.mark.parametrize(
    "text", ["2024-06-26 13:25:14", "2024-06-26-13-25-14", "2024-06-26T13:25:14"]
)
def test_times_are_read_in_every_format_the_cbs_uses(text: str) -> None:
    assert parse_cbs_time(text) == datetime(2024, 6, 26, 13, 25, 14)


def test_a_malformed_time_becomes_none_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    job = BackupJob.model_validate(
        {"StartTime": "2024-06-26 11:33:52", "EndTime": "2024-06-26 11;34:15"}
    )
    assert job.end_time is None
    assert job.running is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "ignoring malformed CBS time '2024-06-26 11;34:15'"
    ]


@pytest.mark.parametrize(
    ("end", "running"), [(None, True), ("", True), ("2024-06-26 11:34:15", False)]
)
def test_only_a_missing_or_empty_end_time_means_running(end: Any, running: bool) -> None:
    record = {"StartTime": "2024-06-26 11:33:52"}
    if end is not None:
        record["EndTime"] = end
    assert BackupJob.model_validate(record).running is running


def test_a_job_without_an_id_takes_its_id_from_the_start_time() -> None:
    job = BackupJob.model_validate({"StartTime": "2024-06-26 11:33:52", "ID": ""})
    assert job.id == "2024-06-26-11-33-52"
    assert (
        BackupJob.model_validate({"ID": "given", "StartTime": "2024-06-26 11:33:52"}).id == "given"
    )
    assert BackupJob.model_validate({"StartTime": "garbage"}).id == ""


@pytest.mark.parametrize("status", ["BS_STOP_SUCCESS", "BS_MISSED_DATABASAE", "SOMETHING_NEW", ""])
def test_statuses_stay_verbatim_strings(status: str) -> None:
    assert JobReport.model_validate({"BackupJobStatus": status}).status == status


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(record=records)
def test_a_backup_job_is_running_exactly_when_its_end_time_is_missing_or_blank(
    record: dict[str, Any],
) -> None:
    job = BackupJob.model_validate(record)
    end = record.get("EndTime", record.get("end_time"))
    assert job.running is (end is None or (isinstance(end, str) and not end.strip()))
    if job.running:
        assert job.end_time is None


@modest
@given(
    moment=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1)),
    fmt=st.sampled_from(["%Y-%m-%d %H:%M:%S", "%Y-%m-%d-%H-%M-%S"]),
)
def test_times_in_either_cbs_format_round_trip(moment: datetime, fmt: str) -> None:
    moment = moment.replace(microsecond=0)
    assert parse_cbs_time(moment.strftime(fmt)) == moment


@modest
@given(number=st.integers(min_value=0, max_value=2**63 - 1), as_text=st.booleans())
def test_counts_round_trip_as_numbers_or_strings(number: int, as_text: bool) -> None:
    value: Any = str(number) if as_text else number
    assert JobReport.model_validate({"NumOfErrorEntries": value}).errors == number


# Every public client method, fed arbitrary Data through an in-memory transport (no server:
# this is about parsing, and hypothesis needs hundreds of answers per second).
METHODS = {
    "ListBackupSets": lambda c: c.list_backup_sets("u"),
    "GetBackupSet": lambda c: c.get_destinations("u", "s"),
    "ListBackupJobMode": lambda c: c.list_backup_jobs("u", datetime(2024, 6, 26).date()),
    "GetBackupJobReportSummary": lambda c: c.get_job_report("u", "o", "s", "j", "d"),
    "ListRestoreJobStatus": lambda c: c.list_restore_jobs("u", "", datetime(2024, 6, 26).date()),
    "GetBackupJobProgress": lambda c: c.get_job_progress("u", "s", None, "j"),
}
nested_data = top_level | st.fixed_dictionaries(
    {"DestinationSettings": json_values | st.fixed_dictionaries({"DestinationList": top_level})}
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operation=st.sampled_from(list(METHODS)), data=nested_data)
def test_every_client_method_parses_any_data_or_raises_a_cbs_error(
    operation: str, data: Any
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps({"Status": "OK", "Data": data}).encode())

    async def call() -> Any:
        client = CbsClient(
            "http://cbs.invalid",
            "system",
            SecretStr("pw"),
            transport=httpx.MockTransport(answer),
            retries=0,
        )
        async with client:
            return await METHODS[operation](client)

    with suppress(CbsError):
        asyncio.run(call())
