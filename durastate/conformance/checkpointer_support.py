"""Helpers the checkpointer contract shares: checkpoint chains, configs, graph runs."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import Checkpoint, CheckpointTuple, empty_checkpoint

from durastate.conformance.harness import Api, Bound


@dataclass(frozen=True)
class Point:
    """An application data type stored in channels (revived by class)."""

    x: int
    y: int


@dataclass(frozen=True)
class Secret:
    """An application data type that tests keep off a strict allowlist."""

    text: str


def thread_config(thread_id: str, ns: str | None = "", checkpoint_id: str | None = None) -> Any:
    """A config for a thread; ``ns=None`` leaves ``checkpoint_ns`` out."""
    conf: dict[str, Any] = {"thread_id": thread_id}
    if ns is not None:
        conf["checkpoint_ns"] = ns
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def cid(config: RunnableConfig | CheckpointTuple | None) -> str:
    """The checkpoint id of a config or tuple."""
    if isinstance(config, CheckpointTuple):
        config = config.config
    assert config is not None
    return str(config["configurable"]["checkpoint_id"])


def ids(tuples: list[CheckpointTuple]) -> list[str]:
    return [cid(t) for t in tuples]


class Chain:
    """Puts successive checkpoints into one thread and namespace, as LangGraph does.

    Each ``put`` names the previous checkpoint as parent, bumps the versions of the
    channels it changes and carries the others forward.
    """

    def __init__(self, saver: Bound, thread_id: str, ns: str = "") -> None:
        self.saver = saver
        self.thread_id = thread_id
        self.ns = ns
        self.config: RunnableConfig = thread_config(thread_id, ns)
        self.values: dict[str, Any] = {}
        self.versions: dict[str, Any] = {}
        self.configs: list[RunnableConfig] = []

    async def put(
        self,
        values: Mapping[str, Any] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> RunnableConfig:
        backend = self.saver.backend
        new_versions: dict[str, Any] = {}
        for channel, value in (values or {}).items():
            version = backend.get_next_version(self.versions.get(channel), None)
            self.versions[channel] = version
            self.values[channel] = value
            new_versions[channel] = version
        checkpoint: Checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = dict(self.values)
        checkpoint["channel_versions"] = dict(self.versions)
        meta = {"source": "loop", "step": len(self.configs)} | dict(metadata or {})
        stored: RunnableConfig = await self.saver.put(self.config, checkpoint, meta, new_versions)
        self.config = stored
        self.configs.append(stored)
        return stored

    async def many(self, count: int, **metadata: Any) -> list[RunnableConfig]:
        """``count`` checkpoints, each changing channel ``n`` to its step number."""
        return [await self.put({"n": len(self.configs)}, metadata) for _ in range(count)]


async def invoke(api: Api, graph: Any, value: Any, config: Any) -> Any:
    """Run a compiled graph in the test's mode (sync: ``invoke`` in a worker thread)."""
    if api.mode == "sync":
        return await asyncio.to_thread(graph.invoke, value, config)
    return await graph.ainvoke(value, config)


async def state_of(api: Api, graph: Any, config: Any) -> Any:
    if api.mode == "sync":
        return await asyncio.to_thread(graph.get_state, config)
    return await graph.aget_state(config)


async def history_of(api: Api, graph: Any, config: Any) -> list[Any]:
    if api.mode == "sync":
        return await asyncio.to_thread(lambda: list(graph.get_state_history(config)))
    return [s async for s in graph.aget_state_history(config)]
