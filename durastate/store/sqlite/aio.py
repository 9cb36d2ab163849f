"""``AsyncSqliteStore``: the SQLite store on aiosqlite (drop-in for LangGraph's)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from langgraph.store.base import TTLConfig

from durastate._bridge import main_thread_loop
from durastate._engines.sqlite.drivers import AsyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import STORE
from durastate._engines.sqlite.store_rows import Deserializer
from durastate.store.executors import AsyncOpsStore
from durastate.store.sqlite import _core

if TYPE_CHECKING:
    import aiosqlite


class AsyncSqliteStore(AsyncOpsStore):
    """Long-term memory in a SQLite file through aiosqlite; the same tables as ``SqliteStore``.

    ``conn`` is an ``aiosqlite.Connection`` (left open on close) or a path /
    ``sqlite:///`` URL / ``":memory:"``, opened on first use. Embeddings are computed
    before the connection is taken. Sync methods work from threads other than the
    event loop's.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection | str | os.PathLike[str],
        *,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self._db = AsyncDatabase.attach(conn, self, timeout=timeout)
        self.loop = main_thread_loop()
        self.lock = self._db.lock
        self._context = _core.store_context(self, deserializer)
        self._ops = _core.SqliteStoreOps(self._context)

    @property
    def conn(self) -> aiosqlite.Connection | None:
        """The aiosqlite connection (None until first use when opened from a path)."""
        return self._db.conn

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[AsyncSqliteStore]:
        """A store on a path, ``sqlite:///`` URL or ``":memory:"``, closed on exit."""
        store = cls(conn_string, deserializer=deserializer, index=index, ttl=ttl, timeout=timeout)
        try:
            yield store
        finally:
            await store.aclose()

    async def __aenter__(self) -> AsyncSqliteStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the TTL sweeper and close the connection if the store opened it."""
        await self.stop_ttl_sweeper()
        await self._db.close()

    @property
    def is_setup(self) -> bool:
        return STORE.name in self._db.ready

    async def setup(self) -> None:
        """Create or upgrade the tables now (otherwise done on first use)."""
        await self._db.setup(STORE)

    async def aschema_version(self) -> int:
        """The store schema version recorded in the file (0 before setup)."""
        return await self._db.run(version_operation(STORE))

    async def avacuum(self) -> int:
        """Rewrite the file to its smallest size (a full ``VACUUM``); answers its pages."""
        return await self._db.run(compact_operation())

    async def _arun(self, op: Any) -> Any:
        return await self._db.run_step(op)


__all__ = ["AsyncSqliteStore"]
