"""A populated dataset for the data-command tests: interrupted graphs, subgraphs, a store."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.store.base import BaseStore
from langgraph.types import Command, interrupt

from durastate.demo.embedder import HashingEmbeddings

DIMS = 16


def index_config() -> dict[str, Any]:
    return {"dims": DIMS, "embed": HashingEmbeddings(DIMS), "fields": ["text"]}


class State(TypedDict):
    items: Annotated[list[str], operator.add]


def graph(
    saver: BaseCheckpointSaver[Any], store: BaseStore | None = None
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """draft -> child subgraph (interrupts for approval) -> publish."""

    def draft(state: State) -> dict[str, Any]:
        return {"items": ["draft"]}

    def review(state: State) -> dict[str, Any]:
        answer = interrupt({"question": "approve?", "items": state["items"]})
        return {"items": [f"review:{answer}"]}

    def publish(state: State) -> dict[str, Any]:
        return {"items": ["published"]}

    inner = StateGraph(State)
    inner.add_node("prepare", lambda s: {"items": ["prepared"]})
    inner.add_node("review", review)
    inner.add_edge(START, "prepare")
    inner.add_edge("prepare", "review")
    outer = StateGraph(State)
    outer.add_node("draft", draft)
    outer.add_node("child", inner.compile())
    outer.add_node("publish", publish)
    outer.add_edge(START, "draft")
    outer.add_edge("draft", "child")
    outer.add_edge("child", "publish")
    outer.add_edge("publish", END)
    return outer.compile(checkpointer=saver, store=store)


def config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def populate(saver: BaseCheckpointSaver[Any], store: BaseStore | None, prefix: str = "") -> None:
    """Thread 'waiting' stops at the interrupt; 'done' ran to the end and was forked."""
    g = graph(saver)
    g.invoke({"items": ["start"]}, config(f"{prefix}waiting"))
    g.invoke({"items": ["start"]}, config(f"{prefix}done"))
    g.invoke(Command(resume="yes"), config(f"{prefix}done"))
    history = list(g.get_state_history(config(f"{prefix}done")))
    g.update_state(history[2].config, {"items": ["forked"]})
    if store is not None:
        store.put(("users", "alice"), "pref", {"text": "likes trains to Lisbon"})
        store.put(("users", "alice"), "temp", {"text": "short lived"}, ttl=60)
        store.put(("users", "bob"), "pref", {"text": "museum opening hours", "n": 3})
        store.put(("docs",), "readme", {"text": "durastate moves data"}, index=False)


def history(saver: BaseCheckpointSaver[Any], thread_id: str) -> list[tuple[Any, ...]]:
    """Every snapshot of a thread: id, parent id, values, next, tasks' interrupts, metadata."""
    return [
        (
            s.config["configurable"]["checkpoint_id"],
            (s.parent_config or {}).get("configurable", {}).get("checkpoint_id"),
            s.values,
            s.next,
            [tuple(i.value for i in t.interrupts) for t in s.tasks],
            s.metadata,
        )
        for s in graph(saver).get_state_history(config(thread_id))
    ]


def search_results(store: BaseStore) -> list[tuple[Any, ...]]:
    hits = store.search(("users",), query="trains to Lisbon", limit=10)
    plain = store.search((), limit=10)
    return [(h.namespace, h.key, h.value, h.created_at, h.updated_at, h.score) for h in hits] + [
        (h.namespace, h.key, h.value, h.created_at, h.updated_at) for h in plain
    ]


EMBEDDED: list[str] = []
"""Texts ``embed8`` was asked to embed (for tests of `--embed`)."""


def embed8(texts: list[str]) -> list[list[float]]:
    """An 8-dimensional embedder, named on the command line as migrate_support:embed8."""
    EMBEDDED.extend(texts)
    return HashingEmbeddings(8).embed_documents(texts)
