"""Deterministic inputs: the agent-like graph, recorded saver traffic, store and cache data."""

from __future__ import annotations

import copy
import functools
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

import numpy as np
from langchain_core.messages import (
    AIMessage,
    AnyMessage,
    HumanMessage,
    RemoveMessage,
    ToolMessage,
)
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointTuple,
)
from langgraph.checkpoint.base import CheckpointMetadata as Metadata
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph

SUPERSTEPS_PER_INVOKE = 10
MESSAGE_CHARS = 400
HISTORY_WINDOW = 40  # messages kept by the agent of the 500-checkpoint thread
DIMS = 64

_WORDS = (
    "the agent looked up the order status and found that the parcel left the warehouse "
    "yesterday evening customer asked about refund policy weather forecast tool returned "
    "sunny with light wind travel itinerary includes two flights hotel booking confirmed "
    "invoice total amount due next week please summarise the previous conversation"
).split()


@functools.lru_cache(maxsize=100_000)
def text(seed: int, chars: int = MESSAGE_CHARS) -> str:
    """A deterministic English-like text of exactly ``chars`` characters."""
    rng = random.Random(seed)
    out = f"[{seed}] "
    while len(out) < chars:
        out += rng.choice(_WORDS) + " "
    return out[:chars]


class AgentState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    scratch: dict[str, Any]
    counter: int


def _agent(state: AgentState, window: int | None) -> dict[str, Any]:
    n = state["counter"] + 1
    history = state["messages"]
    call = f"call-{len(history)}"
    msg = AIMessage(
        content=text(n * 7919 + len(history)),
        tool_calls=[{"name": "search", "args": {"q": f"step {n}"}, "id": call}],
    )
    out: list[Any] = []
    if window is not None and len(history) >= window:
        out = [RemoveMessage(id=m.id) for m in history[: len(history) - window + 2] if m.id]
    out.append(msg)
    return {"messages": out, "scratch": {"node": "agent", "step": n, "call": call}, "counter": n}


def _tool(state: AgentState) -> dict[str, Any]:
    n = state["counter"] + 1
    call = state["scratch"].get("call", "call")
    msg = ToolMessage(content=text(n * 104729 + len(state["messages"])), tool_call_id=call)
    return {"messages": [msg], "scratch": {"node": "tool", "step": n, "ok": True}, "counter": n}


def _route(state: AgentState) -> str:
    return END if state["counter"] % SUPERSTEPS_PER_INVOKE == 0 else "agent"


def agent_graph(
    checkpointer: BaseCheckpointSaver[Any] | None, window: int | None = None
) -> CompiledStateGraph[Any]:
    """Two nodes looping (agent -> tool -> agent ...) for 10 supersteps per invoke.

    ``window``: the agent keeps only the latest ``window`` messages (RemoveMessage), as
    long-running agents trim their context; None lets the list grow.
    """
    builder = StateGraph(AgentState)
    builder.add_node("agent", functools.partial(_agent, window=window))
    builder.add_node("tool", _tool)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", "tool")
    builder.add_conditional_edges("tool", _route, ["agent", END])
    return builder.compile(checkpointer=checkpointer)


def user_input(thread: int, turn: int) -> dict[str, Any]:
    """One user turn: a ~400-character human message, counter restarting for the loop."""
    return {"messages": [HumanMessage(content=text(thread * 1000 + turn))], "counter": 0}


def thread_config(thread: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread, "checkpoint_ns": ""}}


@dataclass
class Recording:
    """The saver calls a real graph run made, in order, to replay on any saver."""

    ops: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)

    @property
    def puts(self) -> int:
        return sum(1 for kind, _ in self.ops if kind == "put")

    @property
    def writes(self) -> int:
        return sum(1 for kind, _ in self.ops if kind == "put_writes")


class _RecordingSaver(BaseCheckpointSaver[str]):
    """Keeps each thread's latest checkpoint as objects (no serialization) and logs calls.

    LangGraph hands ``put`` a fresh copy of the checkpoint and never mutates channel
    values in place, so shallow copies are exact snapshots.
    """

    def __init__(self, recording: Recording) -> None:
        super().__init__()
        self.recording = recording
        self.latest: dict[str, CheckpointTuple] = {}

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.latest.get(config["configurable"]["thread_id"])

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: Metadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        snapshot: Any = dict(checkpoint)
        snapshot["channel_values"] = dict(checkpoint["channel_values"])
        snapshot["channel_versions"] = dict(checkpoint["channel_versions"])
        snapshot["versions_seen"] = {k: dict(v) for k, v in checkpoint["versions_seen"].items()}
        args = (copy.deepcopy(config), snapshot, copy.deepcopy(metadata), dict(new_versions))
        self.recording.ops.append(("put", args))
        conf = config["configurable"]
        saved: RunnableConfig = {
            "configurable": {
                "thread_id": conf["thread_id"],
                "checkpoint_ns": conf.get("checkpoint_ns", ""),
                "checkpoint_id": checkpoint["id"],
            }
        }
        self.latest[conf["thread_id"]] = CheckpointTuple(saved, snapshot, metadata, config, [])
        return saved

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        args = (copy.deepcopy(config), list(writes), task_id, task_path)
        self.recording.ops.append(("put_writes", args))

    def get_next_version(self, current: str | None, channel: None = None) -> str:
        return _memory_versions.get_next_version(current, channel)


_memory_versions = InMemorySaver()


def record(threads: int, turns: int, prefix: str, window: int | None = None) -> Recording:
    """Run the agent graph on an in-memory saver and keep every put / put_writes."""
    recording = Recording()
    graph = agent_graph(_RecordingSaver(recording), window)
    for t in range(threads):
        tid = f"{prefix}-{t}"
        recording.threads.append(tid)
        for turn in range(turns):
            graph.invoke(user_input(t, turn), thread_config(tid), durability="sync")
    return recording


def truncate(recording: Recording, puts: int) -> Recording:
    """The first ``puts`` checkpoints of a recording with the writes made between them."""
    out = Recording(threads=list(recording.threads))
    seen = 0
    for kind, args in recording.ops:
        if kind == "put":
            if seen == puts:
                break
            seen += 1
        out.ops.append((kind, args))
    return out


@dataclass
class StoreData:
    """Items spread over 50 namespaces with clustered 64-dimension vectors."""

    items: list[tuple[tuple[str, ...], str, dict[str, Any]]]
    vectors: np.ndarray
    queries: list[str]
    query_vectors: np.ndarray
    table: dict[str, list[float]]

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Vectors looked up by text (whole JSON values, as some stores embed, by "text")."""
        return [self.table[t if t in self.table else json.loads(t)["text"]] for t in texts]

    def index(self) -> dict[str, Any]:
        return {"dims": DIMS, "embed": self.embed, "fields": ["text"]}

    @functools.cached_property
    def exact(self) -> list[list[str]]:
        """Per query, keys of the 10 items nearest by cosine similarity (exact search)."""
        out = []
        for q in range(len(self.queries)):
            sims = self.vectors @ self.query_vectors[q]
            best = np.argsort(-sims, kind="stable")[:10]
            out.append([self.items[i][1] for i in best])
        return out


def store_data(n_items: int, n_namespaces: int, n_queries: int) -> StoreData:
    rng = np.random.default_rng(8)
    centers = rng.normal(size=(max(n_items // 100, 1), DIMS))
    labels = rng.integers(0, len(centers), size=n_items)
    vectors = centers[labels] + 0.6 * rng.normal(size=(n_items, DIMS))
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    items: list[tuple[tuple[str, ...], str, dict[str, Any]]] = []
    table: dict[str, list[float]] = {}
    for i in range(n_items):
        body = f"document {i}: {text(i, 80)}"
        ns = ("bench", f"ns{i % n_namespaces:02d}")
        items.append((ns, f"doc{i}", {"text": body, "kind": f"k{i % 5}", "rank": i % 100}))
        table[body] = vectors[i].tolist()
    picks = rng.integers(0, n_items, size=n_queries)
    qv = vectors[picks] + 0.3 * rng.normal(size=(n_queries, DIMS)).astype(np.float32)
    qv = (qv / np.linalg.norm(qv, axis=1, keepdims=True)).astype(np.float32)
    queries = []
    for q in range(n_queries):
        queries.append(f"query {q}")
        table[f"query {q}"] = qv[q].tolist()
    return StoreData(items, vectors, queries, qv, table)


def cache_entries(n: int) -> list[tuple[tuple[tuple[str, ...], str], dict[str, Any]]]:
    """``n`` cache entries of about 1 KB each over 10 namespaces."""
    return [
        ((("bench", f"node{i % 10}"), f"key-{i:06d}"), {"output": text(i, 1000), "n": i})
        for i in range(n)
    ]
