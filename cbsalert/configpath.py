"""Paths written in a config file are relative to that file's folder, not to the working
directory: ``template: mail`` next to ``/etc/cbsalert/cbsalert.yaml`` means
``/etc/cbsalert/mail`` for a cron job, a systemd unit and a person in their home alike.

The loader passes the folder in the validation context (``CONFIG_DIR``); a ``ConfigPath``
field resolves itself against it, with ``~`` expanded. Without a folder (a config built
in code), a relative path stays relative.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, ValidationInfo

CONFIG_DIR = "config_dir"


def config_dir(info: ValidationInfo) -> Path | None:
    """The folder of the file being validated, if it came from a file."""
    context = info.context
    folder = context.get(CONFIG_DIR) if isinstance(context, dict) else None
    return folder if isinstance(folder, Path) else None


def resolve(path: str, folder: Path | None) -> str:
    """``path`` with ``~`` expanded, and made absolute against ``folder`` if it is relative."""
    if not path:
        return path
    expanded = Path(path).expanduser()
    if folder is None or expanded.is_absolute():
        return str(expanded)
    return str(folder / expanded)


def _resolve(path: str, info: ValidationInfo) -> str:
    return resolve(path, config_dir(info))


ConfigPath = Annotated[str, AfterValidator(_resolve)]
