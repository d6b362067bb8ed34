"""ListUsers as the simulated CBS answers it: the v2 path with its filters and the users
under ``User`` (not ``Data``), the deprecated v1 path under ``Data``, and an old server's
answers for the path it lacks (``SimData.list_users``, ``missing_path``).

Filters (all optional, ANDed): ``ClientType`` (``OBM``/``ACB``), ``searchStr`` (part of the
login or alias, any case), ``UserGroupID``, ``PolicyGroupID``; ``LoginNameOnly`` true sends
each record with its ``LoginName`` only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from cbsalert.devtools.simulator.data import SimData, SimUser

UNSUPPORTED = "Unsupported API: ListUsers"


def offers(data: SimData, *, v2: bool) -> bool:
    """Whether the server has the path: v2 from the ``v2`` servers on, v1 on older ones too."""
    return data.list_users == "v2" if v2 else data.list_users in ("v2", "v1")


def list_users(users: Iterable[SimUser], params: dict[str, Any], *, v2: bool) -> dict[str, Any]:
    """The OK answer of a server that has the path."""
    records = [_record(u, params) for u in users if _wanted(u, params)]
    return {"Status": "OK", "User" if v2 else "Data": records}


def _wanted(user: SimUser, params: dict[str, Any]) -> bool:
    kind = str(params.get("ClientType") or "").upper()
    if kind and user.client_type.upper() != kind:
        return False
    search = str(params.get("searchStr") or "").lower()
    alias = str(user.listed_as.get("Alias") or "")
    if search and search not in user.login.lower() and search not in alias.lower():
        return False
    for key, value in (("UserGroupID", user.user_group), ("PolicyGroupID", user.policy_group)):
        if params.get(key) and str(params[key]) != value:
            return False
    return True


def _record(user: SimUser, params: dict[str, Any]) -> dict[str, Any]:
    if str(params.get("LoginNameOnly", "")).lower() in ("true", "y", "1"):
        return {"LoginName": user.login}
    record: dict[str, Any] = {
        "LoginName": user.login,
        "Owner": user.owner,
        "Alias": user.login,
        "ClientType": user.client_type,
        "Status": "SUSPENDED" if user.suspended else "ENABLE",
        "UserGroupID": user.user_group,
        "PolicyGroupID": user.policy_group,
        "QuotaList": [{"Enabled": True, "Quota": 107374182400, "DestinationKey": "OBS"}],
    }
    for key, value in user.listed_as.items():
        if value is None:
            record.pop(key, None)
        else:
            record[key] = value
    return record
