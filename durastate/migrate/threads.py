"""Reading and writing threads through the public checkpointer API (any saver works)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver, ChannelVersions, CheckpointTuple

from durastate.migrate.digest import checkpoint_key, core_digest, parent_id, write_digests

Saver = BaseCheckpointSaver[Any]
Key = tuple[str, str]
"""(checkpoint_ns, checkpoint_id)."""


def thread_config(thread_id: str, ns: str | None = None, cid: str | None = None) -> RunnableConfig:
    conf: dict[str, Any] = {"thread_id": thread_id}
    if ns is not None:
        conf["checkpoint_ns"] = ns
    if cid is not None:
        conf["checkpoint_id"] = cid
    return {"configurable": conf}


def thread_ids(saver: Saver) -> list[str]:
    """Every thread holding a checkpoint, each once.

    A durastate saver answers from its index (``thread_ids()``); any other saver is read
    with one pass over ``list(None)``, which finishes before any thread is read: some
    savers (the official SQLite and Postgres ones) hold a lock while a ``list`` is
    being iterated.
    """
    listed = getattr(saver, "thread_ids", None)
    if callable(listed):
        return list(listed())
    seen: dict[str, None] = {}
    for tup in saver.list(None):
        seen.setdefault(str(tup.config["configurable"]["thread_id"]), None)
    return list(seen)


def checkpoint_keys(saver: Saver, thread_id: str) -> list[Key]:
    """The thread's checkpoints, oldest first within each namespace, root namespace first."""
    by_ns: dict[str, list[str]] = {}
    for tup in saver.list(thread_config(thread_id)):
        ns, cid = checkpoint_key(tup)
        by_ns.setdefault(ns, []).append(cid)
    return [(ns, cid) for ns in sorted(by_ns) for cid in reversed(by_ns[ns])]


def iter_checkpoints(saver: Saver, thread_id: str) -> Iterator[CheckpointTuple]:
    """The thread's checkpoints in copy order, read one at a time."""
    for ns, cid in checkpoint_keys(saver, thread_id):
        tup = saver.get_tuple(thread_config(thread_id, ns, cid))
        if tup is not None:
            yield tup


def checkpoint_time(tup: CheckpointTuple) -> float | None:
    """Epoch seconds of a checkpoint's ``ts`` (None when it has none LangGraph wrote)."""
    ts = tup.checkpoint.get("ts")
    if not isinstance(ts, str):
        return None
    try:
        when = datetime.fromisoformat(ts)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def last_activity(saver: Saver, thread_id: str) -> float | None:
    """When the thread's newest checkpoint was written (one ``list(limit=1)``)."""
    for tup in saver.list(thread_config(thread_id), limit=1):
        return checkpoint_time(tup)
    return None


Fingerprint = tuple[bytes, list[bytes]]
"""A checkpoint's core digest and its pending writes' digests."""


def fingerprints(saver: Saver, thread_id: str) -> dict[Key, Fingerprint]:
    """What a saver holds for a thread, as digests (no values kept in memory)."""
    return {
        checkpoint_key(tup): (core_digest(tup), write_digests(tup))
        for tup in saver.list(thread_config(thread_id))
    }


def new_versions(tup: CheckpointTuple, known: Mapping[str, ChannelVersions]) -> ChannelVersions:
    """The channel versions this checkpoint introduced over its parent (all if unknown)."""
    versions = dict(tup.checkpoint.get("channel_versions", {}))
    parent = parent_id(tup)
    before = known.get(parent) if parent is not None else None
    if before is None:
        return versions
    return {ch: v for ch, v in versions.items() if before.get(ch) != v}


def put_checkpoint(
    saver: Saver, thread_id: str, tup: CheckpointTuple, known: dict[str, ChannelVersions]
) -> None:
    """``put`` the checkpoint under its own id, linked to its parent; remembers its versions."""
    ns, cid = checkpoint_key(tup)
    config = thread_config(thread_id, ns, parent_id(tup))
    saver.put(config, tup.checkpoint, tup.metadata, new_versions(tup, known))
    known[cid] = dict(tup.checkpoint.get("channel_versions", {}))


def put_pending_writes(saver: Saver, thread_id: str, tup: CheckpointTuple) -> int:
    """``put_writes`` of the checkpoint's pending writes, one call per task, order kept."""
    ns, cid = checkpoint_key(tup)
    by_task: dict[str, list[tuple[str, Any]]] = {}
    for task_id, channel, value in tup.pending_writes or ():
        by_task.setdefault(task_id, []).append((channel, value))
    config = thread_config(thread_id, ns, cid)
    for task_id, writes in by_task.items():
        saver.put_writes(config, writes, task_id)
    return sum(len(w) for w in by_task.values())
