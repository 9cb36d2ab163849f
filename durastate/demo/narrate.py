"""Turn the demo graph's stream updates, history and memories into short readable lines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langgraph.store.base import SearchItem
from langgraph.types import Interrupt, StateSnapshot

WIDTH = 10
"""Width of the label column."""


def line(label: str, text: str) -> str:
    return f"  {label:<{WIDTH}}{text}"


def short(value: Any, limit: int = 40) -> str:
    """A repr for display, shortened with '...' past ``limit`` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def describe_call(call: Mapping[str, Any]) -> str:
    args = ", ".join(f"{k}={short(v, 24)}" for k, v in call["args"].items())
    return f"{call['name']}({args})"


def approval_question(value: Any) -> str:
    if isinstance(value, Mapping) and value.get("tool") == "email_plan":
        return f"may I email the {value.get('city')} plan to {value.get('to')}?"
    return repr(value)


def _agent(update: Mapping[str, Any]) -> Iterator[str]:
    for message in update.get("messages", []):
        if isinstance(message, AIMessage) and message.tool_calls:
            for call in message.tool_calls:
                yield line("agent", f"calls {describe_call(call)}")
        elif isinstance(message, AIMessage):
            yield line("agent", f"says {message.text!r}")


def _tools(update: Mapping[str, Any]) -> Iterator[str]:
    for message in update.get("messages", []):
        if isinstance(message, ToolMessage):
            status = " (refused)" if message.status == "error" else ""
            yield line("tools", f"{message.name}{status} -> {short(message.text, 60)}")


def _task(name: str, result: Any, cached: bool) -> str:
    args = f"{result.get('city')!r}, {result.get('day')!r}" if isinstance(result, dict) else ""
    how = "served from the cache" if cached else "computed (cache miss)"
    shown = result.get("forecast") if isinstance(result, dict) else result
    return line("task", f"{name}({args}) {how}: {shown}")


def narrate(chunk: Mapping[str, Any]) -> Iterator[str]:
    """Lines for one ``stream_mode="updates"`` chunk of the demo graph."""
    cached = bool(chunk.get("__metadata__", {}).get("cached"))
    for name, update in chunk.items():
        if name == "__metadata__":
            continue
        if name == "__interrupt__":
            for pending in update:
                value = pending.value if isinstance(pending, Interrupt) else pending
                yield line("paused", f"approval needed: {approval_question(value)}")
        elif name == "recall":
            found = update.get("memories", [])
            best = f'; best: "{found[0]["text"]}" ({found[0]["score"]:.2f})' if found else ""
            yield line("recall", f"{len(found)} memories match the request{best}")
        elif name == "agent":
            yield from _agent(update)
        elif name == "tools":
            yield from _tools(update)
        elif name == "remember":
            for saved in (update or {}).get("saved", []):
                yield line("remember", f'stored memory {saved["key"]!r}: "{saved["text"]}"')
        else:
            yield _task(name, update, cached)


def pending_approvals(snapshot: StateSnapshot) -> list[Any]:
    return [i.value for i in snapshot.interrupts]


def history_lines(history: Iterable[StateSnapshot]) -> Iterator[str]:
    """One row per checkpoint, newest first: step, source, next nodes, message count."""
    yield f"    {'step':>4}  {'source':<7} {'next':<16} messages"
    for snap in history:
        meta = snap.metadata or {}
        nxt = ", ".join(snap.next) or "-"
        count = len(snap.values.get("messages", [])) if isinstance(snap.values, dict) else 0
        yield f"    {meta.get('step', '?'):>4}  {meta.get('source', '?'):<7} {nxt:<16} {count:>8}"


def memory_lines(hits: Sequence[SearchItem]) -> Iterator[str]:
    for hit in hits:
        score = "   -" if hit.score is None else f"{hit.score:.2f}"
        yield f"    {score}  {hit.key:<16} {hit.value.get('text')}"
