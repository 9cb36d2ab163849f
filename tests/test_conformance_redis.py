"""The conformance contract on the Redis backends: plain Redis, Valkey and a Redis Cluster.

The cache runs on all three servers; the checkpointer contract runs once per server
(``RedisSaver`` on Redis, ``AsyncRedisSaver`` on Valkey and on the cluster). Both savers
pass LangGraph's own suite through both APIs on all three servers in
test_redis_official.py. The matrix is kept small because the contract's TTL tests sleep.
The store contract runs whole on Redis Stack (``RedisStore``, both APIs), without semantic
search on Valkey (``AsyncRedisStore``) and plain Redis (``RedisStore``, without TTL), and
its basics and namespace listing on the cluster; test_redis_store.py runs semantic search
through ``AsyncRedisStore`` and TTL on plain Redis and on the cluster.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from langgraph.store.base import GetOp, PutOp, SearchOp
from redis.exceptions import ResponseError
from redis_support import SERVERS, admin, key_prefix, server_fixture_name

from durastate._engines.redis.keys import Layout
from durastate._engines.redis.requests import Cmd
from durastate._engines.redis.store_keys import StoreKeys
from durastate.cache.redis import RedisCache
from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver
from durastate.conformance import CacheContract, CheckpointerContract, StoreContract
from durastate.conformance.bad_input_store import StoreBadInput
from durastate.conformance.harness import Api, Opener, opened
from durastate.conformance.store_basics import StoreBasicsContract
from durastate.conformance.store_namespaces import StoreNamespacesContract
from durastate.conformance.store_search import StoreSearchContract
from durastate.conformance.store_support import NS, keys
from durastate.conformance.store_ttl import PAST_SHORT, SHORT, StoreTTLContract
from durastate.store.redis import AsyncRedisStore, RedisStore

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


def drop_store_index(url: str, prefix: str) -> None:
    """Drop the test's vector index (the server keeps indexes after their keys are gone)."""
    try:
        admin(url).execute(Cmd(("FT.DROPINDEX", StoreKeys.of(Layout(prefix)).index)))
    except ResponseError as exc:
        text = str(exc).lower()
        if not any(m in text for m in ("unknown index", "no such index", "unknown command")):
            raise


class _StoreOpeners:
    """Fixtures opening one store class on one server, under the test's own key prefix."""

    @pytest.fixture
    def server_url(self, store_on: tuple[Any, str]) -> str:
        return store_on[1]

    @pytest.fixture
    def store_opener(self, store_on: tuple[Any, str], key_prefix: str) -> Iterator[Opener]:
        cls, url = store_on
        yield lambda **kw: cls.from_conn_string(url, key_prefix=key_prefix, **kw)
        drop_store_index(url, key_prefix)


class _OneMode:
    """One API mode instead of both: the TTL contract sleeps for seconds, so classes and
    modes are spread over the servers (each store class runs both modes somewhere)."""

    mode: Literal["sync", "async"] = "sync"

    @pytest.fixture
    def api(self) -> Api:
        return Api(self.mode)


class TestRedisStore(_StoreOpeners, StoreContract):
    """The whole store contract, semantic search included, on Redis with its query engine,
    through both APIs of ``RedisStore``."""

    @pytest.fixture
    def store_on(self, redis_stack_url: str) -> tuple[Any, str]:
        return RedisStore, redis_stack_url


class TestAsyncRedisStoreOnValkey(
    _OneMode,
    _StoreOpeners,
    StoreBasicsContract,
    StoreSearchContract,
    StoreNamespacesContract,
    StoreTTLContract,
):
    """Everything but semantic search on Valkey (no modules), through the async API.

    The semantic-search tests need ``index=``, which servers without a query engine cannot
    serve: opening a store with an index there fails at setup (test_redis_store.py checks
    the error).
    """

    mode: Literal["sync", "async"] = "async"

    @pytest.fixture
    def store_on(self, valkey_url: str) -> tuple[Any, str]:
        return AsyncRedisStore, valkey_url

    async def test_expired_items_are_never_returned(self, api: Api, store_opener: Opener) -> None:
        """The TTL contract's test of the same name without its query (which needs an
        index): expired items vanish from get, search and list_namespaces before any
        sweep, and a put after expiry makes a new item."""
        async with opened(store_opener) as backend:
            s = api.bind(backend)
            await s.put(NS, "short", {"text": "apple"}, ttl=SHORT)
            await s.batch([PutOp(("brief",), "only", {"text": "apple"}, ttl=SHORT)])
            await s.put(NS, "forever", {"text": "car"})
            await s.put(NS, "long", {"text": "apple"}, ttl=10)
            first = await s.get(NS, "short")
            await asyncio.sleep(PAST_SHORT)
            assert await s.get(NS, "short", refresh_ttl=True) is None
            assert await s.get(("brief",), "only") is None
            assert set(keys(await s.search(()))) == {"forever", "long"}
            assert keys(await s.search(NS, filter={"text": "apple"})) == ["long"]
            assert await s.list_namespaces() == [NS]
            assert await s.batch([GetOp(NS, "short"), SearchOp(("brief",))]) == [None, []]
            await s.put(NS, "short", {"text": "dog"})
            reborn = await s.get(NS, "short")
            assert reborn.created_at > first.created_at


class TestRedisStoreOnPlainRedis(
    _OneMode, _StoreOpeners, StoreBasicsContract, StoreSearchContract, StoreNamespacesContract
):
    """Plain Redis 7 (no modules) through the sync API; TTL on it: test_redis_store.py."""

    @pytest.fixture
    def store_on(self, redis_url: str) -> tuple[Any, str]:
        return RedisStore, redis_url


class TestAsyncRedisStoreOnCluster(
    _OneMode, _StoreOpeners, StoreBasicsContract, StoreNamespacesContract
):
    """A Redis Cluster keeps the whole store in one hash slot: batches, reopening and
    namespace listing there, through the sync API of the asyncio class (filtered search
    and TTL on the cluster: test_redis_store.py)."""

    @pytest.fixture
    def store_on(self, redis_cluster_url: str) -> tuple[Any, str]:
        return AsyncRedisStore, redis_cluster_url


class TestRedisStoreBadInput(_StoreOpeners, StoreBadInput):
    """Bad store arguments get a clear error and change nothing stored."""

    @pytest.fixture
    def store_on(self, redis_url: str) -> tuple[Any, str]:
        return RedisStore, redis_url
