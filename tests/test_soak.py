"""Soak: mixed checkpoint, store and cache traffic for a while; memory and connections stay flat.

Each engine runs ``DURASTATE_SOAK_SECONDS`` seconds (default 20, so the suite stays short;
the reliability target is 60: ``DURASTATE_SOAK_SECONDS=60 pytest tests/test_soak.py -s``).
Three threads on the blocking classes and three asyncio tasks on the asyncio-native ones
run real LangGraph invokes (checkpointer, store and a cached node), store put/get/search
with a filter and cache set/get, checking every answer. A sampler records the process's
resident memory and the backend's connections (Postgres: the pools' sessions in
``pg_stat_activity``; Redis: ``CLIENT LIST`` entries with the test's client names; SQLite:
open file descriptors). No errors; the second half's peak memory is within 20 MB of the
first half's; connections never pass what the pools allow. The figures (ops/s, peak RSS)
are printed and written to ``soak-<engine>.json`` in the test's tmp dir.
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
import threading
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    ExitStack,
    asynccontextmanager,
    contextmanager,
)
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypedDict

import postgres_support
import psycopg
import pytest
import redis
import redis_support
from langgraph.config import get_store
from langgraph.graph import END, START, StateGraph
from langgraph.types import CachePolicy
from postgres_support import Schemas

pytestmark = pytest.mark.slow

schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool

SECONDS = float(os.environ.get("DURASTATE_SOAK_SECONDS", "20"))
WORKERS = 3
"""Threads on the blocking classes."""
TASKS = 3
"""Tasks on the asyncio-native classes (one more thread, its own event loop)."""
SAMPLE_EVERY = 0.2
KEYS = 50
"""Keys each worker cycles through, so the store and cache stay the same size."""
RSS_GROWTH_LIMIT = 20 * 2**20
CONNECTION_SLACK = 2
POOL_MAX = 4
PAGE = os.sysconf("SC_PAGE_SIZE")


# -- the graph ----------------------------------------------------------------------------
class _State(TypedDict):
    user: str
    n: int
    notes: Annotated[list[str], operator.add]


def _memory(s: _State) -> tuple[tuple[str, ...], str, dict[str, Any]]:
    return ("soak", "mem", s["user"]), f"n{s['n']}", {"n": s["n"]}


def _recalled(s: _State, found: list[Any]) -> dict[str, Any]:
    return {"notes": [f"recalled {sorted(i.value['n'] for i in found)}"]}


def _graph(asynchronous: bool) -> Any:
    """remember (store put) -> recall (store search) -> classify (cached) -> ... twice."""

    def remember(s: _State) -> dict[str, Any]:
        get_store().put(*_memory(s))
        return {"n": s["n"] + 1}

    def recall(s: _State) -> dict[str, Any]:
        found = get_store().search(("soak", "mem", s["user"]), filter={"n": {"$lt": s["n"]}})
        return _recalled(s, found)

    async def aremember(s: _State) -> dict[str, Any]:
        await get_store().aput(*_memory(s))
        return {"n": s["n"] + 1}

    async def arecall(s: _State) -> dict[str, Any]:
        ns = ("soak", "mem", s["user"])
        return _recalled(s, await get_store().asearch(ns, filter={"n": {"$lt": s["n"]}}))

    def classify(s: _State) -> dict[str, Any]:
        return {"notes": [f"class {s['n'] % 2}"]}

    builder: Any = StateGraph(_State)
    builder.add_node("remember", aremember if asynchronous else remember)
    builder.add_node("recall", arecall if asynchronous else recall)
    builder.add_node(
        "classify", classify, cache_policy=CachePolicy(key_func=lambda s: str(s["n"] % 2))
    )
    builder.add_edge(START, "remember")
    builder.add_edge("remember", "recall")
    builder.add_edge("recall", "classify")
    builder.add_conditional_edges("classify", lambda s: END if s["n"] >= 2 else "remember")
    return builder


EXPECTED_NOTES = ["recalled [0]", "class 1", "recalled [0, 1]", "class 0"]


# -- the backends -------------------------------------------------------------------------
@dataclass
class Parts:
    saver: Any
    store: Any
    cache: Any


@dataclass
class Soaked:
    """One engine under soak: its blocking parts, how to open its asyncio-native parts
    (on the loop that uses them) and how to count its connections."""

    sync: Parts
    open_async: Callable[[], AbstractAsyncContextManager[Parts]]
    connections: Callable[[], int]
    connection_limit: int
    by_part: Callable[[], dict[str, int]] = dict
    """Connections per part, where the server can tell them apart."""


@contextmanager
def _sqlite(tmp_path: Path) -> Iterator[Soaked]:
    from durastate.cache.sqlite import SqliteCache
    from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver
    from durastate.store.sqlite import AsyncSqliteStore, SqliteStore

    path = str(tmp_path / "soak.db")

    @asynccontextmanager
    async def open_async() -> AsyncIterator[Parts]:
        async with (
            AsyncSqliteSaver.from_conn_string(path) as saver,
            AsyncSqliteStore.from_conn_string(path) as store,
        ):
            yield Parts(saver, store, cache)

    with (
        SqliteSaver.from_conn_string(path) as saver,
        SqliteStore.from_conn_string(path) as store,
        SqliteCache.from_conn_string(path) as cache,
    ):
        baseline = _open_files()
        # Each connection holds the database, its WAL and its shared-memory file: the
        # three open here and the asyncio saver's and store's.
        limit = baseline + 3 * 3 + 2 * 3
        yield Soaked(Parts(saver, store, cache), open_async, _open_files, limit)


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


@contextmanager
def _postgres(url: str, schema: str) -> Iterator[Soaked]:
    from durastate.cache.postgres import PostgresCache
    from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
    from durastate.store.postgres import AsyncPostgresStore, PostgresStore

    name = f"durastate-soak-{schema}"
    pool = {"min_size": 1, "max_size": POOL_MAX, "kwargs": {"application_name": name}}

    @asynccontextmanager
    async def open_async() -> AsyncIterator[Parts]:
        async with (
            AsyncPostgresSaver(url, schema=schema, pool_config=pool) as saver,
            AsyncPostgresStore(url, schema=schema, pool_config=pool) as store,
        ):
            try:
                yield Parts(saver, store, cache)
            finally:
                await cache.aclose()

    with ExitStack() as stack:
        admin = stack.enter_context(psycopg.connect(url, autocommit=True))

        def sessions() -> int:
            row = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (name,)
            ).fetchone()
            return int(row[0]) if row else 0

        saver = stack.enter_context(PostgresSaver(url, schema=schema, pool_config=pool))
        store = stack.enter_context(PostgresStore(url, schema=schema, pool_config=pool))
        cache: Any = stack.enter_context(PostgresCache(url, schema=schema, pool_config=pool))
        # Three blocking pools, and three asyncio pools (the cache opens its own on first
        # async use).
        limit = 6 * POOL_MAX
        yield Soaked(Parts(saver, store, cache), open_async, sessions, limit)


@contextmanager
def _redis(url: str, prefix: str) -> Iterator[Soaked]:
    from durastate.cache.redis import RedisCache
    from durastate.checkpoint.redis import AsyncRedisSaver, RedisSaver
    from durastate.store.redis import AsyncRedisStore, RedisStore

    name = f"soak-{prefix}"

    def args(part: str) -> dict[str, Any]:
        return {"client_name": f"{name}-{part}"}

    @asynccontextmanager
    async def open_async() -> AsyncIterator[Parts]:
        async with (
            AsyncRedisSaver(url, key_prefix=prefix, connection_args=args("asaver")) as saver,
            AsyncRedisStore(url, key_prefix=prefix, connection_args=args("astore")) as store,
        ):
            yield Parts(saver, store, cache)

    with ExitStack() as stack:
        admin = redis.Redis.from_url(url)
        stack.callback(admin.close)

        def by_part() -> dict[str, int]:
            names = [str(c.get("name", "")) for c in admin.client_list()]
            found = [n.removeprefix(f"{name}-") for n in names if n.startswith(f"{name}-")]
            return {part: found.count(part) for part in sorted(set(found))}

        def clients() -> int:
            return sum(by_part().values())

        saver = stack.enter_context(
            RedisSaver(url, key_prefix=prefix, connection_args=args("saver"))
        )
        store = stack.enter_context(
            RedisStore(url, key_prefix=prefix, connection_args=args("store"))
        )
        cache: Any = stack.enter_context(
            RedisCache(url, key_prefix=prefix, connection_args=args("cache"))
        )
        # A client holds a connection per call in flight. LangGraph writes checkpoints,
        # task writes and cache entries in the background while the next step reads, so
        # a worker may hold up to three of a part's connections at once (measured at
        # most: saver 3, cache 2, store 1 per worker).
        limit = 3 * 3 * (WORKERS + TASKS)
        yield Soaked(Parts(saver, store, cache), open_async, clients, limit, by_part)


# -- the soak -------------------------------------------------------------------------------
@dataclass
class Sample:
    at: float
    rss: int
    connections: int


@dataclass
class Tally:
    ops: int = 0
    graph_runs: int = 0
    errors: list[str] = field(default_factory=list)


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def _rounds(worker: str) -> Generator[tuple[Any, ...], Any, None]:
    """A worker's endless traffic, one round at a time, checking every answer."""
    kv, cns = ("soak", "kv", worker), ("soak", "c", worker)
    i = 0
    while True:
        user = f"{worker}-{i}"
        out = yield ("invoke", {"user": user, "n": 0, "notes": []}, _thread(user))
        assert out == {"user": user, "n": 2, "notes": EXPECTED_NOTES}, out
        key, value = f"k{i % KEYS}", {"i": i, "even": i % 2 == 0}
        yield ("sput", kv, key, value)
        item = yield ("sget", kv, key)
        assert item is not None and item.value == value, (key, item)
        found = yield ("search", kv, {"even": True})
        assert found and all(f.value["even"] is True for f in found), found
        yield ("cset", {(cns, key): (value, 300)})
        got = yield ("cget", [(cns, key)])
        assert got == {(cns, key): value}, got
        i += 1


def _call(graph: Any, parts: Parts, op: tuple[Any, ...]) -> Any:
    kind, *args = op
    if kind == "invoke":
        return graph.invoke(*args)
    if kind == "sput":
        return parts.store.put(*args)
    if kind == "sget":
        return parts.store.get(*args)
    if kind == "search":
        return parts.store.search(args[0], filter=args[1], limit=10)
    if kind == "cset":
        return parts.cache.set(*args)
    return parts.cache.get(*args)


async def _acall(graph: Any, parts: Parts, op: tuple[Any, ...]) -> Any:
    kind, *args = op
    if kind == "invoke":
        return await graph.ainvoke(*args)
    if kind == "sput":
        return await parts.store.aput(*args)
    if kind == "sget":
        return await parts.store.aget(*args)
    if kind == "search":
        return await parts.store.asearch(args[0], filter=args[1], limit=10)
    if kind == "cset":
        return await parts.cache.aset(*args)
    return await parts.cache.aget(*args)


def _work(graph: Any, parts: Parts, worker: str, stop: threading.Event, tally: Tally) -> None:
    rounds = _rounds(worker)
    try:
        op = next(rounds)
        while not stop.is_set():
            answer = _call(graph, parts, op)
            if op[0] == "invoke":
                tally.graph_runs += 1
            else:
                tally.ops += 1
            op = rounds.send(answer)
    except BaseException:
        tally.errors.append(traceback.format_exc())
        stop.set()


async def _awork(
    graph: Any, parts: Parts, worker: str, stop: threading.Event, tally: Tally
) -> None:
    rounds = _rounds(worker)
    try:
        op = next(rounds)
        while not stop.is_set():
            answer = await _acall(graph, parts, op)
            if op[0] == "invoke":
                tally.graph_runs += 1
            else:
                tally.ops += 1
            op = rounds.send(answer)
    except BaseException:
        tally.errors.append(traceback.format_exc())
        stop.set()


def _tasks(soaked: Soaked, stop: threading.Event, tallies: list[Tally]) -> None:
    """``TASKS`` asyncio workers on the engine's asyncio-native parts, on their own loop."""

    async def main() -> None:
        async with soaked.open_async() as parts:
            graph = _graph(True).compile(
                checkpointer=parts.saver, store=parts.store, cache=parts.cache
            )
            await asyncio.gather(
                *(_awork(graph, parts, f"a{i}", stop, t) for i, t in enumerate(tallies))
            )

    try:
        asyncio.run(main())
    except BaseException:
        tallies[0].errors.append(traceback.format_exc())
        stop.set()


def _thread(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


def _soak(engine: str, soaked: Soaked, tmp_path: Path) -> dict[str, Any]:
    parts = soaked.sync
    graph = _graph(False).compile(checkpointer=parts.saver, store=parts.store, cache=parts.cache)
    stop = threading.Event()
    tallies = [Tally() for _ in range(WORKERS + TASKS)]
    workers = [
        threading.Thread(target=_work, args=(graph, parts, f"w{i}", stop, tallies[i]))
        for i in range(WORKERS)
    ]
    workers.append(threading.Thread(target=_tasks, args=(soaked, stop, tallies[WORKERS:])))
    samples: list[Sample] = []
    started = time.monotonic()
    for w in workers:
        w.start()
    try:
        while not stop.is_set() and time.monotonic() - started < SECONDS:
            samples.append(Sample(time.monotonic() - started, _rss(), soaked.connections()))
            stop.wait(SAMPLE_EVERY)
    finally:
        stop.set()
        for w in workers:
            w.join(60)
    elapsed = time.monotonic() - started
    errors = [e for t in tallies for e in t.errors]
    assert errors == [], "\n".join(errors)

    half = len(samples) // 2
    first, second = samples[:half], samples[half:]
    mb = 2**20
    figures: dict[str, Any] = {
        "engine": engine,
        "seconds": round(elapsed, 1),
        "workers": WORKERS,
        "tasks": TASKS,
        "ops": sum(t.ops + t.graph_runs for t in tallies),
        "ops_per_s": round(sum(t.ops + t.graph_runs for t in tallies) / elapsed, 1),
        "graph_runs": sum(t.graph_runs for t in tallies),
        "graph_runs_per_s": round(sum(t.graph_runs for t in tallies) / elapsed, 1),
        "peak_rss_mb": round(max(s.rss for s in samples) / mb, 1),
        "rss_first_half_max_mb": round(max(s.rss for s in first) / mb, 1),
        "rss_second_half_max_mb": round(max(s.rss for s in second) / mb, 1),
        "connections_max": max(s.connections for s in samples),
        "connections_first_half_max": max(s.connections for s in first),
        "connections_second_half_max": max(s.connections for s in second),
        "connection_limit": soaked.connection_limit,
        "connections_by_part_at_end": soaked.by_part(),
        "samples": len(samples),
    }
    out = tmp_path / f"soak-{engine}.json"
    out.write_text(json.dumps({**figures, "trace": [asdict(s) for s in samples]}, indent=1))
    print(f"\nsoak {json.dumps(figures)}\n  -> {out}")

    assert len(samples) >= 10 and all(t.graph_runs > 0 for t in tallies)
    growth = max(s.rss for s in second) - max(s.rss for s in first)
    assert growth < RSS_GROWTH_LIMIT, figures
    assert figures["connections_max"] <= soaked.connection_limit + CONNECTION_SLACK, figures
    assert (
        figures["connections_second_half_max"]
        <= figures["connections_first_half_max"] + CONNECTION_SLACK
    ), figures
    return figures


def test_soak_sqlite(tmp_path: Path) -> None:
    with _sqlite(tmp_path) as soaked:
        _soak("sqlite", soaked, tmp_path)


def test_soak_postgres(tmp_path: Path, postgres_url: str, schemas: Schemas) -> None:
    with _postgres(postgres_url, schemas.new()) as soaked:
        _soak("postgres", soaked, tmp_path)


def test_soak_redis(tmp_path: Path, redis_url: str) -> None:
    prefix = f"dstest-{uuid.uuid4().hex[:12]}"
    try:
        with _redis(redis_url, prefix) as soaked:
            _soak("redis", soaked, tmp_path)
    finally:
        redis_support.delete_prefix(redis_url, prefix)
