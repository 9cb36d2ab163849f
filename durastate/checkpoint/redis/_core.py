"""What the sync and async Redis savers share: ``RedisOps`` turns calls into script bodies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
)

from durastate._engines.redis import checkpoint_ops as ops
from durastate._engines.redis.keys import Layout
from durastate._engines.redis.requests import Body
from durastate.checkpoint.base import (
    CheckpointerBase,
    PreparedCheckpoint,
    StoredCheckpoint,
    before_id,
    check_filter,
    check_limit,
    check_prune,
    check_thread_ids,
    list_scope,
    parse_config,
    prepare_checkpoint,
    prepare_writes,
    ttl_seconds,
)
from durastate.checkpoint.history import ChannelHistory


def freshness(saver: CheckpointerBase) -> ops.Freshness:
    write = ops.ttl_ms(ttl_seconds(saver.ttl_config))
    return ops.Freshness(write, write if write > 0 and saver.refresh_on_read else 0)


class Lister:
    """The pages of one ``list`` call: ``next_operation()`` gives the next page's body or None."""

    def __init__(
        self,
        saver: CheckpointerBase,
        layout: Layout,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> None:
        thread, ns, cid = list_scope(config)
        self.query = ops.ListQuery(
            thread, ns, cid, check_filter(filter), before_id(before), check_limit(limit)
        )
        self.layout = layout
        self.fresh = freshness(saver)
        self.remaining = self.query.limit
        self.cursor: str | None = None
        self.done = self.remaining == 0

    def next_operation(self) -> Body[tuple[list[StoredCheckpoint], str | None]] | None:
        if self.done:
            return None
        size = ops.PAGE if self.remaining is None else min(ops.PAGE, self.remaining)
        return ops.list_page_body(self.layout, self.query, self.fresh, self.cursor, size)

    def accept(self, page: tuple[list[StoredCheckpoint], str | None]) -> list[StoredCheckpoint]:
        """Record a page's answer; returns the checkpoints to yield."""
        items, self.cursor = page
        if self.remaining is not None:
            items = items[: self.remaining]
            self.remaining -= len(items)
        self.done = self.cursor is None or self.remaining == 0
        return items

    def touch_operation(self, returned: bool) -> None:
        """Nothing to run after a page: its script moves the thread's expiry itself."""
        return None


class RedisOps:
    """The Redis saver calls as script bodies on the keys of one layout."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def get_tuple(
        self, saver: CheckpointerBase, config: RunnableConfig
    ) -> Body[StoredCheckpoint | None]:
        return ops.get_body(self.layout, parse_config(config), freshness(saver))

    def lister(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Lister:
        return Lister(saver, self.layout, config, filter, before, limit)

    def put(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[PreparedCheckpoint, Body[None]]:
        prep = prepare_checkpoint(saver.serde, config, checkpoint, metadata, new_versions)
        return prep, ops.put_body(self.layout, prep, freshness(saver))

    def put_writes(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Body[None]:
        ref, prepared = prepare_writes(saver.serde, config, writes, task_id, task_path)
        return ops.put_writes_body(self.layout, ref, prepared, freshness(saver))

    def delete_thread(self, saver: CheckpointerBase, thread_id: str) -> Body[None]:
        return ops.delete_threads_body(self.layout, check_thread_ids([thread_id]))

    def delete_for_runs(self, saver: CheckpointerBase, run_ids: Sequence[str]) -> Body[None]:
        return ops.delete_runs_body(self.layout, check_thread_ids(run_ids, "run_ids"))

    def copy_thread(self, saver: CheckpointerBase, source: str, target: str) -> Body[None]:
        src, dst = check_thread_ids([source, target])
        return ops.copy_thread_body(self.layout, src, dst, freshness(saver))

    def prune(
        self, saver: CheckpointerBase, thread_ids: Sequence[str], strategy: str, keep: int
    ) -> Body[None]:
        check_prune(strategy, keep)
        return ops.prune_body(self.layout, check_thread_ids(thread_ids), strategy, keep)

    def sweep(self, saver: CheckpointerBase) -> Body[int]:
        return ops.sweep_body(self.layout)

    def thread_ids(self, saver: CheckpointerBase) -> Body[list[str]]:
        return ops.live_threads_body(self.layout)

    def delta_history(
        self, saver: CheckpointerBase, config: RunnableConfig, channels: Sequence[str]
    ) -> Body[dict[str, ChannelHistory]]:
        return ops.history_body(self.layout, parse_config(config), channels, freshness(saver))
