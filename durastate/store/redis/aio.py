"""``AsyncRedisStore``: the Redis store on redis.asyncio (the keys and scripts of RedisStore)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aredis
from langgraph.store.base import TTLConfig
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from durastate._bridge import main_thread_loop
from durastate._engines.redis.clients import AsyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate._engines.redis.store_keys import StoreKeys
from durastate._engines.redis.store_search import (
    INDEX_POLL_SECONDS,
    INDEX_WAIT_SECONDS,
    check_cluster_index,
    drop_body,
    indexing_body,
    setup_body,
    warn_still_indexing,
)
from durastate.store.executors import AsyncOpsStore
from durastate.store.redis import _core


class AsyncRedisStore(AsyncOpsStore):
    """Long-term memory in Redis through a ``redis.asyncio`` client.

    ``AsyncRedisStore(redis_url, index=..., ttl=..., key_prefix="durastate")`` or
    ``redis_client=``, as in LangGraph's Redis package: a URL gives a client opened on
    first use and closed by ``aclose``; a ``redis.asyncio.Redis`` is used as is and left
    open. ``AsyncRedisStore.from_conn_string(url)`` is an async
    context manager. Embeddings are computed before any command is sent. Sync methods
    work from threads other than the event loop's. On a Redis Cluster the store lives in
    one hash slot and has no semantic search.
    """

    def __init__(
        self,
        redis_url: str | aredis.Redis | AsyncRedisCluster | None = None,
        *,
        redis_client: aredis.Redis | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str = DEFAULT_PREFIX,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
        cluster_mode: bool | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        cluster = cluster if cluster is not None else cluster_mode
        source = redis_client if redis_client is not None else redis_url
        self.layout = Layout(key_prefix)
        self.keys = StoreKeys.of(self.layout)
        if source is None:
            raise ValueError("AsyncRedisStore needs a Redis URL or client")
        self._driver = AsyncDriver.open(source, connection_args, cluster=cluster)
        self.loop = main_thread_loop()
        self._ops = _core.RedisStoreOps(self.keys, self.index_settings)
        self._ready = False

    @property
    def client(self) -> Any:
        """The redis.asyncio client (None until first use when opened from a URL)."""
        return self._driver.client

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str = DEFAULT_PREFIX,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
    ) -> AsyncIterator[AsyncRedisStore]:
        """A store on a ``redis://`` / ``rediss://`` URL, closed on exit."""
        store = cls(
            conn_string,
            index=index,
            ttl=ttl,
            key_prefix=key_prefix,
            connection_args=connection_args,
            cluster=cluster,
        )
        try:
            yield store
        finally:
            await store.aclose()

    async def __aenter__(self) -> AsyncRedisStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the TTL sweeper and close the client if the store opened it."""
        await self.stop_ttl_sweeper()
        await self._driver.close()

    async def _arun(self, op: Any) -> Any:
        return await self._driver.run(op)

    async def setup(self) -> None:
        """Create the vector index when ``index=`` is configured (otherwise on first use).

        An index created over existing vectors is waited for, so searches see every
        vector; raises ``QueryEngineMissingError`` when the server has no query engine.
        """
        client = await self._driver.connect()
        if self.index_settings is not None:
            check_cluster_index(isinstance(client, AsyncRedisCluster), self.index_settings)
            pending = await self._driver.run(setup_body(self.keys, self.index_settings))
            deadline = time.monotonic() + INDEX_WAIT_SECONDS
            while pending and time.monotonic() < deadline:
                await asyncio.sleep(INDEX_POLL_SECONDS)
                pending = await self._driver.run(indexing_body(self.keys))
            if pending:
                warn_still_indexing(self.keys)
        self._ready = True

    async def drop_index(self) -> bool:
        """Drop the query-engine index (items and vectors stay); answers whether it existed."""
        self._ready = False
        return await self._driver.run(drop_body(self.keys))

    async def _ensure_ready(self) -> None:
        if not self._ready:
            await self.setup()

    async def sweep_ttl(self) -> int:
        """Drop expired items from the namespace and expiry indexes; answers how many."""
        return await super().sweep_ttl()


__all__ = ["AsyncRedisStore"]
