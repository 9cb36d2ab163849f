"""``AsyncRedisSaver``: the Redis checkpointer on ``redis.asyncio`` (plain or cluster)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aredis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import DeltaChannelHistory
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from durastate._bridge import main_thread_loop
from durastate._engines.redis.clients import AsyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.checkpoint.executors import AsyncOpsCheckpointer
from durastate.checkpoint.redis import _core


class AsyncRedisSaver(AsyncOpsCheckpointer):
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
        self._ops = _core.RedisOps(self.layout)
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

    async def _arun(self, op: Any) -> Any:
        return await self._driver.run(op)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The parent-chain walk for delta channels, in one script call."""
        return await super().aget_delta_channel_history(config=config, channels=channels)


__all__ = ["AsyncRedisSaver"]
