"""``PostgresCache``: LangGraph's node cache in a Postgres table (sync and async drivers).

TTL in seconds; an expired entry is never returned and the sweeper deletes it;
``clear(namespaces)`` deletes exactly those namespaces. Values go through the serializer
(no pickle unless the serializer is configured for it). Each call is one statement.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TypeVar

from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg import AsyncConnection, Connection
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from durastate._bridge import main_thread_loop, run_on_loop
from durastate._engines.postgres.cache_ops import (
    CACHE,
    clear_operation,
    count_operation,
    export_page_operation,
    read_operation,
    sweep_operation,
    write_operation,
)
from durastate._engines.postgres.connections import AsyncDatabase, SyncDatabase
from durastate._engines.postgres.requests import Operation
from durastate.cache.base import CacheBase, CacheEntry
from durastate.checkpoint.base import Blob

ValueT = TypeVar("ValueT")
T = TypeVar("T")

Source = (
    Connection[Any] | ConnectionPool[Any] | AsyncConnection[Any] | AsyncConnectionPool[Any] | str
)


class PostgresCache(CacheBase[ValueT]):
    """A node cache in PostgreSQL.

    ``conn``: a ``postgresql://`` URL (the cache opens a blocking pool, and an asyncio pool
    on first async use; ``close``/``aclose`` close them), a psycopg ``Connection`` or
    ``ConnectionPool`` (the async methods run in worker threads), or an
    ``AsyncConnection`` / ``AsyncConnectionPool`` (the sync methods run on its event loop
    from other threads). Connections and pools from the caller are left open. Options as
    ``PostgresSaver`` (``schema=``, ``prepare_threshold=``, ``auto_setup=``,
    ``pool_config=``).
    """

    def __init__(
        self,
        conn: Source,
        *,
        serde: SerializerProtocol | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(serde=serde)
        self._options: dict[str, Any] = {
            "schema": schema,
            "prepare_threshold": prepare_threshold,
            "auto_setup": auto_setup,
            "pool_config": pool_config,
        }
        self._url = conn if isinstance(conn, str) else None
        self._sync: SyncDatabase | None = None
        self._async: AsyncDatabase | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(conn, (AsyncConnection, AsyncConnectionPool)):
            self._async = AsyncDatabase(conn, **self._options)
            self._loop = main_thread_loop()
        else:
            self._sync = SyncDatabase(conn, **self._options)
        self.conn = conn
        self.schema = (self._sync or self._async).schema  # type: ignore[union-attr]

    @classmethod
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        serde: SerializerProtocol | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> PostgresCache[Any]:
        """A cache on a URL; use it as ``with`` or ``async with`` to close it on exit."""
        return cls(
            conn_string,
            serde=serde,
            schema=schema,
            prepare_threshold=prepare_threshold,
            auto_setup=auto_setup,
            pool_config=pool_config,
        )

    def __enter__(self) -> PostgresCache[ValueT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> PostgresCache[ValueT]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def close(self) -> None:
        """Stop the sweeper and close the blocking pool if the cache opened it."""
        self.stop_ttl_sweeper()
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Stop the sweeper and close every pool the cache opened."""
        await asyncio.to_thread(self.stop_ttl_sweeper)
        if self._sync is not None:
            await asyncio.to_thread(self._sync.close)
        if self._async is not None:
            await self._async.close()

    def setup(self) -> None:
        """Create or upgrade the table now (otherwise done on first use)."""
        if self._sync is not None:
            self._sync.setup(CACHE)
        else:
            assert self._async is not None and self._loop is not None
            run_on_loop(self._loop, self._async.setup(CACHE), type(self).__name__)

    async def asetup(self) -> None:
        if self._sync is not None and self._url is None:
            await asyncio.to_thread(self._sync.setup, CACHE)
        else:
            await self._driver().setup(CACHE)

    def schema_version(self) -> int:
        """The cache schema version recorded in the database (0 before setup)."""
        if self._sync is not None:
            return self._sync.version(CACHE)
        assert self._async is not None and self._loop is not None
        return run_on_loop(self._loop, self._async.version(CACHE), type(self).__name__)

    async def aschema_version(self) -> int:
        if self._sync is not None and self._url is None:
            return await asyncio.to_thread(self._sync.version, CACHE)
        return await self._driver().version(CACHE)

    # -- running operations --------------------------------------------------------------
    def _driver(self) -> AsyncDatabase:
        if self._async is None:
            assert self._url is not None
            self._async = AsyncDatabase(self._url, **self._options)
        return self._async

    def _run(self, op: Operation[T]) -> T:
        if self._sync is not None:
            return self._sync.run(op)
        assert self._async is not None and self._loop is not None
        return run_on_loop(self._loop, self._async.run(op), type(self).__name__)

    async def _arun(self, op: Operation[T]) -> T:
        if self._url is not None or self._sync is None:
            return await self._driver().run(op)
        return await asyncio.to_thread(self._sync.run, op)

    # -- raw operations ------------------------------------------------------------------
    def read(self, keys: Sequence[tuple[str, str]], now: float) -> dict[tuple[str, str], Blob]:
        return self._run(read_operation(keys, now, self.schema))

    def write(self, entries: Sequence[CacheEntry]) -> None:
        self._run(write_operation(entries, self.schema))

    def delete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        self._run(clear_operation(ns_texts, self.schema))

    def sweep_ttl(self) -> int:
        return self._run(sweep_operation(self.schema))

    async def aread(
        self, keys: Sequence[tuple[str, str]], now: float
    ) -> dict[tuple[str, str], Blob]:
        return await self._arun(read_operation(keys, now, self.schema))

    async def awrite(self, entries: Sequence[CacheEntry]) -> None:
        await self._arun(write_operation(entries, self.schema))

    async def adelete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        await self._arun(clear_operation(ns_texts, self.schema))

    async def asweep_ttl(self) -> int:
        return await self._arun(sweep_operation(self.schema))

    # -- moving data ---------------------------------------------------------------------
    def export_entries(self, *, batch_size: int = 500) -> Iterator[CacheEntry]:
        """Every live entry with its absolute expiry, in (namespace, key) order, by pages."""
        after: tuple[str, str] | None = None
        while True:
            page = self._run(export_page_operation(after, batch_size, time.time(), self.schema))
            yield from page
            if len(page) < batch_size:
                return
            after = (page[-1].ns_text, page[-1].key)

    def count_entries(self) -> int:
        """How many live (unexpired) entries the cache holds."""
        return self._run(count_operation(time.time(), self.schema))


__all__ = ["PostgresCache"]
