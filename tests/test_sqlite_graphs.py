"""Real LangGraph graphs on the SQLite backends: interrupts, subgraphs, forks, Send, store."""

from __future__ import annotations

import operator
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, Send, interrupt

from durastate.cache.sqlite import SqliteCache
from durastate.checkpoint.sqlite import AsyncSqliteSaver, SqliteSaver
from durastate.store.sqlite import AsyncSqliteStore, SqliteStore


class State(TypedDict):
    items: Annotated[list[str], operator.add]
    approved: bool


def _approval_graph() -> StateGraph[Any]:
    def draft(state: State) -> dict[str, Any]:
        return {"items": ["draft"]}

    def review(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "items": state["items"]})
        return {"items": [f"review:{answer}"], "approved": answer == "yes"}

    def publish(state: State) -> dict[str, Any]:
        return {"items": ["published"]}

    builder = StateGraph(State)
    builder.add_node("draft", draft)
    builder.add_node("review", review)
    builder.add_node("publish", publish)
    builder.add_edge(START, "draft")
    builder.add_edge("draft", "review")
    builder.add_conditional_edges("review", lambda s: "publish" if s["approved"] else END)
    builder.add_edge("publish", END)
    return builder


class Fan(TypedDict):
    topics: list[str]
    results: Annotated[list[str], operator.add]


def _fan_graph() -> StateGraph[Any]:
    def work(payload: dict[str, str]) -> dict[str, Any]:
        return {"results": [payload["topic"].upper()]}

    builder = StateGraph(Fan)
    builder.add_node("work", work)
    builder.add_conditional_edges(
        START, lambda s: [Send("work", {"topic": t}) for t in s["topics"]], ["work"]
    )
    builder.add_edge("work", END)
    return builder


class Outer(TypedDict):
    items: Annotated[list[str], operator.add]


def _nested_graph() -> StateGraph[Any]:
    inner = StateGraph(Outer)
    inner.add_node("step", lambda s: {"items": ["inner"]})
    inner.add_edge(START, "step")
    outer = StateGraph(Outer)
    outer.add_node("child", inner.compile())
    outer.add_node("after", lambda s: {"items": ["outer"]})
    outer.add_edge(START, "child")
    outer.add_edge("child", "after")
    return outer


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "graphs.db")


@pytest.fixture
def saver(path: str) -> Iterator[SqliteSaver]:
    with SqliteSaver.from_conn_string(path) as s:
        yield s


@pytest.fixture
async def async_saver(path: str) -> AsyncIterator[AsyncSqliteSaver]:
    async with AsyncSqliteSaver.from_conn_string(path) as s:
        yield s


def test_interrupt_and_resume_across_reopening(path: str) -> None:
    cfg: Any = {"configurable": {"thread_id": "approve"}}
    with SqliteSaver.from_conn_string(path) as saver:
        graph = _approval_graph().compile(checkpointer=saver)
        first = graph.invoke({"items": [], "approved": False}, cfg)
        assert first["__interrupt__"][0].value["items"] == ["draft"]
        assert graph.get_state(cfg).next == ("review",)
    with SqliteSaver.from_conn_string(path) as saver:  # a new process would do the same
        graph = _approval_graph().compile(checkpointer=saver)
        done = graph.invoke(Command(resume="yes"), cfg)
        assert done["items"] == ["draft", "review:yes", "published"]
        history = list(graph.get_state_history(cfg))
        assert history[0].next == () and len(history) >= 4


async def test_async_interrupt_resume_and_fork(async_saver: AsyncSqliteSaver) -> None:
    graph = _approval_graph().compile(checkpointer=async_saver)
    cfg: Any = {"configurable": {"thread_id": "fork"}}
    await graph.ainvoke({"items": [], "approved": False}, cfg)
    paused = await graph.aget_state(cfg)
    done = await graph.ainvoke(Command(resume="no"), cfg)
    assert done["items"] == ["draft", "review:no"]
    forked = await graph.aupdate_state(paused.config, {"items": ["edited"]})
    again = await graph.ainvoke(Command(resume="yes"), forked)
    assert again["items"] == ["draft", "edited", "review:yes", "published"]
    states = [s async for s in graph.aget_state_history(cfg)]
    assert any(s.values["items"] == ["draft", "review:no"] for s in states)


def test_parallel_sends_keep_every_write(saver: SqliteSaver) -> None:
    graph = _fan_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "fan"}}
    out = graph.invoke({"topics": ["a", "b", "c", "d"], "results": []}, cfg)
    assert sorted(out["results"]) == ["A", "B", "C", "D"]
    assert sorted(graph.get_state(cfg).values["results"]) == ["A", "B", "C", "D"]


def test_subgraph_checkpoints_live_in_their_namespace(saver: SqliteSaver) -> None:
    graph = _nested_graph().compile(checkpointer=saver)
    cfg: Any = {"configurable": {"thread_id": "nested"}}
    assert graph.invoke({"items": []}, cfg)["items"] == ["inner", "outer"]
    spaces = {t.config["configurable"]["checkpoint_ns"] for t in saver.list(cfg)}
    assert "" in spaces and any(ns.startswith("child:") for ns in spaces)
    saver.prune(["nested"], keep=1)
    assert graph.get_state(cfg).values["items"] == ["inner", "outer"]


def test_nodes_use_the_store_and_cache(path: str) -> None:
    from langgraph.types import CachePolicy

    calls: list[str] = []

    def remember(state: Outer, *, store: BaseStore) -> dict[str, Any]:
        calls.append("remember")
        store.put(("memories", "u1"), str(len(state["items"])), {"text": "likes tea"})
        found = store.search(("memories", "u1"), filter={"text": "likes tea"})
        return {"items": [f"{len(found)} memories"]}

    builder = StateGraph(Outer)
    builder.add_node("remember", remember, cache_policy=CachePolicy(ttl=60))
    builder.add_edge(START, "remember")
    with (
        SqliteSaver.from_conn_string(path) as saver,
        SqliteStore.from_conn_string(path) as store,
        SqliteCache.from_conn_string(path) as cache,
    ):
        graph = builder.compile(checkpointer=saver, store=store, cache=cache)
        first = graph.invoke({"items": []}, {"configurable": {"thread_id": "m1"}})
        second = graph.invoke({"items": []}, {"configurable": {"thread_id": "m2"}})
        assert first["items"] == second["items"] == ["1 memories"]
        assert calls == ["remember"]  # the second run came from the cache
        assert store.list_namespaces() == [("memories", "u1")]


async def test_async_store_in_a_graph(path: str) -> None:
    async def remember(state: Outer, *, store: BaseStore) -> dict[str, Any]:
        await store.aput(("m",), "k", {"v": len(state["items"])})
        item = await store.aget(("m",), "k")
        assert item is not None
        return {"items": [str(item.value["v"])]}

    builder = StateGraph(Outer)
    builder.add_node("remember", remember)
    builder.add_edge(START, "remember")
    async with (
        AsyncSqliteSaver.from_conn_string(path) as saver,
        AsyncSqliteStore.from_conn_string(path) as store,
    ):
        graph = builder.compile(checkpointer=saver, store=store)
        out = await graph.ainvoke({"items": ["x"]}, {"configurable": {"thread_id": "a"}})
        assert out["items"] == ["x", "1"]
