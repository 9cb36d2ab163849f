"""Saver methods written once for every engine, blocking and async, over its ``CheckpointOps``.

An engine describes each call as a ``Step`` through its ``CheckpointOps``; the blocking
class runs steps with ``_run`` and the async class with ``await _arun``, so what a saver
does (decode a tuple, page a ``list``, skip an empty delete) is written here once.
"""

from __future__ import annotations

import builtins
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    DeltaChannelHistory,
)

from durastate._bridge import in_thread
from durastate._step import Step
from durastate.checkpoint.base import (
    CheckpointerBase,
    PreparedCheckpoint,
    PruneStrategy,
    StoredCheckpoint,
    build_tuple,
)
from durastate.checkpoint.flavours import AsyncCheckpointer, SyncCheckpointer
from durastate.checkpoint.history import ChannelHistory, decode_history

T = TypeVar("T")
P = TypeVar("P")


class Pages(Protocol[P]):
    """The pages of one ``list`` call, as an engine reads them."""

    def next_operation(self) -> Step[P] | None:
        """The step reading the next page, or None when the call is done."""

    def accept(self, page: P) -> list[StoredCheckpoint]:
        """Record a page's answer; returns the checkpoints to yield."""

    def touch_operation(self, returned: bool) -> Step[Any] | None:
        """A step to run after a page (moving a thread's expiry), or None."""


class CheckpointOps(Protocol):
    """An engine's saver calls as steps; None where there is nothing to do.

    The engine's own argument (a schema, a key layout, delta bases) is bound in the
    object; the saver is passed to every call, so a copy with another serializer
    (``with_allowlist``) uses its own.
    """

    def get_tuple(
        self, saver: CheckpointerBase, config: RunnableConfig
    ) -> Step[StoredCheckpoint | None]: ...

    def lister(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Pages[Any]: ...

    def put(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[PreparedCheckpoint, Step[Any]]: ...

    def put_writes(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Step[Any]: ...

    def delete_thread(self, saver: CheckpointerBase, thread_id: str) -> Step[Any]: ...

    def delete_for_runs(
        self, saver: CheckpointerBase, run_ids: Sequence[str]
    ) -> Step[Any] | None: ...

    def copy_thread(self, saver: CheckpointerBase, source: str, target: str) -> Step[Any]: ...

    def prune(
        self, saver: CheckpointerBase, thread_ids: Sequence[str], strategy: str, keep: int
    ) -> Step[Any] | None: ...

    def sweep(self, saver: CheckpointerBase) -> Step[int]: ...

    def thread_ids(self, saver: CheckpointerBase) -> Step[list[str]]: ...

    def delta_history(
        self, saver: CheckpointerBase, config: RunnableConfig, channels: Sequence[str]
    ) -> Step[Mapping[str, ChannelHistory]]: ...


class OpsCheckpointer(SyncCheckpointer):
    """A blocking saver over an engine's ``CheckpointOps``; engines give ``_ops`` and ``_run``."""

    _ops: CheckpointOps

    def _run(self, op: Step[T]) -> T:
        """Run one step on the engine, blocking until it answers."""
        raise NotImplementedError

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        stored = self._run(self._ops.get_tuple(self, config))
        return None if stored is None else build_tuple(self.serde, stored)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        pages = self._ops.lister(self, config, filter, before, limit)
        while (op := pages.next_operation()) is not None:
            found = pages.accept(self._run(op))
            touch = pages.touch_operation(bool(found))
            if touch is not None:
                self._run(touch)
            for stored in found:
                yield build_tuple(self.serde, stored)

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, op = self._ops.put(self, config, checkpoint, metadata, new_versions)
        self._run(op)
        return prep.result_config()

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self._run(self._ops.put_writes(self, config, writes, task_id, task_path))

    def delete_thread(self, thread_id: str) -> None:
        self._run(self._ops.delete_thread(self, thread_id))

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        op = self._ops.delete_for_runs(self, run_ids)
        if op is not None:
            self._run(op)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(self._ops.copy_thread(self, source_thread_id, target_thread_id))

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        op = self._ops.prune(self, thread_ids, strategy, keep)
        if op is not None:
            self._run(op)

    def sweep_ttl(self) -> int:
        return self._run(self._ops.sweep(self))

    def thread_ids(self) -> builtins.list[str]:
        return self._run(self._ops.thread_ids(self))

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The writes and nearest stored value of delta channels, in one round trip."""
        if not channels:
            return {}
        raw = self._run(self._ops.delta_history(self, config, channels))
        return decode_history(self.serde, raw)

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        return await in_thread(
            lambda: self.get_delta_channel_history(config=config, channels=channels)
        )


class AsyncOpsCheckpointer(AsyncCheckpointer):
    """An async saver over an engine's ``CheckpointOps``; engines give ``_ops`` and ``_arun``."""

    _ops: CheckpointOps

    async def _arun(self, op: Step[T]) -> T:
        """Run one step on the engine."""
        raise NotImplementedError

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        stored = await self._arun(self._ops.get_tuple(self, config))
        return None if stored is None else build_tuple(self.serde, stored)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        pages = self._ops.lister(self, config, filter, before, limit)
        while (op := pages.next_operation()) is not None:
            found = pages.accept(await self._arun(op))
            touch = pages.touch_operation(bool(found))
            if touch is not None:
                await self._arun(touch)
            for stored in found:
                yield build_tuple(self.serde, stored)

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        prep, op = self._ops.put(self, config, checkpoint, metadata, new_versions)
        await self._arun(op)
        return prep.result_config()

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        await self._arun(self._ops.put_writes(self, config, writes, task_id, task_path))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._arun(self._ops.delete_thread(self, thread_id))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        op = self._ops.delete_for_runs(self, run_ids)
        if op is not None:
            await self._arun(op)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._arun(self._ops.copy_thread(self, source_thread_id, target_thread_id))

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        op = self._ops.prune(self, thread_ids, strategy, keep)
        if op is not None:
            await self._arun(op)

    async def asweep_ttl(self) -> int:
        return await self._arun(self._ops.sweep(self))

    async def athread_ids(self) -> list[str]:
        return await self._arun(self._ops.thread_ids(self))

    async def aget_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        """The writes and nearest stored value of delta channels, in one round trip."""
        if not channels:
            return {}
        raw = await self._arun(self._ops.delta_history(self, config, channels))
        return decode_history(self.serde, raw)

    def get_delta_channel_history(
        self, *, config: RunnableConfig, channels: Sequence[str]
    ) -> Mapping[str, DeltaChannelHistory]:
        coro = self.aget_delta_channel_history(config=config, channels=channels)
        return self._sync(coro)  # type: ignore[no-any-return]
