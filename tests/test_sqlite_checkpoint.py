"""SQLite checkpointers: storage per change, one query per page, deltas, retention, TTL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.checkpoint.base import empty_checkpoint
from langgraph.checkpoint.sqlite import SqliteSaver as OfficialSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages

from durastate._engines.sqlite.deltas import MAX_DEPTH
from durastate.checkpoint.memory import InMemorySaver
from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver

STEPS = 200


class Chat(TypedDict):
    messages: Annotated[list[Any], add_messages]
    count: int


def _chat_graph() -> Any:
    def reply(state: Chat) -> dict[str, Any]:
        n = state["count"] + 1
        text = f"reply {n}: " + "the quick brown fox jumps over the lazy dog " * 6
        return {"messages": [AIMessage(content=text, id=f"m{n}")], "count": n}

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    builder.add_conditional_edges("reply", lambda s: END if s["count"] >= STEPS else "reply")
    return builder


def _file_bytes(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def _run_chat(saver: Any) -> Any:
    graph = _chat_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "chat"}, "recursion_limit": STEPS + 10}
    graph.invoke({"messages": [HumanMessage(content="hi", id="h")], "count": 0}, cfg)
    return graph, cfg


def test_a_growing_message_list_takes_a_fraction_of_full_state_storage(tmp_path: Path) -> None:
    """200 supersteps appending to a message list: storage grows with what changed."""
    ours_path, official_path = tmp_path / "ours.db", tmp_path / "official.db"
    with SqliteSaver.from_conn_string(str(ours_path)) as saver:
        graph, cfg = _run_chat(saver)
        history = [s.values for s in graph.get_state_history(cfg)]
    with OfficialSaver.from_conn_string(str(official_path)) as official:
        graph, cfg = _run_chat(official)
        official_history = [s.values for s in graph.get_state_history(cfg)]
    assert history == official_history  # every step reads back exactly
    assert len(history[0]["messages"]) == STEPS + 1
    ours, full = _file_bytes(ours_path), _file_bytes(official_path)
    ratio = full / ours
    print(f"\n{STEPS} steps: {ours / 1e6:.2f} MB vs {full / 1e6:.2f} MB full-state ({ratio:.1f}x)")
    assert ratio >= 3, f"expected at most a third of full-state storage, got 1/{ratio:.1f}"


def _put_chain(saver: Any, thread: str, count: int, ns: str = "", width: int = 40) -> list[Any]:
    """``count`` checkpoints whose list channel grows by one item each, with writes."""
    cfg: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ns}}
    version: Any = None
    stored = []
    items: list[str] = []
    for step in range(count):
        items.append(f"item {step} " + "x" * width)
        version = saver.get_next_version(version, None)
        cp = empty_checkpoint()
        cp["channel_values"] = {"items": list(items), "fixed": "same"}
        cp["channel_versions"] = {"items": version, "fixed": "1"}
        new = {"items": version, "fixed": "1"} if step == 0 else {"items": version}
        cfg = saver.put(cfg, cp, {"source": "loop", "step": step, "run_id": f"run{step % 3}"}, new)
        saver.put_writes(cfg, [("items", step), ("other", "w")], f"task{step}")
        stored.append(cfg)
    return stored


@pytest.fixture
def saver(tmp_path: Path) -> Iterator[SqliteSaver]:
    with SqliteSaver.from_conn_string(str(tmp_path / "cp.db")) as s:
        yield s


def _statements(conn: sqlite3.Connection) -> list[str]:
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    return seen


def test_list_runs_one_query_per_page_with_writes_included(saver: SqliteSaver) -> None:
    _put_chain(saver, "t", 250)
    seen = _statements(saver.conn)
    everything = list(saver.list({"configurable": {"thread_id": "t"}}))
    assert len(everything) == 250
    assert all(len(t.pending_writes or []) == 2 for t in everything)
    assert len(seen) == 3, seen  # pages of 100, 100 and 50
    seen.clear()
    root = list(saver.list({"configurable": {"thread_id": "t", "checkpoint_ns": ""}}))
    assert [t.metadata["step"] for t in root] == list(range(249, -1, -1))
    assert len(seen) == 3
    seen.clear()
    assert len(list(saver.list({"configurable": {"thread_id": "t"}}, limit=10))) == 10
    assert len(seen) == 1
    seen.clear()
    assert saver.get_tuple({"configurable": {"thread_id": "t"}}) is not None
    assert len(seen) == 1
    saver.conn.set_trace_callback(None)


async def test_async_list_runs_one_query_per_page(tmp_path: Path) -> None:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "a.db")) as saver:
        await asyncio.to_thread(_put_chain, saver, "t", 120)
        seen: list[str] = []
        assert saver.conn is not None
        await saver.conn.set_trace_callback(seen.append)
        found = [t async for t in saver.alist({"configurable": {"thread_id": "t"}})]
        assert len(found) == 120 and len(seen) == 2
        assert found[0].pending_writes == [("task119", "items", 119), ("task119", "other", "w")]
        await saver.conn.set_trace_callback(None)


def test_every_version_reads_back_through_its_delta_chain(saver: SqliteSaver) -> None:
    stored = _put_chain(saver, "t", 3 * MAX_DEPTH + 5)
    for step, cfg in enumerate(stored):
        values = saver.get_tuple(cfg).checkpoint["channel_values"]  # type: ignore[union-attr]
        assert values["items"] == [f"item {i} " + "x" * 40 for i in range(step + 1)]
        assert values["fixed"] == "same"
    depths = [d for (d,) in saver.conn.execute("SELECT depth FROM durastate_checkpoint_blobs")]
    assert max(depths) == MAX_DEPTH and depths.count(0) >= 3


def test_a_delta_whose_base_another_connection_deleted_is_stored_in_full(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "two.db")
    with SqliteSaver(path) as writer, SqliteSaver(path) as other:
        _put_chain(writer, "t", 5)
        other.delete_thread("t")
        stored = _put_chain(writer, "t", 5)  # its remembered bases are gone now
        values = other.get_tuple(stored[-1]).checkpoint["channel_values"]  # type: ignore[union-attr]
        assert len(values["items"]) == 5


def test_reusing_a_version_with_a_new_value_keeps_later_values_intact(saver: SqliteSaver) -> None:
    """Values built on a replaced one are rebuilt first, so nothing reads back damaged."""
    stored = _put_chain(saver, "t", 4, width=400)
    first_version = saver.get_tuple(stored[0]).checkpoint["channel_versions"]["items"]  # type: ignore[union-attr]
    cp = empty_checkpoint()
    cp["channel_values"] = {"items": ["replaced" * 100]}
    cp["channel_versions"] = {"items": first_version}
    cfg: Any = {"configurable": {"thread_id": "t", "checkpoint_ns": ""}}
    saver.put(cfg, cp, {"step": 99}, {"items": first_version})
    assert saver.get_tuple(stored[0]).checkpoint["channel_values"]["items"] == ["replaced" * 100]  # type: ignore[union-attr]
    later = saver.get_tuple(stored[3]).checkpoint["channel_values"]["items"]  # type: ignore[union-attr]
    assert later == [f"item {i} " + "x" * 400 for i in range(4)]


def test_copied_threads_survive_deleting_their_source(saver: SqliteSaver) -> None:
    _put_chain(saver, "src", 20)
    _put_chain(saver, "src", 3, ns="child")
    saver.copy_thread("src", "dst")
    saver.delete_thread("src")
    assert list(saver.list({"configurable": {"thread_id": "src"}})) == []
    copied = list(saver.list({"configurable": {"thread_id": "dst"}}))
    assert len(copied) == 23
    latest = saver.get_tuple({"configurable": {"thread_id": "dst", "checkpoint_ns": ""}})
    assert latest is not None and len(latest.checkpoint["channel_values"]["items"]) == 20
    assert latest.pending_writes == [("task19", "items", 19), ("task19", "other", "w")]


def test_copying_onto_a_thread_with_clashing_versions_takes_the_sources_values(
    saver: SqliteSaver,
) -> None:
    def put(thread: str, value: str) -> Any:
        cp = empty_checkpoint()
        cp["channel_values"] = {"v": value * 400}
        cp["channel_versions"] = {"v": "1"}
        cfg: Any = {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}
        return saver.put(cfg, cp, {"step": 0}, {"v": "1"})

    put("a", "A")
    target = put("b", "B")
    saver.copy_thread("a", "b")
    assert saver.get_tuple(target).checkpoint["channel_values"]["v"] == "A" * 400  # type: ignore[union-attr]


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def test_prune_keeps_the_latest_and_gives_space_back(tmp_path: Path) -> None:
    path = tmp_path / "prune.db"
    with SqliteSaver.from_conn_string(str(path)) as saver:
        _put_chain(saver, "t", 120, width=400)
        _put_chain(saver, "t", 10, ns="sub", width=400)
        _put_chain(saver, "other", 5)
        before = _file_bytes(path)
        saver.prune(["t"], keep=2)
        kept = list(saver.list({"configurable": {"thread_id": "t"}}))
        assert [(t.config["configurable"]["checkpoint_ns"], t.metadata["step"]) for t in kept] == [
            ("sub", 9),
            ("sub", 8),
            ("", 119),
            ("", 118),
        ]
        latest = saver.get_tuple({"configurable": {"thread_id": "t", "checkpoint_ns": ""}})
        assert latest is not None and len(latest.checkpoint["channel_values"]["items"]) == 120
        assert latest.pending_writes == [("task119", "items", 119), ("task119", "other", "w")]
        assert len(list(saver.list({"configurable": {"thread_id": "other"}}))) == 5
        conn = saver.conn
        assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0
        assert _count(conn, "durastate_checkpoint_writes") == 2 * 4 + 2 * 5
        compact = tmp_path / "compact.db"
        conn.execute("VACUUM INTO ?", (str(compact),))
    after, minimal = _file_bytes(path), compact.stat().st_size
    print(f"\nprune: {before} -> {after} bytes (a fresh copy of what is left: {minimal})")
    assert after < before / 2
    assert after <= minimal * 1.5
    with SqliteSaver.from_conn_string(str(path)) as saver:
        saver.delete_thread("t")
        saver.prune(["other"], strategy="delete")
        assert _count(saver.conn, "durastate_checkpoint_blobs") == 0
        assert saver.conn.execute("PRAGMA freelist_count").fetchone()[0] == 0


def test_delete_for_runs_removes_their_checkpoints_and_writes(saver: SqliteSaver) -> None:
    _put_chain(saver, "t", 9)
    saver.delete_for_runs(["run1"])
    left = list(saver.list({"configurable": {"thread_id": "t"}}))
    assert sorted(t.metadata["step"] for t in left) == [0, 2, 3, 5, 6, 8]
    for tup in left:
        step = tup.metadata["step"]
        assert len(tup.checkpoint["channel_values"]["items"]) == step + 1
    saver.delete_for_runs(["run0", "run2"])
    assert _count(saver.conn, "durastate_checkpoint_blobs") == 0
    assert _count(saver.conn, "durastate_checkpoint_writes") == 0


def test_retention_matches_the_in_memory_reference(saver: SqliteSaver) -> None:
    """The same sequence of puts and retention calls leaves the same history."""
    reference = InMemorySaver()
    for target in (saver, reference):
        _put_chain(target, "a", 30)
        _put_chain(target, "a", 6, ns="n1")
        _put_chain(target, "b", 7)
        target.copy_thread("a", "c")
        target.prune(["a"], keep=3)
        target.delete_for_runs(["run2"])
        _put_chain(target, "c", 4, ns="n2")
        target.prune(["c"], keep=5)

    def view(s: Any) -> list[Any]:
        return [
            (
                t.config["configurable"]["thread_id"],
                t.config["configurable"]["checkpoint_ns"],
                t.checkpoint["channel_values"],
                t.metadata,
                t.pending_writes,
                t.parent_config is None,
            )
            for t in s.list(None)
        ]

    assert view(saver) == view(reference)


class _Clock:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = time.time()
        monkeypatch.setattr(time, "time", lambda: self.now)


def test_expired_threads_are_never_returned_and_are_swept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    ttl: Any = {"default_ttl": 1.0, "refresh_on_read": True}
    with SqliteSaver.from_conn_string(str(tmp_path / "ttl.db"), ttl=ttl) as saver:
        _put_chain(saver, "old", 3)
        _put_chain(saver, "read", 3)
        clock.now += 45
        assert saver.get_tuple({"configurable": {"thread_id": "read"}}) is not None  # refresh
        clock.now += 45
        assert saver.get_tuple({"configurable": {"thread_id": "old"}}) is None
        assert list(saver.list({"configurable": {"thread_id": "old"}})) == []
        assert [t.config["configurable"]["thread_id"] for t in saver.list(None)] == ["read"] * 3
        assert saver.sweep_ttl() == 1
        assert _count(saver.conn, "durastate_checkpoints") == 3
        clock.now += 61
        _put_chain(saver, "read", 1)  # writing into an expired thread starts it afresh
        assert len(list(saver.list({"configurable": {"thread_id": "read"}}))) == 1


def test_the_sweeper_thread_deletes_expired_threads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    ttl: Any = {"default_ttl": 1.0}
    with SqliteSaver.from_conn_string(str(tmp_path / "sw.db"), ttl=ttl) as saver:
        _put_chain(saver, "t", 2)
        clock.now += 120
        saver.start_ttl_sweeper(sweep_interval_minutes=0.0005)
        deadline = time.monotonic() + 20
        while _count(saver.conn, "durastate_threads") and time.monotonic() < deadline:
            threading.Event().wait(0.02)
        assert saver.stop_ttl_sweeper(timeout=5)
        assert _count(saver.conn, "durastate_checkpoints") == 0


async def test_async_sweeper_task_and_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _Clock(monkeypatch)
    ttl: Any = {"default_ttl": 1.0}
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "asw.db"), ttl=ttl) as saver:
        await asyncio.to_thread(_put_chain, saver, "t", 4)
        await saver.aprune(["t"], keep=1)
        assert len([t async for t in saver.alist(None)]) == 1
        clock.now += 120
        await saver.start_ttl_sweeper(sweep_interval_minutes=0.0005)
        for _ in range(1000):
            if not [t async for t in saver.alist(None)] and await saver.asweep_ttl() == 0:
                break
            await asyncio.sleep(0.01)
        assert await saver.stop_ttl_sweeper(timeout=5)
        assert [t async for t in saver.alist(None)] == []


async def test_a_paused_async_list_does_not_hold_the_connection(tmp_path: Path) -> None:
    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "p.db")) as saver:
        await asyncio.to_thread(_put_chain, saver, "t", 130)
        listing = saver.alist({"configurable": {"thread_id": "t"}})
        first = await listing.__anext__()
        # While the consumer is paused, the same saver serves writes and reads.
        cp = empty_checkpoint()
        cfg: Any = {"configurable": {"thread_id": "u", "checkpoint_ns": ""}}
        await asyncio.wait_for(saver.aput(cfg, cp, {"step": 0}, {}), timeout=30)
        assert await asyncio.wait_for(saver.aget_tuple(cfg), timeout=30) is not None
        rest = [t async for t in listing]
        assert len(rest) == 129 and first.metadata["step"] == 129


def test_a_paused_list_does_not_block_other_threads(saver: SqliteSaver) -> None:
    _put_chain(saver, "t", 130)
    listing = saver.list({"configurable": {"thread_id": "t"}})
    next(listing)
    done = threading.Event()

    def write() -> None:
        _put_chain(saver, "u", 1)
        done.set()

    worker = threading.Thread(target=write)
    worker.start()
    worker.join(timeout=30)
    assert done.is_set()
    assert len(list(listing)) == 129


def test_list_filters_by_metadata_with_json_semantics(saver: SqliteSaver) -> None:
    cfg: Any = {"configurable": {"thread_id": "f", "checkpoint_ns": ""}}
    metas = [
        {"n": 1},
        {"n": 1.0},
        {"n": True},
        {"n": "1"},
        {"n": None},
        {"n": [1, {"a": 2}]},
        {"n": {"a": [1]}},
        {"other": 1},
        {"n": 2**62},
    ]
    for meta in metas:
        saver.put(cfg, empty_checkpoint(), meta, {})  # type: ignore[arg-type]
    reference = InMemorySaver()
    for meta in metas:
        reference.put(cfg, empty_checkpoint(), meta, {})  # type: ignore[arg-type]
    for wanted in (1, True, "1", None, [1, {"a": 2}], {"a": [1]}, 2**62, 2**70, 2, [1]):
        ours = [t.metadata for t in saver.list(None, filter={"n": wanted})]
        theirs = [t.metadata for t in reference.list(None, filter={"n": wanted})]
        assert ours == theirs, wanted
    assert len(list(saver.list(None, filter={"n": 1}))) == 2


def _extend(state: list[str], batches: Any) -> list[str]:
    out = list(state or [])
    for batch in batches:
        out.extend(batch if isinstance(batch, list) else [batch])
    return out


class Log(TypedDict):
    log: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=4)]
    n: int


def _delta_graph() -> Any:
    def step(state: Log) -> dict[str, Any]:
        return {"log": [f"entry {state['n']}" + "." * 50], "n": state["n"] + 1}

    builder = StateGraph(Log)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= 15 else "step")
    return builder


def test_delta_channel_history_matches_the_generic_walk(saver: SqliteSaver) -> None:
    from langgraph.checkpoint.base import BaseCheckpointSaver

    graph = _delta_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "delta"}}
    graph.invoke({"log": [], "n": 0}, cfg)
    assert len(graph.get_state(cfg).values["log"]) == 15
    for tup in saver.list(cfg):
        ours = saver.get_delta_channel_history(config=tup.config, channels=["log", "n"])
        generic = BaseCheckpointSaver.get_delta_channel_history(
            saver, config=tup.config, channels=["log", "n"]
        )
        assert ours == generic
    seen = _statements(saver.conn)
    saver.get_delta_channel_history(config=cfg, channels=["log"])
    saver.conn.set_trace_callback(None)
    assert len([s for s in seen if s.lstrip().startswith(("SELECT", "WITH"))]) <= 3
    assert saver.get_delta_channel_history(config=cfg, channels=[]) == {}
    missing = {"configurable": {"thread_id": "none"}}
    assert saver.get_delta_channel_history(config=missing, channels=["log"]) == {
        "log": {"writes": []}
    }


async def test_async_delta_channel_graph_resumes(tmp_path: Path) -> None:
    from langgraph.checkpoint.memory import InMemorySaver as LangGraphMemory

    async with AsyncSqliteSaver.from_conn_string(str(tmp_path / "d.db")) as saver:
        graph = _delta_graph().compile(checkpointer=saver)
        cfg: Any = {"configurable": {"thread_id": "d"}}
        await graph.ainvoke({"log": [], "n": 0}, cfg)
        ours = [s.values async for s in graph.aget_state_history(cfg)]
    reference = _delta_graph().compile(checkpointer=LangGraphMemory())
    reference.invoke({"log": [], "n": 0}, cfg)
    assert ours == [s.values for s in reference.get_state_history(cfg)]
