"""Alembic environment, driven from code by :func:`desk.storage.database.upgrade`.

The engine comes in through ``config.attributes`` so migrations use exactly the
connection settings the desk uses (SQLite locking, the psycopg driver).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, create_engine

from desk.storage.tables import Base

config = context.config
target_metadata = Base.metadata


def _engine() -> Engine:
    engine = config.attributes.get("engine")
    if isinstance(engine, Engine):
        return engine
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("run migrations through desk.storage.database.upgrade(engine)")
    return create_engine(url)


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
            render_as_batch=connection.dialect.name == "sqlite",
            # The desk's SQLite engine begins transactions itself (see database.py), so
            # DDL is transactional there too: a failed migration leaves no half schema.
            transactional_ddl=True,
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
