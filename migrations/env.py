"""Alembic environment: runs on the connection cbsalert hands over (``schema.upgrade``).

There is no alembic.ini in the wheel; ``cbsalert.state.schema.alembic_config`` builds the config in
code and puts an open connection in ``config.attributes["connection"]``. For developers
running ``alembic`` by hand, ``sqlalchemy.url`` (or ``CBSALERT_STATE``) is used instead.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection

from cbsalert.state.engine import create_state_engine
from cbsalert.state.tables import Base

target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; autogenerate must write batch operations for it.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get("CBSALERT_STATE")
    if not url:
        raise SystemExit("set sqlalchemy.url or CBSALERT_STATE to the state database URL")
    engine = create_state_engine(url)
    with engine.begin() as own:
        _run(own)
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them online")
run_migrations_online()
