"""The fault tests' entry point (cbsalert/devtools/faults.py) refuses what it cannot do
before anything runs, so a mistyped fault never passes for a normal run. Each point itself
is reached in tests/test_faults_process.py (a killed run there proves it)."""

from __future__ import annotations

import sys

import pytest

from cbsalert.devtools import faults


@pytest.fixture(autouse=True)
def _own_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() sets sys.argv for cbsalert, as it would in its own process: undo it after."""
    monkeypatch.setattr(sys, "argv", list(sys.argv))


@pytest.mark.parametrize(
    "argv",
    [
        ["--kill-at", "evaluatd", "--", "--version"],  # not a point
        ["--kill-at", "evaluated", "--version"],  # where do cbsalert's arguments start?
        ["--file-size-limit", "lots", "--", "--version"],
    ],
)
def test_a_fault_it_cannot_inject_is_refused_and_nothing_runs(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        faults.main(argv)
    assert refused.value.code not in (0, None)  # `cbsalert --version` would exit 0
    assert faults._armed == set()
    assert "cbsalert 0" not in capsys.readouterr().out


def test_without_a_fault_it_runs_cbsalert_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        faults.main(["--", "--version"])
    assert done.value.code in (0, None)
    assert capsys.readouterr().out.startswith("cbsalert ")


def test_no_point_is_armed_in_a_process_not_started_for_a_fault_test() -> None:
    for name in faults.POINTS:
        faults.point(name)  # returns: this test process is still alive
