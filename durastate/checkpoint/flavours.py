"""Sync-native and async-native checkpointer shells: each offers the other API too."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

from durastate._bridge import in_thread, iterate_in_thread, run_on_loop
from durastate._sweeper import TaskSweeper, ThreadSweeper
from durastate.checkpoint.base import CheckpointerBase, PruneStrategy


class SyncCheckpointer(CheckpointerBase):
    """A checkpointer whose engine blocks; ``a*`` methods run it in worker threads."""

    _sweeper: ThreadSweeper | None = None

    # Engines implement: get_tuple, list, put, put_writes, delete_thread, delete_for_runs,
    # copy_thread, prune, sweep_ttl.

    def sweep_ttl(self) -> int:
        """Delete expired threads now; returns how many were removed."""
        raise NotImplementedError

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return await in_thread(self.get_tuple, config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        async for item in iterate_in_thread(
            lambda: self.list(config, filter=filter, before=before, limit=limit)
        ):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return await in_thread(self.put, config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await in_thread(self.put_writes, config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        await in_thread(self.delete_thread, thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        await in_thread(self.delete_for_runs, run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await in_thread(self.copy_thread, source_thread_id, target_thread_id)

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        await in_thread(lambda: self.prune(thread_ids, strategy=strategy, keep=keep))

    async def asweep_ttl(self) -> int:
        return await in_thread(self.sweep_ttl)

    def thread_ids(self) -> list[str]:
        """Every thread holding a live checkpoint, sorted (engines answer from an index)."""
        return sorted({str(t.config["configurable"]["thread_id"]) for t in self.list(None)})

    async def athread_ids(self) -> list[str]:
        return await in_thread(self.thread_ids)

    def start_ttl_sweeper(self, sweep_interval_minutes: float | None = None) -> Any:
        """Delete expired threads every interval on a background thread; returns a future."""
        interval = (
            float(sweep_interval_minutes) * 60.0
            if sweep_interval_minutes is not None
            else self.sweep_interval_seconds
        )
        if self._sweeper is None or not self._sweeper.running:
            self._sweeper = ThreadSweeper(
                self.sweep_ttl, interval, f"{type(self).__name__}-ttl-sweeper"
            )
        return self._sweeper.start()

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        return True if self._sweeper is None else self._sweeper.stop(timeout)


class AsyncCheckpointer(CheckpointerBase):
    """A checkpointer whose engine is async; sync methods run on its loop from other threads."""

    loop: asyncio.AbstractEventLoop
    _sweeper: TaskSweeper | None = None

    # Engines implement: aget_tuple, alist, aput, aput_writes, adelete_thread,
    # adelete_for_runs, acopy_thread, aprune, asweep_ttl.

    def _sync(self, coro: Any) -> Any:
        return run_on_loop(self.loop, coro, type(self).__name__)

    async def asweep_ttl(self) -> int:
        """Delete expired threads now; returns how many were removed."""
        raise NotImplementedError

    async def sweep_ttl(self) -> int:
        return await self.asweep_ttl()

    async def athread_ids(self) -> list[str]:
        """Every thread holding a live checkpoint, sorted (engines answer from an index)."""
        return sorted({str(t.config["configurable"]["thread_id"]) async for t in self.alist(None)})

    def thread_ids(self) -> list[str]:
        return self._sync(self.athread_ids())  # type: ignore[no-any-return]

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self._sync(self.aget_tuple(config))  # type: ignore[no-any-return]

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        iterator = self.alist(config, filter=filter, before=before, limit=limit).__aiter__()
        try:
            while True:
                try:
                    yield self._sync(iterator.__anext__())
                except StopAsyncIteration:
                    return
        finally:
            self._sync(iterator.aclose()) if hasattr(iterator, "aclose") else None

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self._sync(self.aput(config, checkpoint, metadata, new_versions))  # type: ignore[no-any-return]

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._sync(self.aput_writes(config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._sync(self.adelete_thread(thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        self._sync(self.adelete_for_runs(run_ids))

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._sync(self.acopy_thread(source_thread_id, target_thread_id))

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        self._sync(self.aprune(thread_ids, strategy=strategy, keep=keep))

    async def start_ttl_sweeper(
        self, sweep_interval_minutes: float | None = None
    ) -> asyncio.Task[None]:
        """Delete expired threads every interval in a background task."""
        interval = (
            float(sweep_interval_minutes) * 60.0
            if sweep_interval_minutes is not None
            else self.sweep_interval_seconds
        )
        if self._sweeper is None or not self._sweeper.running:
            self._sweeper = TaskSweeper(
                self.asweep_ttl, interval, f"{type(self).__name__}-ttl-sweeper"
            )
        return self._sweeper.start()

    async def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        return True if self._sweeper is None else await self._sweeper.stop(timeout)
