"""What a pattern names: one rule wherever a config or a person names logins, rules or
backup sets (a rule's ``applies_to``, a silence, a watch entry's ``backup_sets`` and
``ignore_sets``), so that the same text never selects one set here and another there.

A pattern names a value when it is that exact text, or when it matches it as a shell-style
glob (``*``, ``?``, ``[...]``; case-sensitive, like the CBS's own names). Exact first: a set
called ``Daily [SQL]`` is named by that text, although as a glob ``[SQL]`` stands for one
letter. A backup set is named by its id or by its name; an empty or missing value (a set
without a name) is named by nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase


def matches(pattern: str, value: str | None) -> bool:
    """Whether ``pattern`` names ``value``: the same text, or a glob that matches it."""
    if not value:
        return False
    return value == pattern or fnmatchcase(value, pattern)


def names_any(patterns: Iterable[str], *values: str | None) -> bool:
    """Whether any of ``patterns`` names any of ``values`` (a set: its id and its name)."""
    return any(matches(p, v) for p in patterns for v in values)
