"""The ``cbsalert silence`` command line that silences one alert, for a message to offer.

A reader on call should not have to work out the silence syntax at 7 a.m.: each firing
alert of a message carries the exact command that silences it (its rule, login and backup
set) for ``SILENCE_DAYS`` days, as ``cbsalert silence`` accepts it (``cliops.silence``:
``--rule``, ``--login``, ``--backup-set``, ``--until``, ``--reason``). The values come from
the CBS and may be anything, so each one is written as a pattern (``cbsalert.scope``) that
names exactly that value and survives being shown and copied:

* plain text stays as it is (a pattern names its exact text first);
* a value holding glob characters (``*``, ``?``, ``[``) has them bracketed (``[*]``), so it
  names itself only, not every value the glob would match;
* a character a message cannot carry intact (a control or bidi character, which the
  templates remove; a back-tick, which ends Slack's code span; the ``@`` of ``@channel``,
  which Slack text replaces so that it notifies nobody) becomes ``?``, and a
  value longer than ``MAX_VALUE`` is cut and ends in ``*``: the pattern then matches the
  value (and, for a cut one, whatever else starts the same: a 10,000-character login is
  not a name anyone types);
* the words are joined with POSIX shell quoting (``shlex.join``).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import date
from typing import Any

from cbsalert.safetext import UNSAFE_CHARS

SILENCE_DAYS = 7
MAX_VALUE = 80
REASON = "acknowledged"

_UNCOPYABLE = re.compile(
    f"[{UNSAFE_CHARS}`]|@(?=(?:channel|here|everyone|group)\\b)", re.IGNORECASE
)
_GLOB = re.compile(r"[*?\[]")


def silence_command(alert: Mapping[str, Any], until: date) -> str:
    """``cbsalert silence --rule R --login L [--backup-set S] --until DAY --reason …`` for
    the alert (a message's context row), silencing it until ``until``. The set is named by
    its id when it has one (a name may be shared or change)."""
    words = ["cbsalert", "silence", "--rule", pattern_for(str(alert["rule"]))]
    words += ["--login", pattern_for(str(alert["login"]))]
    backup_set = alert.get("backup_set_id") or alert.get("backup_set_name")
    if backup_set:
        words += ["--backup-set", pattern_for(str(backup_set))]
    words += ["--until", until.isoformat(), "--reason", REASON]
    return shlex.join(words)


def pattern_for(value: str) -> str:
    """A pattern that names ``value`` (see the module's docstring)."""
    uncopyable = _UNCOPYABLE.search(value) is not None
    if not uncopyable and len(value) <= MAX_VALUE and _GLOB.search(value) is None:
        return value
    kept = value[:MAX_VALUE]
    out = _UNCOPYABLE.sub("?", _GLOB.sub(lambda m: f"[{m.group()}]", kept))
    return out + ("*" if len(value) > MAX_VALUE else "")
