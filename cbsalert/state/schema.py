"""The state database's schema revision: Alembic glue, kept out of every run's way.

The tables (``cbsalert.state.tables``) mirror ``migrations/versions``; ``tests/test_state.py``
compares the two so they cannot drift. A run only compares the stored revision with
``HEAD_REVISION``; Alembic is imported only to upgrade or to explain a mismatch.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import Connection

from cbsalert.errors import StateError
from cbsalert.state.engine import safe_url, translate_errors, writer

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

log = logging.getLogger(__name__)

# The newest revision in migrations/versions; tests/test_state.py checks it against Alembic.
# Knowing it here lets every run see that the schema is current without importing Alembic
# (11 MB of a check's memory, and a tenth of a second).
HEAD_REVISION = "0008_job_history"


def migrations_dir() -> Path:
    """Inside an installed wheel ``cbsalert/migrations``; in a checkout ``./migrations``."""
    packaged = resources.files("cbsalert") / "migrations"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic configured in code: no alembic.ini is shipped, and the URL stays out of it."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The head as Alembic reads it from the migration scripts."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _revision(connection: Connection) -> str | None:
    """The schema's revision: the one row of ``alembic_version``, as Alembic keeps it."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    found = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(found) > 1:
        raise StateError(f"the state database has {len(found)} schema revisions: {found}")
    return found[0] if found else None


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return _revision(connection)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision``; a no-op when it is there already."""
    url = engine.url.render_as_string(hide_password=False)
    with translate_errors(url, "upgrade"), writer(engine).begin() as connection:
        current = _revision(connection)
        if revision == "head" and current == HEAD_REVISION:
            return  # the usual case on every `check`: skip Alembic's start-up and log lines
        from alembic import command
        from alembic.util.exc import CommandError

        log.info("upgrading the state database %s from revision %s", safe_url(url), current)
        try:
            command.upgrade(alembic_config(connection), revision)
        except CommandError as error:  # e.g. a revision from a newer cbsalert
            raise StateError(f"cannot upgrade state database {safe_url(url)}: {error}") from None


def check_revision(engine: Engine) -> None:
    """Raise ``StateError`` unless the schema is exactly the one this cbsalert knows."""
    url = engine.url.render_as_string(hide_password=False)
    with translate_errors(url, "read"):
        current = current_revision(engine)
    if current == HEAD_REVISION:
        return
    from alembic.script import ScriptDirectory

    head = head_revision()
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    where = safe_url(url)
    if current is not None and current not in known:
        raise StateError(
            f"state database {where} has schema revision {current}, newer than this cbsalert "
            "knows: upgrade cbsalert"
        )
    raise StateError(
        f"state database {where} is at schema revision {current or 'none'}, "
        f"this cbsalert needs {head}: run `cbsalert db upgrade`"
    )
