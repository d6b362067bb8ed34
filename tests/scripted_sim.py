"""The simulator with per-login misbehaviour its built-in faults lack, through its ``answer``
seam: a login whose ListBackupJobMode answers slowly, or with ``Status: Error``."""

from __future__ import annotations

from typing import Any

from cbsalert.devtools.simulator import Simulator
from tests.conftest import sim_data


class ScriptedSim(Simulator):
    """``slow``: seconds a login's ListBackupJobMode waits (ended when the server stops, so
    no answer outlives the test); ``api_error``: the message of its ``Status: Error``."""

    def __init__(
        self,
        data: dict[str, Any],
        *,
        slow: dict[str, float] | None = None,
        api_error: dict[str, str] | None = None,
    ) -> None:
        super().__init__(sim_data(data))
        self.slow = slow or {}
        self.api_error = api_error or {}

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        login = str(params.get("LoginName", ""))
        if operation != "ListBackupJobMode":
            return super().answer(operation, params)
        if login in self.slow:
            self.stopping.wait(self.slow[login])
        if login in self.api_error:
            return {"Status": "Error", "Message": self.api_error[login], "ExptType": "x.y.Expt"}
        return super().answer(operation, params)
