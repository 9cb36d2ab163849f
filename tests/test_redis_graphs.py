"""LangGraph scenarios on Redis: ``RedisSaver`` and ``RedisCache`` on the Redis Cluster.

The store is ``RedisStore`` on plain Redis (it is single-node), under the same key prefix.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis_support import delete_prefix, key_prefix

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
def store_opener(redis_url: str, key_prefix: str) -> Iterator[Opener]:
    yield lambda **kw: RedisStore.from_conn_string(redis_url, key_prefix=key_prefix, **kw)
    delete_prefix(redis_url, key_prefix)


class TestRedisGraphs(GraphScenarioContract):
    pass
