"""Runs LangGraph's own checkpointer conformance suite at FULL level, async and sync APIs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from durastate.conformance.harness import Opener, opened


class SyncApiSaver(BaseCheckpointSaver[Any]):
    """Presents a saver's *sync* methods as its async API, so the official suite (which
    only calls ``a*`` methods) exercises the sync implementation from worker threads."""

    def __init__(self, inner: BaseCheckpointSaver[Any]) -> None:
        super().__init__(serde=inner.serde)
        self.inner = inner

    def get_next_version(self, current: Any, channel: Any) -> Any:
        return self.inner.get_next_version(current, channel)

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await asyncio.to_thread(self.inner.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        def page() -> list[CheckpointTuple]:
            return list(self.inner.list(config, filter=filter, before=before, limit=limit))

        for item in await asyncio.to_thread(page):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await asyncio.to_thread(self.inner.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await asyncio.to_thread(self.inner.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await asyncio.to_thread(self.inner.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await asyncio.to_thread(self.inner.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await asyncio.to_thread(self.inner.copy_thread, source_thread_id, target_thread_id)

    async def aprune(
        self, thread_ids: Sequence[str], *, strategy: str = "keep_latest", **kwargs: Any
    ) -> None:
        await asyncio.to_thread(self.inner.prune, thread_ids, strategy=strategy, **kwargs)


def official_report(opener: Opener, *, api: str, name: str) -> Any:
    """The official suite's report for fresh savers from ``opener`` (``api``: async | sync).

    ``opener`` must give fresh, empty storage on every call (the suite wants a new saver
    per capability). Returns a coroutine; await it.
    """
    from langgraph.checkpoint.conformance import checkpointer_test, validate

    wrap: Callable[[Any], Any] = SyncApiSaver if api == "sync" else (lambda s: s)

    @checkpointer_test(name=f"{name}-{api}")
    async def factory() -> AsyncIterator[Any]:
        async with opened(opener) as saver:
            yield wrap(saver)

    return validate(factory)


def failures(report: Any) -> list[str]:
    """Every failure message in an official report."""
    return [f for result in report.results.values() for f in (result.failures or [])]


async def assert_official_full(opener: Opener, *, api: str = "async", name: str = "saver") -> Any:
    """Fail unless the official suite reports FULL with every capability detected."""
    report = await official_report(opener, api=api, name=name)
    assert report.conformance_level() == "FULL", failures(report)
    missing = [cap for cap, result in report.results.items() if not result.detected]
    assert not missing, f"capabilities not detected: {missing}"
    return report
