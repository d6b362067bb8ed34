"""Hostile values in CBS records: every string is made safe to store and show once, where the
records are parsed, and a number that cannot be read is unknown, never a number.

Cleaning rules (records.py): control, bidi-override and line-separator characters and lone
surrogates become U+FFFD; text is clipped to 500 characters with an ellipsis; an id that is
too long, or holds such a character, the alert-key separator ``|`` or an ellipsis, becomes
its readable prefix, an ellipsis and a hash of the whole id (at most 255 characters), so two
distinct ids never merge. What the CBS must be asked again keeps its exact value.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cbsalert.records import (
    ID_MAX,
    TEXT_MAX,
    BackupJob,
    BackupSet,
    Destination,
    JobReport,
    RestoreJob,
)

UNSAFE = "\x00\x07\x1b\n\r\t\x7f\x85\u202e\u2066\u2028\ud800"


def is_clean(text: str) -> bool:
    text.encode("utf-8")  # raises on a lone surrogate, as a database driver would
    return not any(c in UNSAFE for c in text)


@pytest.mark.parametrize("char", list(UNSAFE))
def test_a_control_character_in_a_name_becomes_a_visible_replacement(char: str) -> None:
    backup_set = BackupSet.model_validate({"ID": "1", "Name": f"Do{char}cs"})
    assert backup_set.name == "Do\ufffdcs"


def test_cleaned_text_encodes_as_utf8_even_from_lone_surrogates() -> None:
    job = BackupJob.model_validate({"BackupSetName": "a\ud800b\udfffc", "StartTime": ""})
    assert job.backup_set_name.encode("utf-8") == "a\ufffdb\ufffdc".encode()


def test_a_name_longer_than_the_column_is_clipped_with_a_marker() -> None:
    name = BackupSet.model_validate({"ID": "1", "Name": "N" * 5000}).name
    assert len(name) == TEXT_MAX == 500
    assert name == "N" * 499 + "…"


def test_a_status_is_cleaned_and_so_never_equals_a_known_good_status() -> None:
    report = JobReport.model_validate({"BackupJobStatus": "BS_STOP_SUCCESS\x00"})
    assert report.status == "BS_STOP_SUCCESS\ufffd"


def test_an_ordinary_id_is_kept_verbatim() -> None:
    assert BackupSet.model_validate({"ID": "1687505199600"}).id == "1687505199600"
    assert Destination.model_validate({"Id": "d-1 x"}).id == "d-1 x"


@pytest.mark.parametrize(
    "raw",
    [
        "7" * 300,  # too long
        "16875\x0005199600",  # a NUL
        "a|b",  # the alert key's separator
        "a…b",  # the marker of a rewritten id
        "a\ud800b",  # a lone surrogate
    ],
)
def test_an_unsafe_id_becomes_a_readable_prefix_and_a_hash(raw: str) -> None:
    safe = BackupSet.model_validate({"ID": raw}).id
    assert safe != raw
    assert len(safe) <= ID_MAX == 255
    assert is_clean(safe) and "|" not in safe
    prefix, digest = safe.rsplit("…", 1)
    assert len(digest) == 16 and all(c in "0123456789abcdef" for c in digest)
    assert raw.startswith(prefix[:1])
    assert BackupSet.model_validate({"ID": raw}).id == safe  # the same on every run


def test_two_long_ids_that_differ_only_at_the_end_stay_two_ids() -> None:
    stem = "1" * 400
    first = BackupSet.model_validate({"ID": stem + "A"}).id
    second = BackupSet.model_validate({"ID": stem + "B"}).id
    assert first != second


@given(st.text(max_size=400), st.text(max_size=400))
def test_distinct_ids_never_merge(one: str, two: str) -> None:
    a = Destination.model_validate({"Id": one}).id
    b = Destination.model_validate({"Id": two}).id
    assert (a == b) == (one == two)
    assert len(a) <= ID_MAX and "|" not in a


def test_a_job_keeps_the_ids_the_cbs_sent_for_asking_about_it_again() -> None:
    raw_set, raw_id = "9" * 300, "2026-11-22-22-00-00\x00"
    job = BackupJob.model_validate({"ID": raw_id, "BackupSetID": raw_set})
    assert (job.raw_id, job.raw_set_id) == (raw_id, raw_set)
    assert job.id != raw_id and job.backup_set_id != raw_set
    destination = Destination.model_validate({"Id": "d" * 300})
    assert destination.raw_id == "d" * 300 != destination.id


def test_a_derived_job_id_is_also_kept_as_sent() -> None:
    job = BackupJob.model_validate({"StartTime": "2026-11-22 22:00:00", "BackupSetID": "1"})
    assert job.id == job.raw_id == "2026-11-22-22-00-00"
    assert job.raw_set_id == "1"


def test_restore_ids_are_made_safe_too() -> None:
    restore = RestoreJob.model_validate({"BackupSetID": "x" * 300, "DestinationID": "d\x00"})
    assert len(restore.backup_set_id) <= ID_MAX
    assert restore.destination_id is not None and "\x00" not in restore.destination_id


# -- numbers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [math.inf, -math.inf, math.nan, "1e400", "NaN", "0x10", "inf", -1, "-3", 2.5, "2.5",
     2**63, "12 errors", [1], {"n": 1}],
)  # fmt: skip
def test_a_count_that_cannot_be_read_is_unknown_never_a_number(
    value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="cbsalert.records"):
        report = JobReport.model_validate({"NumOfErrorEntries": value, "NumOfWarnEntries": value})
    assert report.errors is None and report.warnings is None
    assert "unreadable CBS number" in caplog.text


@pytest.mark.parametrize("value", [0, "0", 12, "12", " 12 ", 12.0, "12.0", "1e3"])
def test_a_readable_count_is_read(value: Any) -> None:
    expected = 1000 if value == "1e3" else int(float(value))
    assert JobReport.model_validate({"NumOfErrorEntries": value}).errors == expected
