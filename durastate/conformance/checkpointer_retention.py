"""Checkpointer contract: delete_thread, delete_for_runs, copy_thread and prune."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

from langchain_core.messages import HumanMessage
from langgraph.channels.delta import DeltaChannel
from langgraph.graph import END, START, StateGraph

from durastate.conformance._modes import BothModes
from durastate.conformance.checkpointer_support import (
    Chain,
    cid,
    history_of,
    ids,
    invoke,
    state_of,
    thread_config,
)
from durastate.conformance.harness import Api, Bound, Opener, opened

DELTA_STEPS = 12


def _extend(state: list[str], batches: Any) -> list[str]:
    out = list(state or [])
    for batch in batches:
        out.extend(batch if isinstance(batch, list) else [batch])
    return out


class _Log(TypedDict):
    log: Annotated[list[str], DeltaChannel(_extend, snapshot_frequency=5)]
    n: int


def _delta_graph() -> Any:
    def step(state: _Log) -> dict[str, Any]:
        return {"log": [f"entry {state['n']}"], "n": state["n"] + 1}

    builder = StateGraph(_Log)
    builder.add_node("step", step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", lambda s: END if s["n"] >= DELTA_STEPS else "step")
    return builder


async def _thread_with_writes(s: Bound, thread_id: str) -> dict[str, Any]:
    """A thread with a root and a child namespace, two checkpoints each, and writes."""
    root = Chain(s, thread_id)
    child = Chain(s, thread_id, "sub:1")
    r1 = await root.put({"n": 0, "fixed": "kept"}, {"run_id": "run-1"})
    c1 = await child.put({"n": "c0"}, {"run_id": "run-1"})
    r2 = await root.put({"n": 1}, {"run_id": "run-2"})
    c2 = await child.put({"n": "c1"}, {"run_id": "run-2"})
    await s.put_writes(r1, [("n", "w-r1")], "task-1")
    await s.put_writes(r2, [("n", "w-r2"), ("x", 1)], "task-2")
    await s.put_writes(c2, [("n", "w-c2")], "task-3")
    return {"r1": r1, "r2": r2, "c1": c1, "c2": c2}


async def _snapshot(s: Bound, thread_id: str) -> list[tuple[Any, ...]]:
    """Everything a user can read of a thread, without its thread id."""
    return [
        (
            t.config["configurable"]["checkpoint_ns"],
            cid(t),
            cid(t.parent_config) if t.parent_config else None,
            t.checkpoint,
            t.metadata,
            t.pending_writes,
        )
        for t in await s.list(thread_config(thread_id, None))
    ]


class CheckpointerRetention(BothModes):
    """Deleting, copying and pruning threads."""

    async def test_delete_thread_removes_every_namespace_only_of_that_thread(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            await _thread_with_writes(s, "gone")
            await _thread_with_writes(s, "stays")
            kept = await _snapshot(s, "stays")
            await s.delete_thread("gone")
            assert await s.list(thread_config("gone", None)) == []
            assert await s.get_tuple(thread_config("gone")) is None
            assert await s.get_tuple(thread_config("gone", "sub:1")) is None
            assert await _snapshot(s, "stays") == kept
            await s.delete_thread("never-existed")
            assert await _snapshot(s, "stays") == kept

    async def test_thread_ids_names_each_live_thread_once_sorted(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """``thread_ids()``: what ``list(None)`` would name, each once, without reading it."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            assert await s.thread_ids() == []
            for thread in ("b", "a:1", "c", "A"):
                await _thread_with_writes(s, thread)
            assert await s.thread_ids() == ["A", "a:1", "b", "c"]
            await s.delete_thread("c")
            await s.copy_thread("b", "z")
            await s.prune(["a:1"], strategy="delete")
            expected = ["A", "b", "z"]
            assert await s.thread_ids() == expected
            listed = {t.config["configurable"]["thread_id"] for t in await s.list(None)}
            assert sorted(listed) == expected

    async def test_a_deleted_thread_can_start_again(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            await _thread_with_writes(s, "t1")
            await s.delete_thread("t1")
            fresh = await Chain(s, "t1").put({"n": "new"})
            listed = await s.list(thread_config("t1", None))
            assert ids(listed) == [cid(fresh)]
            assert listed[0].checkpoint["channel_values"] == {"n": "new"}
            assert listed[0].pending_writes == []

    async def test_delete_for_runs_removes_the_checkpoints_of_those_runs(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            t1 = await _thread_with_writes(s, "t1")
            t2 = await _thread_with_writes(s, "t2")
            other = await Chain(s, "t3").put({"n": 0}, {"run_id": "run-3"})
            await s.delete_for_runs(["run-2", "no-such-run"])
            for made, thread in ((t1, "t1"), (t2, "t2")):
                left = await s.list(thread_config(thread, None))
                assert sorted(ids(left)) == sorted([cid(made["r1"]), cid(made["c1"])])
                assert {t.metadata["run_id"] for t in left} == {"run-1"}
                r1 = await s.get_tuple(thread_config(thread))
                assert cid(r1) == cid(made["r1"])
                assert r1.checkpoint["channel_values"] == {"n": 0, "fixed": "kept"}
                assert r1.pending_writes == [("task-1", "n", "w-r1")]
                assert await s.get_tuple(made["r2"]) is None
            assert ids(await s.list(thread_config("t3"))) == [cid(other)]
            await s.delete_for_runs([])
            assert len(await s.list(None)) == 5

    async def test_copy_thread_preserves_everything(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            await _thread_with_writes(s, "src")
            await s.copy_thread("src", "dst")
            copied = await s.list(thread_config("dst", None))
            assert await _snapshot(s, "dst") == await _snapshot(s, "src")
            assert {t.config["configurable"]["thread_id"] for t in copied} == {"dst"}
            assert all(
                t.parent_config is None or t.parent_config["configurable"]["thread_id"] == "dst"
                for t in copied
            )
            latest = await s.get_tuple(thread_config("dst"))
            assert latest.checkpoint["channel_values"] == {"n": 1, "fixed": "kept"}
            child = await s.get_tuple(thread_config("dst", "sub:1"))
            assert child.pending_writes == [("task-3", "n", "w-c2")]

    async def test_a_copied_thread_is_independent_of_its_source(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            await _thread_with_writes(s, "src")
            original = await _snapshot(s, "src")
            await s.copy_thread("src", "dst")
            # Continue the copy: the source does not change.
            fork = Chain(s, "dst")
            head = await s.get_tuple(thread_config("dst"))
            fork.config = head.config
            fork.values = dict(head.checkpoint["channel_values"])
            fork.versions = dict(head.checkpoint["channel_versions"])
            forked = await fork.put({"n": "fork"})
            await s.put_writes(forked, [("n", "fork write")], "task-9")
            await s.prune(["dst"], keep=1)
            assert await _snapshot(s, "src") == original
            # Delete the source: the copy stays whole.
            await s.delete_thread("src")
            assert await s.list(thread_config("src", None)) == []
            latest = await s.get_tuple(thread_config("dst"))
            assert cid(latest) == cid(forked)
            assert latest.checkpoint["channel_values"] == {"n": "fork", "fixed": "kept"}
            assert latest.pending_writes == [("task-9", "n", "fork write")]
            child = await s.get_tuple(thread_config("dst", "sub:1"))
            assert child.checkpoint["channel_values"] == {"n": "c1"}

    async def test_prune_keeps_the_latest_checkpoint_of_each_namespace(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Values written before the kept checkpoint (carried forward) stay readable."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            made = await _thread_with_writes(s, "t1")
            await _thread_with_writes(s, "other")
            untouched = await _snapshot(s, "other")
            await s.prune(["t1"], strategy="keep_latest")
            left = await s.list(thread_config("t1", None))
            assert sorted(ids(left)) == sorted([cid(made["r2"]), cid(made["c2"])])
            root = await s.get_tuple(thread_config("t1"))
            assert root.checkpoint["channel_values"] == {"n": 1, "fixed": "kept"}
            assert root.pending_writes == [("task-2", "n", "w-r2"), ("task-2", "x", 1)]
            child = await s.get_tuple(thread_config("t1", "sub:1"))
            assert child.checkpoint["channel_values"] == {"n": "c1"}
            assert child.pending_writes == [("task-3", "n", "w-c2")]
            assert await s.get_tuple(made["r1"]) is None
            assert await _snapshot(s, "other") == untouched

    async def test_prune_keeps_the_last_n(self, api: Api, checkpointer_opener: Opener) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chain = Chain(s, "t1")
            await chain.put({"n": 0, "first": "value"})
            configs = await chain.many(5)
            await Chain(s, "t2").many(4)
            await s.prune(["t1", "t2"], keep=3)
            left = await s.list(thread_config("t1"))
            assert ids(left) == [cid(c) for c in reversed(configs[-3:])]
            assert all(t.checkpoint["channel_values"]["first"] == "value" for t in left)
            assert len(await s.list(thread_config("t2"))) == 3
            await s.prune(["t1"], keep=10)
            assert len(await s.list(thread_config("t1"))) == 3

    async def test_prune_with_strategy_delete_removes_the_threads(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            await _thread_with_writes(s, "a")
            await _thread_with_writes(s, "b")
            await _thread_with_writes(s, "c")
            kept = await _snapshot(s, "c")
            await s.prune(["a", "b", "missing"], strategy="delete")
            assert await s.list(thread_config("a", None)) == []
            assert await s.list(thread_config("b", None)) == []
            assert await _snapshot(s, "c") == kept

    async def test_prune_of_a_thread_with_delta_channels_keeps_it_readable(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """A DeltaChannel's value is rebuilt from ancestors; prune keeps the ones it needs."""
        async with opened(checkpointer_opener) as saver:
            graph = _delta_graph().compile(checkpointer=saver)
            cfg: Any = {"configurable": {"thread_id": "delta"}}
            await invoke(api, graph, {"log": [], "n": 0}, cfg)
            full = [f"entry {i}" for i in range(DELTA_STEPS)]
            assert (await state_of(api, graph, cfg)).values == {"log": full, "n": DELTA_STEPS}
            s = api.bind(saver)
            await s.prune(["delta"], keep=1)
            assert len(await s.list(thread_config("delta"))) < DELTA_STEPS
            state = await state_of(api, graph, cfg)
            assert state.values == {"log": full, "n": DELTA_STEPS}
            newest = (await history_of(api, graph, cfg))[0]
            assert newest.values == {"log": full, "n": DELTA_STEPS}
            # The pruned thread keeps running from where it was.
            await invoke(api, graph, {"log": ["more"], "n": 0}, cfg)
            after = (await state_of(api, graph, cfg)).values["log"]
            assert after == [*full, "more", *full]

    async def test_thread_ids_are_matched_exactly(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Ids that look like prefixes, LIKE/glob patterns or key separators stay apart."""
        threads = ["t", "t1", "t10", "t_", "t%", "t*", "t?", "t[1]", "t:1", "t{1}", "t\\", "日本"]
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            for thread in threads:
                await Chain(s, thread).many(2)
                await Chain(s, thread, "sub:*").put({"n": thread})
            await s.delete_thread("t")
            await s.prune(["t_", "t*"], strategy="delete")
            await s.prune(["t%", "t?"], keep=1)
            await s.copy_thread("t[1]", "t{1}")
            counts = {thread: len(await s.list(thread_config(thread, None))) for thread in threads}
            assert counts == {
                "t": 0,
                "t1": 3,
                "t10": 3,
                "t_": 0,
                "t%": 2,
                "t*": 0,
                "t?": 2,
                "t[1]": 3,
                "t:1": 3,
                "t{1}": 6,
                "t\\": 3,
                "日本": 3,
            }
            child = await s.get_tuple(thread_config("t:1", "sub:*"))
            assert child.checkpoint["channel_values"] == {"n": "t:1"}
            assert await s.get_tuple(thread_config("t:1", "sub:")) is None

    async def test_copy_of_a_thread_with_delta_channels_has_the_same_state(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        async with opened(checkpointer_opener) as saver:
            graph = _delta_graph().compile(checkpointer=saver)
            src: Any = {"configurable": {"thread_id": "src"}}
            dst: Any = {"configurable": {"thread_id": "dst"}}
            await invoke(api, graph, {"log": [], "n": 0}, src)
            await api.bind(saver).copy_thread("src", "dst")
            want = [s.values for s in await history_of(api, graph, src)]
            assert [s.values for s in await history_of(api, graph, dst)] == want
            await api.bind(saver).delete_thread("src")
            assert (await state_of(api, graph, dst)).values == want[0]

    async def test_delete_for_runs_rolls_a_graph_thread_back(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Runs recorded through ``config["metadata"]["run_id"]`` (as LangGraph servers do)."""
        async with opened(checkpointer_opener) as saver:
            graph = _delta_graph().compile(checkpointer=saver)
            first: Any = {"configurable": {"thread_id": "t"}, "metadata": {"run_id": "run-a"}}
            second: Any = {"configurable": {"thread_id": "t"}, "metadata": {"run_id": "run-b"}}
            await invoke(api, graph, {"log": [], "n": 0}, first)
            after_first = (await state_of(api, graph, first)).values
            await invoke(api, graph, {"log": ["again"], "n": 0}, second)
            assert (await state_of(api, graph, first)).values != after_first
            await api.bind(saver).delete_for_runs(["run-b"])
            assert (await state_of(api, graph, first)).values == after_first
            runs = {t.metadata["run_id"] for t in await api.bind(saver).list(None)}
            assert runs == {"run-a"}

    async def test_growing_values_stay_whole_after_retention(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """A chat history that grows each step reads back whole whatever was deleted
        before it (engines may store a value as a change to an older one)."""
        async with opened(checkpointer_opener) as saver:
            s = api.bind(saver)
            chains = {t: Chain(s, t) for t in ("prune", "runs", "copy")}
            expected: list[Any] = []
            for step in range(6):
                expected = [*expected, HumanMessage(content=f"m{step} " * 20, id=f"m{step}")]
                text = "".join(m.content for m in expected)
                for chain in chains.values():
                    await chain.put({"messages": expected, "text": text}, {"run_id": f"r{step}"})
            await s.prune(["prune"], keep=1)
            await s.delete_for_runs(["r0", "r2", "r3"])
            await s.copy_thread("copy", "copied")
            await s.delete_thread("copy")
            for thread in ("prune", "runs", "copied"):
                tup = await s.get_tuple(thread_config(thread))
                assert tup.checkpoint["channel_values"] == {"messages": expected, "text": text}
            left = await s.list(thread_config("runs"))
            assert [len(t.checkpoint["channel_values"]["messages"]) for t in left] == [6, 5, 2]

    async def test_two_savers_on_one_storage_see_each_others_changes(
        self, api: Api, checkpointer_opener: Opener
    ) -> None:
        """Like two processes: one deletes what the other wrote, the writer carries on."""
        async with opened(checkpointer_opener) as one, opened(checkpointer_opener) as two:
            a, b = api.bind(one), api.bind(two)
            chain = Chain(a, "t1")
            messages: list[Any] = []
            for step in range(4):
                messages = [*messages, HumanMessage(content=f"m{step} " * 40, id=f"m{step}")]
                await chain.put({"messages": messages})
            seen = await b.get_tuple(thread_config("t1"))
            assert seen.checkpoint["channel_values"] == {"messages": messages}
            await b.prune(["t1"], keep=1)
            await b.delete_thread("t1")
            assert await a.get_tuple(thread_config("t1")) is None
            # The writer continues from the checkpoint it last wrote, now deleted.
            messages = [*messages, HumanMessage(content="after " * 40, id="after")]
            stored = await chain.put({"messages": messages})
            for s in (a, b):
                tup = await s.get_tuple(thread_config("t1"))
                assert cid(tup) == cid(stored)
                assert tup.checkpoint["channel_values"] == {"messages": messages}
