"""``RedisCache``: LangGraph's node cache on Redis, Valkey or a Redis Cluster (no modules).

TTL in seconds with ``SET ... PX`` (an expired entry is never returned); ``get`` is one
pipeline of ``MGET`` per namespace (one hash slot each, so it works on a cluster);
``clear(namespaces)`` deletes exactly those namespaces without ``KEYS``; errors from the
server are raised, never swallowed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Any, TypeVar

import redis
import redis.asyncio as aredis
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster
from redis.cluster import RedisCluster

from durastate._bridge import main_thread_loop, run_on_loop
from durastate._engines.redis.cache_ops import (
    clear_body,
    count_body,
    export_namespace_body,
    namespaces_body,
    read_body,
    sweep_body,
    write_body,
)
from durastate._engines.redis.clients import AsyncDriver, SyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate._engines.redis.requests import Body
from durastate.cache.base import CacheBase, CacheEntry
from durastate.checkpoint.base import Blob

ValueT = TypeVar("ValueT")
T = TypeVar("T")


class RedisCache(CacheBase[ValueT]):
    """A node cache in Redis.

    ``RedisCache(redis_url)`` opens its own blocking and asyncio clients (closed by
    ``close``/``aclose``); ``RedisCache(redis_client=client)`` (or the client
    positionally) uses a ``redis.Redis``, ``redis.asyncio.Redis`` or ``RedisCluster`` and
    never closes it: with a blocking client the async methods run in worker threads, with
    an asyncio client the sync methods run on its event loop from other threads. Keys
    live under ``key_prefix`` (default ``"durastate"``).

    LangGraph's spelling works too: ``RedisCache(redis=client, prefix="app:cache:")``
    (``prefix`` is a key prefix; a trailing ``:`` is dropped, durastate adds its own).
    """

    def __init__(
        self,
        redis_url: str
        | redis.Redis
        | RedisCluster
        | aredis.Redis
        | AsyncRedisCluster
        | None = None,
        *,
        redis_client: redis.Redis | RedisCluster | aredis.Redis | AsyncRedisCluster | None = None,
        connection_args: dict[str, Any] | None = None,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        cluster: bool | None = None,
        redis: Any = None,
        prefix: str | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if prefix is not None:
            if key_prefix != DEFAULT_PREFIX:
                raise ValueError("give key_prefix or prefix (LangGraph's name), not both")
            key_prefix = prefix.rstrip(":") if isinstance(prefix, str) else prefix
        self.layout = Layout(key_prefix)
        given = [s for s in (redis_url, redis_client, redis) if s is not None]
        if len(given) > 1:
            raise ValueError("RedisCache takes one of redis_url, redis_client or redis")
        source = given[0] if given else None
        if source is None:
            raise ValueError("RedisCache needs a redis_url or a redis_client")
        self._sync: SyncDriver | None = None
        self._async: AsyncDriver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        if isinstance(source, (aredis.Redis, AsyncRedisCluster)):
            self._async = AsyncDriver.open(source)
            self._loop = main_thread_loop()
        elif isinstance(source, str):
            self._sync = SyncDriver.open(source, connection_args, cluster=cluster)
            self._async = AsyncDriver.open(source, connection_args, cluster=cluster)
        else:
            self._sync = SyncDriver.open(source)

    @classmethod
    def from_conn_string(
        cls,
        redis_url: str,
        *,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
    ) -> RedisCache[Any]:
        """A cache on a URL; use it as ``with`` or ``async with`` to close it on exit."""
        return cls(
            redis_url,
            key_prefix=key_prefix,
            serde=serde,
            connection_args=connection_args,
            cluster=cluster,
        )

    def __enter__(self) -> RedisCache[ValueT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> RedisCache[ValueT]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def close(self) -> None:
        """Stop the sweeper and close the blocking client if the cache opened it."""
        self.stop_ttl_sweeper()
        if self._sync is not None:
            self._sync.close()

    async def aclose(self) -> None:
        """Stop the sweeper and close every client the cache opened."""
        await asyncio.to_thread(self.stop_ttl_sweeper)
        if self._sync is not None:
            self._sync.close()
        if self._async is not None:
            await self._async.close()

    def setup(self) -> None:
        """Nothing to create on Redis; present for symmetry with the other engines."""

    # -- running operations --------------------------------------------------------------
    def _run(self, body: Body[T]) -> T:
        if self._sync is not None:
            return self._sync.run(body)
        assert self._async is not None and self._loop is not None
        return run_on_loop(self._loop, self._async.run(body), type(self).__name__)

    async def _arun(self, body: Body[T]) -> T:
        if self._async is not None:
            return await self._async.run(body)
        assert self._sync is not None
        return await asyncio.to_thread(self._sync.run, body)

    # -- raw operations ------------------------------------------------------------------
    def read(self, keys: Sequence[tuple[str, str]], now: float) -> dict[tuple[str, str], Blob]:
        return self._run(read_body(self.layout, keys))

    def write(self, entries: Sequence[CacheEntry]) -> None:
        self._run(write_body(self.layout, entries))

    def delete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        self._run(clear_body(self.layout, ns_texts))

    def sweep_ttl(self) -> int:
        return self._run(sweep_body(self.layout))

    async def aread(
        self, keys: Sequence[tuple[str, str]], now: float
    ) -> dict[tuple[str, str], Blob]:
        return await self._arun(read_body(self.layout, keys))

    async def awrite(self, entries: Sequence[CacheEntry]) -> None:
        await self._arun(write_body(self.layout, entries))

    async def adelete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        await self._arun(clear_body(self.layout, ns_texts))

    async def asweep_ttl(self) -> int:
        return await self._arun(sweep_body(self.layout))

    # -- moving data ---------------------------------------------------------------------
    def export_entries(self, *, batch_size: int = 500) -> Iterator[CacheEntry]:
        """Every live entry with its absolute expiry, namespace by namespace, in pages
        (an entry written or expiring during the export may be seen twice or not at all)."""
        for ns_text in self._run(namespaces_body(self.layout)):
            cursor = "0"
            while True:
                body = export_namespace_body(self.layout, ns_text, cursor, batch_size, time.time())
                cursor, entries = self._run(body)
                yield from entries
                if cursor == "0":
                    break

    def count_entries(self) -> int:
        """How many live (unexpired) entries the cache holds."""
        return self._run(count_body(self.layout))


__all__ = ["RedisCache"]
