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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate._bridge import in_thread
from durastate._engines.sqlite.deltas import DeltaBases
from durastate._engines.sqlite.drivers import SyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig, PruneStrategy
from durastate.checkpoint.flavours import SyncCheckpointer
from durastate.checkpoint.history import decode_history
from durastate.checkpoint.sqlite import _core
from durastate.checkpoint.sqlite.aio import AsyncSqliteSaver


class SqliteSaver(SyncCheckpointer):
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

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return _core.decode(self, self._db.run(_core.get_tuple(self, config)))

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        lister = _core.lister(self, config, filter, before, limit)
        while (op := lister.next_operation()) is not None:
            found = lister.accept(self._db.run(op))
            touch = lister.touch_operation(bool(found))
            if touch is not None:
                self._db.run(touch)
            for stored in found:
                yield _core.decode_found(self, stored)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, op = _core.put(self, self._bases, config, checkpoint, metadata, new_versions)
        written = self._db.run(op)
        self._bases.remember(written)
        return prep.result_config()

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._db.run(_core.put_writes(self, config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._db.run_plan(_core.delete_thread(thread_id, self._bases))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._db.run_plan(_core.delete_for_runs(run_ids, self._bases))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._db.run(_core.copy_thread(self, source_thread_id, target_thread_id))

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        self._db.run_plan(_core.prune(thread_ids, strategy, keep, self._bases))

    def sweep_ttl(self) -> int:
        return self._db.run_plan(_core.sweep(self._bases))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        if not channels:
            return {}
        raw = self._db.run(_core.delta_history(config, channels))
        return decode_history(self.serde, raw)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await in_thread(
            lambda: self.get_delta_channel_history(config=config, channels=channels)
        )


__all__ = ["AsyncSqliteSaver", "SqliteSaver"]
