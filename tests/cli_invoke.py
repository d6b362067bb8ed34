"""The CLI in this process (typer's CliRunner), for the tests where the process boundary is
not what is tested: the same commands, exit codes and output as ``python -m cbsalert``,
without paying half a second of imports for each (``cli_process`` has the real process)."""

from __future__ import annotations

from typer.testing import CliRunner, Result

from cbsalert.cli import app


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    """Run ``cbsalert ARGS`` with ``env`` added to the environment; stdout and stderr
    apart (``result.stdout``, ``result.stderr``)."""
    return CliRunner().invoke(app, list(args), env=env)
