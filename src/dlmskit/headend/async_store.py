"""The head-end's database for asyncio: SQLAlchemy 2's async engine over the same tables and statements.

:class:`AsyncStore` opens ``create_async_engine`` on the URL of a :class:`~dlmskit.headend.store.Store`
(``sqlite+aiosqlite`` for SQLite, psycopg 3 in its async mode for PostgreSQL) and runs a function of the
store's (one taking a :class:`sqlalchemy.Connection`) in one transaction without blocking the event loop:
the statements are built and compiled on the loop, the database is waited for asynchronously. The schema
is the store's (made and migrated by :meth:`Store.migrate` before). The engine's
:class:`~dlmskit.headend.batch.BatchWriter` uses it when given one; the default is the store's own
engine in a worker thread, which measured faster (docs/headend.md, "Figures").
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from dlmskit.errors import ConfigurationError
from dlmskit.headend.store import Store, sqlite_pragmas

__all__ = ["AsyncStore", "async_url"]

T = TypeVar("T")


def async_url(url: str) -> str:
    """The asyncio driver's URL for a store URL: ``sqlite+aiosqlite``, ``postgresql+psycopg`` (async mode)."""
    parsed = sa.engine.make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite").render_as_string(hide_password=False)
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ConfigurationError(f"the head-end stores into SQLite or PostgreSQL, not {backend!r}")


class AsyncStore:
    """The async engine beside a :class:`Store` (same database, same tables)."""

    def __init__(self, store: Store) -> None:
        try:
            from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
        except ImportError as error:  # pragma: no cover - greenlet missing
            raise ConfigurationError(f"the async store needs SQLAlchemy's asyncio extra: {error}") from None
        self.store = store
        url = async_url(store.url)
        options: dict[str, Any] = {}
        if store.dialect == "sqlite":
            database = sa.engine.make_url(url).database
            if database and database != ":memory:":
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 60.0}
        self.engine: AsyncEngine = create_async_engine(url, **options)
        if store.dialect == "sqlite":
            sa.event.listen(self.engine.sync_engine, "connect", sqlite_pragmas)

    async def run(self, work: Callable[[Connection], T]) -> T:
        """``work(connection)`` in one transaction (committed when it returns, rolled back when it raises)."""
        async with self.engine.begin() as connection:
            return await connection.run_sync(work)

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
