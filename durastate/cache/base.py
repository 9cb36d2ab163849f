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
from durastate._limits import ALWAYS_SHORT, check_name_size
from durastate._sweeper import ThreadSweeper
from durastate.checkpoint.base import Blob, bound_dumps, bound_loads, dumps_named, loads_named
from durastate.errors import InvalidInputError
from durastate.serde import default_serializer

ValueT = TypeVar("ValueT")


def encode_namespace(namespace: Namespace) -> str:
    """An injective text form of a namespace: a compact JSON array."""
    return json.dumps(list(namespace), ensure_ascii=False, separators=(",", ":"))


def decode_namespace(text: str) -> Namespace:
    return tuple(json.loads(text))


_ACCEPTED: dict[tuple[str, ...], str] = {}
"""Namespaces already checked, with their text form (names repeat on every call)."""
_ACCEPTED_MAX = 4096


def _checked_namespace(namespace: Any) -> tuple[Namespace, str]:
    """A valid namespace and its text form, or an error naming what is wrong."""
    if type(namespace) is tuple:
        try:
            text = _ACCEPTED.get(namespace)
        except TypeError:  # an unhashable label: the checks below say which
            text = None
        if text is not None:
            return namespace, text
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
    text = encode_namespace(namespace)
    check_name_size(text, "cache namespace")
    if type(namespace) is tuple and all(type(label) is str for label in namespace):
        if len(_ACCEPTED) >= _ACCEPTED_MAX:
            _ACCEPTED.clear()
        _ACCEPTED[namespace] = text
    return namespace, text


def check_namespace(namespace: Any) -> Namespace:
    return _checked_namespace(namespace)[0]


def checked_key(full_key: Any) -> tuple[Namespace, str, str]:
    """A valid (namespace, key) pair as (namespace, its text form, key)."""
    try:
        namespace, key = full_key
    except (TypeError, ValueError):
        raise InvalidInputError(
            f"cache key must be a (namespace, key) pair, got {full_key!r}"
        ) from None
    ns, text = _checked_namespace(namespace)
    if not isinstance(key, str):
        raise InvalidInputError(f"cache key in {ns!r} must be a string, got {type(key).__name__}")
    if "\x00" in key:
        raise InvalidInputError(f"cache key {key!r} in {ns!r} contains NUL")
    check_name_size(key, f"cache key in {ns!r}:")
    return ns, text, key


def _known_key(full_key: Any) -> tuple[Namespace, str, str]:
    """``checked_key``, answered without checks for a namespace seen before with a short
    plain key (names repeat on every call; this is the cache's hot path)."""
    ns, key = full_key if type(full_key) is tuple and len(full_key) == 2 else ((), None)
    try:
        text = _ACCEPTED.get(ns) if type(ns) is tuple else None
    except TypeError:
        text = None
    if text is None or type(key) is not str or len(key) > ALWAYS_SHORT or "\x00" in key:
        return checked_key(full_key)
    return ns, text, key


def check_full_key(full_key: Any) -> tuple[Namespace, str]:
    ns, _, key = checked_key(full_key)
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


EntryRow = tuple[tuple[str, str], Namespace, str, Blob, float | None, float | None]
"""A checked, serialized value: (namespace text, key), namespace, key, blob, TTL seconds and
expiry (a plain tuple: cheaper to make than a ``CacheEntry``)."""


def entry_place(ns_text: str, key: str) -> str:
    """Where a cache value is stored, bound into its ciphertext when encrypting."""
    return f"cache\x00{ns_text}\x00{key}"


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
            ns, text, key = _known_key(fk)
            wanted[(text, key)] = (ns, key)
        return wanted

    def _decode(
        self, wanted: dict[tuple[str, str], FullKey], found: Mapping[tuple[str, str], Blob]
    ) -> dict[FullKey, ValueT]:
        out: dict[FullKey, ValueT] = {}
        loads = bound_loads(self.serde)
        for raw_key, blob in found.items():
            fk = wanted[raw_key]
            place = entry_place(*raw_key)
            try:
                out[fk] = loads(blob, place)
            except Exception:
                # Again through loads_named, for its error naming the entry (the label
                # is only worth making when something failed).
                out[fk] = loads_named(self.serde, blob, f"cache entry {fk!r}", place)
        return out

    def _prepare_rows(self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]) -> list[EntryRow]:
        """Checked, serialized values (what ``CacheEntry`` holds, as plain tuples)."""
        now = time.time()
        rows: list[EntryRow] = []
        serde = self.serde
        dumps = bound_dumps(serde)
        for fk, pair in pairs.items():
            ns, text, key = _known_key(fk)
            try:
                value, ttl = pair
            except (TypeError, ValueError):
                raise InvalidInputError(
                    f"cache value for {fk!r} must be a (value, ttl) pair"
                ) from None
            seconds = None if ttl is None else check_ttl(ttl, (ns, key))
            place = entry_place(text, key)
            try:
                blob = dumps(value, place)
            except Exception:
                # Again through dumps_named, for its error naming the entry.
                blob = dumps_named(serde, value, f"cache value for {(ns, key)!r}", place)
            rows.append(
                ((text, key), ns, key, blob, seconds, None if seconds is None else now + seconds)
            )
        return rows

    def _prepare_entries(
        self, pairs: Mapping[FullKey, tuple[ValueT, int | None]]
    ) -> list[CacheEntry]:
        return [
            CacheEntry(ns, where[0], key, blob[0], blob[1], seconds, expires)
            for where, ns, key, blob, seconds, expires in self._prepare_rows(pairs)
        ]

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
