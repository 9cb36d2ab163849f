"""In-memory store: thread-safe, with semantic search, filters and TTL like every engine."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langgraph.store.base import Op, Result, TTLConfig

from durastate.store.base import (
    Namespace,
    PreparedBatch,
    StoredItem,
    SyncStore,
    assemble,
    make_item,
    make_search_item,
    rank_items,
    select_namespaces,
)
from durastate.store.transfer import (
    ExportedItem,
    ExportedVector,
    import_expiry,
    plan_import,
)


@dataclass
class MemoryStoreData:
    """The storage behind an ``InMemoryStore``; share it to reopen the same data."""

    items: dict[Namespace, dict[str, StoredItem]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)


class InMemoryStore(SyncStore):
    """A long-term memory store in process memory.

    ``InMemoryStore(data=other.data)`` opens the same storage again.
    """

    def __init__(
        self,
        *,
        index: Mapping[str, Any] | None = None,
        ttl: TTLConfig | None = None,
        data: MemoryStoreData | None = None,
    ) -> None:
        super().__init__(index=index, ttl=ttl)
        self.data = data or MemoryStoreData()

    def __enter__(self) -> InMemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    async def __aenter__(self) -> InMemoryStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    def _live(self, namespace: Namespace, key: str, now: float) -> StoredItem | None:
        item = self.data.items.get(namespace, {}).get(key)
        return item if item is not None and item.is_live(now) else None

    def _refresh(self, item: StoredItem, now: float) -> None:
        if item.ttl_minutes is not None:
            item.expires_at = now + item.ttl_minutes * 60.0

    def run_batch(self, batch: PreparedBatch) -> list[Result]:
        answers: dict[int, Result] = {}
        now = batch.now
        with self.data.lock:
            for get in batch.gets:
                item = self._live(get.namespace, get.key, now)
                if item is None:
                    answers[get.slot] = None
                    continue
                if get.refresh_ttl:
                    self._refresh(item, now)
                answers[get.slot] = make_item(
                    item.namespace, item.key, _copy(item.value), item.created_at, item.updated_at
                )
            for search in batch.searches:
                n = len(search.namespace_prefix)
                candidates = [
                    it
                    for ns, members in self.data.items.items()
                    if ns[:n] == search.namespace_prefix
                    for it in members.values()
                    if it.is_live(now)
                ]
                ranked = rank_items(candidates, search, self.index_settings)
                if search.refresh_ttl:
                    for it, _ in ranked:
                        self._refresh(it, now)
                answers[search.slot] = [
                    make_search_item(
                        it.namespace, it.key, _copy(it.value), it.created_at, it.updated_at, score
                    )
                    for it, score in ranked
                ]
            for req in batch.lists:
                live = (
                    ns
                    for ns, members in self.data.items.items()
                    if any(it.is_live(now) for it in members.values())
                )
                answers[req.slot] = select_namespaces(live, req)
            for put in batch.puts:
                members = self.data.items.setdefault(put.namespace, {})
                if put.value is None:
                    members.pop(put.key, None)
                    if not members:
                        del self.data.items[put.namespace]
                    continue
                old = self._live(put.namespace, put.key, now)
                vectors = np.stack([e.vector for e in put.embeddings]) if put.embeddings else None
                members[put.key] = StoredItem(
                    namespace=put.namespace,
                    key=put.key,
                    value=put.value,
                    created_at=old.created_at if old is not None else now,
                    updated_at=now,
                    expires_at=put.expires_at(now),
                    ttl_minutes=put.ttl_minutes,
                    vectors=vectors,
                )
        return assemble(batch, answers)

    def export_items(
        self, namespace_prefix: Namespace = (), *, batch_size: int = 500
    ) -> Iterator[ExportedItem]:
        n = len(namespace_prefix)
        with self.data.lock:
            keys = sorted(
                (ns, key)
                for ns, members in self.data.items.items()
                if ns[:n] == namespace_prefix
                for key in members
            )
        for ns, key in keys:
            now = time.time()
            with self.data.lock:
                item = self._live(ns, key, now)
                if item is None:
                    continue
                vectors = (
                    ()
                    if item.vectors is None
                    else tuple(ExportedVector("", row.copy()) for row in item.vectors)
                )
                exported = ExportedItem(
                    ns,
                    key,
                    _copy(item.value),
                    item.created_at,
                    item.updated_at,
                    item.expires_at,
                    item.ttl_minutes,
                    vectors,
                )
            yield exported

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        plan = plan_import(self, items, reembed=reembed)
        self.embed_sync(plan.batch)
        with self.data.lock:
            for item, put in plan.items:
                vectors = np.stack([e.vector for e in put.embeddings]) if put.embeddings else None
                self.data.items.setdefault(put.namespace, {})[put.key] = StoredItem(
                    namespace=put.namespace,
                    key=put.key,
                    value=put.value or {},
                    created_at=float(item.created_at),
                    updated_at=float(item.updated_at),
                    expires_at=import_expiry(item),
                    ttl_minutes=put.ttl_minutes,
                    vectors=vectors,
                )
        return len(plan.items)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        # Memory work never waits on I/O: only the embedding calls are awaited.
        return self.run_batch(await self.embed_async(self.prepare(ops)))

    def sweep_ttl(self) -> int:

        now = time.time()
        removed = 0
        with self.data.lock:
            for ns in list(self.data.items):
                members = self.data.items[ns]
                for key in [k for k, it in members.items() if not it.is_live(now)]:
                    del members[key]
                    removed += 1
                if not members:
                    del self.data.items[ns]
        return removed

    async def asweep_ttl(self) -> int:
        return self.sweep_ttl()


def _copy(value: dict[str, Any]) -> dict[str, Any]:
    """Callers get their own copy, so mutating a result never changes the store."""
    return copy.deepcopy(value)
