"""Drives a compiled LangGraph graph through its sync or async API for graph scenarios."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.types import StateSnapshot

from durastate.conformance.harness import Api


def thread(thread_id: str) -> RunnableConfig:
    """The config of one thread's latest checkpoint."""
    return {"configurable": {"thread_id": thread_id}}


def checkpoint_id(config: RunnableConfig | None) -> str:
    """The checkpoint id a snapshot's config (or parent config) points at."""
    assert config is not None
    return str(config["configurable"]["checkpoint_id"])


class Driver:
    """A compiled graph seen through one mode.

    ``sync``: ``invoke`` / ``get_state`` / ... in a worker thread, as a sync application
    runs them (sync nodes, the backend's sync methods). ``async``: ``ainvoke`` /
    ``aget_state`` / ... on the test's event loop (the backend's ``a`` methods).
    """

    def __init__(self, api: Api, graph: Any) -> None:
        self.mode = api.mode
        self.graph = graph

    async def invoke(self, value: Any, config: RunnableConfig, **kwargs: Any) -> Any:
        if self.mode == "sync":
            return await asyncio.to_thread(self.graph.invoke, value, config, **kwargs)
        return await self.graph.ainvoke(value, config, **kwargs)

    async def get_state(self, config: RunnableConfig, *, subgraphs: bool = False) -> StateSnapshot:
        snapshot: StateSnapshot
        if self.mode == "sync":
            snapshot = await asyncio.to_thread(self.graph.get_state, config, subgraphs=subgraphs)
        else:
            snapshot = await self.graph.aget_state(config, subgraphs=subgraphs)
        return snapshot

    async def update_state(
        self, config: RunnableConfig, values: Any, as_node: str | None = None
    ) -> RunnableConfig:
        updated: RunnableConfig
        if self.mode == "sync":
            updated = await asyncio.to_thread(self.graph.update_state, config, values, as_node)
        else:
            updated = await self.graph.aupdate_state(config, values, as_node)
        return updated

    async def history(self, config: RunnableConfig, **kwargs: Any) -> list[StateSnapshot]:
        """``get_state_history`` as a list, newest first (``filter``, ``before``, ``limit``)."""
        if self.mode == "sync":
            return await asyncio.to_thread(
                lambda: list(self.graph.get_state_history(config, **kwargs))
            )
        return [s async for s in self.graph.aget_state_history(config, **kwargs)]

    async def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        if self.mode == "sync":
            await asyncio.to_thread(self.graph.clear_cache, nodes)
        else:
            await self.graph.aclear_cache(nodes)


def drive(api: Api, graph: Any) -> Driver:
    """``await drive(api, graph).invoke(...)`` runs the graph in the test's mode."""
    return Driver(api, graph)
