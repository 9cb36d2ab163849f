"""What the sync and async SQLite savers share: ``SqliteOps`` turns calls into engine steps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import ChannelVersions, Checkpoint, CheckpointMetadata

from durastate._engines.sqlite.checkpoint_history import history_operation
from durastate._engines.sqlite.checkpoint_read import (
    Freshness,
    Lister,
    get_tuple_operation,
)
from durastate._engines.sqlite.checkpoint_retention import (
    copy_thread_operation,
    delete_runs_plan,
    delete_threads_plan,
    prune_plan,
    sweep_plan,
)
from durastate._engines.sqlite.checkpoint_threads import thread_ids_operation
from durastate._engines.sqlite.checkpoint_write import put_operation, put_writes_operation
from durastate._engines.sqlite.deltas import BaseKey, DeltaBases, Known
from durastate._engines.sqlite.requests import Operation, Plan
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


def remembering(op: Operation[dict[BaseKey, Known]], bases: DeltaBases) -> Plan[None]:
    """Run a ``put`` and keep the values it wrote as delta bases for the next ones."""
    bases.remember((yield op))


class SqliteOps:
    """The SQLite saver calls as operations and plans, over one saver's delta bases."""

    def __init__(self, bases: DeltaBases) -> None:
        self.bases = bases

    def get_tuple(
        self, saver: CheckpointerBase, config: RunnableConfig
    ) -> Operation[StoredCheckpoint | None]:
        return get_tuple_operation(config, freshness(saver))

    def lister(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig | None,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> Lister:
        return Lister(config, filter=filter, before=before, limit=limit, freshness=freshness(saver))

    def put(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[PreparedCheckpoint, Plan[None]]:
        prep = prepare_checkpoint(saver.serde, config, checkpoint, metadata, new_versions)
        serialize = channel_serializer(saver.serde, checkpoint)
        op = put_operation(prep, self.bases, serialize, saver.expires_at(prep.created_at))
        return prep, remembering(op, self.bases)

    def put_writes(
        self,
        saver: CheckpointerBase,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str,
    ) -> Operation[None]:
        ref, prepared = prepare_writes(saver.serde, config, writes, task_id, task_path)
        return put_writes_operation(ref, prepared, saver.expires_at())

    def delete_thread(self, saver: CheckpointerBase, thread_id: str) -> Plan[None]:
        return delete_threads_plan(check_thread_ids([thread_id]), self.bases)

    def delete_for_runs(self, saver: CheckpointerBase, run_ids: Sequence[str]) -> Plan[None]:
        return delete_runs_plan(check_thread_ids(run_ids, "run_ids"), self.bases)

    def copy_thread(self, saver: CheckpointerBase, source: str, target: str) -> Operation[bool]:
        src, dst = check_thread_ids([source, target])
        return copy_thread_operation(src, dst, saver.expires_at())

    def prune(
        self, saver: CheckpointerBase, thread_ids: Sequence[str], strategy: str, keep: int
    ) -> Plan[None]:
        check_prune(strategy, keep)
        return prune_plan(check_thread_ids(thread_ids), strategy, keep, self.bases)

    def sweep(self, saver: CheckpointerBase) -> Plan[int]:
        return sweep_plan(self.bases)

    def thread_ids(self, saver: CheckpointerBase) -> Operation[list[str]]:
        return thread_ids_operation()

    def delta_history(
        self, saver: CheckpointerBase, config: RunnableConfig, channels: Sequence[str]
    ) -> Operation[dict[str, ChannelHistory]]:
        return history_operation(config, channels)
