"""In-memory checkpointer: thread-safe, with retention and thread TTL like every engine."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate.checkpoint.base import (
    Blob,
    CheckpointTTLConfig,
    LineageRow,
    PruneStrategy,
    StoredCheckpoint,
    StoredWrite,
    before_id,
    build_tuple,
    check_filter,
    check_limit,
    check_prune,
    check_thread_ids,
    checkpoint_parts,
    checkpoints_to_keep,
    delta_depth,
    list_scope,
    metadata_matches,
    metadata_view,
    parse_config,
    prepare_write_rows,
)
from durastate.checkpoint.flavours import SyncCheckpointer


@dataclass(slots=True)
class _Row:
    checkpoint: Blob
    metadata: Blob
    metadata_view: dict[str, Any]
    parent_id: str | None
    run_id: str | None
    versions: dict[str, str]


_Write = tuple[str, str, str, bytes, str, int]
"""A pending write as kept: ``StoredWrite``'s fields in order (made into one on reads)."""


@dataclass
class MemoryCheckpointData:
    """The storage behind an ``InMemorySaver``; share it to reopen the same data."""

    threads: dict[str, dict[str, dict[str, _Row]]] = field(default_factory=dict)
    blobs: dict[tuple[str, str, str, str], Blob] = field(default_factory=dict)
    writes: dict[tuple[str, str, str], dict[tuple[str, int], _Write]] = field(default_factory=dict)
    expiry: dict[str, float] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


class InMemorySaver(SyncCheckpointer):
    """Checkpoints in process memory, for tests and short-lived programs.

    ``InMemorySaver(data=other.data)`` opens the same storage again.
    """

    def __init__(
        self,
        *,
        serde: SerializerProtocol | None = None,
        ttl: CheckpointTTLConfig | None = None,
        data: MemoryCheckpointData | None = None,
    ) -> None:
        super().__init__(serde=serde, ttl=ttl)
        self.data = data or MemoryCheckpointData()

    def __enter__(self) -> InMemorySaver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    async def __aenter__(self) -> InMemorySaver:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    # -- reading -------------------------------------------------------------------------
    def _expired(self, thread_id: str, now: float) -> bool:
        exp = self.data.expiry.get(thread_id)
        return exp is not None and exp <= now

    def _touch(self, thread_id: str, now: float | None = None) -> None:
        if self._ttl_seconds is None:
            return
        exp = self.expires_at(now)
        if exp is not None:
            self.data.expiry[thread_id] = exp

    def _stored(self, thread_id: str, ns: str, cid: str, row: _Row) -> StoredCheckpoint:
        blobs = {}
        for channel, version in row.versions.items():
            blob = self.data.blobs.get((thread_id, ns, channel, version))
            if blob is not None:
                blobs[channel] = blob
        bucket = self.data.writes.get((thread_id, ns, cid))
        writes = [StoredWrite(*w) for w in bucket.values()] if bucket else []
        return StoredCheckpoint(
            thread_id, ns, cid, row.parent_id, row.checkpoint, row.metadata, blobs, writes
        )

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        ref = parse_config(config)
        now = time.time()
        with self.data.lock:
            if self._expired(ref.thread_id, now):
                return None
            rows = self.data.threads.get(ref.thread_id, {}).get(ref.checkpoint_ns, {})
            if not rows:
                return None
            cid = ref.checkpoint_id or max(rows)
            row = rows.get(cid)
            if row is None:
                return None
            stored = self._stored(ref.thread_id, ref.checkpoint_ns, cid, row)
            if self.refresh_on_read:
                self._touch(ref.thread_id, now)
        return build_tuple(self.serde, stored)

    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        thread, ns_scope, cid_scope = list_scope(config)
        wanted = check_filter(filter)
        before_cid = before_id(before)
        remaining = check_limit(limit)
        now = time.time()
        with self.data.lock:
            threads = [thread] if thread is not None else sorted(self.data.threads)
            # Rows first, decoded only for the page: a limit needs no work for the rest.
            found: list[tuple[str, str, str, _Row]] = []
            for tid in threads:
                if self._expired(tid, now):
                    continue
                spaces = self.data.threads.get(tid, {})
                for ns in sorted(spaces):
                    if ns_scope is not None and ns != ns_scope:
                        continue
                    for cid in sorted(spaces[ns], reverse=True):
                        if cid_scope is not None and cid != cid_scope:
                            continue
                        if before_cid is not None and cid >= before_cid:
                            continue
                        row = spaces[ns][cid]
                        if wanted and not metadata_matches(row.metadata_view, wanted):
                            continue
                        found.append((cid, tid, ns, row))
            if thread is not None and self.refresh_on_read and found:
                self._touch(thread, now)
            found.sort(key=lambda f: f[0], reverse=True)
            if remaining is not None:
                found = found[:remaining]
            page = [self._stored(tid, ns, cid, row) for cid, tid, ns, row in found]
        for stored in page:
            yield build_tuple(self.serde, stored)

    # -- writing -------------------------------------------------------------------------
    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        parts = checkpoint_parts(self.serde, config, checkpoint, metadata, new_versions)
        ref = parts.ref
        thread_id, ns = ref.thread_id, ref.checkpoint_ns
        row = _Row(
            parts.checkpoint,
            parts.metadata,
            metadata_view(parts.meta),
            ref.checkpoint_id,
            parts.run_id,
            parts.channel_versions,
        )
        data = self.data
        with data.lock:
            if self._expired(thread_id, parts.created_at):
                self._drop_thread(thread_id)
            blobs = data.blobs
            for channel, version, typ, blob in parts.blobs:
                blobs[(thread_id, ns, channel, version)] = (typ, blob)
            spaces = data.threads.setdefault(thread_id, {})
            spaces.setdefault(ns, {})[parts.checkpoint_id] = row
            self._touch(thread_id, parts.created_at)
        return {
            "configurable": {
                "thread_id": thread_id,
                "checkpoint_ns": ns,
                "checkpoint_id": parts.checkpoint_id,
            }
        }

    def put_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        ref, rows = prepare_write_rows(self.serde, config, writes, task_id)
        assert ref.checkpoint_id is not None
        with self.data.lock:
            bucket = self.data.writes.setdefault(
                (ref.thread_id, ref.checkpoint_ns, ref.checkpoint_id), {}
            )
            for idx, channel, typ, data in rows:
                key = (task_id, idx)
                # Special writes (idx < 0) replace; regular ones keep the first.
                if idx >= 0 and key in bucket:
                    continue
                bucket[key] = (task_id, channel, typ, data, task_path, idx)
            self._touch(ref.thread_id)

    # -- retention -----------------------------------------------------------------------
    def _drop_thread(self, thread_id: str) -> None:
        self.data.threads.pop(thread_id, None)
        self.data.expiry.pop(thread_id, None)
        for key in [k for k in self.data.writes if k[0] == thread_id]:
            del self.data.writes[key]
        for bkey in [k for k in self.data.blobs if k[0] == thread_id]:
            del self.data.blobs[bkey]

    def _drop_unreferenced_blobs(self, thread_id: str) -> None:
        used = {
            (thread_id, ns, ch, v)
            for ns, rows in self.data.threads.get(thread_id, {}).items()
            for row in rows.values()
            for ch, v in row.versions.items()
        }
        for key in [k for k in self.data.blobs if k[0] == thread_id and k not in used]:
            del self.data.blobs[key]

    def delete_thread(self, thread_id: str) -> None:
        (tid,) = check_thread_ids([thread_id])
        with self.data.lock:
            self._drop_thread(tid)

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        runs = set(check_thread_ids(run_ids, "run_ids"))
        if not runs:
            return
        with self.data.lock:
            for tid, spaces in list(self.data.threads.items()):
                touched = False
                for ns, rows in spaces.items():
                    for cid in [c for c, r in rows.items() if r.run_id in runs]:
                        del rows[cid]
                        self.data.writes.pop((tid, ns, cid), None)
                        touched = True
                if touched:
                    self._forget_empty(tid)

    def _forget_empty(self, thread_id: str) -> None:
        spaces = self.data.threads.get(thread_id, {})
        for ns in [n for n, rows in spaces.items() if not rows]:
            del spaces[ns]
        if not spaces:
            self._drop_thread(thread_id)
        else:
            self._drop_unreferenced_blobs(thread_id)

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        src, dst = check_thread_ids([source_thread_id, target_thread_id])
        with self.data.lock:
            spaces = self.data.threads.get(src)
            if not spaces or self._expired(src, time.time()):
                return
            target = self.data.threads.setdefault(dst, {})
            for ns, rows in spaces.items():
                target.setdefault(ns, {}).update(rows)
            for (tid, ns, ch, v), blob in list(self.data.blobs.items()):
                if tid == src:
                    self.data.blobs[(dst, ns, ch, v)] = blob
            for (tid, ns, cid), bucket in list(self.data.writes.items()):
                if tid == src:
                    self.data.writes[(dst, ns, cid)] = dict(bucket)
            self._touch(dst, time.time())

    def prune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        check_prune(strategy, keep)
        tids = check_thread_ids(thread_ids)
        with self.data.lock:
            for tid in tids:
                if strategy == "delete":
                    self._drop_thread(tid)
                    continue
                spaces = self.data.threads.get(tid)
                if not spaces:
                    continue
                lineage = [
                    LineageRow(ns, cid, row.parent_id, delta_depth(row.metadata_view))
                    for ns, rows in spaces.items()
                    for cid, row in rows.items()
                ]
                kept = checkpoints_to_keep(lineage, keep)
                for ns, rows in spaces.items():
                    for cid in [c for c in rows if (ns, c) not in kept]:
                        del rows[cid]
                        self.data.writes.pop((tid, ns, cid), None)
                self._forget_empty(tid)

    def sweep_ttl(self) -> int:
        now = time.time()
        with self.data.lock:
            expired = [t for t, exp in self.data.expiry.items() if exp <= now]
            for tid in expired:
                self._drop_thread(tid)
        return len(expired)

    # Memory operations never wait on I/O, so the async API calls them directly.
    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        self.delete_for_runs(run_ids)

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self.copy_thread(source_thread_id, target_thread_id)

    async def aprune(
        self,
        thread_ids: Sequence[str],
        *,
        strategy: PruneStrategy | str = "keep_latest",
        keep: int = 1,
    ) -> None:
        self.prune(thread_ids, strategy=strategy, keep=keep)

    async def asweep_ttl(self) -> int:
        return self.sweep_ttl()


MemorySaver = InMemorySaver
