"""Redis engine: durastate's Redis classes against langgraph-checkpoint-redis and langgraph's
RedisCache.

Both run on the Redis Stack server in ``DURASTATE_BENCH_REDIS_URL`` (``benchmarks/run``
starts one of its own: the official saver and store need RedisJSON and RediSearch). The
database is flushed before every run, so never point this at a server holding data.
Storage is the ``MEMORY USAGE`` of every key plus the memory of search indexes.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.engines import Engine, Side, reason

URL_VAR = "DURASTATE_BENCH_REDIS_URL"


def _url() -> str:
    url = os.environ.get(URL_VAR)
    if not url:
        raise RuntimeError(f"{URL_VAR} is not set (benchmarks/run sets it)")
    return url


def _flush() -> None:
    import redis

    with redis.Redis.from_url(_url()) as client:
        client.flushall()


def memory_bytes(workdir: Path) -> int:
    """Bytes Redis reports for every key, plus every search index's memory."""
    import redis

    total = 0
    with redis.Redis.from_url(_url()) as client:
        pipe = client.pipeline(transaction=False)
        keys = list(client.scan_iter(count=1000))
        for key in keys:
            pipe.memory_usage(key, samples=0)
        total += sum(int(v or 0) for v in pipe.execute())
        try:
            indexes = client.execute_command("FT._LIST")
        except redis.ResponseError:
            indexes = []
        for name in indexes:
            info = client.execute_command("FT.INFO", name)
            fields = (
                info if isinstance(info, dict) else dict(zip(info[::2], info[1::2], strict=False))
            )
            for field in (b"total_index_memory_sz_mb", "total_index_memory_sz_mb"):
                if field in fields:
                    total += int(float(fields[field]) * 1e6)
    return total


def _durastate() -> Side:
    from durastate.cache import RedisCache
    from durastate.checkpoint import AsyncRedisSaver, RedisSaver

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        _flush()
        with RedisSaver.from_conn_string(_url()) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        _flush()
        async with AsyncRedisSaver.from_conn_string(_url()) as s:
            await s.setup()
            yield s

    @contextmanager
    def cache(workdir: Path) -> Iterator[Any]:
        _flush()
        with RedisCache.from_conn_string(_url()) as c:
            yield c

    store = astore = None
    try:
        from durastate.store import redis as rs  # type: ignore[attr-defined,unused-ignore]

        @contextmanager
        def _store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
            _flush()
            with rs.RedisStore.from_conn_string(_url(), index=index) as s:
                s.setup()
                yield s

        @asynccontextmanager
        async def _astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
            _flush()
            async with rs.AsyncRedisStore.from_conn_string(_url(), index=index) as s:
                await s.setup()
                yield s

        store, astore = _store, _astore
    except ImportError:
        pass

    return Side(
        saver=saver,
        asaver=asaver,
        store=store,
        astore=astore,
        cache=cache,
        acache=cache,
        saver_bytes=memory_bytes,
        storage_unit="Redis memory",
    )


def _official() -> Side:
    import redis
    import redis.asyncio as aredis
    from langgraph.cache.redis import RedisCache
    from langgraph.checkpoint.redis import RedisSaver
    from langgraph.checkpoint.redis.aio import AsyncRedisSaver
    from langgraph.store.redis import AsyncRedisStore, RedisStore

    @contextmanager
    def saver(workdir: Path) -> Iterator[Any]:
        _flush()
        with RedisSaver.from_conn_string(_url()) as s:
            s.setup()
            yield s

    @asynccontextmanager
    async def asaver(workdir: Path) -> AsyncIterator[Any]:
        _flush()
        async with AsyncRedisSaver.from_conn_string(_url()) as s:
            await s.asetup()
            yield s

    @contextmanager
    def store(workdir: Path, index: Mapping[str, Any]) -> Iterator[Any]:
        _flush()
        with RedisStore.from_conn_string(_url(), index=dict(index)) as s:  # type: ignore[arg-type]
            s.setup()
            yield s

    @asynccontextmanager
    async def astore(workdir: Path, index: Mapping[str, Any]) -> AsyncIterator[Any]:
        _flush()
        async with AsyncRedisStore.from_conn_string(_url(), index=dict(index)) as s:  # type: ignore[arg-type]
            await s.setup()
            yield s

    @contextmanager
    def cache(workdir: Path) -> Iterator[Any]:
        _flush()
        with redis.Redis.from_url(_url()) as client:
            yield RedisCache(client)

    @contextmanager
    def acache(workdir: Path) -> Iterator[Any]:
        # langgraph's RedisCache is async only with an asyncio client.
        _flush()
        yield RedisCache(aredis.Redis.from_url(_url()))

    return Side(
        saver=saver,
        asaver=asaver,
        store=store,
        astore=astore,
        cache=cache,
        acache=acache,
        saver_bytes=memory_bytes,
        storage_unit="Redis memory",
    )


def engine() -> Engine:
    sides: list[Side | str] = []
    for make in (_durastate, _official):
        try:
            _url()
            sides.append(make())
        except Exception as exc:
            sides.append(reason(exc))
    return Engine(
        "redis",
        sides[0],
        sides[1],
        notes=("one Redis Stack server for both sides, flushed before every run",),
    )
