"""Opening SQLite backends: paths, URLs, memory, connections, and LangGraph's constructors."""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
import threading
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from langgraph.cache.sqlite import SqliteCache as OfficialCache
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver as OfficialSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver as OfficialAsyncSaver
from langgraph.store.sqlite import AsyncSqliteStore as OfficialAsyncStore
from langgraph.store.sqlite import SqliteStore as OfficialStore

from durastate._engines.sqlite.targets import parse_target
from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver
from durastate.checkpoint.sqlite.aio import AsyncSqliteSaver as AioSaver
from durastate.errors import InvalidInputError
from durastate.store.sqlite import AsyncSqliteStore, SqliteStore
from durastate.store.sqlite.aio import AsyncSqliteStore as AioStore


def _put(saver: Any, thread: str = "t") -> Any:
    cp = empty_checkpoint()
    cp["channel_values"] = {"x": [1, 2]}
    cp["channel_versions"] = {"x": "1"}
    cfg: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
    return saver.put(cfg, cp, {"source": "input", "step": 0}, {"x": "1"})


def _latest(saver: Any, thread: str = "t") -> Any:
    tup = saver.get_tuple({"configurable": {"thread_id": thread}})
    return None if tup is None else tup.checkpoint["channel_values"]


@pytest.mark.parametrize(
    ("spec", "database", "uri"),
    [
        (":memory:", ":memory:", False),
        ("sqlite://", ":memory:", False),
        ("sqlite:///:memory:", ":memory:", False),
        ("sqlite:///rel/app.db", "rel/app.db", False),
        ("sqlite:////abs/app.db", "/abs/app.db", False),
        ("sqlite:///app.db?mode=ro", "file:app.db?mode=ro", True),
        ("file:x.db?mode=rwc", "file:x.db?mode=rwc", True),
        ("plain.db", "plain.db", False),
        (Path("/p/q.db"), "/p/q.db", False),
    ],
)
def test_targets_accept_paths_urls_and_memory(spec: Any, database: str, uri: bool) -> None:
    target = parse_target(spec)
    assert (target.database, target.uri) == (database, uri)


@pytest.mark.parametrize("spec", ["sqlite://host/app.db", "", "sqlite:///", "a\x00b", 42])
def test_bad_targets_are_refused_clearly(spec: Any) -> None:
    with pytest.raises(InvalidInputError):
        parse_target(spec)


def test_a_path_a_url_and_memory_all_work(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        _put(saver)
    with SqliteSaver.from_conn_string(f"sqlite:///{path}") as saver:
        assert _latest(saver) == {"x": [1, 2]}
    with SqliteSaver(path) as saver:
        assert _latest(saver) == {"x": [1, 2]}
    with SqliteSaver(":memory:") as saver:
        assert _latest(saver) is None
        _put(saver)
        assert _latest(saver) == {"x": [1, 2]}


def test_a_callers_connection_is_shared_and_left_open(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "c.db", check_same_thread=False)
    saver = SqliteSaver(conn)
    store = SqliteStore(conn)
    cache: SqliteCache[Any] = SqliteCache(conn)
    assert saver.lock is store.lock  # one lock: their transactions never interleave
    _put(saver)
    store.put(("a",), "k", {"v": 1})
    cache.set({(("a",), "k"): (1, None)})
    saver.close()
    store.close()
    cache.close()
    assert conn.execute("SELECT COUNT(*) FROM durastate_store").fetchone() == (1,)
    conn.close()


def test_an_owned_connection_is_closed(tmp_path: Path) -> None:
    saver = SqliteSaver(tmp_path / "o.db")
    _put(saver)
    saver.close()
    with pytest.raises(RuntimeError, match="closed"):
        _latest(saver)


def test_legacy_isolation_connection_commits_its_writes(tmp_path: Path) -> None:
    """LangGraph's documented ``sqlite3.connect(path, check_same_thread=False)`` still works."""
    path = tmp_path / "legacy.db"
    conn = sqlite3.connect(path, check_same_thread=False)
    assert conn.isolation_level == ""
    saver = SqliteSaver(conn)
    _put(saver)
    assert not conn.in_transaction
    with sqlite3.connect(path) as other:
        assert other.execute("SELECT COUNT(*) FROM durastate_checkpoints").fetchone() == (1,)
    conn.close()


def test_writes_join_the_callers_open_transaction(tmp_path: Path) -> None:
    path = tmp_path / "tx.db"
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    saver = SqliteSaver(conn)
    saver.setup()
    conn.execute("BEGIN")
    _put(saver)
    assert conn.in_transaction
    conn.execute("ROLLBACK")
    assert _latest(saver) is None


def test_wrong_connection_types_are_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="aiosqlite"):
        AsyncSqliteSaver(sqlite3.connect(":memory:"))

    async def make() -> None:
        async with aiosqlite.connect(":memory:") as conn:
            with pytest.raises(InvalidInputError, match="Async"):
                SqliteSaver(conn)  # type: ignore[arg-type]

    asyncio.run(make())


async def test_async_classes_take_an_aiosqlite_connection_or_a_path(tmp_path: Path) -> None:
    path = tmp_path / "aio.db"
    async with aiosqlite.connect(path) as conn:
        saver = AsyncSqliteSaver(conn)
        store = AsyncSqliteStore(conn)
        cp = empty_checkpoint()
        cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
        await saver.aput(cfg, cp, {"step": 0}, {})
        await store.aput(("a",), "k", {"v": 1})
        await saver.aclose()
        assert (await (await conn.execute("SELECT COUNT(*) FROM durastate_store")).fetchone()) == (
            1,
        )
    async with AsyncSqliteSaver.from_conn_string(f"sqlite:///{path}") as saver:
        assert (await saver.aget_tuple(cfg)) is not None
    async with AsyncSqliteStore.from_conn_string(str(path)) as store:
        item = await store.aget(("a",), "k")
        assert item is not None and item.value == {"v": 1}


async def test_an_unstarted_aiosqlite_connection_is_started(tmp_path: Path) -> None:
    conn = aiosqlite.connect(tmp_path / "lazy.db")
    saver = AsyncSqliteSaver(conn)
    assert (await saver.aget_tuple({"configurable": {"thread_id": "t"}})) is None
    await conn.close()


def test_sync_classes_offer_async_methods(tmp_path: Path) -> None:
    async def main() -> None:
        with SqliteSaver(tmp_path / "s.db") as saver, SqliteStore(tmp_path / "s.db") as store:
            cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
            stored = await saver.aput(cfg, empty_checkpoint(), {"step": 1}, {})
            await saver.aput_writes(stored, [("c", 1)], "task")
            assert [t.metadata["step"] async for t in saver.alist(cfg)] == [1]
            await store.aput(("n",), "k", {"v": 2})
            assert [i.key for i in await store.asearch(("n",))] == ["k"]
            cache: SqliteCache[Any] = SqliteCache(path=str(tmp_path / "s.db"))
            await cache.aset({(("n",), "k"): (3, None)})
            assert await cache.aget([(("n",), "k")]) == {(("n",), "k"): 3}

    asyncio.run(main())


def test_async_classes_offer_sync_methods_from_other_threads(tmp_path: Path) -> None:
    results: dict[str, Any] = {}

    async def main() -> None:
        async with (
            AsyncSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as saver,
            AsyncSqliteStore.from_conn_string(str(tmp_path / "a.db")) as store,
        ):

            def worker() -> None:
                _put(saver)
                results["latest"] = _latest(saver)
                results["history"] = len(list(saver.list(None)))
                store.put(("n",), "k", {"v": 1})
                item = store.get(("n",), "k")
                results["item"] = None if item is None else item.value

            thread = threading.Thread(target=worker)
            thread.start()
            await asyncio.to_thread(thread.join)
            with pytest.raises(asyncio.InvalidStateError):
                saver.get_tuple({"configurable": {"thread_id": "t"}})

    asyncio.run(main())
    assert results == {"latest": {"x": [1, 2]}, "history": 1, "item": {"v": 1}}


def _parameters(fn: Any) -> dict[str, inspect.Parameter]:
    return dict(inspect.signature(fn).parameters)


@pytest.mark.parametrize(
    ("ours", "official"),
    [
        (SqliteSaver.__init__, OfficialSaver.__init__),
        (SqliteSaver.from_conn_string, OfficialSaver.from_conn_string),
        (AsyncSqliteSaver.__init__, OfficialAsyncSaver.__init__),
        (AsyncSqliteSaver.from_conn_string, OfficialAsyncSaver.from_conn_string),
        (SqliteStore.__init__, OfficialStore.__init__),
        (SqliteStore.from_conn_string, OfficialStore.from_conn_string),
        (AsyncSqliteStore.__init__, OfficialAsyncStore.__init__),
        (AsyncSqliteStore.from_conn_string, OfficialAsyncStore.from_conn_string),
        (SqliteCache.__init__, OfficialCache.__init__),
    ],
)
def test_constructors_take_every_argument_of_langgraphs(ours: Any, official: Any) -> None:
    mine = _parameters(ours)
    for name, param in _parameters(official).items():
        assert name in mine, f"{ours.__qualname__} lacks {name!r}"
        if param.kind is inspect.Parameter.KEYWORD_ONLY:
            assert mine[name].kind in (param.kind, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        elif param.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            assert mine[name].kind is param.kind


def test_import_paths_match_langgraphs() -> None:
    assert AioSaver is AsyncSqliteSaver
    assert AioStore is AsyncSqliteStore
    from durastate.cache import SqliteCache as LazyCache
    from durastate.checkpoint import AsyncSqliteSaver as LazyAsync
    from durastate.checkpoint import SqliteSaver as LazySaver
    from durastate.store import SqliteStore as LazyStore

    assert (LazySaver, LazyAsync, LazyStore, LazyCache) == (
        SqliteSaver,
        AsyncSqliteSaver,
        SqliteStore,
        SqliteCache,
    )


def test_a_graph_compiles_and_resumes_with_each_part(tmp_path: Path) -> None:
    from typing import TypedDict

    from langgraph.graph import START, StateGraph

    class State(TypedDict):
        n: int

    builder = StateGraph(State)
    builder.add_node("inc", lambda s: {"n": s["n"] + 1})
    builder.add_edge(START, "inc")
    path = str(tmp_path / "g.db")
    cfg: Any = {"configurable": {"thread_id": "g"}}
    with (
        SqliteSaver.from_conn_string(path) as saver,
        SqliteStore.from_conn_string(path) as store,
    ):
        graph = builder.compile(checkpointer=saver, store=store, cache=SqliteCache(path=path))
        assert graph.invoke({"n": 1}, cfg) == {"n": 2}
    with SqliteSaver.from_conn_string(path) as saver:
        graph = builder.compile(checkpointer=saver)
        assert graph.get_state(cfg).values == {"n": 2}
        assert len(list(graph.get_state_history(cfg))) == 3
