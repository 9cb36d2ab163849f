"""Postgres savers on the real server: PgBouncer, round trips, concurrent setup, pools."""

from __future__ import annotations

import asyncio
import concurrent.futures
import multiprocessing
import threading
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import postgres_support
import psycopg
import pytest
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import BaseCheckpointSaver, empty_checkpoint
from langgraph.graph import END, START, StateGraph
from postgres_support import Schemas, Trace
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, ConnectionPool

from durastate._engines.postgres.checkpoint_read import Freshness, Lister
from durastate._engines.postgres.connections import SyncDatabase
from durastate._engines.postgres.requests import Component
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.postgres import AsyncPostgresSaver, PostgresSaver
from durastate.errors import InvalidInputError, SchemaVersionError

schemas = postgres_support.schemas
schema_pool = postgres_support.schema_pool


def _config(thread: str, ns: str = "", cid: str | None = None) -> Any:
    conf = {"thread_id": thread, "checkpoint_ns": ns}
    if cid is not None:
        conf["checkpoint_id"] = cid
    return {"configurable": conf}


def _put(saver: Any, config: Any, values: dict[str, Any], versions: dict[str, str]) -> Any:
    """Put a checkpoint changing ``values``; ``versions`` (updated) carries the others."""
    new = {}
    for channel in values:
        versions[channel] = saver.get_next_version(versions.get(channel), None)
        new[channel] = versions[channel]
    checkpoint = empty_checkpoint()
    checkpoint["channel_values"] = dict(values)
    checkpoint["channel_versions"] = dict(versions)
    return saver.put(config, checkpoint, {"source": "loop", "step": 1}, new)


class _Count(TypedDict):
    n: int
    log: list[str]


def _counter_graph() -> Any:
    def step(state: _Count) -> dict[str, Any]:
        return {"n": state["n"] + 1, "log": [*state["log"], f"step {state['n']}"]}

    builder = StateGraph(_Count)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= 3 else "step")
    return builder


# --- PgBouncer (transaction pooling) ---------------------------------------------------


def test_sync_saver_works_behind_pgbouncer(pgbouncer_url: str, schemas: Schemas) -> None:
    """Four threads, each putting and reading 20 checkpoints through PgBouncer's
    transaction pooling: the same statements run on whichever server connection PgBouncer
    picks. (With ``prepare_threshold=0`` this fails: a prepared statement already exists.)"""
    schema = schemas.new()
    pool = {"min_size": 4, "max_size": 4}
    with PostgresSaver.from_conn_string(pgbouncer_url, schema=schema, pool_config=pool) as saver:

        def work(i: int) -> int:
            config, versions = _config(f"t{i}"), dict[str, str]()
            for j in range(20):
                config = _put(saver, config, {"a": j}, versions)
                tup = saver.get_tuple(config)
                assert tup is not None and tup.checkpoint["channel_values"] == {"a": j}
            return len(list(saver.list(_config(f"t{i}"))))

        with concurrent.futures.ThreadPoolExecutor(4) as pool_:
            assert list(pool_.map(work, range(4))) == [20, 20, 20, 20]


async def test_async_saver_runs_graphs_behind_pgbouncer(
    pgbouncer_url: str, schemas: Schemas
) -> None:
    schema = schemas.new()
    pool = {"min_size": 4, "max_size": 4}
    async with AsyncPostgresSaver.from_conn_string(
        pgbouncer_url, schema=schema, pool_config=pool
    ) as saver:
        graph = _counter_graph().compile(checkpointer=saver)
        results = await asyncio.gather(
            *(
                graph.ainvoke({"n": 0, "log": []}, {"configurable": {"thread_id": f"g{i}"}})
                for i in range(8)
            )
        )
        assert all(r["n"] == 3 for r in results)
        history = [s async for s in graph.aget_state_history({"configurable": {"thread_id": "g0"}})]
        assert len(history) == 5


# --- Round trips -------------------------------------------------------------------------


@pytest.fixture
def traced(postgres_url: str, schemas: Schemas) -> Iterator[tuple[PostgresSaver, Trace]]:
    """A saver on a pool of one traced connection, tables already set up."""
    traces: list[Trace] = []

    def configure(conn: psycopg.Connection[Any]) -> None:
        traces.append(Trace(conn))

    with ConnectionPool(
        postgres_url, min_size=1, max_size=1, configure=configure, kwargs={"autocommit": True}
    ) as pool:
        saver = PostgresSaver(pool, schema=schemas.new())
        saver.setup()
        yield saver, traces[0]


def test_put_put_writes_and_get_tuple_are_one_round_trip_each(
    traced: tuple[PostgresSaver, Trace],
) -> None:
    saver, trace = traced
    versions: dict[str, str] = {}
    big = {"messages": ["x" * 1000] * 50, "n": 1, "flag": True}
    trace.start()
    first = _put(saver, _config("t1"), big, versions)
    assert trace.stop() == 1
    trace.start()
    second = _put(saver, first, {"n": 2}, versions)  # "messages" and "flag" carried over
    assert trace.stop() == 1
    trace.start()
    saver.put_writes(second, [("n", 3), ("messages", ["y"])], "task-1")
    assert trace.stop() == 1
    trace.start()
    tup = saver.get_tuple(_config("t1"))
    assert trace.stop() == 1
    assert tup is not None
    assert tup.checkpoint["channel_values"] == {**big, "n": 2}
    assert tup.pending_writes == [("task-1", "n", 3), ("task-1", "messages", ["y"])]
    trace.start()
    assert saver.get_tuple(first) is not None
    assert trace.stop() == 1


def test_list_is_one_query_per_page_and_stores_each_value_once(
    traced: tuple[PostgresSaver, Trace], postgres_url: str
) -> None:
    saver, trace = traced
    config, versions = _config("t1"), dict[str, str]()
    config = _put(saver, config, {"big": "b" * 10_000, "n": 0}, versions)
    for n in range(1, 250):
        config = _put(saver, config, {"n": n}, versions)
    trace.start()
    listed = list(saver.list(_config("t1")))
    assert trace.stop() == 3  # pages of 100, 100 and 50
    assert len(listed) == 250
    assert all(t.checkpoint["channel_values"]["big"] == "b" * 10_000 for t in listed)
    trace.start()
    assert len(list(saver.list(_config("t1"), limit=5))) == 5
    assert trace.stop() == 1
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            f'SELECT channel, count(*) FROM "{saver.schema}".durastate_checkpoint_blobs '
            "GROUP BY channel ORDER BY channel"
        ).fetchall()
    assert rows == [("big", 1), ("n", 250)]


def test_a_paused_list_holds_no_connection(postgres_url: str, schemas: Schemas) -> None:
    """With a pool of one, other calls run while a ``list`` consumer is between items."""
    with ConnectionPool(
        postgres_url, min_size=1, max_size=1, timeout=5, kwargs={"autocommit": True}
    ) as pool:
        saver = PostgresSaver(pool, schema=schemas.new())
        config, versions = _config("t1"), dict[str, str]()
        for n in range(3):
            config = _put(saver, config, {"n": n}, versions)
        listing = saver.list(_config("t1"))
        assert next(listing).checkpoint["channel_values"] == {"n": 2}
        config = _put(saver, config, {"n": 3}, versions)
        assert [t.checkpoint["channel_values"]["n"] for t in listing] == [1, 0]


def _extend(state: list[str], batches: Any) -> list[str]:
    out = list(state or [])
    for batch in batches:
        out.extend(batch if isinstance(batch, list) else [batch])
    return out


class _Deltas(TypedDict):
    log: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=5)]
    other: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=3)]
    n: int


def test_delta_channel_history_is_one_query_and_matches_the_generic_walk(
    traced: tuple[PostgresSaver, Trace],
) -> None:
    saver, trace = traced

    def step(state: _Deltas) -> dict[str, Any]:
        return {"log": [f"e{state['n']}"], "other": [f"o{state['n']}"], "n": state["n"] + 1}

    builder = StateGraph(_Deltas)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= 13 else "step")
    graph = builder.compile(checkpointer=saver)
    config: Any = {"configurable": {"thread_id": "d"}}
    graph.invoke({"n": 0, "log": [], "other": []}, config)
    graph.invoke({"n": 0, "log": ["again"], "other": []}, config)
    assert graph.get_state(config).values["log"][12:15] == ["e12", "again", "e0"]
    channels = ["log", "other", "n", "absent"]
    for tup in list(saver.list(config))[:14]:
        trace.start()
        ours = saver.get_delta_channel_history(config=tup.config, channels=channels)
        assert trace.stop() == 1
        walked = BaseCheckpointSaver.get_delta_channel_history(
            saver, config=tup.config, channels=channels
        )
        assert ours == walked


def test_a_metadata_filter_uses_the_gin_index(postgres_url: str, schemas: Schemas) -> None:
    """``list(None, filter=...)`` over many threads finds its rows through the GIN index."""
    with PostgresSaver.from_conn_string(postgres_url, schema=schemas.new()) as saver:
        _put(saver, _config("seed"), {"n": 1}, {})  # metadata {"source": "loop", "step": 1}
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            table = f'"{saver.schema}".durastate_checkpoints'
            conn.execute(
                f"INSERT INTO {table} SELECT 'thread-' || i, '', 'id-' || i, NULL, NULL, "
                "c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata, "
                "jsonb_build_object('source', 'loop', 'step', i), '{}', now() "
                f"FROM generate_series(1, 20000) AS i, {table} c WHERE c.thread_id = 'seed'"
            )
            conn.execute(f"ANALYZE {table}")
            op = Lister(
                None,
                filter={"step": 4242},
                before=None,
                limit=None,
                freshness=Freshness(None, False),
                schema=saver.schema,
            ).next_operation()
            assert op is not None
            request = next(op.body())
            plan = "\n".join(
                r[0] for r in conn.execute("EXPLAIN " + request.sql, request.params).fetchall()
            )
        assert "durastate_checkpoints_by_metadata" in plan, plan
        found = list(saver.list(None, filter={"step": 4242}))
        assert [t.config["configurable"]["thread_id"] for t in found] == ["thread-4242"]
        both = saver.list(None, filter={"step": 1, "source": "loop"})
        assert {t.config["configurable"]["thread_id"] for t in both} == {"seed", "thread-1"}


# --- Setup and migrations ---------------------------------------------------------------


def _setup_in_process(url: str, schema: str, barrier: Any, out: Any) -> None:
    try:
        with PostgresSaver.from_conn_string(url, schema=schema, auto_setup=False) as saver:
            barrier.wait(10)
            saver.setup()
            out.put(("ok", saver.schema_version()))
    except BaseException as exc:  # reported to the parent, which fails the test
        out.put(("error", repr(exc)))


@pytest.mark.parametrize("attempt", range(3))
def test_processes_setting_up_an_empty_schema_together_all_succeed(
    postgres_url: str, schemas: Schemas, attempt: int
) -> None:
    """Four processes call ``setup()`` at the same moment on a schema that does not exist."""
    schema = schemas.new(fresh=True)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(4)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_setup_in_process, args=(postgres_url, schema, barrier, out))
        for _ in range(4)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=30) for _ in procs]
    for p in procs:
        p.join(10)
    assert results == [("ok", CHECKPOINTS.latest)] * 4
    with psycopg.connect(postgres_url) as conn:
        rows = conn.execute(
            f'SELECT component, version FROM "{schema}".durastate_schema'
        ).fetchall()
    assert rows == [("checkpoint", CHECKPOINTS.latest)]


def test_auto_setup_false_refuses_until_setup_is_run(postgres_url: str, schemas: Schemas) -> None:
    schema = schemas.new(fresh=True)
    with PostgresSaver.from_conn_string(postgres_url, schema=schema, auto_setup=False) as saver:
        assert saver.schema_version() == 0
        with pytest.raises(SchemaVersionError, match="setup"):
            saver.get_tuple(_config("t1"))
        saver.setup()
        assert saver.is_setup and saver.schema_version() == CHECKPOINTS.latest
        _put(saver, _config("t1"), {"n": 1}, {})
    with PostgresSaver.from_conn_string(postgres_url, schema=schema, auto_setup=False) as again:
        assert again.get_tuple(_config("t1")) is not None


def test_an_older_schema_is_upgraded_on_first_use(postgres_url: str, schemas: Schemas) -> None:
    """Tables at migration 1 (no functions yet) are brought to the latest version."""
    schema = schemas.new(fresh=True)
    first = Component(CHECKPOINTS.name, CHECKPOINTS.steps[:1])
    db = SyncDatabase(postgres_url, schema=schema)
    try:
        assert db.setup(first) == 1
    finally:
        db.close()
    with PostgresSaver.from_conn_string(postgres_url, schema=schema) as saver:
        assert saver.schema_version() == 1
        _put(saver, _config("t1"), {"n": 1}, {})
        assert saver.schema_version() == CHECKPOINTS.latest
        tup = saver.get_tuple(_config("t1"))
        assert tup is not None and tup.checkpoint["channel_values"] == {"n": 1}


def test_schema_names_are_validated(postgres_url: str) -> None:
    for bad in ("", "1abc", 'x"; DROP TABLE y; --', "a.b", "x" * 64):
        with pytest.raises(InvalidInputError, match="schema"):
            PostgresSaver(postgres_url, schema=bad)


def test_nul_in_names_is_refused_naming_the_field(postgres_url: str, schemas: Schemas) -> None:
    """PostgreSQL text cannot hold NUL: channel names and task ids with one are refused
    with an error naming them, before anything is written."""
    with PostgresSaver.from_conn_string(postgres_url, schema=schemas.new()) as saver:
        stored = _put(saver, _config("t1"), {"n": 1}, {})
        with pytest.raises(InvalidInputError, match=r"channel 'bad.* NUL"):
            _put(saver, stored, {"bad\x00": 1}, {})
        with pytest.raises(InvalidInputError, match=r"task_id 'task.* NUL"):
            saver.put_writes(stored, [("n", 2)], "task\x00")
        with pytest.raises(InvalidInputError, match="channel"):
            saver.put_writes(stored, [("n", 2), ("x\x00", 3)], "task")
        tup = saver.get_tuple(_config("t1"))
        assert tup is not None and tup.pending_writes == []
        assert len(list(saver.list(_config("t1")))) == 1


# --- Connections the caller owns ---------------------------------------------------------


def test_langgraph_style_connection_with_dict_rows_and_prepared_statements(
    postgres_url: str, schemas: Schemas
) -> None:
    """The connection LangGraph's docs open (autocommit, prepare_threshold=0, dict rows)."""
    with psycopg.Connection.connect(
        postgres_url, autocommit=True, prepare_threshold=0, row_factory=dict_row
    ) as conn:
        saver = PostgresSaver(conn, schema=schemas.new())
        saver.setup()
        graph = _counter_graph().compile(checkpointer=saver)
        assert graph.invoke({"n": 0, "log": []}, {"configurable": {"thread_id": "g"}})["n"] == 3
        assert graph.get_state({"configurable": {"thread_id": "g"}}).values["n"] == 3


def test_a_connection_in_pipeline_mode(postgres_url: str, schemas: Schemas) -> None:
    """As ``langgraph.checkpoint.postgres`` takes it: ``PostgresSaver(conn, pipe)``."""
    with psycopg.connect(postgres_url, autocommit=True) as conn, conn.pipeline() as pipe:
        saver = PostgresSaver(conn, pipe, schema=schemas.new())
        saver.setup()
        graph = _counter_graph().compile(checkpointer=saver)
        assert graph.invoke({"n": 0, "log": []}, _config("g"))["n"] == 3
        assert len(list(saver.list(_config("g")))) == 5
        saver.delete_thread("g")
        assert saver.get_tuple(_config("g")) is None


def test_a_connection_without_autocommit(postgres_url: str, schemas: Schemas) -> None:
    """Work is committed when the caller has no transaction open, and becomes part of the
    caller's transaction when it has one (rolled back with it)."""
    schema = schemas.new()
    with psycopg.connect(postgres_url) as conn:
        assert not conn.autocommit
        saver = PostgresSaver(conn, schema=schema)
        _put(saver, _config("committed"), {"n": 1}, {})
        with psycopg.connect(postgres_url) as other:
            seen = PostgresSaver(other, schema=schema)
            assert seen.get_tuple(_config("committed")) is not None
            conn.execute("SELECT 1")  # the caller opens a transaction
            _put(saver, _config("rolled-back"), {"n": 1}, {})
            assert saver.get_tuple(_config("rolled-back")) is not None
            conn.rollback()
            assert saver.get_tuple(_config("rolled-back")) is None
            assert seen.get_tuple(_config("committed")) is not None


def test_async_saver_on_a_caller_connection(postgres_url: str, schemas: Schemas) -> None:
    async def main() -> None:
        async with await psycopg.AsyncConnection.connect(postgres_url, autocommit=True) as conn:
            saver = AsyncPostgresSaver(conn, schema=schemas.new())
            await saver.setup()
            graph = _counter_graph().compile(checkpointer=saver)
            out = await graph.ainvoke({"n": 0, "log": []}, {"configurable": {"thread_id": "g"}})
            assert out["log"] == ["step 0", "step 1", "step 2"]

    asyncio.run(main())


# --- Broken connections ------------------------------------------------------------------


def _terminate(postgres_url: str, application_name: str) -> int:
    """End every server backend of connections named ``application_name``."""
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


def _killing_graph(kill: Any) -> Any:
    """Three steps; the second one terminates the saver's connections mid-run."""

    def step(state: _Count) -> dict[str, Any]:
        if state["n"] == 1:
            assert kill() >= 1
        return {"n": state["n"] + 1, "log": [*state["log"], f"step {state['n']}"]}

    builder = StateGraph(_Count)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= 3 else "step")
    return builder


def test_terminated_connections_are_replaced_and_the_run_completes(
    postgres_url: str, schemas: Schemas
) -> None:
    """``pg_terminate_backend`` on every pooled connection during a run: the next calls run
    again on fresh connections, the run finishes, and its history holds each step once."""
    name = f"durastate-test-{schemas.new()}"
    pool = {"min_size": 2, "max_size": 2, "kwargs": {"application_name": name}}
    with PostgresSaver.from_conn_string(
        postgres_url, schema=schemas.new(), pool_config=pool
    ) as saver:
        graph = _killing_graph(lambda: _terminate(postgres_url, name)).compile(checkpointer=saver)
        out = graph.invoke({"n": 0, "log": []}, _config("t1"))
        assert out["log"] == ["step 0", "step 1", "step 2"]
        history = list(graph.get_state_history(_config("t1")))
        assert [h.metadata["step"] for h in history] == [3, 2, 1, 0, -1]
        assert _terminate(postgres_url, name) >= 1
        assert graph.invoke(None, _config("t1"))["n"] == 3  # resumes from the last checkpoint


async def test_async_terminated_connections_are_replaced_and_the_run_completes(
    postgres_url: str, schemas: Schemas
) -> None:
    name = f"durastate-test-{schemas.new()}"
    pool = {"min_size": 2, "max_size": 2, "kwargs": {"application_name": name}}
    async with AsyncPostgresSaver.from_conn_string(
        postgres_url, schema=schemas.new(), pool_config=pool
    ) as saver:
        graph = _killing_graph(lambda: _terminate(postgres_url, name)).compile(checkpointer=saver)
        out = await graph.ainvoke({"n": 0, "log": []}, _config("t1"))
        assert out["log"] == ["step 0", "step 1", "step 2"]
        history = [h async for h in graph.aget_state_history(_config("t1"))]
        assert [h.metadata["step"] for h in history] == [3, 2, 1, 0, -1]


def test_a_terminated_caller_connection_raises(postgres_url: str, schemas: Schemas) -> None:
    """The caller's own connection is not replaced behind its back: the error reaches it."""
    name = f"durastate-test-{schemas.new()}"
    with psycopg.connect(postgres_url, autocommit=True, application_name=name) as conn:
        saver = PostgresSaver(conn, schema=schemas.new())
        _put(saver, _config("t1"), {"n": 1}, {})
        assert _terminate(postgres_url, name) == 1
        with pytest.raises(psycopg.OperationalError):
            saver.get_tuple(_config("t1"))


# --- No saver-wide lock on a pool ---------------------------------------------------------


def _hold_thread_row(postgres_url: str, schema: str, thread: str) -> psycopg.Connection[Any]:
    """An open transaction that inserted ``thread``'s expiry row: a put to it must wait."""
    blocker = psycopg.connect(postgres_url)
    blocker.execute(
        f"INSERT INTO \"{schema}\".durastate_threads VALUES (%s, now() + interval '1 hour')",
        (thread,),
    )
    return blocker


def test_a_pooled_saver_runs_a_graph_while_another_one_waits(
    postgres_url: str, schemas: Schemas
) -> None:
    """Graph A's first put waits on a row lock; graph B still runs to the end meanwhile."""
    schema = schemas.new()
    with PostgresSaver.from_conn_string(
        postgres_url, schema=schema, ttl={"default_ttl": 60}, pool_config={"max_size": 4}
    ) as saver:
        saver.setup()
        graph = _counter_graph().compile(checkpointer=saver)
        blocker = _hold_thread_row(postgres_url, schema, "A")
        try:
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                a = pool.submit(graph.invoke, {"n": 0, "log": []}, _config("A"))
                b = pool.submit(graph.invoke, {"n": 0, "log": []}, _config("B"))
                assert b.result(timeout=20)["n"] == 3
                assert not a.done()
                blocker.rollback()
                assert a.result(timeout=20)["n"] == 3
        finally:
            blocker.close()
        assert graph.get_state(_config("A")).values["n"] == 3


async def test_an_async_pooled_saver_runs_a_graph_while_another_one_waits(
    postgres_url: str, schemas: Schemas
) -> None:
    schema = schemas.new()
    async with AsyncConnectionPool(
        postgres_url, min_size=2, max_size=4, kwargs={"autocommit": True}
    ) as pool:
        saver = AsyncPostgresSaver(pool, schema=schema, ttl={"default_ttl": 60})
        await saver.setup()
        graph = _counter_graph().compile(checkpointer=saver)
        blocker = await asyncio.to_thread(_hold_thread_row, postgres_url, schema, "A")
        try:
            a = asyncio.create_task(graph.ainvoke({"n": 0, "log": []}, _config("A")))
            b = await asyncio.wait_for(graph.ainvoke({"n": 0, "log": []}, _config("B")), 20)
            assert b["n"] == 3
            assert not a.done()
            await asyncio.to_thread(blocker.rollback)
            assert (await asyncio.wait_for(a, 20))["n"] == 3
        finally:
            await asyncio.to_thread(blocker.close)


async def test_fifty_async_runs_have_their_saver_calls_in_flight_at_once(
    postgres_url: str, schemas: Schemas
) -> None:
    """50 concurrent graph runs through one ``AsyncPostgresSaver`` on a pool: while an
    open transaction holds their threads' rows, all 50 first ``put`` calls wait inside the
    server at the same time (a saver-wide lock would let one through at a time)."""
    schema = schemas.new()
    name = f"durastate-test-{schema}"
    threads = [f"run-{i}" for i in range(50)]
    pool = {"min_size": 50, "max_size": 50, "kwargs": {"application_name": name}}
    async with AsyncPostgresSaver.from_conn_string(
        postgres_url, schema=schema, ttl={"default_ttl": 60}, pool_config=pool
    ) as saver:
        await saver.setup()
        graph = _counter_graph().compile(checkpointer=saver)
        with (
            psycopg.connect(postgres_url) as blocker,
            psycopg.connect(postgres_url, autocommit=True) as watcher,
        ):
            blocker.execute(
                f'INSERT INTO "{schema}".durastate_threads '
                "SELECT t, now() + interval '1 hour' FROM unnest(%s::text[]) AS t",
                (threads,),
            )
            runs = [
                asyncio.create_task(graph.ainvoke({"n": 0, "log": []}, _config(t))) for t in threads
            ]
            waiting = 0
            for _ in range(400):
                (waiting,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = %s AND wait_event_type = 'Lock'",
                    (name,),
                ).fetchone() or (0,)
                if waiting == 50:
                    break
                await asyncio.sleep(0.05)
            assert waiting == 50
            blocker.rollback()
            results = await asyncio.wait_for(asyncio.gather(*runs), 30)
        assert [r["n"] for r in results] == [3] * 50
        assert len(await asyncio.to_thread(lambda: list(saver.list(None)))) == 50 * 5


def test_many_threads_share_one_pooled_saver(postgres_url: str, schemas: Schemas) -> None:
    with PostgresSaver.from_conn_string(
        postgres_url, schema=schemas.new(), pool_config={"max_size": 8}
    ) as saver:
        graph = _counter_graph().compile(checkpointer=saver)
        start = threading.Barrier(8)

        def run(i: int) -> int:
            start.wait(10)
            return int(graph.invoke({"n": 0, "log": []}, _config(f"t{i}"))["n"])

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert list(pool.map(run, range(8))) == [3] * 8
        assert len(list(saver.list(None))) == 8 * 5
