"""``AsyncPostgresStore``: the Postgres store on psycopg's asyncio API (the same tables)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from langgraph.store.base import Result, TTLConfig
from psycopg import AsyncConnection, AsyncPipeline
from psycopg_pool import AsyncConnectionPool

from durastate._bridge import main_thread_loop, run_on_loop
from durastate._engines.postgres.connections import AsyncDatabase
from durastate._engines.postgres.store_ops import (
    AnalyzeSchedule,
    analyze_operation,
    batch_operation,
    index_operation,
    sweep_operation,
)
from durastate._engines.postgres.store_rows import Deserializer, StoreContext
from durastate._engines.postgres.store_schema import PGVECTOR, STORE, vector_layout
from durastate._engines.postgres.store_transfer import (
    Cursor,
    export_page_operation,
    import_operation,
)
from durastate.store.base import AsyncStore, Namespace, PreparedBatch, StoreBase
from durastate.store.transfer import ExportedItem, plan_import


def store_context(store: StoreBase, deserializer: Deserializer | None) -> StoreContext:
    """The engine's view of a store: schema, index, vector layout, value decoder."""
    settings = store.index_settings
    return StoreContext(
        schema=getattr(store, "schema", None),
        index=settings,
        layout=vector_layout(settings) if settings is not None else None,
        deserializer=deserializer,
    )


class AsyncPostgresStore(AsyncStore):
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
        self._ctx = store_context(self, deserializer)
        self._indexed = False
        self._analyze = AnalyzeSchedule()

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

    async def _ready(self) -> None:
        if not self._indexed and self._db.auto_setup:
            await self.setup()

    async def arun_batch(self, batch: PreparedBatch) -> list[Result]:
        await self._ready()
        batch.now = time.time()
        results = await self._db.run(batch_operation(self._ctx, batch))
        if batch.puts and self._analyze.due(len(batch.puts)):
            await self._db.run(analyze_operation(self._ctx))
        return results

    async def sweep_ttl(self) -> int:
        return await self._db.run(sweep_operation(self._ctx))

    async def aexport_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> AsyncIterator[ExportedItem]:
        """``export_items`` on the event loop."""
        after: Cursor = None
        while True:
            items, after = await self._db.run(
                export_page_operation(self._ctx, namespace_prefix, after, batch_size)
            )
            for item in items:
                yield item
            if after is None or len(items) < batch_size:
                return

    async def aimport_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        """``import_items`` on the event loop."""
        plan = plan_import(self, items, reembed=reembed)
        await self.embed_async(plan.batch)
        await self._ready()
        written = await self._db.run(import_operation(self._ctx, plan))
        if self._analyze.due(written):
            await self._db.run(analyze_operation(self._ctx))
        return written

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        after: Cursor = None
        owner = type(self).__name__
        while True:
            op = export_page_operation(self._ctx, namespace_prefix, after, batch_size)
            items, after = run_on_loop(self.loop, self._db.run(op), owner)
            yield from items
            if after is None or len(items) < batch_size:
                return

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        return run_on_loop(
            self.loop, self.aimport_items(list(items), reembed=reembed), type(self).__name__
        )


__all__ = ["AsyncPostgresStore"]
