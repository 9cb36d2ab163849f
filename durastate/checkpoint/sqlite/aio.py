"""``AsyncSqliteSaver``: the SQLite checkpointer on aiosqlite (drop-in for LangGraph's)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate._bridge import main_thread_loop
from durastate._engines.sqlite.deltas import DeltaBases
from durastate._engines.sqlite.drivers import AsyncDatabase
from durastate._engines.sqlite.maintenance import compact_operation
from durastate._engines.sqlite.migrations import version_operation
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig, PruneStrategy
from durastate.checkpoint.flavours import AsyncCheckpointer
from durastate.checkpoint.history import decode_history
from durastate.checkpoint.sqlite import _core

if TYPE_CHECKING:
    import aiosqlite


class AsyncSqliteSaver(AsyncCheckpointer):
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

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return _core.decode(self, await self._db.run(_core.get_tuple(self, config)))

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        lister = _core.lister(self, config, filter, before, limit)
        while (op := lister.next_operation()) is not None:
            found = lister.accept(await self._db.run(op))
            touch = lister.touch_operation(bool(found))
            if touch is not None:
                await self._db.run(touch)
            for stored in found:
                yield _core.decode_found(self, stored)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, op = _core.put(self, self._bases, config, checkpoint, metadata, new_versions)
        written = await self._db.run(op)
        self._bases.remember(written)
        return prep.result_config()

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._db.run(_core.put_writes(self, config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._db.run_plan(_core.delete_thread(thread_id, self._bases))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._db.run_plan(_core.delete_for_runs(run_ids, self._bases))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._db.run(_core.copy_thread(self, source_thread_id, target_thread_id))

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        await self._db.run_plan(_core.prune(thread_ids, strategy, keep, self._bases))

    async def asweep_ttl(self) -> int:
        return await self._db.run_plan(_core.sweep(self._bases))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        if not channels:
            return {}
        raw = await self._db.run(_core.delta_history(config, channels))
        return decode_history(self.serde, raw)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        coro = self.aget_delta_channel_history(config=config, channels=channels)
        return self._sync(coro)  # type: ignore[no-any-return]


__all__ = ["AsyncSqliteSaver"]
