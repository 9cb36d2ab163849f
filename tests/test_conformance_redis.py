"""The conformance contract on the Redis backends: plain Redis, Valkey and a Redis Cluster."""

from __future__ import annotations

from typing import Any

import pytest
from redis_support import SERVERS, key_prefix, server_fixture_name

from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver
from durastate.conformance import CacheContract, CheckpointerContract
from durastate.conformance.harness import Opener

__all__ = ["key_prefix"]


@pytest.fixture(params=SERVERS)
def server_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(server_fixture_name(request.param)))


@pytest.fixture
def cache_opener(server_url: str, key_prefix: str) -> Opener:
    return lambda **kw: RedisCache.from_conn_string(server_url, key_prefix=key_prefix, **kw)


@pytest.fixture(params=[RedisSaver, AsyncRedisSaver], ids=lambda c: c.__name__)
def checkpointer_opener(request: pytest.FixtureRequest, server_url: str, key_prefix: str) -> Opener:
    cls: Any = request.param
    return lambda **kw: cls.from_conn_string(server_url, key_prefix=key_prefix, **kw)


class TestRedisCache(CacheContract):
    pass


class TestRedisCheckpointer(CheckpointerContract):
    pass
