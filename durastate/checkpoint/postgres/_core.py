"""What the sync and async Postgres savers share: ``PostgresOps`` turns calls into operations."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata

from durastate._engines.postgres.checkpoint_history import history_operation
from durastate._engines.postgres.checkpoint_read import Freshness, Lister, get_tuple_operation
from durastate._engines.postgres.checkpoint_retention import (
    copy_thread_operation,
    delete_runs_operation,
    delete_threads_operation,
    prune_operation,
    sweep_operation,
    thread_list,
)
from durastate._engines.postgres.checkpoint_threads import thread_ids_operation
from durastate._engines.postgres.checkpoint_write import put_operation, put_writes_operation
from durastate._engines.postgres.requests import Operation
from durastate.checkpoint.base import (
    CheckpointerBase,
    PreparedCheckpoint,
    StoredCheckpoint,
    channel_serializer,
    check_prune,
    check_thread_ids,
    prepare_checkpoint,
    prepare_writes,
    ttl_seconds,
)
from durastate.checkpoint.history import ChannelHistory


def freshness(saver: CheckpointerBase) -> Freshness:
    return Freshness(ttl_seconds(saver.ttl_config), saver.refresh_on_read)


class PostgresOps:
    """The Postgres saver calls as operations on the tables of one schema."""

    def __init__(self, schema: str | None) -> None:
        self.schema = schema

    def get_tuple(
        self, saver: CheckpointerBase, config: RunnableConfig
    ) -> Operation[StoredCheckpoint | None]:
        return get_tuple_operation(config, freshness(saver), self.schema)

    def lister(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Lister:
        return Lister(
            config,
            filter=filter,
            before=before,
            limit=limit,
            freshness=freshness(saver),
            schema=self.schema,
        )

    def put(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[PreparedCheckpoint, Operation[None]]:
        prep = prepare_checkpoint(saver.serde, config, checkpoint, metadata, new_versions)
        serialize = channel_serializer(saver.serde, checkpoint)
        expires = saver.expires_at(prep.created_at)
        return prep, put_operation(prep, serialize, expires, self.schema)

    def put_writes(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Operation[None]:
        ref, prepared = prepare_writes(saver.serde, config, writes, task_id, task_path)
        now = time.time()
        return put_writes_operation(ref, prepared, saver.expires_at(now), now, self.schema)

    def delete_thread(self, saver: CheckpointerBase, thread_id: str) -> Operation[None]:
        return delete_threads_operation(check_thread_ids([thread_id]), self.schema)

    def delete_for_runs(
        self, saver: CheckpointerBase, run_ids: Sequence[str]
    ) -> Operation[None] | None:
        runs = thread_list(check_thread_ids(run_ids, "run_ids"))
        return delete_runs_operation(runs, self.schema) if runs else None

    def copy_thread(self, saver: CheckpointerBase, source: str, target: str) -> Operation[bool]:
        src, dst = check_thread_ids([source, target])
        return copy_thread_operation(src, dst, saver.expires_at(), self.schema)

    def prune(
        self, saver: CheckpointerBase, thread_ids: Sequence[str], strategy: str, keep: int
    ) -> Operation[None] | None:
        check_prune(strategy, keep)
        ids = thread_list(check_thread_ids(thread_ids))
        return prune_operation(ids, strategy, keep, self.schema) if ids else None

    def sweep(self, saver: CheckpointerBase) -> Operation[int]:
        return sweep_operation(self.schema)

    def thread_ids(self, saver: CheckpointerBase) -> Operation[list[str]]:
        return thread_ids_operation(self.schema)

    def delta_history(
        self, saver: CheckpointerBase, config: RunnableConfig, channels: Sequence[str]
    ) -> Operation[dict[str, ChannelHistory]]:
        return history_operation(config, channels, self.schema)
