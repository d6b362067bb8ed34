"""The simulator's world as its data file (YAML or JSON) describes it: the system user, the
version, the users with their backup sets, jobs and restores, and random faults (``SimData``)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cbsalert.errors import ConfigError


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
    client_type: str = "OBM"  # ListUsers' ClientType ("OBM", "ACB"), and its filter's
    suspended: bool = False  # ListUsers says Status "SUSPENDED" (else "ENABLE")
    user_group: str = ""  # ListUsers' UserGroupID, and its filter's
    policy_group: str = ""  # ListUsers' PolicyGroupID, and its filter's
    # Fields of its ListUsers record as sent, over (or instead of, with null) the above:
    # other versions' fields, hostile values.
    listed_as: dict[str, Any] = Field(default_factory=dict)
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
    # The newest ListUsers the server has: "v2" (/obs/api/json/2/ListUsers.do, users under
    # `User`; the deprecated v1 path answers too, under `Data`), "v1" (an old server: the v1
    # path only), "none" (no ListUsers at all). A missing path answers `missing_path`: a
    # `Status: Error` "Unsupported API: ListUsers", or HTTP 404.
    list_users: Literal["v2", "v1", "none"] = "v2"
    missing_path: Literal["error", "404"] = "error"


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
