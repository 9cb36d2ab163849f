"""Checkpointer workloads: the agent loop, replayed saver calls, a long thread, storage."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver

from benchmarks.harness import RunContext
from benchmarks.workloads.data import (
    HISTORY_WINDOW,
    SUPERSTEPS_PER_INVOKE,
    Recording,
    agent_graph,
    thread_config,
    user_input,
)


def _loop_sync(ctx: RunContext, saver: BaseCheckpointSaver[Any] | None) -> float:
    graph = agent_graph(saver)
    threads, turns = ctx.sizes.graph_threads, ctx.sizes.graph_turns
    carried: dict[int, list[Any]] = {t: [] for t in range(threads)}
    start = time.perf_counter()
    for turn in range(turns):
        for t in range(threads):
            inp = user_input(t, turn)
            if saver is None:
                inp["messages"] = carried[t] + inp["messages"]
                carried[t] = graph.invoke(inp)["messages"]
            else:
                graph.invoke(inp, thread_config(f"loop-{t}"))
    return time.perf_counter() - start


async def _loop_async(ctx: RunContext, saver: BaseCheckpointSaver[Any] | None) -> float:
    graph = agent_graph(saver)
    threads, turns = ctx.sizes.graph_threads, ctx.sizes.graph_turns
    carried: dict[int, list[Any]] = {t: [] for t in range(threads)}
    start = time.perf_counter()
    for turn in range(turns):
        for t in range(threads):
            inp = user_input(t, turn)
            if saver is None:
                inp["messages"] = carried[t] + inp["messages"]
                carried[t] = (await graph.ainvoke(inp))["messages"]
            else:
                await graph.ainvoke(inp, thread_config(f"loop-{t}"))
    return time.perf_counter() - start


def _supersteps(ctx: RunContext) -> int:
    return ctx.sizes.graph_threads * ctx.sizes.graph_turns * SUPERSTEPS_PER_INVOKE


def graph_loop_sync(ctx: RunContext) -> dict[str, float]:
    """Agent loop, ``invoke``; the baseline run (no side) compiles without a checkpointer."""
    if ctx.side is None:
        seconds = _loop_sync(ctx, None)
    else:
        assert ctx.side.saver is not None
        with ctx.side.saver(ctx.workdir) as saver:
            seconds = _loop_sync(ctx, saver)
    return {"supersteps_per_s": _supersteps(ctx) / seconds}


def graph_loop_async(ctx: RunContext) -> dict[str, float]:
    """Agent loop, ``ainvoke`` on the async saver."""

    async def main() -> float:
        if ctx.side is None:
            return await _loop_async(ctx, None)
        assert ctx.side.asaver is not None
        async with ctx.side.asaver(ctx.workdir) as saver:
            return await _loop_async(ctx, saver)

    return {"supersteps_per_s": _supersteps(ctx) / asyncio.run(main())}


def _get_targets(rec: Recording, n: int) -> list[Any]:
    """``n`` get_tuple configs: alternately a thread's latest and a given checkpoint id."""
    ids = [args[1]["id"] for kind, args in rec.ops if kind == "put"]
    threads = [args[0]["configurable"]["thread_id"] for kind, args in rec.ops if kind == "put"]
    out = []
    for i in range(n):
        j = (i * 7919) % len(ids)
        if i % 2 == 0:
            out.append(thread_config(threads[j]))
        else:
            cfg = thread_config(threads[j])
            cfg["configurable"]["checkpoint_id"] = ids[j]
            out.append(cfg)
    return out


def saver_ops_sync(ctx: RunContext) -> dict[str, float]:
    """Replay a graph run's put / put_writes calls, then get_tuple, each timed apart."""
    rec = ctx.shared.ops_recording()
    assert ctx.side is not None and ctx.side.saver is not None
    spent = {"put": 0.0, "put_writes": 0.0}
    with ctx.side.saver(ctx.workdir) as saver:
        for kind, args in rec.ops:
            fn = getattr(saver, kind)
            t0 = time.perf_counter()
            fn(*args)
            spent[kind] += time.perf_counter() - t0
        targets = _get_targets(rec, ctx.sizes.gets)
        t0 = time.perf_counter()
        for cfg in targets:
            saver.get_tuple(cfg)
        get_s = time.perf_counter() - t0
    return {
        "put_per_s": rec.puts / spent["put"],
        "put_writes_per_s": rec.writes / spent["put_writes"],
        "get_tuple_per_s": len(targets) / get_s,
    }


def saver_ops_async(ctx: RunContext) -> dict[str, float]:
    """The same replay through aput / aput_writes / aget_tuple."""
    rec = ctx.shared.ops_recording()
    assert ctx.side is not None and ctx.side.asaver is not None
    factory = ctx.side.asaver

    async def main() -> dict[str, float]:
        spent = {"put": 0.0, "put_writes": 0.0}
        async with factory(ctx.workdir) as saver:
            for kind, args in rec.ops:
                fn = getattr(saver, "a" + kind)
                t0 = time.perf_counter()
                await fn(*args)
                spent[kind] += time.perf_counter() - t0
            targets = _get_targets(rec, ctx.sizes.gets)
            t0 = time.perf_counter()
            for cfg in targets:
                await saver.aget_tuple(cfg)
            get_s = time.perf_counter() - t0
        return {
            "put_per_s": rec.puts / spent["put"],
            "put_writes_per_s": rec.writes / spent["put_writes"],
            "get_tuple_per_s": len(targets) / get_s,
        }

    return asyncio.run(main())


def _median_ms(samples: list[float]) -> float:
    samples = sorted(samples)
    return 1000 * samples[len(samples) // 2]


def history_sync(ctx: RunContext) -> dict[str, float]:
    """A 500-checkpoint thread: get_state, the full get_state_history, list(limit=10)."""
    rec = ctx.shared.history_recording()
    assert ctx.side is not None and ctx.side.saver is not None
    config = thread_config(rec.threads[0])
    with ctx.side.saver(ctx.workdir) as saver:
        for kind, args in rec.ops:
            getattr(saver, kind)(*args)
        graph = agent_graph(saver, HISTORY_WINDOW)
        graph.get_state(config)
        gets = []
        for _ in range(ctx.sizes.latency_calls):
            t0 = time.perf_counter()
            graph.get_state(config)
            gets.append(time.perf_counter() - t0)
        lists = []
        for _ in range(ctx.sizes.latency_calls):
            t0 = time.perf_counter()
            page = list(saver.list(config, limit=10))
            lists.append(time.perf_counter() - t0)
        assert len(page) == 10
        t0 = time.perf_counter()
        history = list(graph.get_state_history(config))
        history_s = time.perf_counter() - t0
        assert len(history) == rec.puts, (len(history), rec.puts)
    return {
        "get_state_ms": _median_ms(gets),
        "list10_ms": _median_ms(lists),
        "history_ms": 1000 * history_s,
    }


def history_async(ctx: RunContext) -> dict[str, float]:
    """The same through aget_state, aget_state_history and alist on the async saver."""
    rec = ctx.shared.history_recording()
    assert ctx.side is not None and ctx.side.asaver is not None
    factory = ctx.side.asaver
    config = thread_config(rec.threads[0])

    async def main() -> dict[str, float]:
        async with factory(ctx.workdir) as saver:
            for kind, args in rec.ops:
                await getattr(saver, "a" + kind)(*args)
            graph = agent_graph(saver, HISTORY_WINDOW)
            await graph.aget_state(config)
            gets = []
            for _ in range(ctx.sizes.latency_calls):
                t0 = time.perf_counter()
                await graph.aget_state(config)
                gets.append(time.perf_counter() - t0)
            lists = []
            for _ in range(ctx.sizes.latency_calls):
                t0 = time.perf_counter()
                page = [c async for c in saver.alist(config, limit=10)]
                lists.append(time.perf_counter() - t0)
            assert len(page) == 10
            t0 = time.perf_counter()
            history = [s async for s in graph.aget_state_history(config)]
            history_s = time.perf_counter() - t0
            assert len(history) == rec.puts
        return {
            "get_state_ms": _median_ms(gets),
            "list10_ms": _median_ms(lists),
            "history_ms": 1000 * history_s,
        }

    return asyncio.run(main())


def storage_sync(ctx: RunContext) -> dict[str, float]:
    """Storage used after one thread of 200 supersteps with a growing message list."""
    assert ctx.side is not None and ctx.side.saver is not None
    assert ctx.side.saver_bytes is not None
    graph_turns = ctx.sizes.storage_supersteps // SUPERSTEPS_PER_INVOKE
    with ctx.side.saver(ctx.workdir) as saver:
        graph = agent_graph(saver)
        for turn in range(graph_turns):
            graph.invoke(user_input(0, turn), thread_config("storage"), durability="sync")
    return {"storage_mb": ctx.side.saver_bytes(ctx.workdir) / 1e6}
