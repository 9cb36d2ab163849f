"""LangGraph scenarios on Redis: ``RedisSaver`` and ``RedisCache`` on the Redis Cluster.

The store is the in-memory one until the Redis store is plugged in here.
"""

from __future__ import annotations

import pytest
from redis_support import key_prefix

from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import RedisSaver
from durastate.conformance import GraphScenarioContract
from durastate.conformance.harness import Opener
from durastate.store.memory import InMemoryStore, MemoryStoreData

__all__ = ["key_prefix"]


@pytest.fixture
def server_url(redis_cluster_url: str) -> str:
    return redis_cluster_url


@pytest.fixture
def checkpointer_opener(server_url: str, key_prefix: str) -> Opener:
    return lambda **kw: RedisSaver.from_conn_string(server_url, key_prefix=key_prefix, **kw)


@pytest.fixture
def cache_opener(server_url: str, key_prefix: str) -> Opener:
    return lambda **kw: RedisCache.from_conn_string(server_url, key_prefix=key_prefix, **kw)


@pytest.fixture
def store_opener() -> Opener:
    data = MemoryStoreData()
    return lambda **kw: InMemoryStore(data=data, **kw)


class TestRedisGraphs(GraphScenarioContract):
    pass
