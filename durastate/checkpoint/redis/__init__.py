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
from langgraph.checkpoint.base import DeltaChannelHistory
from langgraph.checkpoint.serde.base import SerializerProtocol
from redis.cluster import RedisCluster

from durastate._engines.redis.clients import SyncDriver
from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout
from durastate.checkpoint.base import CheckpointTTLConfig
from durastate.checkpoint.executors import OpsCheckpointer
from durastate.checkpoint.redis import _core
from durastate.checkpoint.redis.aio import AsyncRedisSaver


class RedisSaver(OpsCheckpointer):
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
        self._ops = _core.RedisOps(self.layout)
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

    def _run(self, op: Any) -> Any:
        return self._driver.run(op)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The parent-chain walk for delta channels, in one script call."""
        return super().get_delta_channel_history(config=config, channels=channels)


__all__ = ["AsyncRedisSaver", "RedisSaver"]
