"""LangGraph scenarios on Redis: RedisSaver, RedisCache and RedisStore on the Redis Cluster.

All three share the test's key prefix; the store keeps its keys in one hash slot.
"""

from __future__ import annotations

import pytest
from redis_support import key_prefix

from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import RedisSaver
from durastate.conformance import GraphScenarioContract
from durastate.conformance.harness import Opener
from durastate.store.redis import RedisStore

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
def store_opener(server_url: str, key_prefix: str) -> Opener:
    return lambda **kw: RedisStore.from_conn_string(server_url, key_prefix=key_prefix, **kw)


class TestRedisGraphs(GraphScenarioContract):
    pass
