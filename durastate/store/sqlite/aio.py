"""``AsyncSqliteStore``: the SQLite store on aiosqlite (drop-in for LangGraph's)."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from langgraph.store.base import Result, TTLConfig

from durastate._bridge import main_thread_loop, run_on_loop
from durastate._engines.sqlite.drivers import AsyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import STORE
from durastate._engines.sqlite.store_ops import StoreContext, batch_plan, sweep_plan
from durastate._engines.sqlite.store_rows import Deserializer
from durastate._engines.sqlite.store_transfer import Cursor, export_page_operation, import_plan
from durastate._engines.sqlite.store_vectors import VectorIndex
from durastate.store.base import AsyncStore, Namespace, PreparedBatch
from durastate.store.transfer import ExportedItem, plan_import

if TYPE_CHECKING:
    import aiosqlite


class AsyncSqliteStore(AsyncStore):
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
        settings = self.index_settings
        self._context = StoreContext(
            settings, VectorIndex(settings.dims) if settings else None, deserializer
        )

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

    async def arun_batch(self, batch: PreparedBatch) -> list[Result]:
        return await self._db.run_plan(batch_plan(self._context, batch))

    async def sweep_ttl(self) -> int:
        return await self._db.run_plan(sweep_plan())

    async def aexport_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> AsyncIterator[ExportedItem]:
        """``export_items`` on the event loop."""
        after: Cursor = None
        deserializer = self._context.deserializer
        while True:
            op = export_page_operation(
                namespace_prefix, after, batch_size, time.time(), deserializer
            )
            items, after = await self._db.run(op)
            for item in items:
                yield item
            if after is None or len(items) < batch_size:
                return

    async def aimport_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        """``import_items`` on the event loop."""
        plan = plan_import(self, items, reembed=reembed)
        await self.embed_async(plan.batch)
        return await self._db.run_plan(import_plan(plan))

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        after: Cursor = None
        deserializer = self._context.deserializer
        owner = type(self).__name__
        while True:
            op = export_page_operation(
                namespace_prefix, after, batch_size, time.time(), deserializer
            )
            items, after = run_on_loop(self.loop, self._db.run(op), owner)
            yield from items
            if after is None or len(items) < batch_size:
                return

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        return run_on_loop(
            self.loop, self.aimport_items(list(items), reembed=reembed), type(self).__name__
        )


__all__ = ["AsyncSqliteStore"]
