"""``AsyncSqliteSaver``: the SQLite checkpointer on aiosqlite (drop-in for LangGraph's)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate._bridge import main_thread_loop
from durastate._engines.sqlite.deltas import DeltaBases
from durastate._engines.sqlite.drivers import AsyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.checkpoint.executors import AsyncOpsCheckpointer
from durastate.checkpoint.sqlite import _core

if TYPE_CHECKING:
    import aiosqlite


class AsyncSqliteSaver(AsyncOpsCheckpointer):
    """Checkpoints in a SQLite file through aiosqlite; the same tables as ``SqliteSaver``.

    ``conn`` is an ``aiosqlite.Connection`` (left open on close) or a path /
    ``sqlite:///`` URL / ``":memory:"``, opened on first use. The lock over the
    connection is held for one statement group at a time and never while an ``alist``
    consumer is paused. Sync methods work from threads other than the event loop's.
    """

    def __init__(
        self,
        conn: aiosqlite.Connection | str | os.PathLike[str],
        *,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        timeout: float | None = None,
    ) -> None:
        super().__init__(serde=serde, ttl=ttl)
        self._db = AsyncDatabase.attach(conn, self, timeout=timeout)
        self._bases = DeltaBases()
        self._ops = _core.SqliteOps(self._bases)
        self.loop = main_thread_loop()
        self.lock = self._db.lock

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
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        timeout: float | None = None,
    ) -> AsyncIterator[AsyncSqliteSaver]:
        """A saver on a path, ``sqlite:///`` URL or ``":memory:"``, closed on exit."""
        saver = cls(conn_string, serde=serde, ttl=ttl, timeout=timeout)
        try:
            yield saver
        finally:
            await saver.aclose()

    async def __aenter__(self) -> AsyncSqliteSaver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the TTL sweeper and close the connection if the saver opened it."""
        await self.stop_ttl_sweeper()
        await self._db.close()

    @property
    def is_setup(self) -> bool:
        return CHECKPOINTS.name in self._db.ready

    async def setup(self) -> None:
        """Create or upgrade the tables now (otherwise done on first use)."""
        await self._db.setup(CHECKPOINTS)

    async def aschema_version(self) -> int:
        """The checkpoint schema version recorded in the file (0 before setup)."""
        return await self._db.run(version_operation(CHECKPOINTS))

    async def avacuum(self) -> int:
        """Rewrite the file to its smallest size (a full ``VACUUM``); answers its pages."""
        return await self._db.run(compact_operation())

    async def _arun(self, op: Any) -> Any:
        return await self._db.run_step(op)


__all__ = ["AsyncSqliteSaver"]
