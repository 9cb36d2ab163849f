"""SQLite checkpointers: ``SqliteSaver`` (sqlite3) and ``AsyncSqliteSaver`` (aiosqlite).

Drop-in for ``langgraph.checkpoint.sqlite``: ``SqliteSaver(conn)``,
``SqliteSaver.from_conn_string(path)``, ``AsyncSqliteSaver(aiosqlite_conn)``. A path,
a ``sqlite:///`` URL, ``:memory:`` or an open connection are accepted. Channel values
are stored once per version (as deltas when a value extends the previous one), ``list``
is one query per page with pending writes included, and several processes and threads
can share one file (WAL, busy timeout, retried transactions). ``delete_thread``,
``delete_for_runs``, ``prune`` and the TTL sweeper give the freed pages back to the file
system (files durastate creates use incremental auto-vacuum; ``vacuum()`` compacts an
older file once and switches it over).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate._engines.sqlite.deltas import DeltaBases
from durastate._engines.sqlite.drivers import SyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.checkpoint.executors import OpsCheckpointer
from durastate.checkpoint.sqlite import _core
from durastate.checkpoint.sqlite.aio import AsyncSqliteSaver


class SqliteSaver(OpsCheckpointer):
    """Checkpoints in a SQLite file, through the standard ``sqlite3`` module.

    ``conn`` is a ``sqlite3.Connection`` (left open when the saver closes; it may be
    shared with a ``SqliteStore`` or ``SqliteCache``), or a path / ``sqlite:///`` URL /
    ``":memory:"`` for a connection the saver opens and closes. The async methods run
    in worker threads; ``AsyncSqliteSaver`` is the aiosqlite-native class. Tables are
    created or upgraded on first use (or by ``setup()``). ``timeout`` is how many
    seconds an operation waits for other writers before raising.
    """

    def __init__(
        self,
        conn: sqlite3.Connection | str | os.PathLike[str],
        *,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(serde=serde, ttl=ttl)
        self._db = SyncDatabase.attach(conn, self, timeout=timeout)
        self._bases = DeltaBases()
        self._ops = _core.SqliteOps(self._bases)
        self.conn = self._db.conn
        self.lock = self._db.lock

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        conn_string: str,
        *,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        timeout: float | None = None,
    ) -> Iterator[SqliteSaver]:
        """A saver on a path, ``sqlite:///`` URL or ``":memory:"``, closed on exit."""
        saver = cls(conn_string, serde=serde, ttl=ttl, timeout=timeout)
        try:
            yield saver
        finally:
            saver.close()

    def __enter__(self) -> SqliteSaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the connection if the saver opened it."""
        self.stop_ttl_sweeper()
        self._db.close()

    @property
    def is_setup(self) -> bool:
        return CHECKPOINTS.name in self._db.ready

    def setup(self) -> None:
        """Create or upgrade the tables now (otherwise done on first use)."""
        self._db.setup(CHECKPOINTS)

    def schema_version(self) -> int:
        """The checkpoint schema version recorded in the file (0 before setup)."""
        return self._db.run(version_operation(CHECKPOINTS))

    def vacuum(self) -> int:
        """Rewrite the file to its smallest size (a full ``VACUUM``); answers its pages."""
        return self._db.run(compact_operation())

    def _run(self, op: Any) -> Any:
        return self._db.run_step(op)


__all__ = ["AsyncSqliteSaver", "SqliteSaver"]
