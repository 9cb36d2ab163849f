"""In-memory store: thread-safe, with semantic search, filters and TTL like every engine."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import numpy as np
from langgraph.store.base import (
    Item,
    Op,
    PutOp,
    Result,
    TTLConfig,
    _validate_namespace_labels,
)

from durastate.serde.plain_json import copy_in, copy_in_flat, copy_out, is_flat
from durastate.store.base import (
    Namespace,
    PreparedBatch,
    PutRequest,
    SyncStore,
    assemble,
    check_key,
    check_namespace,
    check_ttl,
    plain_field,
    select_namespaces,
    ts_to_datetime,
)
from durastate.store.memory_data import (
    MemoryRecord,
    MemoryStoreData,
    make_item,
    make_search_item,
    namespaces_with_items,
)
from durastate.store.transfer import (
    ExportedItem,
    ExportedVector,
    import_expiry,
    plan_import,
)
from durastate.store.vectors import Matrix

__all__ = ["InMemoryStore", "MemoryStoreData"]

_KNOWN_NAMESPACES = 4096
"""How many accepted namespaces a store remembers (then it forgets them all)."""
_SHORT_KEY = 256
"""Keys up to this many characters are within the 1024-byte name limit whatever they hold."""


def _copy(record: MemoryRecord) -> dict[str, Any]:
    """Callers get their own copy, so mutating a result never changes the store."""
    value = record.value
    flat = record.flat
    if flat is None:
        flat = record.flat = is_flat(value)
    if flat:
        return value.copy()
    out: dict[str, Any] = copy_out(value)
    return out


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
        self._read_ns: set[Namespace] = set()
        self._write_ns: set[Namespace] = set()
        refresh = (ttl or {}).get("refresh_on_read", True) if ttl is not None else True
        self._refresh_default = bool(refresh)

    def __enter__(self) -> InMemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    async def __aenter__(self) -> InMemoryStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    # -- validation, remembered -------------------------------------------------------------
    def _namespace(
        self, namespace: Any, *, allow_empty: bool = False, writing: bool = False
    ) -> Namespace:
        known = self._write_ns if writing else self._read_ns
        if type(namespace) is tuple:
            try:
                if namespace in known:
                    return namespace
            except TypeError:
                pass
        ns = check_namespace(namespace, allow_empty=allow_empty, writing=writing)
        if ns:
            # A namespace fit for writing is fit for reading too.
            for accepted in (known, self._read_ns) if writing else (known,):
                if len(accepted) >= _KNOWN_NAMESPACES:
                    accepted.clear()
                accepted.add(ns)
        return ns

    def _put_value(
        self, value: Any, namespace: Namespace, key: str
    ) -> tuple[dict[str, Any], str | None]:
        copied = copy_in(value)
        if copied is not None:
            return copied, None
        return super()._put_value(value, namespace, key)

    # -- single get without the batch machinery ----------------------------------------------
    def get(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        if type(namespace) is not tuple or type(key) is not str:
            return super().get(namespace, key, refresh_ttl=refresh_ttl)
        data = self.data
        try:
            members = data.items.get(namespace)
        except TypeError:  # an unhashable label: the checks below name it
            members = None
        rec = None if members is None else members.get(key)
        if rec is not None and rec.expires_at is None:
            # Only valid names are ever stored, so a hit needs no checks; records are
            # replaced, never changed in place (but for expiry), so no lock either.
            return make_item(rec, _copy(rec))
        try:
            known = namespace in self._read_ns
        except TypeError:
            known = False
        if not known:
            # The checks BaseStore.get and batch make, in their order.
            _validate_namespace_labels(namespace)
            self._namespace(namespace)
        if len(key) > _SHORT_KEY or "\x00" in key:
            check_key(key, namespace)
        if rec is None:
            return None
        refresh = self._refresh_default if refresh_ttl is None else bool(refresh_ttl)
        now = time.time()
        with data.lock:
            rec = data.live(namespace, key, now)
            if rec is None:
                return None
            if refresh and rec.ttl_minutes is not None:
                data.set_expiry(rec, now + rec.ttl_minutes * 60.0)
            return make_item(rec, _copy(rec))

    async def aget(
        self, namespace: tuple[str, ...], key: str, *, refresh_ttl: bool | None = None
    ) -> Item | None:
        # Memory work never waits on I/O, and a get embeds nothing.
        return self.get(namespace, key, refresh_ttl=refresh_ttl)

    # -- batches ---------------------------------------------------------------------------
    def run_batch(self, batch: PreparedBatch) -> list[Result]:
        answers: dict[int, Result] = {}
        now = batch.now
        data = self.data
        with data.lock:
            for get in batch.gets:
                rec = data.live(get.namespace, get.key, now)
                if rec is None:
                    answers[get.slot] = None
                    continue
                if get.refresh_ttl and rec.ttl_minutes is not None:
                    data.set_expiry(rec, now + rec.ttl_minutes * 60.0)
                answers[get.slot] = make_item(rec, _copy(rec))
            for search in batch.searches:
                ranked = data.search(search, self.index_settings, now)
                if search.refresh_ttl:
                    for rec, _ in ranked:
                        if rec.ttl_minutes is not None:
                            data.set_expiry(rec, now + rec.ttl_minutes * 60.0)
                answers[search.slot] = [
                    make_search_item(rec, _copy(rec), None if score is None else float(score))
                    for rec, score in ranked
                ]
            for req in batch.lists:
                answers[req.slot] = select_namespaces(namespaces_with_items(data, now), req)
            if batch.puts:
                self._apply_puts(batch.puts, now)
        return assemble(batch, answers)

    def _apply_puts(self, puts: list[PutRequest], now: float) -> None:
        data = self.data
        now_dt = ts_to_datetime(now)
        records: list[MemoryRecord] = []
        for put in puts:
            if put.value is None:
                data.delete(put.namespace, put.key)
                continue
            old = data.live(put.namespace, put.key, now)
            record = MemoryRecord(
                put.namespace,
                put.key,
                put.value,
                None,
                old.created_at if old is not None else now,
                now,
                put.expires_at(now),
                put.ttl_minutes,
                _stack(put),
            )
            record.set_datetimes(old.created_dt if old is not None else now_dt, now_dt)
            records.append(record)
        data.store_many(records)

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
                rec = self.data.live(ns, key, now)
                if rec is None:
                    continue
                vectors = (
                    ()
                    if rec.vectors is None
                    else tuple(ExportedVector("", row.copy()) for row in rec.vectors)
                )
                exported = ExportedItem(
                    ns,
                    key,
                    _copy(rec),
                    rec.created_at,
                    rec.updated_at,
                    rec.expires_at,
                    rec.ttl_minutes,
                    vectors,
                )
            yield exported

    def import_items(self, items: Iterable[ExportedItem], *, reembed: bool = False) -> int:
        plan = plan_import(self, items, reembed=reembed)
        self.embed_sync(plan.batch)
        with self.data.lock:
            for item, put in plan.items:
                value = put.value or {}
                self.data.store(
                    MemoryRecord(
                        put.namespace,
                        put.key,
                        value,
                        is_flat(value),
                        float(item.created_at),
                        float(item.updated_at),
                        import_expiry(item),
                        put.ttl_minutes,
                        _stack(put),
                    )
                )
        return len(plan.items)

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = ops if isinstance(ops, list) else list(ops)
        if _puts_only(ops):
            plan = self._plan_puts(ops)
            settings = self.index_settings
            docs = (
                settings.embeddings.embed_documents(plan.texts) if settings and plan.texts else []
            )
            return self._write_plan(plan, docs)
        return super().batch(ops)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        # Memory work never waits on I/O: only the embedding calls are awaited.
        ops = ops if isinstance(ops, list) else list(ops)
        if _puts_only(ops):
            plan = self._plan_puts(ops)
            settings = self.index_settings
            docs = (
                await settings.embeddings.aembed_documents(plan.texts)
                if settings and plan.texts
                else []
            )
            return self._write_plan(plan, docs)
        return self.run_batch(await self.embed_async(self.prepare(ops)))

    def _plan_puts(self, ops: list[PutOp]) -> _PutPlan:
        """What ``prepare`` checks and plans for a batch of puts, without the general
        request objects: same checks in the same order, last put of a key wins."""
        plan = _PutPlan(time.time(), len(ops))
        latest = plan.entries
        texts: dict[str, None] = {}
        # The configured fields, when they are one plain field: its text is read directly.
        settings = self.index_settings
        plain = plain_field(settings.fields[0]) if settings and len(settings.fields) == 1 else None
        plain_path = settings.fields[0].path if settings and plain is not None else ""
        for op in ops:
            value = op.value
            ns = self._namespace(op.namespace, writing=value is not None)
            key = op.key
            if type(key) is not str or len(key) > _SHORT_KEY or "\x00" in key:
                key = check_key(key, ns)
            entry: _Entry | None = None
            if value is not None:
                checked = copy_in_flat(value)
                if checked is None:
                    copied, _ = self._put_value(value, ns, key)
                    flat = is_flat(copied)
                else:
                    copied, flat = checked
                text = copied.get(plain) if plain is not None and op.index is None else None
                if type(text) is str:
                    found: tuple[tuple[str, str], ...] = ((plain_path, text),) if text else ()
                else:
                    found = self._index_texts(op.index, ns, key, copied)
                ttl = None if op.ttl is None else check_ttl(op.ttl, ns, key)
                entry = (copied, flat, ttl, found)
            where = (ns, key)
            if where in latest:
                del latest[where]
            latest[where] = entry
        for entry in latest.values():
            if entry is not None:
                for _, text in entry[3]:
                    texts.setdefault(text, None)
        plan.texts = list(texts)
        return plan

    def _write_plan(self, plan: _PutPlan, docs: Sequence[Sequence[float]]) -> list[Result]:
        doc_m: Matrix | None = None
        if self.index_settings is not None:
            doc_m, _ = self._vector_matrices(docs, plan.texts, [], [])
        position = {t: i for i, t in enumerate(plan.texts)}
        now = plan.now
        now_dt = ts_to_datetime(now)
        data = self.data
        items = data.items
        with data.lock:
            records: list[MemoryRecord] = []
            for (ns, key), entry in plan.entries.items():
                if entry is None:
                    data.delete(ns, key)
                    continue
                value, flat, ttl, texts = entry
                vectors: Matrix | None = None
                if texts and doc_m is not None:
                    if len(texts) == 1:
                        i = position[texts[0][1]]
                        vectors = doc_m[i : i + 1]
                    else:
                        vectors = doc_m[[position[t] for _, t in texts]]
                members = items.get(ns)
                if members is None:
                    members = items[ns] = {}
                old = members.get(key)
                if old is not None:
                    data.drop_rows(old)
                    if old.expires_at is not None and old.expires_at <= now:
                        old = None  # expired: the item starts afresh
                record = MemoryRecord(
                    ns,
                    key,
                    value,
                    flat,
                    old.created_at if old is not None else now,
                    now,
                    None if ttl is None else now + ttl * 60.0,
                    ttl,
                    vectors,
                    old.created_dt if old is not None else now_dt,
                    now_dt,
                )
                members[key] = record
                if vectors is not None:
                    records.append(record)
            data.add_vectors(records)
        return [None] * plan.size

    def sweep_ttl(self) -> int:
        with self.data.lock:
            return self.data.sweep(time.time())

    async def asweep_ttl(self) -> int:
        return self.sweep_ttl()


_Entry = tuple[dict[str, Any], bool, float | None, tuple[tuple[str, str], ...]]
"""A planned put: its checked value, whether it is flat, TTL in minutes and the (path,
text) pairs to embed."""


@dataclass(slots=True)
class _PutPlan:
    now: float
    size: int
    entries: dict[tuple[Namespace, str], _Entry | None] = field(default_factory=dict)
    """Last put per item, in order; None deletes."""
    texts: list[str] = field(default_factory=list)
    """Distinct texts to embed, in the order ``PreparedBatch.texts_to_embed`` gives."""


def _puts_only(ops: list[Any]) -> TypeGuard[list[PutOp]]:
    return bool(ops) and all(type(op) is PutOp for op in ops)


def _stack(put: PutRequest) -> Matrix | None:
    if not put.embeddings:
        return None
    if len(put.embeddings) == 1:
        return put.embeddings[0].vector.reshape(1, -1)
    return np.stack([e.vector for e in put.embeddings])
