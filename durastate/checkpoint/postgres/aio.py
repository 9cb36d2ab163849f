"""``AsyncPostgresSaver``: the Postgres checkpointer on psycopg's asyncio API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import DeltaChannelHistory
from langgraph.checkpoint.serde.base import SerializerProtocol
from psycopg import AsyncConnection, AsyncPipeline
from psycopg_pool import AsyncConnectionPool

from durastate._bridge import main_thread_loop
from durastate._engines.postgres.connections import AsyncDatabase
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.checkpoint.executors import AsyncOpsCheckpointer
from durastate.checkpoint.postgres import _core
from durastate.errors import InvalidInputError


class AsyncPostgresSaver(AsyncOpsCheckpointer):
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
        self._ops = _core.PostgresOps(self._db.schema)
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

    async def _arun(self, op: Any) -> Any:
        return await self._db.run(op)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The writes and nearest stored value of delta channels, in one query."""
        return await super().aget_delta_channel_history(config=config, channels=channels)


__all__ = ["AsyncPostgresSaver"]
