"""What the sync and async SQLite savers share: turning calls into engine operations and back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)

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
from durastate._engines.sqlite.checkpoint_write import put_operation, put_writes_operation
from durastate._engines.sqlite.deltas import BaseKey, DeltaBases, Known
from durastate._engines.sqlite.requests import Operation, Plan
from durastate.checkpoint.base import (
    CheckpointerBase,
    PreparedCheckpoint,
    StoredCheckpoint,
    build_tuple,
    check_prune,
    check_thread_ids,
    dumps_named,
    prepare_checkpoint,
    prepare_writes,
    ttl_seconds,
)
from durastate.checkpoint.history import ChannelHistory


def freshness(saver: CheckpointerBase) -> Freshness:
    return Freshness(ttl_seconds(saver.ttl_config), saver.refresh_on_read)


def decode(saver: CheckpointerBase, stored: StoredCheckpoint | None) -> CheckpointTuple | None:
    return None if stored is None else build_tuple(saver.serde, stored)


def delta_history(
    config: RunnableConfig, channels: Sequence[str]
) -> Operation[dict[str, ChannelHistory]]:
    return history_operation(config, channels)


def decode_found(saver: CheckpointerBase, stored: StoredCheckpoint) -> CheckpointTuple:
    return build_tuple(saver.serde, stored)


def get_tuple(
    saver: CheckpointerBase, config: RunnableConfig
) -> Operation[StoredCheckpoint | None]:
    return get_tuple_operation(config, freshness(saver))


def lister(
    saver: CheckpointerBase,
    config: RunnableConfig | None,
    filter: Mapping[str, Any] | None,
    before: RunnableConfig | None,
    limit: int | None,
) -> Lister:
    return Lister(config, filter=filter, before=before, limit=limit, freshness=freshness(saver))


def put(
    saver: CheckpointerBase,
    bases: DeltaBases,
    config: RunnableConfig,
    checkpoint: Checkpoint,
    metadata: CheckpointMetadata,
    new_versions: ChannelVersions,
) -> tuple[PreparedCheckpoint, Operation[dict[BaseKey, Known]]]:
    prep = prepare_checkpoint(saver.serde, config, checkpoint, metadata, new_versions)
    values = checkpoint.get("channel_values") or {}

    def serialize(channel: str) -> tuple[str, bytes] | None:
        if channel not in values:
            return None
        return dumps_named(saver.serde, values[channel], f"channel {channel!r}")

    return prep, put_operation(prep, bases, serialize, saver.expires_at(prep.created_at))


def put_writes(
    saver: CheckpointerBase,
    config: RunnableConfig,
    writes: Sequence[tuple[str, Any]],
    task_id: str,
    task_path: str,
) -> Operation[None]:
    ref, prepared = prepare_writes(saver.serde, config, writes, task_id, task_path)
    return put_writes_operation(ref, prepared, saver.expires_at())


def delete_thread(thread_id: str, bases: DeltaBases) -> Plan[None]:
    return delete_threads_plan(check_thread_ids([thread_id]), bases)


def delete_for_runs(run_ids: Sequence[str], bases: DeltaBases) -> Plan[None]:
    return delete_runs_plan(check_thread_ids(run_ids, "run_ids"), bases)


def copy_thread(saver: CheckpointerBase, source: str, target: str) -> Operation[bool]:
    src, dst = check_thread_ids([source, target])
    return copy_thread_operation(src, dst, saver.expires_at())


def prune(thread_ids: Sequence[str], strategy: str, keep: int, bases: DeltaBases) -> Plan[None]:
    check_prune(strategy, keep)
    return prune_plan(check_thread_ids(thread_ids), strategy, keep, bases)


def sweep(bases: DeltaBases) -> Plan[int]:
    return sweep_plan(bases)
