"""``AsyncPostgresStore``: the Postgres store on psycopg's asyncio API (the same tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from langgraph.store.base import TTLConfig
from psycopg import AsyncConnection, AsyncPipeline
from psycopg_pool import AsyncConnectionPool

from durastate._bridge import main_thread_loop
from durastate._engines.postgres.connections import AsyncDatabase
from durastate._engines.postgres.store_ops import (
    AnalyzeSchedule,
    index_operation,
)
from durastate._engines.postgres.store_rows import Deserializer
from durastate._engines.postgres.store_schema import PGVECTOR, STORE
from durastate.store.executors import AsyncOpsStore
from durastate.store.postgres import _core


class AsyncPostgresStore(AsyncOpsStore):
    """Long-term memory in PostgreSQL (+pgvector) through psycopg's async API.

    ``conn``: an ``AsyncConnection`` (one call at a time; left open), an
    ``AsyncConnectionPool`` (a connection per call; left open) or a ``postgresql://`` URL
    for a pool the store opens on first use and closes. Embeddings are computed before a
    connection is taken. Sync methods work from threads other than the event loop's.
    Options as ``PostgresStore``.
    """

    def __init__(
        self,
        conn: AsyncConnection[Any] | AsyncConnectionPool[Any] | str,
        *,
        pipe: AsyncPipeline | None = None,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self._db = AsyncDatabase(
            conn,
            schema=schema,
            prepare_threshold=prepare_threshold,
            auto_setup=auto_setup,
            pool_config=pool_config,
        )
        self.conn = conn if not isinstance(conn, str) else self._db.pool
        self.pipe = pipe
        self.lock = self._db.lock
        self.schema = self._db.schema
        self.loop = main_thread_loop()
        self._ctx = _core.store_context(self, deserializer)
        self._indexed = False
        self._analyze = AnalyzeSchedule()
        self._ops = _core.PostgresStoreOps(self._ctx, self._analyze)

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[AsyncPostgresStore]:
        """A store on its own connection pool for ``conn_string``, closed on exit."""
        store = cls(
            conn_string,
            deserializer=deserializer,
            index=index,
            ttl=ttl,
            schema=schema,
            prepare_threshold=prepare_threshold,
            auto_setup=auto_setup,
            pool_config=pool_config,
        )
        try:
            await store._db.open()
            yield store
        finally:
            await store.aclose()

    async def __aenter__(self) -> AsyncPostgresStore:
        await self._db.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the TTL sweeper and close the pool if the store opened it."""
        await self.stop_ttl_sweeper()
        await self._db.close()

    @property
    def is_setup(self) -> bool:
        return STORE.name in self._db.ready

    async def setup(self) -> None:
        """Create or upgrade the tables (and pgvector, and the ANN index) now."""
        await self._db.setup(STORE)
        if self._ctx.layout is not None:
            await self._db.setup(PGVECTOR)
            await self._db.run(index_operation(self._ctx))
        self._indexed = True

    async def aschema_version(self) -> int:
        """The store schema version recorded in the database (0 before setup)."""
        return await self._db.version(STORE)

    async def _ensure_ready(self) -> None:
        if not self._indexed and self._db.auto_setup:
            await self.setup()

    async def _arun(self, op: Any) -> Any:
        return await self._db.run(op)


__all__ = ["AsyncPostgresStore"]
