"""Redis stores: ``RedisStore`` (blocking redis-py) and ``AsyncRedisStore`` (redis.asyncio).

Get, put, delete, filtered search, ``list_namespaces`` and TTL need no server modules, so
plain Redis >= 7, Valkey and managed services work. Items are hashes keyed by namespace
and key (a get is one read), each namespace keeps its keys by ``updated_at`` and a
namespace index serves ``list_namespaces`` without scanning items; TTLs are native
expiries, refreshed on read. Semantic search (``index=``) uses the server's query engine
(``FT.CREATE`` HNSW vector index, ``FT.SEARCH`` KNN with a namespace pre-filter;
``index["ann_index_config"]`` takes ``kind`` "hnsw" or "flat" (exact), ``m``,
``ef_construction`` and ``ef_search``, as on Postgres); without one, configuring an
index fails at setup with ``QueryEngineMissingError``.
On a Redis Cluster every key of the store shares one hash tag (its scripts span
namespaces), so the store works there but lives on one shard; semantic search needs a
standalone server with the query engine.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import redis
from langgraph.store.base import TTLConfig
from redis.cluster import RedisCluster

from durastate._engines.redis.clients import SyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate._engines.redis.store_keys import StoreKeys
from durastate._engines.redis.store_search import (
    INDEX_POLL_SECONDS,
    INDEX_WAIT_SECONDS,
    QueryEngineMissingError,
    check_cluster_index,
    drop_body,
    indexing_body,
    setup_body,
    warn_still_indexing,
)
from durastate.store.base import Namespace
from durastate.store.executors import OpsStore
from durastate.store.redis import _core
from durastate.store.redis.aio import AsyncRedisStore
from durastate.store.transfer import ExportedItem


class RedisStore(OpsStore):
    """Long-term memory in Redis through a blocking redis-py client.

    ``RedisStore(conn, index=..., ttl=..., key_prefix="durastate")``, ``conn`` a URL or
    client as in LangGraph's Redis package: a URL gives a client the store owns and
    closes; a ``redis.Redis`` is used as is and left open (create it with
    ``decode_responses=False``). ``RedisStore.from_conn_string(url)``
    is a context manager. The index (when configured) is created on ``setup()`` or on
    first use. Async methods run in worker threads; ``AsyncRedisStore`` is asyncio-native.
    A ``RedisCluster`` (or a cluster URL) works without ``index=``, the whole store in one
    hash slot.
    """

    def __init__(
        self,
        conn: str | redis.Redis | RedisCluster | None = None,
        *,
        redis_client: redis.Redis | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str = DEFAULT_PREFIX,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
        cluster_mode: bool | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        cluster = cluster if cluster is not None else cluster_mode
        self.layout = Layout(key_prefix)
        self.keys = StoreKeys.of(self.layout)
        source = redis_client if redis_client is not None else conn
        if source is None:
            raise ValueError("RedisStore needs a Redis URL or client")
        self._driver = SyncDriver.open(source, connection_args, cluster=cluster)
        self._ops = _core.RedisStoreOps(self.keys, self.index_settings)
        self._ready = False

    @property
    def client(self) -> Any:
        """The redis-py client in use."""
        return self._driver.client

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        key_prefix: str = DEFAULT_PREFIX,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
    ) -> Iterator[RedisStore]:
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
            store.close()

    def __enter__(self) -> RedisStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the client if the store opened it."""
        self.stop_ttl_sweeper()
        self._driver.close()

    def setup(self) -> None:
        """Create the vector index when ``index=`` is configured (otherwise on first use).

        An index created over existing vectors (after ``drop_index``, or on data written
        without ``index=``) is waited for, so searches see every vector; raises
        ``QueryEngineMissingError`` when the server has no query engine.
        """
        if self.index_settings is not None:
            check_cluster_index(self._driver.is_cluster, self.index_settings)
            pending = self._driver.run(setup_body(self.keys, self.index_settings))
            deadline = time.monotonic() + INDEX_WAIT_SECONDS
            while pending and time.monotonic() < deadline:
                time.sleep(INDEX_POLL_SECONDS)
                pending = self._driver.run(indexing_body(self.keys))
            if pending:
                warn_still_indexing(self.keys)
        self._ready = True

    def drop_index(self) -> bool:
        """Drop the query-engine index (items and vectors stay); answers whether it existed."""
        self._ready = False
        return self._driver.run(drop_body(self.keys))

    def _ensure_ready(self) -> None:
        if not self._ready:
            self.setup()

    def _run(self, op: Any) -> Any:
        return self._driver.run(op)

    def sweep_ttl(self) -> int:
        """Drop expired items from the namespace and expiry indexes; answers how many.

        Redis deletes the items themselves when they expire; items a ``list_namespaces``
        already cleaned up are not counted again.
        """
        return super().sweep_ttl()

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        """Every live item at or under ``namespace_prefix``, by namespace then key.

        One namespace's key names are held in memory at a time; items are read
        ``batch_size`` at a time.
        """
        return super().export_items(namespace_prefix, batch_size=batch_size)


__all__ = ["AsyncRedisStore", "QueryEngineMissingError", "RedisStore"]
