"""``AsyncRedisSaver``: the Redis checkpointer on ``redis.asyncio`` (plain or cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aredis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from durastate._bridge import main_thread_loop
from durastate._engines.redis.clients import AsyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate.checkpoint.base import CheckpointTTLConfig, PruneStrategy, build_tuple
from durastate.checkpoint.flavours import AsyncCheckpointer
from durastate.checkpoint.history import decode_history
from durastate.checkpoint.redis import _core


class AsyncRedisSaver(AsyncCheckpointer):
    """Checkpoints in Redis through an asyncio redis-py client; the same keys as ``RedisSaver``.

    Give a URL (connected on first use, closed by ``aclose``; a cluster is detected) or
    ``redis_client=`` (a ``redis.asyncio.Redis`` or ``RedisCluster``, left open). Sync
    methods work from threads other than the event loop's.
    """

    def __init__(
        self,
        redis_url: str | aredis.Redis | AsyncRedisCluster | None = None,
        *,
        redis_client: aredis.Redis | AsyncRedisCluster | None = None,
        connection_args: dict[str, Any] | None = None,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        cluster: bool | None = None,
    ) -> None:
        super().__init__(serde=serde, ttl=ttl)
        self.layout = Layout(key_prefix)
        source = redis_client if redis_client is not None else redis_url
        if source is None:
            raise ValueError("AsyncRedisSaver needs a redis_url or a redis_client")
        self._driver = AsyncDriver.open(source, connection_args, cluster=cluster)
        self.loop = main_thread_loop()

    @property
    def client(self) -> Any:
        """The redis-py asyncio client (None until first use when opened from a URL)."""
        return self._driver.client

    @classmethod
    @asynccontextmanager
    async def from_conn_string(
        cls,
        redis_url: str,
        *,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
    ) -> AsyncIterator[AsyncRedisSaver]:
        """A saver on a ``redis://`` / ``rediss://`` URL, closed on exit."""
        saver = cls(
            redis_url,
            key_prefix=key_prefix,
            serde=serde,
            ttl=ttl,
            connection_args=connection_args,
            cluster=cluster,
        )
        try:
            yield saver
        finally:
            await saver.aclose()

    async def __aenter__(self) -> AsyncRedisSaver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the TTL sweeper and close the client if the saver opened it."""
        await self.stop_ttl_sweeper()
        await self._driver.close()

    async def setup(self) -> None:
        """Nothing to create on Redis (no indexes, no modules); kept for drop-in use."""
        await self._driver.connect()

    async def asetup(self) -> None:
        """The same as ``setup`` (the official async saver's name)."""
        await self.setup()

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        stored = await self._driver.run(_core.get_tuple(self, self.layout, config))
        return None if stored is None else build_tuple(self.serde, stored)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        lister = _core.Lister(self, self.layout, config, filter, before, limit)
        while (page := lister.next_page()) is not None:
            for stored in lister.accept(await self._driver.run(page)):
                yield build_tuple(self.serde, stored)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, body = _core.put(self, self.layout, config, checkpoint, metadata, new_versions)
        await self._driver.run(body)
        return prep.result_config()

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        body = _core.put_writes(self, self.layout, config, writes, task_id, task_path)
        await self._driver.run(body)

    async def adelete_thread(self, thread_id: str) -> None:
        await self._driver.run(_core.delete_thread(self.layout, thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await self._driver.run(_core.delete_for_runs(self.layout, run_ids))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._driver.run(
            _core.copy_thread(self, self.layout, source_thread_id, target_thread_id)
        )

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        await self._driver.run(_core.prune(self.layout, thread_ids, strategy, keep))

    async def asweep_ttl(self) -> int:
        return await self._driver.run(_core.sweep(self.layout))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The parent-chain walk for delta channels, in one script call."""
        if not channels:
            return {}
        raw = await self._driver.run(_core.delta_history(self, self.layout, config, channels))
        return decode_history(self.serde, raw)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        coro = self.aget_delta_channel_history(config=config, channels=channels)
        return self._sync(coro)  # type: ignore[no-any-return]


__all__ = ["AsyncRedisSaver"]
