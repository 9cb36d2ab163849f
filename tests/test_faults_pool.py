"""Exhausted connection pools: a clear error naming the pool, its size and timeout, then
recovery once connections come back."""

from __future__ import annotations

import asyncio
import socket
import traceback
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from faults_support import check_history, counting_graph
from psycopg_pool import AsyncConnectionPool, ConnectionPool, PoolTimeout
from redis_support import delete_prefix

from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from durastate.checkpoint.redis import RedisSaver
from durastate.errors import BackendUnavailableError, DurastateError

STEPS = 3
pytestmark = pytest.mark.slow


@pytest.fixture
def schema(postgres_url: str) -> Iterator[str]:
    name = f"p_{uuid.uuid4().hex[:12]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


def _password(url: str) -> str:
    password = urlsplit(url).password
    assert password
    return password


def _check_exhausted(exc: BaseException, url: str, max_size: int, timeout: str) -> None:
    """The error says what ran out, for how long it waited and what to change; it is a
    durastate error and still a PoolTimeout, and never shows the password."""
    assert isinstance(exc, BackendUnavailableError)
    assert isinstance(exc, DurastateError)
    assert isinstance(exc, PoolTimeout)
    text = str(exc)
    assert "connection pool" in text
    assert f"within {timeout} s" in text
    assert f"all {max_size} connections (max_size={max_size}) were in use" in text
    assert "pool_config" in text and "max_size" in text and "timeout" in text
    assert _password(url) not in text
    shown = "".join(traceback.format_exception(exc)) + repr(exc)
    assert f":{_password(url)}@" not in shown and urlsplit(url).netloc not in shown


def _graph_runs(saver: Any, thread_id: str) -> None:
    graph = counting_graph(STEPS, checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": thread_id}}
    graph.invoke({"n": 0, "trail": []}, cfg)
    assert graph.get_state(cfg).values == {"n": STEPS, "trail": list(range(1, STEPS + 1))}
    check_history(list(saver.list(cfg)), STEPS)


async def _agraph_runs(saver: Any, thread_id: str) -> None:
    graph = counting_graph(STEPS, checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": thread_id}}
    await graph.ainvoke({"n": 0, "trail": []}, cfg)
    state = await graph.aget_state(cfg)
    assert state.values == {"n": STEPS, "trail": list(range(1, STEPS + 1))}
    check_history([t async for t in saver.alist(cfg)], STEPS)


def test_saver_pool_exhausted_by_caller_transactions(postgres_url: str, schema: str) -> None:
    """A saver's own pool of 2, both connections held by open transactions of the caller:
    a graph run fails after 1 s with the pool error and stores nothing; once they end,
    the same saver runs the graph."""
    saver = PostgresSaver(
        postgres_url, schema=schema, pool_config={"min_size": 1, "max_size": 2, "timeout": 1}
    )
    try:
        saver.setup()
        pool = saver.conn
        assert isinstance(pool, ConnectionPool)
        held = [pool.getconn(), pool.getconn()]
        try:
            for conn in held:
                conn.execute("BEGIN")
                conn.execute("SELECT 1")
            graph = counting_graph(STEPS, checkpointer=saver)
            cfg: Any = {"configurable": {"thread_id": "held"}}
            with pytest.raises(BackendUnavailableError) as info:
                graph.invoke({"n": 0, "trail": []}, cfg)
            _check_exhausted(info.value, postgres_url, 2, "1")
        finally:
            for conn in held:
                conn.rollback()
                pool.putconn(conn)
        assert list(saver.list({"configurable": {"thread_id": "held"}})) == []
        _graph_runs(saver, "held")
    finally:
        saver.close()


def test_saver_on_callers_pool_of_one(postgres_url: str, schema: str) -> None:
    """A caller's pool of 1 whose connection the caller holds: the saver's put fails with
    the pool error; after the caller gives it back, put and a graph run work."""
    with ConnectionPool(
        postgres_url, min_size=1, max_size=1, timeout=1.5, kwargs={"autocommit": True}
    ) as pool:
        saver = PostgresSaver(pool, schema=schema)
        saver.setup()
        with pool.connection():
            with pytest.raises(PoolTimeout) as info:
                saver.get_tuple({"configurable": {"thread_id": "t"}})
            _check_exhausted(info.value, postgres_url, 1, "1.5")
        assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is None
        _graph_runs(saver, "t")


async def test_async_saver_pool_exhausted_then_recovers(postgres_url: str, schema: str) -> None:
    """The asyncio saver on its own pool of 1: held by the caller, a call fails with the
    pool error; a call that waits less than the timeout for the connection succeeds;
    released, a graph runs."""
    async with AsyncPostgresSaver.from_conn_string(
        postgres_url, schema=schema, pool_config={"min_size": 1, "max_size": 1, "timeout": 1}
    ) as saver:
        await saver.setup()
        pool = saver.conn
        assert isinstance(pool, AsyncConnectionPool)
        cfg: Any = {"configurable": {"thread_id": "a"}}
        async with pool.connection() as conn:
            await conn.execute("SELECT 1")
            with pytest.raises(BackendUnavailableError) as info:
                await saver.aget_tuple(cfg)
            _check_exhausted(info.value, postgres_url, 1, "1")

        async def hold_briefly() -> None:
            async with pool.connection():
                await asyncio.sleep(0.3)

        holder = asyncio.create_task(hold_briefly())
        await asyncio.sleep(0.05)
        assert await saver.aget_tuple(cfg) is None  # waited for the connection, no error
        await holder
        await _agraph_runs(saver, "a")


def test_pool_that_cannot_connect_says_so(postgres_url: str) -> None:
    """A pool whose server does not answer: the error says no connection could be opened,
    and never shows the password."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    parts = urlsplit(postgres_url)
    netloc = f"{parts.username}:{parts.password}@127.0.0.1:{port}"
    dead = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    saver = PostgresSaver(dead, pool_config={"min_size": 1, "max_size": 2, "timeout": 1})
    try:
        with pytest.raises(BackendUnavailableError) as info:
            saver.get_tuple({"configurable": {"thread_id": "t"}})
        text = str(info.value)
        assert "within 1 s" in text and "max_size=2" in text, text
        assert "attempts to open one failed (is the server reachable?)" in text
        shown = "".join(traceback.format_exception(info.value))
        assert netloc not in shown and f":{parts.password}@" not in shown
    finally:
        saver.close()


def test_redis_blocking_pool_exhausted_then_recovers(redis_url: str) -> None:
    """A caller's redis-py BlockingConnectionPool of 1 held by the caller: the saver's
    call fails with redis-py's ConnectionError after the pool's timeout; given back, the
    saver runs a graph."""
    prefix = f"dspool-{uuid.uuid4().hex[:10]}"
    pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=1)
    client = redis.Redis(connection_pool=pool)
    saver = RedisSaver(redis_client=client, key_prefix=prefix)
    try:
        saver.setup()
        conn = pool.get_connection()  # type: ignore[no-untyped-call]
        try:
            with pytest.raises(redis.ConnectionError, match="No connection available"):
                saver.get_tuple({"configurable": {"thread_id": "r"}})
        finally:
            pool.release(conn)  # type: ignore[no-untyped-call]
        assert saver.get_tuple({"configurable": {"thread_id": "r"}}) is None
        _graph_runs(saver, "r")
    finally:
        saver.close()
        delete_prefix(redis_url, prefix)
        client.close()
