"""``${VAR}`` in the config file: a value from the environment the process started with.

``${VAR}`` is the variable's value, ``${VAR:-default}`` the default when it is unset or
empty, ``$$`` a literal ``$``. A variable that is not set and has no default is a problem
of the value it is in (``yamlconf`` reports it at its line), never a silently empty secret.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable

_ENV = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def expand_env(text: str, missing: Callable[[str], None]) -> str | None:
    """``text`` with every reference replaced; ``missing`` is told, in words, of each
    variable that is not set and has no default. A value that is one reference and nothing
    else, to a variable without a value and without a default, is None: as if nothing had
    been written, so the model says the key has no value."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group("name"), match.group("default")
        value = os.environ.get(name)
        if value is None or (value == "" and default is not None):
            if default is None:
                missing(f"environment variable {name} is not set (and has no ${{{name}:-default}})")
                return ""
            return default
        return value

    expanded = _ENV.sub(replace, text)
    whole = _ENV.fullmatch(text)
    if whole and whole.group(0) != "$$" and expanded == "":
        return None if whole.group("default") is None else expanded
    return expanded
