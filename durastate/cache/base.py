"""Engine-independent cache logic: key validation, TTL, serialization, sweeper.

An engine stores opaque entries keyed by (namespace text, key) and implements
``read``/``write``/``delete_namespaces``/``sweep_ttl``; async variants default
to running the sync ones in worker threads and engines with an async driver
override them.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Generic, TypeVar

from langgraph.cache.base import BaseCache, FullKey, Namespace
from langgraph.checkpoint.serde.base import SerializerProtocol

from durastate._bridge import in_thread
from durastate._limits import check_name_size
from durastate._sweeper import ThreadSweeper
from durastate.checkpoint.base import Blob, dumps_named, loads_named
from durastate.errors import InvalidInputError
from durastate.serde import default_serializer

ValueT = TypeVar("ValueT")


def encode_namespace(namespace: Namespace) -> str:
    """An injective text form of a namespace: a compact JSON array."""
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))


def decode_namespace(text: str) -> Namespace:
    return tuple(json.loads(text))


def check_namespace(namespace: Any) -> Namespace:
    if isinstance(namespace, list):
        namespace = tuple(namespace)
    if not isinstance(namespace, tuple):
        raise InvalidInputError(f"cache namespace must be a tuple of strings, got {namespace!r}")
    for label in namespace:
        if not isinstance(label, str):
            raise InvalidInputError(
                f"cache namespace {namespace!r}: labels must be strings, got {type(label).__name__}"
            )
        if "\x00" in label:
            raise InvalidInputError(f"cache namespace {namespace!r}: label contains NUL")
    check_name_size(encode_namespace(namespace), "cache namespace")
    return namespace


def check_full_key(full_key: Any) -> tuple[Namespace, str]:
    try:
        namespace, key = full_key
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"cache key must be a (namespace, key) pair, got {full_key!r}"
        ) from None
    ns = check_namespace(namespace)
    if not isinstance(key, str):
        raise InvalidInputError(f"cache key in {ns!r} must be a string, got {type(key).__name__}")
    if "\x00" in key:
        raise InvalidInputError(f"cache key {key!r} in {ns!r} contains NUL")
    check_name_size(key, f"cache key in {ns!r}:")
    return ns, key


def check_ttl(ttl: Any, full_key: tuple[Namespace, str]) -> float | None:
    if ttl is None:
        return None
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, (int, float))
        or not math.isfinite(ttl)
        or ttl <= 0
    ):
        raise InvalidInputError(
            f"ttl for cache key {full_key!r} must be positive seconds, got {ttl!r}"
        )
    return float(ttl)


@dataclass(frozen=True, slots=True)
class CacheEntry:
    """One value ready to store."""

    namespace: Namespace
    ns_text: str
    key: str
    type: str
    data: bytes
    ttl_seconds: float | None
    expires_at: float | None
    """Seconds since the epoch, or None for no expiry."""


class CacheBase(BaseCache[ValueT], Generic[ValueT]):
    """What every durastate cache shares; engines implement the raw operations."""

    def __init__(self, *, serde: SerializerProtocol | None = None) -> None:
        super().__init__(serde=serde or default_serializer())
        self._sweeper: ThreadSweeper | None = None

    # -- raw operations each engine implements -------------------------------------------
    def read(self, keys: Sequence[tuple[str, str]], now: float) -> dict[tuple[str, str], Blob]:
        """Live entries for (namespace text, key) pairs; expired ones are absent."""
        raise NotImplementedError

    def write(self, entries: Sequence[CacheEntry]) -> None:
        raise NotImplementedError

    def delete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        """Delete entries of exactly these namespaces (all entries when None)."""
        raise NotImplementedError

    def sweep_ttl(self) -> int:
        """Delete expired entries now; returns how many were removed."""
        raise NotImplementedError

    async def aread(
        self, keys: Sequence[tuple[str, str]], now: float
    ) -> dict[tuple[str, str], Blob]:
        return await in_thread(self.read, keys, now)

    async def awrite(self, entries: Sequence[CacheEntry]) -> None:
        await in_thread(self.write, entries)

    async def adelete_namespaces(self, ns_texts: Sequence[str] | None) -> None:
        await in_thread(self.delete_namespaces, ns_texts)

    async def asweep_ttl(self) -> int:
        return await in_thread(self.sweep_ttl)

    # -- moving entries between backends (`durastate copy --cache`) ----------------------
    def export_entries(self, *, batch_size: int = 500) -> Iterator[CacheEntry]:
        """Every live entry, as stored (serialized bytes and absolute expiry)."""
        raise NotImplementedError(f"{type(self).__name__} cannot export its entries")
        yield  # pragma: no cover

    def import_entries(self, entries: Iterable[CacheEntry], *, batch_size: int = 500) -> int:
        """Write exported entries as they are, keeping their expiry; answers how many.

        Entries that expired in the meantime are left out.
        """
        written = 0
        batch: list[CacheEntry] = []
        for entry in entries:
            now = time.time()
            if entry.expires_at is not None and entry.expires_at <= now:
                continue
            remaining = None if entry.expires_at is None else entry.expires_at - now
            batch.append(replace(entry, ttl_seconds=remaining))
            if len(batch) >= batch_size:
                self.write(batch)
                written += len(batch)
                batch = []
        if batch:
            self.write(batch)
            written += len(batch)
        return written

    # -- LangGraph's interface ----------------------------------------------------------
    def _keys(self, keys: Sequence[FullKey]) -> dict[tuple[str, str], FullKey]:
        wanted: dict[tuple[str, str], FullKey] = {}
        for fk in keys:
            ns, key = check_full_key(fk)
            wanted[(encode_namespace(ns), key)] = (ns, key)
        return wanted

    def _decode(
        self, wanted: dict[tuple[str, str], FullKey], found: Mapping[tuple[str, str], Blob]
    ) -> dict[FullKey, ValueT]:
        out: dict[FullKey, ValueT] = {}
        for raw_key, blob in found.items():
            fk = wanted[raw_key]
            out[fk] = loads_named(self.serde, blob, f"cache entry {fk!r}")
        return out

    def _prepare_entries(
        self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]
    ) -> list[CacheEntry]:
        now = time.time()
        entries = []
        for fk, pair in pairs.items():
            ns, key = check_full_key(fk)
            try:
                value, ttl = pair
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"cache value for {fk!r} must be a (value, ttl) pair"
                ) from None
            seconds = check_ttl(ttl, (ns, key))
            typ, data = dumps_named(self.serde, value, f"cache value for {(ns, key)!r}")
            entries.append(
                CacheEntry(
                    ns,
                    encode_namespace(ns),
                    key,
                    typ,
                    data,
                    seconds,
                    None if seconds is None else now + seconds,
                )
            )
        return entries

    def _namespaces(self, namespaces: Sequence[Namespace] | None) -> list[str] | None:
        if namespaces is None:
            return None
        if (
            isinstance(namespaces, tuple)
            and all(isinstance(x, str) for x in namespaces)
            and namespaces
        ):
            raise InvalidInputError("clear() takes a list of namespaces, not a single namespace")
        return [encode_namespace(check_namespace(ns)) for ns in namespaces]

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        wanted = self._keys(keys)
        if not wanted:
            return {}
        return self._decode(wanted, self.read(list(wanted), time.time()))

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, ValueT]:
        wanted = self._keys(keys)
        if not wanted:
            return {}
        return self._decode(wanted, await self.aread(list(wanted), time.time()))

    def set(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        entries = self._prepare_entries(pairs)
        if entries:
            self.write(entries)

    async def aset(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> None:
        entries = self._prepare_entries(pairs)
        if entries:
            await self.awrite(entries)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        ns = self._namespaces(namespaces)
        if ns is None or ns:
            self.delete_namespaces(ns)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        ns = self._namespaces(namespaces)
        if ns is None or ns:
            await self.adelete_namespaces(ns)

    # -- background sweeping --------------------------------------------------------------
    def start_ttl_sweeper(self, sweep_interval_seconds: float = 300.0) -> Any:
        """Delete expired entries every interval on a background thread."""
        if self._sweeper is None or not self._sweeper.running:
            self._sweeper = ThreadSweeper(
                self.sweep_ttl, sweep_interval_seconds, f"{type(self).__name__}-ttl-sweeper"
            )
        return self._sweeper.start()

    def stop_ttl_sweeper(self, timeout: float | None = None) -> bool:
        return True if self._sweeper is None else self._sweeper.stop(timeout)
