"""``AsyncPostgresSaver``: the Postgres checkpointer on psycopg's asyncio API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
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
from psycopg import AsyncConnection, AsyncPipeline
from psycopg_pool import AsyncConnectionPool

from durastate._bridge import main_thread_loop
from durastate._engines.postgres.connections import AsyncDatabase
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig, PruneStrategy, build_tuple
from durastate.checkpoint.flavours import AsyncCheckpointer
from durastate.checkpoint.history import decode_history
from durastate.checkpoint.postgres import _core
from durastate.errors import InvalidInputError


class AsyncPostgresSaver(AsyncCheckpointer):
    """Checkpoints in PostgreSQL through psycopg's async API; the tables of ``PostgresSaver``.

    ``conn``: an ``AsyncConnection`` (one call at a time; left open), an
    ``AsyncConnectionPool`` (a connection per call, no saver-wide lock; left open) or a
    ``postgresql://`` URL for a pool the saver opens on first use and closes. Sync methods
    work from threads other than the event loop's. Options as ``PostgresSaver``.
    """

    def __init__(
        self,
        conn: AsyncConnection[Any] | AsyncConnectionPool[Any] | str,
        pipe: AsyncPipeline | None = None,
        serde: SerializerProtocol | None = None,
        *,
        ttl: CheckpointTTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(serde=serde, ttl=ttl)
        if pipe is not None and not isinstance(conn, AsyncConnection):
            raise InvalidInputError("a pipeline can only be used with a single AsyncConnection")
        self._db = AsyncDatabase(
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
        self.loop = main_thread_loop()

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        conn_string: str,
        *,
        pipeline: bool = False,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        schema: str | None = None,
        prepare_threshold: int | None = None,
        auto_setup: bool = True,
        pool_config: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[AsyncPostgresSaver]:
        """A saver on its own connection pool for ``conn_string``, closed on exit."""
        saver = cls(
            conn_string,
            serde=serde,
            ttl=ttl,
            schema=schema,
            prepare_threshold=prepare_threshold,
            auto_setup=auto_setup,
            pool_config=pool_config,
        )
        try:
            await saver._db.open()
            yield saver
        finally:
            await saver.aclose()

    async def __aenter__(self) -> AsyncPostgresSaver:
        await self._db.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the TTL sweeper and close the pool if the saver opened it."""
        await self.stop_ttl_sweeper()
        await self._db.close()

    @property
    def is_setup(self) -> bool:
        return CHECKPOINTS.name in self._db.ready

    async def setup(self) -> None:
        """Create or upgrade the tables now (otherwise done on first use)."""
        await self._db.setup(CHECKPOINTS)

    async def aschema_version(self) -> int:
        """The checkpoint schema version recorded in the database (0 before setup)."""
        return await self._db.version(CHECKPOINTS)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        stored = await self._db.run(_core.get_tuple(self, self.schema, config))
        return None if stored is None else build_tuple(self.serde, stored)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        lister = _core.lister(self, self.schema, config, filter, before, limit)
        while (op := lister.next_operation()) is not None:
            for stored in lister.accept(await self._db.run(op)):
                yield build_tuple(self.serde, stored)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, op = _core.put(self, self.schema, config, checkpoint, metadata, new_versions)
        await self._db.run(op)
        return prep.result_config()

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._db.run(_core.put_writes(self, self.schema, config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._db.run(_core.delete_thread(self.schema, thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        op = _core.delete_for_runs(self.schema, run_ids)
        if op is not None:
            await self._db.run(op)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._db.run(_core.copy_thread(self, self.schema, source_thread_id, target_thread_id))

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        op = _core.prune(self.schema, thread_ids, strategy, keep)
        if op is not None:
            await self._db.run(op)

    async def asweep_ttl(self) -> int:
        return await self._db.run(_core.sweep(self.schema))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The writes and nearest stored value of delta channels, in one query."""
        if not channels:
            return {}
        raw = await self._db.run(_core.delta_history(self.schema, config, channels))
        return decode_history(self.serde, raw)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        coro = self.aget_delta_channel_history(config=config, channels=channels)
        return self._sync(coro)  # type: ignore[no-any-return]


__all__ = ["AsyncPostgresSaver"]
