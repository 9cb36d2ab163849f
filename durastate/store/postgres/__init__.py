"""PostgreSQL stores: ``PostgresStore`` (psycopg, blocking) and ``AsyncPostgresStore``.

Drop-in for ``langgraph.store.postgres``: ``PostgresStore(conn, index=..., ttl=...)`` with a
psycopg ``Connection`` or ``ConnectionPool``, ``PostgresStore.from_conn_string(url,
index=..., ttl=...)`` as a context manager, ``setup()``. Values are JSONB; filters follow
durastate's shared semantics (numbers compare as numbers, dotted paths); semantic search
uses pgvector with an HNSW index (``ann_index_config``: ``kind`` ``"hnsw"`` (default),
``"ivfflat"`` or ``"flat"``; ``vector_type`` ``"vector"`` or ``"halfvec"``; ``m``,
``ef_construction``, ``ef_search``, ``nlist``, ``probes``) that its queries really use,
namespace filters included; ``created_at`` is kept on update; expired items are never
returned, even before a sweep. Connections, pools, ``schema=``, ``prepare_threshold=``
(off by default, for PgBouncer) and ``auto_setup=`` work as on ``PostgresSaver``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from langgraph.store.base import TTLConfig
from psycopg import Connection, Pipeline
from psycopg_pool import ConnectionPool

from durastate._engines.postgres.connections import SyncDatabase
from durastate._engines.postgres.store_ops import (
    AnalyzeSchedule,
    index_operation,
)
from durastate._engines.postgres.store_rows import Deserializer
from durastate._engines.postgres.store_schema import PGVECTOR, STORE
from durastate.store.executors import OpsStore
from durastate.store.postgres import _core
from durastate.store.postgres.aio import AsyncPostgresStore


class PostgresStore(OpsStore):
    """Long-term memory in PostgreSQL (+pgvector) through psycopg 3 (blocking).

    ``conn``: a ``psycopg.Connection`` (one call at a time; left open), a
    ``ConnectionPool`` (a connection per call; left open) or a ``postgresql://`` URL for a
    pool the store opens and closes. ``index`` enables semantic search (``{"dims": ...,
    "embed": ..., "fields": [...], "distance_type": "cosine" | "l2" | "inner_product",
    "ann_index_config": {...}}``); ``ttl`` sets item lifetimes in minutes. The async
    methods run in worker threads; ``AsyncPostgresStore`` is asyncio-native.
    """

    def __init__(
        self,
        conn: Connection[Any] | ConnectionPool[Any] | str,
        *,
        pipe: Pipeline | None = None,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self._db = SyncDatabase(
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
        self._ctx = _core.store_context(self, deserializer)
        self._indexed = False
        self._analyze = AnalyzeSchedule()
        self._ops = _core.PostgresStoreOps(self._ctx, self._analyze)

    @classmethod
    @contextmanager
    def from_conn_string(
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
    ) -> Iterator[PostgresStore]:
        """A store on its own connection pool for ``conn_string``, closed on exit.

        ``pipeline`` is accepted for compatibility and has no effect.
        """
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
            yield store
        finally:
            store.close()

    def __enter__(self) -> PostgresStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the pool if the store opened it."""
        self.stop_ttl_sweeper()
        self._db.close()

    @property
    def is_setup(self) -> bool:
        return STORE.name in self._db.ready

    def setup(self) -> None:
        """Create or upgrade the tables (and pgvector, and the ANN index) now."""
        self._db.setup(STORE)
        if self._ctx.layout is not None:
            self._db.setup(PGVECTOR)
            self._db.run(index_operation(self._ctx))
        self._indexed = True

    def schema_version(self) -> int:
        """The store schema version recorded in the database (0 before setup)."""
        return self._db.version(STORE)

    def _ensure_ready(self) -> None:
        if not self._indexed and self._db.auto_setup:
            self.setup()

    def _run(self, op: Any) -> Any:
        return self._db.run(op)


__all__ = ["AsyncPostgresStore", "PostgresStore"]
