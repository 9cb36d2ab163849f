"""In-memory cache: thread-safe, TTL in seconds, exact-namespace clear."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from typing import TypeVar

from langgraph.cache.base import FullKey
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate.cache.base import CacheBase, CacheEntry, EntryRow, decode_namespace
from durastate.checkpoint.base import Blob

ValueT = TypeVar("ValueT")


class MemoryCacheData:
    """The entries of an in-memory cache; hand it to another cache to share them."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, str], tuple[Blob, float | None]] = {}
        self.lock = threading.Lock()


class InMemoryCache(CacheBase[ValueT]):
    """A node cache in process memory.

    ``InMemoryCache(data=other.data)`` opens the same entries again.
    """

    def __init__(
        self, *, serde: SerializerProtocol | None = None, data: MemoryCacheData | None = None
    ) -> None:
        super().__init__(serde=serde)
        self.data = data or MemoryCacheData()
        self._entries = self.data.entries
        self._lock = self.data.lock

    def __enter__(self) -> InMemoryCache[ValueT]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_ttl_sweeper()

    def read(self, keys: Sequence[tuple[str, str]], now: float) -> dict[tuple[str, str], Blob]:
        out = {}
        with self._lock:
            for k in keys:
                hit = self._entries.get(k)
                if hit is None:
                    continue
                blob, expires = hit
                if expires is not None and expires <= now:
                    del self._entries[k]
                    continue
                out[k] = blob
        return out

    def write(self, entries: Sequence[CacheEntry]) -> None:
        with self._lock:
            for e in entries:
                self._entries[(e.ns_text, e.key)] = ((e.type, e.data), e.expires_at)

    def _write_rows(self, rows: Sequence[EntryRow]) -> None:
        with self._lock:
            entries = self._entries
            for where, _, _, blob, _, expires_at in rows:
                entries[where] = (blob, expires_at)

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        # The rows go straight into the dict: no CacheEntry objects on the way.
        rows = self._prepare_rows(pairs)
        if rows:
            self._write_rows(rows)

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        self.set(pairs)

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        return self.get(keys)

    def delete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        with self._lock:
            if ns_texts is None:
                self._entries.clear()
                return
            wanted = set(ns_texts)
            for k in [k for k in self._entries if k[0] in wanted]:
                del self._entries[k]

    def sweep_ttl(self) -> int:
        now = time.time()
        with self._lock:
            dead = [k for k, (_, exp) in self._entries.items() if exp is not None and exp <= now]
            for k in dead:
                del self._entries[k]
        return len(dead)

    def export_entries(self, *, batch_size: int = 500) -> Iterator[CacheEntry]:
        now = time.time()
        with self._lock:
            live = [
                (k, blob, exp)
                for k, (blob, exp) in sorted(self._entries.items())
                if exp is None or exp > now
            ]
        for (ns_text, key), (typ, data), exp in live:
            remaining = None if exp is None else exp - now
            yield CacheEntry(decode_namespace(ns_text), ns_text, key, typ, data, remaining, exp)

    def count_entries(self) -> int:
        """How many live (unexpired) entries the cache holds."""
        now = time.time()
        with self._lock:
            return sum(1 for _, exp in self._entries.values() if exp is None or exp > now)

    async def aread(
        self, keys: Sequence[tuple[str, str]], now: float
    ) -> dict[tuple[str, str], Blob]:
        return self.read(keys, now)

    async def awrite(self, entries: Sequence[CacheEntry]) -> None:
        self.write(entries)

    async def adelete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        self.delete_namespaces(ns_texts)

    async def asweep_ttl(self) -> int:
        return self.sweep_ttl()
