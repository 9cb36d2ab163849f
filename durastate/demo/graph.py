"""The demo graph: recall memories, a scripted tool-calling loop with approval, remember."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.cache.base import BaseCache
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.store.base import BaseStore

from durastate.demo.memories import SENT_MEMORY_KEY, USER_ID, memory_namespace
from durastate.demo.model import scripted_reply
from durastate.demo.tools import run_tools


class Recalled(TypedDict):
    key: str
    text: str
    score: float


class DemoState(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    memories: list[Recalled]
    """What the store returned for the current request, best first."""
    saved: list[Recalled]
    """Memories the finished turn stored (score 1.0: written, not searched)."""


@dataclass(frozen=True)
class DemoContext:
    user_id: str = USER_ID


def _store(runtime: Runtime[DemoContext]) -> BaseStore:
    if runtime.store is None:
        raise RuntimeError("the demo graph needs a store: compile it with store=...")
    return runtime.store


def recall(state: DemoState, runtime: Runtime[DemoContext]) -> dict[str, Any]:
    """Semantic search of the user's memories with the latest request."""
    request = next(m.text for m in reversed(state["messages"]) if isinstance(m, HumanMessage))
    hits = _store(runtime).search(memory_namespace(runtime.context.user_id), query=request, limit=4)
    memories: list[Recalled] = [
        {"key": h.key, "text": h.value["text"], "score": round(h.score or 0.0, 3)} for h in hits
    ]
    return {"memories": memories}


def agent(state: DemoState) -> dict[str, Any]:
    texts = [m["text"] for m in state.get("memories", [])]
    return {"messages": [scripted_reply(state["messages"], texts)]}


def remember(state: DemoState, runtime: Runtime[DemoContext]) -> dict[str, Any]:
    """After a finished turn, store what was emailed as a new long-term memory."""
    sent = [
        m
        for m in state["messages"]
        if isinstance(m, ToolMessage) and m.name == "email_plan" and m.status != "error"
    ]
    if sent:
        call = next(
            c
            for m in state["messages"]
            if isinstance(m, AIMessage)
            for c in m.tool_calls
            if c["id"] == sent[-1].tool_call_id
        )
        args = call["args"]
        text = f"Sent Ana the day trip plan for {args['city']} on {args['day']} ({args['to']})."
        ns = memory_namespace(runtime.context.user_id)
        _store(runtime).put(ns, SENT_MEMORY_KEY, {"text": text})
        return {"saved": [{"key": SENT_MEMORY_KEY, "text": text, "score": 1.0}]}
    return {"saved": []}


def _route(state: DemoState) -> Literal["tools", "remember"]:
    last = state["messages"][-1]
    return "tools" if isinstance(last, AIMessage) and last.tool_calls else "remember"


def build_graph(
    checkpointer: BaseCheckpointSaver[Any], store: BaseStore, cache: BaseCache[Any]
) -> CompiledStateGraph[DemoState, DemoContext, DemoState, DemoState]:
    builder = StateGraph(DemoState, context_schema=DemoContext)
    builder.add_node("recall", recall)
    builder.add_node("agent", agent)
    builder.add_node("tools", run_tools)
    builder.add_node("remember", remember)
    builder.add_edge(START, "recall")
    builder.add_edge("recall", "agent")
    builder.add_conditional_edges("agent", _route)
    builder.add_edge("tools", "agent")
    builder.add_edge("remember", END)
    return builder.compile(checkpointer=checkpointer, store=store, cache=cache)
