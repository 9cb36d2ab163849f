"""The conformance contract on the Redis backends: plain Redis, Valkey and a Redis Cluster.

The cache runs on all three servers; the checkpointer contract runs once per server
(``RedisSaver`` on Redis, ``AsyncRedisSaver`` on Valkey and on the cluster). Both savers
pass LangGraph's own suite through both APIs on all three servers in
test_redis_official.py. The matrix is kept small because the contract's TTL tests sleep.
"""

from __future__ import annotations

from typing import Any

import pytest
from redis_support import SERVERS, key_prefix, server_fixture_name

from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver
from durastate.conformance import CacheContract, CheckpointerContract
from durastate.conformance.harness import Opener

__all__ = ["key_prefix"]

SAVERS: list[tuple[Any, str]] = [
    (RedisSaver, "redis"),
    (AsyncRedisSaver, "valkey"),
    (AsyncRedisSaver, "redis-cluster"),
]


def _url(request: pytest.FixtureRequest, server: str) -> str:
    return str(request.getfixturevalue(server_fixture_name(server)))


class TestRedisCache(CacheContract):
    @pytest.fixture(params=SERVERS)
    def server_url(self, request: pytest.FixtureRequest) -> str:
        return _url(request, request.param)

    @pytest.fixture
    def cache_opener(self, server_url: str, key_prefix: str) -> Opener:
        return lambda **kw: RedisCache.from_conn_string(server_url, key_prefix=key_prefix, **kw)


class TestRedisCheckpointer(CheckpointerContract):
    @pytest.fixture(params=SAVERS, ids=lambda p: f"{p[0].__name__}-{p[1]}")
    def saver_on(self, request: pytest.FixtureRequest) -> tuple[Any, str]:
        cls, server = request.param
        return cls, _url(request, server)

    @pytest.fixture
    def server_url(self, saver_on: tuple[Any, str]) -> str:
        return saver_on[1]

    @pytest.fixture
    def checkpointer_opener(self, saver_on: tuple[Any, str], key_prefix: str) -> Opener:
        cls, url = saver_on
        return lambda **kw: cls.from_conn_string(url, key_prefix=key_prefix, **kw)
