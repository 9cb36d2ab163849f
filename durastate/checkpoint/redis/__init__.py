"""Redis checkpointers: ``RedisSaver`` (blocking redis-py) and ``AsyncRedisSaver`` (asyncio).

Drop-in for ``langgraph.checkpoint.redis`` without its server modules: plain Redis >= 7,
Valkey, managed services and Redis Cluster work. ``RedisSaver(redis_url)``,
``RedisSaver(redis_client=client)``, ``RedisSaver.from_conn_string(url)``. Checkpoints
of one (thread, namespace) sit in a sorted set by id, channel values are stored once per
version, pending writes per checkpoint; ``put``/``put_writes``/``get_tuple`` and a
``list`` page are one script each. A thread TTL uses Redis expiry on every key of the
thread, set in the same script as the write (and moved by reads with refresh).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import redis
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.cluster import RedisCluster

from durastate._bridge import in_thread
from durastate._engines.redis.clients import SyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate.checkpoint.base import CheckpointTTLConfig, PruneStrategy, build_tuple
from durastate.checkpoint.flavours import SyncCheckpointer
from durastate.checkpoint.history import decode_history
from durastate.checkpoint.redis import _core
from durastate.checkpoint.redis.aio import AsyncRedisSaver


class RedisSaver(SyncCheckpointer):
    """Checkpoints in Redis through a blocking redis-py client (plain or cluster).

    Give a URL (the saver opens and closes its client; a cluster is detected) or
    ``redis_client=`` (a ``redis.Redis`` or ``RedisCluster``, left open). Keys live under
    ``key_prefix`` (default ``"durastate"``), so apps can share a database. The async
    methods run in worker threads; ``AsyncRedisSaver`` is the asyncio-native class.
    """

    def __init__(
        self,
        redis_url: str | redis.Redis | RedisCluster | None = None,
        *,
        redis_client: redis.Redis | RedisCluster | None = None,
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
            raise ValueError("RedisSaver needs a redis_url or a redis_client")
        self._driver = SyncDriver.open(source, connection_args, cluster=cluster)

    @property
    def client(self) -> Any:
        """The redis-py client in use."""
        return self._driver.client

    @classmethod
    @contextmanager
    def from_conn_string(
        cls,
        redis_url: str,
        *,
        key_prefix: str = DEFAULT_PREFIX,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        connection_args: dict[str, Any] | None = None,
        cluster: bool | None = None,
    ) -> Iterator[RedisSaver]:
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
            saver.close()

    def __enter__(self) -> RedisSaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the TTL sweeper and close the client if the saver opened it."""
        self.stop_ttl_sweeper()
        self._driver.close()

    def setup(self) -> None:
        """Nothing to create on Redis (no indexes, no modules); kept for drop-in use."""

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        stored = self._driver.run(_core.get_tuple(self, self.layout, config))
        return None if stored is None else build_tuple(self.serde, stored)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        lister = _core.Lister(self, self.layout, config, filter, before, limit)
        while (page := lister.next_page()) is not None:
            for stored in lister.accept(self._driver.run(page)):
                yield build_tuple(self.serde, stored)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, body = _core.put(self, self.layout, config, checkpoint, metadata, new_versions)
        self._driver.run(body)
        return prep.result_config()

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._driver.run(_core.put_writes(self, self.layout, config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._driver.run(_core.delete_thread(self.layout, thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._driver.run(_core.delete_for_runs(self.layout, run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._driver.run(_core.copy_thread(self, self.layout, source_thread_id, target_thread_id))

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        self._driver.run(_core.prune(self.layout, thread_ids, strategy, keep))

    def sweep_ttl(self) -> int:
        return self._driver.run(_core.sweep(self.layout))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The parent-chain walk for delta channels, in one script call."""
        if not channels:
            return {}
        raw = self._driver.run(_core.delta_history(self, self.layout, config, channels))
        return decode_history(self.serde, raw)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await in_thread(
            lambda: self.get_delta_channel_history(config=config, channels=channels)
        )


__all__ = ["AsyncRedisSaver", "RedisSaver"]
