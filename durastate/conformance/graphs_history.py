"""Graph scenarios: state history, time travel and forks, failed fan-outs, message threads."""

from __future__ import annotations

import asyncio
import contextlib
import operator
import threading
import time
from collections import Counter
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, RemoveMessage
from langgraph.graph import START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.types import Send

from durastate.conformance._modes import BothModes
from durastate.conformance.graphs_support import checkpoint_id, drive, thread
from durastate.conformance.harness import Api, Opener, opened


class Items(TypedDict):
    items: Annotated[list[str], operator.add]


def chain_graph(calls: Counter[str]) -> StateGraph[Any]:
    """a -> b -> c; each node appends its name and how many times it has run."""

    def step(name: str) -> Any:
        def run(state: Items) -> dict[str, Any]:
            calls[name] += 1
            return {"items": [f"{name}{calls[name]}"]}

        return run

    builder = StateGraph(Items)
    for name in "abc":
        builder.add_node(name, step(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    return builder


def tag_graph() -> StateGraph[Any]:
    """a -> b -> c; each node appends its name tagged with the thread's first item."""

    def step(name: str) -> Any:
        def run(state: Items) -> dict[str, Any]:
            return {"items": [f"{name}-{state['items'][0]}"]}

        return run

    builder = StateGraph(Items)
    for name in "abc":
        builder.add_node(name, step(name))
    builder.add_edge(START, "a")
    builder.add_edge("a", "b")
    builder.add_edge("b", "c")
    return builder


class Fan(TypedDict):
    topics: list[str]
    results: Annotated[list[str], operator.add]


FLAKY = "b"
"""The topic whose branch raises on its first attempt."""


class Flaky(RuntimeError):
    pass


def fan_graph(api: Api, calls: Counter[str]) -> StateGraph[Any]:
    """START sends one ``work`` task per topic, then ``join``; the flaky branch fails once.

    The flaky branch raises only once its siblings have finished, so what the contract
    checks (their results are kept) does not depend on thread scheduling.
    """

    finished = threading.Event()  # the siblings have run (sync mode)
    afinished = asyncio.Event()  # the same, on the test's loop (async mode)

    def sibling_ran(state: Fan) -> bool:
        return sum(calls[t] for t in state["topics"] if t != FLAKY) >= len(state["topics"]) - 1

    def work(payload: dict[str, Any]) -> dict[str, Any]:
        topic = payload["topic"]
        calls[topic] += 1
        if topic == FLAKY and calls[topic] == 1:
            finished.wait(2)
            time.sleep(0.05)  # let the runner record the siblings' results
            raise Flaky(f"{topic} failed")
        if sibling_ran(payload["state"]):
            finished.set()
        return {"results": [topic.upper()]}

    async def awork(payload: dict[str, Any]) -> dict[str, Any]:
        topic = payload["topic"]
        calls[topic] += 1
        if topic == FLAKY and calls[topic] == 1:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(afinished.wait(), 2)
            await asyncio.sleep(0.05)
            raise Flaky(f"{topic} failed")
        if sibling_ran(payload["state"]):
            afinished.set()
        return {"results": [topic.upper()]}

    node: Any = work if api.mode == "sync" else awork
    builder = StateGraph(Fan)
    builder.add_node("work", node)
    builder.add_node("join", lambda s: {"results": ["joined"]})
    builder.add_conditional_edges(
        START,
        lambda s: [Send("work", {"topic": t, "state": s}) for t in s["topics"]],
        ["work"],
    )
    builder.add_edge("work", "join")
    return builder


class Chat(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


def chat_graph() -> StateGraph[Any]:
    """One node answering the last human message; the first answer carries a tool call."""

    def reply(state: Chat) -> dict[str, Any]:
        asked = [m for m in state["messages"] if isinstance(m, HumanMessage)]
        n = len(asked)
        calls = [{"name": "lookup", "args": {"q": asked[-1].content}, "id": "call-1"}]
        answer = AIMessage(
            f"answer {n} to {asked[-1].content}",
            id=f"ai-{n}",
            tool_calls=calls if n == 1 else [],
            response_metadata={"model": "echo", "turn": n},
        )
        return {"messages": [answer]}

    builder = StateGraph(Chat)
    builder.add_node("reply", reply)
    builder.add_edge(START, "reply")
    return builder


class HistoryScenarios(BothModes):
    """``get_state_history`` and time travel read what the saver listed and kept."""

    async def test_history_order_steps_and_filters(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        calls: Counter[str] = Counter()
        cfg = thread("history")
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, chain_graph(calls).compile(checkpointer=saver))
            await graph.invoke({"items": []}, cfg)
            await graph.invoke({"items": []}, thread("another thread"))
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, chain_graph(calls).compile(checkpointer=saver))
            history = await graph.history(cfg)
            assert [s.metadata["step"] for s in history if s.metadata] == [3, 2, 1, 0, -1]
            assert [s.metadata["source"] for s in history if s.metadata] == [
                "loop",
                "loop",
                "loop",
                "loop",
                "input",
            ]
            assert [s.next for s in history] == [(), ("c",), ("b",), ("a",), ("__start__",)]
            assert [s.values["items"] for s in history] == [
                ["a1", "b1", "c1"],
                ["a1", "b1"],
                ["a1"],
                [],
                [],
            ]
            ids = [checkpoint_id(s.config) for s in history]
            assert ids == sorted(ids, reverse=True) and len(set(ids)) == 5
            assert [checkpoint_id(s.parent_config) for s in history[:-1]] == ids[1:]
            assert history[-1].parent_config is None
            assert history[0].config == (await graph.get_state(cfg)).config

            assert await graph.history(cfg, limit=2) == history[:2]
            assert await graph.history(cfg, before=history[1].config) == history[2:]
            assert await graph.history(cfg, before=history[1].config, limit=1) == [history[2]]
            assert await graph.history(cfg, filter={"step": 1}) == [history[2]]
            assert await graph.history(cfg, filter={"source": "input"}) == [history[-1]]
            assert await graph.history(cfg, filter={"source": "fork"}) == []

    async def test_concurrent_threads_keep_their_own_history(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Runs of several threads at once on one saver (as a server does) never mix."""
        seeds = [f"s{n}" for n in range(6)]
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, tag_graph().compile(checkpointer=saver))
            outs = await asyncio.gather(
                *(graph.invoke({"items": [seed]}, thread(seed)) for seed in seeds)
            )
            assert outs == [{"items": [s, f"a-{s}", f"b-{s}", f"c-{s}"]} for s in seeds]
            histories = await asyncio.gather(*(graph.history(thread(s)) for s in seeds))
        for seed, history in zip(seeds, histories, strict=True):
            assert len(history) == 5
            assert [len(h.values.get("items", [])) for h in history] == [4, 3, 2, 1, 0]
            assert all(i.endswith(seed) for h in history for i in h.values.get("items", []))
            assert {h.config["configurable"]["thread_id"] for h in history} == {seed}

    async def test_time_travel_forks_and_keeps_the_old_branch(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Replaying from step 1 and editing step 1 each start a branch from it.

        LangGraph records a replay as a ``fork`` checkpoint copying the old one and an edit
        as an ``update`` checkpoint; both have the old checkpoint as parent.
        """
        calls: Counter[str] = Counter()
        cfg = thread("travel")
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, chain_graph(calls).compile(checkpointer=saver))
            await graph.invoke({"items": []}, cfg)
            old = await graph.history(cfg)
            at_b = old[2]
            assert at_b.next == ("b",)
            replayed = await graph.invoke(None, at_b.config)
            assert replayed == {"items": ["a1", "b2", "c2"]}
            assert calls == {"a": 1, "b": 2, "c": 2}
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, chain_graph(calls).compile(checkpointer=saver))
            latest = await graph.get_state(cfg)
            assert latest.values == replayed
            branch = await graph.history(cfg, limit=3)
            assert [s.metadata["source"] for s in branch if s.metadata] == [
                "loop",
                "loop",
                "fork",
            ]
            assert branch[2].values == at_b.values and branch[2].next == ("b",)
            assert checkpoint_id(branch[2].parent_config) == checkpoint_id(at_b.config)

            edited = await graph.update_state(at_b.config, {"items": ["edited"]}, as_node="a")
            fork = await graph.get_state(edited)
            assert fork.values == {"items": ["a1", "edited"]} and fork.next == ("b",)
            assert fork.metadata is not None and fork.metadata["source"] == "update"
            assert checkpoint_id(fork.parent_config) == checkpoint_id(at_b.config)
            done = await graph.invoke(None, edited)
            assert done == {"items": ["a1", "edited", "b3", "c3"]}

            # the first branch is intact, and each checkpoint is still there
            assert (await graph.get_state(old[0].config)).values == {"items": ["a1", "b1", "c1"]}
            everything = await graph.history(cfg)
            assert len(everything) == len(old) + 3 + 3
            assert {checkpoint_id(s.config) for s in old} <= {
                checkpoint_id(s.config) for s in everything
            }
            assert (await graph.get_state(cfg)).values == done
        assert calls == {"a": 1, "b": 3, "c": 3}

    async def test_failed_fan_out_resumes_only_the_failed_branch(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Branches that finished before a sibling failed keep their results (pending
        writes); resuming with ``None`` on a reopened saver runs only the failed branch."""
        calls: Counter[str] = Counter()
        cfg = thread("fan")
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, fan_graph(api, calls).compile(checkpointer=saver))
            with pytest.raises(Flaky):
                await graph.invoke({"topics": ["a", "b", "c"], "results": []}, cfg)
        assert calls == {"a": 1, "b": 1, "c": 1}
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, fan_graph(api, calls).compile(checkpointer=saver))
            state = await graph.get_state(cfg)
            assert state.next == ("work",)  # one entry per node name
            assert [t.result for t in state.tasks] == [{"results": ["A"]}, None, {"results": ["C"]}]
            errors = [t.error for t in state.tasks]
            assert errors[0] is None and errors[2] is None
            assert "b failed" in str(errors[1])  # LangGraph keeps the error's repr
            done = await graph.invoke(None, cfg)
            assert done == {"topics": ["a", "b", "c"], "results": ["A", "B", "C", "joined"]}
            assert (await graph.get_state(cfg)).next == ()
        assert calls == {"a": 1, "b": 2, "c": 1}


class MessageScenarios(BothModes):
    """A thread used again keeps its messages, ids and message types."""

    async def test_one_thread_accumulates_messages(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        cfg = thread("chat")
        first_answer = AIMessage(
            "answer 1 to hi",
            id="ai-1",
            tool_calls=[{"name": "lookup", "args": {"q": "hi"}, "id": "call-1"}],
            response_metadata={"model": "echo", "turn": 1},
        )
        second_answer = AIMessage(
            "answer 2 to again", id="ai-2", response_metadata={"model": "echo", "turn": 2}
        )
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, chat_graph().compile(checkpointer=saver))
            out = await graph.invoke({"messages": [HumanMessage("hi", id="h-1")]}, cfg)
            assert out["messages"] == [HumanMessage("hi", id="h-1"), first_answer]
        async with opened(checkpointer_opener) as saver:
            graph = drive(api, chat_graph().compile(checkpointer=saver))
            out = await graph.invoke({"messages": [("user", "again")]}, cfg)
            messages = out["messages"]
            assert [type(m) for m in messages] == [HumanMessage, AIMessage] * 2
            assert messages[:2] == [HumanMessage("hi", id="h-1"), first_answer]
            assert messages[2].content == "again" and messages[2].id
            assert messages[3] == second_answer
            assert (await graph.get_state(cfg)).values["messages"] == messages

            # add_messages replaces by id and removes by id, on the stored list
            edit = AIMessage("answer 1, edited", id="ai-1")
            await graph.update_state(cfg, {"messages": [edit, RemoveMessage(id="h-1")]})
            stored = (await graph.get_state(cfg)).values["messages"]
            assert stored == [edit, messages[2], second_answer]
            assert len(await graph.history(cfg)) == 7
