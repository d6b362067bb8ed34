"""The users ListUsers (v2) lists, as records read as leniently as every CBS record.

Only ``LoginName`` and ``Owner`` are documented (/work/shared/cbs-api/MORE-OPERATIONS.md);
the other fields vary by version, so a user's client type and whether it is suspended are
read from whichever of them the record has, and an unreadable or missing one means
"unknown" (client type) or "active" (suspension): a user is never skipped on a guess.

* client type: ``ClientType`` naming ``ACB`` or ``OBM`` (``AhsayOBM`` counts), else unknown;
* suspended: ``Suspended`` true, ``Status`` one of ``SUSPENDED``, ``SUSPEND``,
  ``DISABLED``, ``DISABLE``, or ``Enable``/``Enabled`` false.

Strings are cleaned by ``records``' types: ``login`` is ``safe_id``'s form (what alert keys
and messages use), ``raw_login`` the login exactly as sent (to ask the CBS with).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, Field

from cbsalert.records import CbsId, CbsRaw, CbsRecord, CbsStr

ClientType = Literal["OBM", "ACB"]
_SUSPENDED_STATUSES = frozenset({"SUSPENDED", "SUSPEND", "DISABLED", "DISABLE"})


def _field(*names: str) -> Any:
    return Field(default=None, validate_default=True, validation_alias=AliasChoices(*names))


class CbsUser(CbsRecord):
    """One entry of ListUsers' ``User`` list."""

    login: CbsId = _field("LoginName")
    owner: CbsStr = _field("Owner")
    raw_login: CbsRaw = _field("LoginName")
    raw_owner: CbsRaw = _field("Owner")
    sent_client_type: CbsRaw = _field("ClientType")
    sent_status: CbsRaw = _field("Status")
    sent_enabled: CbsRaw = _field("Enable", "Enabled")
    sent_suspended: CbsRaw = _field("Suspended")

    @property
    def usable(self) -> bool:
        """Whether the login can be asked about and stored as sent: no control or bidi
        character, no ``|`` (it joins an alert key), not longer than an id column."""
        return bool(self.raw_login) and self.login == self.raw_login

    @property
    def usable_owner(self) -> str:
        """The owner to ask the CBS with and to show: ``""`` (the parameter left out) when
        the CBS sent one unfit to store as it is."""
        return self.owner if self.owner == self.raw_owner else ""

    @property
    def client_type(self) -> ClientType | None:
        kind = self.sent_client_type.upper()
        return "ACB" if "ACB" in kind else "OBM" if "OBM" in kind else None

    @property
    def suspended(self) -> bool:
        return (
            _flag(self.sent_suspended) is True
            or self.sent_status.strip().upper() in _SUSPENDED_STATUSES
            or _flag(self.sent_enabled) is False
        )


def _flag(text: str) -> bool | None:
    """A yes/no field as the CBS may send it (``true``, ``"Y"``, ``"false"``, ``0``);
    ``None`` when absent or unreadable."""
    value = text.strip().lower()
    if value in ("true", "y", "yes", "1"):
        return True
    if value in ("false", "n", "no", "0"):
        return False
    return None
