"""``SqliteCache``: LangGraph's node cache in a SQLite file (drop-in for LangGraph's).

TTL in seconds; an expired entry is never returned and the sweeper deletes it;
``clear(namespaces)`` deletes exactly those namespaces. Values go through the
serializer (no pickle unless the serializer is configured for it).
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate._engines.sqlite.cache_ops import (
    clear_plan,
    count_operation,
    export_page_operation,
    read_operation,
    sweep_plan,
    write_operation,
)
from durastate._engines.sqlite.drivers import SyncDatabase
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import CACHE
from durastate.cache.base import CacheBase, CacheEntry
from durastate.checkpoint.base import Blob
from durastate.errors import InvalidInputError

ValueT = TypeVar("ValueT")


class SqliteCache(CacheBase[ValueT]):
    """A node cache in a SQLite file.

    Give ``path=`` (a path, ``sqlite:///`` URL or ``":memory:"``, as LangGraph's
    ``SqliteCache(path=...)``) or an open ``sqlite3.Connection`` (positionally or as
    ``conn=``, left open on close; it may be shared with a saver or store). The async
    methods run in worker threads.
    """

    def __init__(
        self,
        conn: sqlite3.Connection | str | os.PathLike[str] | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        serde: SerializerProtocol | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if (conn is None) == (path is None):
            raise InvalidInputError("SqliteCache needs exactly one of a connection or path=")
        source: Any = conn if conn is not None else path
        self._db = SyncDatabase.attach(source, self, timeout=timeout)
        self.conn = self._db.conn

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        serde: SerializerProtocol | None = None,
        timeout: float | None = None,
    ) -> Iterator[SqliteCache[Any]]:
        """A cache on a path, ``sqlite:///`` URL or ``":memory:"``, closed on exit."""
        cache: SqliteCache[Any] = cls(path=conn_string, serde=serde, timeout=timeout)
        try:
            yield cache
        finally:
            cache.close()

    def __enter__(self) -> SqliteCache[ValueT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the connection if the cache opened it."""
        self.stop_ttl_sweeper()
        self._db.close()

    def setup(self) -> None:
        """Create or upgrade the table now (otherwise done on first use)."""
        self._db.setup(CACHE)

    def schema_version(self) -> int:
        """The cache schema version recorded in the file (0 before setup)."""
        return self._db.run(version_operation(CACHE))

    def read(self, keys: Sequence[tuple[str, str]], now: float) -> dict[tuple[str, str], Blob]:
        return self._db.run(read_operation(keys, now))

    def write(self, entries: Sequence[CacheEntry]) -> None:
        self._db.run(write_operation(entries))

    def delete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        self._db.run_plan(clear_plan(ns_texts))

    def sweep_ttl(self) -> int:
        return self._db.run_plan(sweep_plan())

    def export_entries(self, *, batch_size: int = 500) -> Iterator[CacheEntry]:
        after: tuple[str, str] | None = None
        while True:
            page = self._db.run(export_page_operation(after, batch_size, time.time()))
            yield from page
            if len(page) < batch_size:
                return
            after = (page[-1].ns_text, page[-1].key)

    def count_entries(self) -> int:
        """How many live (unexpired) entries the cache holds."""
        return self._db.run(count_operation(time.time()))


__all__ = ["SqliteCache"]
