"""SQLite stores: ``SqliteStore`` (sqlite3) and ``AsyncSqliteStore`` (aiosqlite).

Drop-in for ``langgraph.store.sqlite``: ``SqliteStore(conn, index=..., ttl=...)`` and
``SqliteStore.from_conn_string(path)``. Filters follow durastate's shared semantics
(numbers compare as numbers, dotted paths), semantic search ranks float32 vectors
with numpy (no SQLite extension needed), ``index["fields"]`` and per-item ``index=``
are honoured, and expired items are never returned, even before a sweep.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from langgraph.store.base import TTLConfig

from durastate._engines.sqlite.drivers import SyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import STORE
from durastate._engines.sqlite.store_rows import Deserializer
from durastate.store.executors import OpsStore
from durastate.store.sqlite import _core
from durastate.store.sqlite.aio import AsyncSqliteStore


class SqliteStore(OpsStore):
    """Long-term memory in a SQLite file, through the standard ``sqlite3`` module.

    ``conn`` is a ``sqlite3.Connection`` (left open on close; it may be shared with a
    ``SqliteSaver``) or a path / ``sqlite:///`` URL / ``":memory:"``. ``index`` enables
    semantic search (``{"dims": ..., "embed": ..., "fields": [...], "distance_type":
    "cosine" | "l2" | "inner_product"}``); ``ttl`` sets item lifetimes in minutes. The
    async methods run in worker threads; ``AsyncSqliteStore`` is aiosqlite-native.
    """

    def __init__(
        self,
        conn: sqlite3.Connection | str | os.PathLike[str],
        *,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self._db = SyncDatabase.attach(conn, self, timeout=timeout)
        self.conn = self._db.conn
        self.lock = self._db.lock
        self._context = _core.store_context(self, deserializer)
        self._ops = _core.SqliteStoreOps(self._context)

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        deserializer: Deserializer | None = None,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        timeout: float | None = None,
    ) -> Iterator[SqliteStore]:
        """A store on a path, ``sqlite:///`` URL or ``":memory:"``, closed on exit."""
        store = cls(conn_string, deserializer=deserializer, index=index, ttl=ttl, timeout=timeout)
        try:
            yield store
        finally:
            store.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the connection if the store opened it."""
        self.stop_ttl_sweeper()
        self._db.close()

    @property
    def is_setup(self) -> bool:
        return STORE.name in self._db.ready

    def setup(self) -> None:
        """Create or upgrade the tables now (otherwise done on first use)."""
        self._db.setup(STORE)

    def schema_version(self) -> int:
        """The store schema version recorded in the file (0 before setup)."""
        return self._db.run(version_operation(STORE))

    def vacuum(self) -> int:
        """Rewrite the file to its smallest size (a full ``VACUUM``); answers its pages."""
        return self._db.run(compact_operation())

    def _run(self, op: Any) -> Any:
        return self._db.run_step(op)


__all__ = ["AsyncSqliteStore", "SqliteStore"]
