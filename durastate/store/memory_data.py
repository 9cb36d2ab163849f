"""The in-memory store's storage: items by namespace, their vectors, recency order, search."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
from langgraph.store.base import Item, SearchItem

from durastate.store.base import Namespace, SearchRequest, ts_to_datetime
from durastate.store.filters import matches
from durastate.store.index import IndexSettings
from durastate.store.memory_vectors import VectorTable
from durastate.store.vectors import Matrix


class MemoryRecord:
    """One stored item: its value (exact JSON types), times, TTL and vectors."""

    __slots__ = (
        "_created_dt",
        "_updated_dt",
        "created_at",
        "expires_at",
        "first_row",
        "flat",
        "key",
        "namespace",
        "ttl_minutes",
        "updated_at",
        "value",
        "vectors",
    )

    def __init__(
        self,
        namespace: Namespace,
        key: str,
        value: dict[str, Any],
        flat: bool | None,
        created_at: float,
        updated_at: float,
        expires_at: float | None,
        ttl_minutes: float | None,
        vectors: Matrix | None,
        created_dt: datetime | None = None,
        updated_dt: datetime | None = None,
    ) -> None:
        self.namespace = namespace
        self.key = key
        self.value = value
        self.flat = flat
        """No nested dict or list, so a shallow copy is a full copy (None: not known yet)."""
        self.created_at = created_at
        self.updated_at = updated_at
        self.expires_at = expires_at
        self.ttl_minutes = ttl_minutes
        self.vectors = vectors if vectors is not None and vectors.shape[0] else None
        self.first_row = -1
        """Where its rows start in the vector table of their width (-1: none)."""
        self._created_dt = created_dt
        self._updated_dt = updated_dt
        """The times as datetimes, made on first read unless handed over (a batch shares one)."""

    def set_datetimes(self, created: datetime, updated: datetime) -> None:
        """Hand over the times as datetimes already made (a batch shares one)."""
        self._created_dt = created
        self._updated_dt = updated

    def is_live(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at > now

    @property
    def created_dt(self) -> datetime:
        dt = self._created_dt
        if dt is None:
            dt = self._created_dt = ts_to_datetime(self.created_at)
        return dt

    @property
    def updated_dt(self) -> datetime:
        dt = self._updated_dt
        if dt is None:
            dt = self._updated_dt = ts_to_datetime(self.updated_at)
        return dt


def order_key(record: MemoryRecord) -> tuple[float, Namespace, str]:
    """Search order without a query: newest first, then namespace, then key."""
    return (-record.updated_at, record.namespace, record.key)


def _slow_item(rec: MemoryRecord, value: dict[str, Any]) -> Item:
    return Item(
        value=value,
        key=rec.key,
        namespace=rec.namespace,
        created_at=rec.created_dt,
        updated_at=rec.updated_dt,
    )


def _slow_search_item(rec: MemoryRecord, value: dict[str, Any], score: float | None) -> SearchItem:
    return SearchItem(
        namespace=rec.namespace,
        key=rec.key,
        value=value,
        created_at=rec.created_dt,
        updated_at=rec.updated_dt,
        score=score,
    )


def _fast_item(rec: MemoryRecord, value: dict[str, Any]) -> Item:
    item: Item = object.__new__(Item)
    item.value = value
    item.key = rec.key
    item.namespace = rec.namespace
    item.created_at = rec.created_dt
    item.updated_at = rec.updated_dt
    return item


def _fast_search_item(rec: MemoryRecord, value: dict[str, Any], score: float | None) -> SearchItem:
    item: SearchItem = object.__new__(SearchItem)
    item.value = value
    item.key = rec.key
    item.namespace = rec.namespace
    item.created_at = rec.created_dt
    item.updated_at = rec.updated_dt
    item.score = score
    return item


def _same(a: Item, b: Item) -> bool:
    slots = [s for cls in type(a).__mro__ for s in getattr(cls, "__slots__", ())]
    return (
        hasattr(a, "__slots__")
        and not hasattr(a, "__dict__")
        and all(getattr(a, s) == getattr(b, s) for s in slots)
    )


def _fast_items_match() -> bool:
    """Whether filling LangGraph's result slots directly makes exactly what its ``__init__``
    makes (checked once at import, so another LangGraph version falls back to it)."""
    probe = MemoryRecord(("ns",), "k", {"a": 1}, True, 1.0, 2.0, None, None, None)
    return _same(_fast_item(probe, probe.value), _slow_item(probe, probe.value)) and _same(
        _fast_search_item(probe, probe.value, 0.5), _slow_search_item(probe, probe.value, 0.5)
    )


if _fast_items_match():
    make_item, make_search_item = _fast_item, _fast_search_item
else:  # pragma: no cover - another LangGraph's Item
    make_item, make_search_item = _slow_item, _slow_search_item


@dataclass
class MemoryStoreData:
    """The storage behind an ``InMemoryStore``; share it to reopen the same data."""

    items: dict[Namespace, dict[str, MemoryRecord]] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    tables: dict[int, VectorTable] = field(default_factory=dict)
    """Vector rows by width (one width unless stores of several widths share the data)."""
    ns_ids: dict[Namespace, int] = field(default_factory=dict)
    ns_list: list[Namespace] = field(default_factory=list)
    _order: list[MemoryRecord] | None = None
    _masks: dict[Namespace, npt.NDArray[np.bool_]] = field(default_factory=dict)

    # -- writing (callers hold the lock) ---------------------------------------------------
    def _ns_id(self, namespace: Namespace) -> int:
        ns_id = self.ns_ids.get(namespace)
        if ns_id is None:
            ns_id = self.ns_ids[namespace] = len(self.ns_list)
            self.ns_list.append(namespace)
            self._masks.clear()
        return ns_id

    def drop_rows(self, record: MemoryRecord) -> None:
        """Mark an item's vector rows dead (the item is being replaced or deleted)."""
        if record.vectors is None or record.first_row < 0:
            return
        table = self.tables[record.vectors.shape[1]]
        table.remove(record.first_row, record.vectors.shape[0])
        record.first_row = -1
        if table.needs_compaction():
            table.compact()
            n = table.size
            first = table.first[:n]
            for start in np.flatnonzero(np.r_[True, first[1:] != first[:-1]]).tolist():
                table.owners[start].first_row = start

    def store(self, record: MemoryRecord) -> None:
        """Add or replace an item."""
        members = self.items.setdefault(record.namespace, {})
        old = members.get(record.key)
        if old is not None:
            self.drop_rows(old)
        members[record.key] = record
        if record.vectors is not None:
            dims = record.vectors.shape[1]
            table = self.tables.get(dims)
            if table is None:
                table = self.tables[dims] = VectorTable(dims)
            record.first_row = table.append(
                record.vectors, self._ns_id(record.namespace), record.expires_at, record
            )
        self._order = None

    def store_many(self, records: list[MemoryRecord]) -> None:
        """Add or replace several items (distinct namespace/key pairs), vectors in one go."""
        for record in records:
            members = self.items.setdefault(record.namespace, {})
            old = members.get(record.key)
            if old is not None:
                self.drop_rows(old)
            members[record.key] = record
        self.add_vectors([r for r in records if r.vectors is not None])

    def add_vectors(self, records: list[MemoryRecord]) -> None:
        """Give items just stored their vector rows, in one go (and forget the recency
        order, which the new items change)."""
        by_dims: dict[int, list[MemoryRecord]] = {}
        for record in records:
            if record.vectors is not None:
                by_dims.setdefault(record.vectors.shape[1], []).append(record)
        ns_id = self._ns_id
        for dims, group in by_dims.items():
            table = self.tables.get(dims)
            if table is None:
                table = self.tables[dims] = VectorTable(dims)
            starts = table.extend(
                [r.vectors for r in group if r.vectors is not None],
                [ns_id(r.namespace) for r in group],
                [r.expires_at for r in group],
                group,
            )
            for record, start in zip(group, starts, strict=True):
                record.first_row = start
        self._order = None

    def delete(self, namespace: Namespace, key: str) -> None:
        members = self.items.get(namespace)
        if members is None:
            return
        old = members.pop(key, None)
        if old is not None:
            self.drop_rows(old)
            self._order = None
        if not members:
            del self.items[namespace]

    def set_expiry(self, record: MemoryRecord, expires_at: float) -> None:
        record.expires_at = expires_at
        if record.vectors is not None and record.first_row >= 0:
            table = self.tables[record.vectors.shape[1]]
            table.set_expiry(record.first_row, record.vectors.shape[0], expires_at)

    def sweep(self, now: float) -> int:
        removed = 0
        for ns in list(self.items):
            members = self.items[ns]
            for key in [k for k, it in members.items() if not it.is_live(now)]:
                self.delete(ns, key)
                removed += 1
        return removed

    # -- reading (callers hold the lock) ---------------------------------------------------
    def live(self, namespace: Namespace, key: str, now: float) -> MemoryRecord | None:
        members = self.items.get(namespace)
        if members is None:
            return None
        item = members.get(key)
        if item is None or (item.expires_at is not None and item.expires_at <= now):
            return None
        return item

    def in_order(self) -> list[MemoryRecord]:
        """Every item, newest first (then namespace, then key); rebuilt after writes."""
        order = self._order
        if order is None:
            order = [r for members in self.items.values() for r in members.values()]
            order.sort(key=order_key)
            self._order = order
        return order

    def _ns_mask(self, prefix: Namespace) -> npt.NDArray[np.bool_] | None:
        if not prefix:
            return None
        mask = self._masks.get(prefix)
        if mask is None or mask.shape[0] != len(self.ns_list):
            n = len(prefix)
            mask = np.fromiter(
                (ns[:n] == prefix for ns in self.ns_list), dtype=np.bool_, count=len(self.ns_list)
            )
            if len(self._masks) > 256:
                self._masks.clear()
            self._masks[prefix] = mask
        return mask

    def by_recency(
        self, req: SearchRequest, now: float, *, vectors: bool = True, skip: int = 0
    ) -> Iterator[MemoryRecord]:
        """Live items under the prefix matching the filter, newest first.

        ``vectors=False``: only items without vectors (they follow the scored ones).
        """
        prefix = req.namespace_prefix
        n = len(prefix)
        conditions = req.conditions
        for rec in self.in_order():
            if n and rec.namespace[:n] != prefix:
                continue
            if rec.expires_at is not None and rec.expires_at <= now:
                continue
            if not vectors and rec.vectors is not None:
                continue
            if conditions and not matches(rec.value, conditions):
                continue
            if skip:
                skip -= 1
                continue
            yield rec

    def search(
        self, req: SearchRequest, index: IndexSettings | None, now: float
    ) -> list[tuple[MemoryRecord, float | None]]:
        """The reference search (``rank_items``) over the whole store, vectorized."""
        end = req.offset + req.limit
        if req.limit <= 0:
            return []
        query = req.query_vector
        if query is None or index is None:
            out: list[tuple[MemoryRecord, float | None]] = []
            for rec in self.by_recency(req, now, skip=req.offset):
                out.append((rec, None))
                if len(out) == req.limit:
                    break
            return out
        table = self.tables.get(query.shape[-1])
        ranked: list[tuple[MemoryRecord, float | None]] = []
        if table is not None and table.size:
            ranked = self._scored(table, req, index, now, end)
        if len(ranked) < end:
            for rec in self.by_recency(req, now, vectors=False):
                ranked.append((rec, None))
                if len(ranked) == end:
                    break
        return ranked[req.offset : end]

    def _scored(
        self, table: VectorTable, req: SearchRequest, index: IndexSettings, now: float, end: int
    ) -> list[tuple[MemoryRecord, float | None]]:
        assert req.query_vector is not None
        best, owners = table.item_scores(
            req.query_vector, index.distance_type, self._ns_mask(req.namespace_prefix), now
        )
        total = best.shape[0]
        conditions = req.conditions
        want = end if not conditions else max(4 * end, 64)
        while True:
            if want < total:
                kth = np.partition(best, total - want)[total - want]
                picked = np.flatnonzero(best >= kth)
            else:
                picked = np.arange(total)
            found = [
                (table.owners[first], score)
                for first, score in zip(owners[picked].tolist(), best[picked].tolist(), strict=True)
            ]
            # Score first, then the recency order (ties keep the newest first).
            found.sort(key=lambda pair: (-pair[1], order_key(pair[0])))
            out: list[tuple[MemoryRecord, float | None]] = []
            for rec, score in found:
                if conditions and not matches(rec.value, conditions):
                    continue
                out.append((rec, score))
                if len(out) == end:
                    return out
            if want >= total:
                return out
            want *= 4


def namespaces_with_items(data: MemoryStoreData, now: float) -> Iterator[Namespace]:
    """Namespaces holding at least one live item."""
    for ns, members in data.items.items():
        if any(it.is_live(now) for it in members.values()):
            yield ns
