"""Many processes, threads and tasks writing to one backend: nothing lost, nothing extra.

On every engine, writers put checkpoints and writes on their own thread and on one thread
they all share, put and delete store items (one key everyone overwrites) and set and clear
cache entries; afterwards the backend holds exactly what they reported. Then 200 LangGraph
runs at once on one async saver end in exactly the state and history of a lone run.
"""

from __future__ import annotations

import asyncio
import operator
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, TypedDict

import postgres_support
import pytest
import redis_support
from concurrency_support import (
    Backend,
    Target,
    open_async,
    open_sync,
    run_processes,
    run_threads_and_tasks,
    verify,
)
from langgraph.checkpoint.memory import InMemorySaver as OfficialMemorySaver
from langgraph.graph import END, START, StateGraph
from postgres_support import Schemas

from durastate.cache.memory import InMemoryCache
from durastate.checkpoint.memory import InMemorySaver
from durastate.store.memory import InMemoryStore

schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool

PROCESSES = 3
THREADS = 3
TASKS = 8
RUNS = 200
MANY = 110
"""More callers than a redis-py pool has connections (100)."""
SERVER_ENGINES = ["sqlite", "postgres", "redis", "redis-cluster"]


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path, schemas: Schemas) -> Iterator[Target]:
    """A fresh, empty place on the engine named by the test's ``engine`` parameter."""
    engine: str = request.param
    if engine == "sqlite":
        yield Target("sqlite", str(tmp_path / "shared.db"))
    elif engine == "postgres":
        yield Target("postgres", request.getfixturevalue("postgres_url"), schemas.new())
    else:
        url = request.getfixturevalue(redis_support.server_fixture_name(engine))
        prefix = f"dstest-{uuid.uuid4().hex[:12]}"
        try:
            yield Target("redis", url, prefix)
        finally:
            redis_support.delete_prefix(url, prefix)


# -- writers on one backend -----------------------------------------------------------------
def test_threads_and_tasks_share_one_memory_backend() -> None:
    """In-process engines: 4 threads and 24 tasks on one saver, store and cache."""
    backend = Backend(InMemorySaver(), InMemoryStore(), InMemoryCache())

    @asynccontextmanager
    async def same() -> AsyncIterator[Backend]:
        yield backend

    reports, failures = run_threads_and_tasks(backend, same, "m", 4, 24)
    assert failures == [], "\n".join(failures)
    print(f"memory: {verify(backend, reports, 28)}")


@pytest.mark.parametrize("target", SERVER_ENGINES, indirect=True)
def test_processes_threads_and_tasks_share_one_backend(target: Target) -> None:
    """3 processes x (3 threads on one blocking saver/store/cache + 8 tasks on one
    asyncio-native set), all started together on one backend."""
    with open_sync(target) as backend:
        backend.saver.setup()
        backend.store.setup()
        backend.cache.setup()
        reports, failures = run_processes(target, PROCESSES, THREADS, TASKS)
        assert failures == [], "\n".join(failures)
        found = verify(backend, reports, PROCESSES * (THREADS + TASKS))
    print(f"{target.engine} ({target.location}) {PROCESSES} processes: {found}")


@pytest.mark.parametrize("target", ["redis", "redis-cluster"], indirect=True)
def test_more_threads_and_tasks_than_pooled_connections(target: Target) -> None:
    """110 threads on one blocking saver/store/cache and 110 tasks on one asyncio set:
    more callers at once than redis-py's 100-connection pools hold; they wait for a
    connection rather than fail with MaxConnectionsError."""
    with open_sync(target) as backend:
        reports, failures = run_threads_and_tasks(
            backend, lambda: open_async(target), "crowd", MANY, MANY
        )
        assert failures == [], "\n".join(failures[:3])
        found = verify(backend, reports, 2 * MANY)
    print(f"{target.engine} ({target.location}) one process: {found}")


# -- 200 LangGraph runs on one async saver -------------------------------------------------
class _Run(TypedDict):
    tag: str
    n: int
    log: Annotated[list[str], operator.add]


def _graph() -> Any:
    """step -> (left | right in parallel) -> step ... until n == 3: 7 checkpoints a run."""

    async def step(s: _Run) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"n": s["n"] + 1, "log": [f"{s['tag']}:step{s['n']}"]}

    async def left(s: _Run) -> dict[str, Any]:
        await asyncio.sleep(0)
        return {"log": [f"{s['tag']}:left{s['n']}"]}

    async def right(s: _Run) -> dict[str, Any]:
        return {"log": [f"{s['tag']}:right{s['n']}"]}

    builder: Any = StateGraph(_Run)
    builder.add_node("step", step)
    builder.add_node("left", left)
    builder.add_node("right", right)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= 3 else ["left", "right"])
    builder.add_edge("left", "step")
    builder.add_edge("right", "step")
    return builder


def _retag(value: Any, tag: str) -> Any:
    if isinstance(value, str):
        return value.replace("REF", tag)
    if isinstance(value, dict):
        return {k: _retag(v, tag) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_retag(v, tag) for v in value)
    return value


async def _history(graph: Any, thread_id: str) -> list[tuple[Any, ...]]:
    config = {"configurable": {"thread_id": thread_id}}
    return [
        (snap.values, snap.next, snap.metadata["step"])
        async for snap in graph.aget_state_history(config)
    ]


@asynccontextmanager
async def _async_saver(target: Target | None) -> AsyncIterator[Any]:
    if target is None:
        yield InMemorySaver()
    elif target.engine == "sqlite":
        from durastate.checkpoint.sqlite import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(target.location) as saver:
            yield saver
    elif target.engine == "postgres":
        from durastate.checkpoint.postgres import AsyncPostgresSaver

        pool = {"min_size": 4, "max_size": 10}
        async with AsyncPostgresSaver.from_conn_string(
            target.location, schema=target.scope, pool_config=pool
        ) as saver:
            yield saver
    else:
        from durastate.checkpoint.redis import AsyncRedisSaver

        async with AsyncRedisSaver.from_conn_string(
            target.location, key_prefix=target.scope
        ) as saver:
            yield saver


async def _two_hundred_runs(target: Target | None) -> None:
    reference = _graph().compile(checkpointer=OfficialMemorySaver())
    ref_final = await reference.ainvoke({"tag": "REF", "n": 0, "log": []}, _thread("ref"))
    ref_history = await _history(reference, "ref")
    assert ref_final["n"] == 3 and len(ref_history) == 7

    async with _async_saver(target) as saver:
        if target is not None:
            await saver.setup()
        graph = _graph().compile(checkpointer=saver)
        tags = [f"run{i:03}" for i in range(RUNS)]
        finals = await asyncio.wait_for(
            asyncio.gather(
                *(graph.ainvoke({"tag": t, "n": 0, "log": []}, _thread(t)) for t in tags)
            ),
            120,
        )
        for tag, final in zip(tags, finals, strict=True):
            assert final == _retag(ref_final, tag)
        for tag in tags:
            assert await _history(graph, tag) == _retag(ref_history, tag), tag
        every = [t async for t in saver.alist(None)]
        assert len(every) == RUNS * len(ref_history)


def _thread(thread_id: str) -> Any:
    return {"configurable": {"thread_id": thread_id}}


async def test_two_hundred_graph_runs_on_one_memory_saver() -> None:
    await _two_hundred_runs(None)


@pytest.mark.parametrize("target", SERVER_ENGINES, indirect=True)
async def test_two_hundred_graph_runs_on_one_async_saver(target: Target) -> None:
    """AsyncSqliteSaver, AsyncPostgresSaver on a pool, AsyncRedisSaver (plain and cluster)."""
    await _two_hundred_runs(target)
