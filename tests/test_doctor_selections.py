"""``cbsalert doctor`` with ``select`` entries: ListUsers asked as a check asks it, what the
selections come to, an old server's missing ListUsers named with its fix, and named logins
still named by their index in ``watch`` as written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from cbsalert.devtools.simulator import Simulator
from cbsalert.state import StateStore
from tests.conftest import config_dict, write_config
from tests.test_doctor import doctor, line

WORLD = {"users": [{"login": "obm", "owner": "r1"}, {"login": "acme-fs", "owner": "r1"},
                   {"login": "test-1", "owner": "r1"}]}  # fmt: skip


def configure(tmp_path: Path, sim: Simulator, watch: list[dict[str, Any]]) -> Path:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    store = StateStore(url)
    store.upgrade()
    store.close()
    raw = config_dict(sim.url, tmp_path, state=url, watch=watch)
    return write_config(tmp_path / "cbsalert.yaml", raw)


def test_doctor_says_what_the_selections_come_to(
    tmp_path: Path, make_sim: Callable[..., Simulator]
) -> None:
    sim = make_sim(WORLD)
    watch = [{"select": {"owners": ["r1"]}, "exclude": ["test-*"]}, {"login": "obm"}]
    code, out = doctor(configure(tmp_path, sim, watch))

    assert code == 0, out
    assert line(out, "✓ selections:") == (
        "✓ selections: ListUsers lists 3 users; 2 watched (watch[0] 1 user; `cbsalert users` "
        "says why the others are not)"
    )
    assert sim.count("ListUsers") == 1


def test_doctor_on_an_old_server_names_the_entry_and_the_fix(
    tmp_path: Path, make_sim: Callable[..., Simulator]
) -> None:
    sim = make_sim({**WORLD, "list_users": "v1", "missing_path": "404"})
    watch = [{"login": "obm"}, {"select": "all"}, {"login": "acme-f5"}]
    code, out = doctor(configure(tmp_path, sim, watch))

    assert code == 1, out
    failed = line(out, "✗ selections:")
    assert (
        "watch[1] (select: all) cannot be resolved: the CBS does not offer ListUsers v2" in failed
    )
    assert "name those users with login: entries instead, or upgrade the CBS" in failed
    assert line(out, "✗ watch[2] acme-f5:").startswith("✗ watch[2] acme-f5: not found")


def test_doctor_fails_a_selection_that_selects_nobody(
    tmp_path: Path, make_sim: Callable[..., Simulator]
) -> None:
    sim = make_sim(WORLD)
    code, out = doctor(configure(tmp_path, sim, [{"select": {"owners": ["resellr1"]}}]))

    assert code == 1, out
    assert "selects no user on the CBS" in line(out, "✗ watch[0]:")
