"""Content hashes that are equal exactly when two backends hold the same data."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from typing import Any

from langgraph.checkpoint.base import CheckpointTuple
from langgraph.store.base import Item

from durastate.serde import default_serializer
from durastate.store.transfer import ExportedItem

_SERDE = default_serializer()
TIME_TOLERANCE = 1e-5
"""Seconds two timestamps may differ by and still be equal (engines keep microseconds)."""


def _canonical(value: Any) -> Any:
    """``value`` with dicts and sets in a fixed order, so equal data hashes equally."""
    if isinstance(value, dict):
        pairs = [(repr(k), _canonical(k), _canonical(v)) for k, v in value.items()]
        return ("__dict__", [[k, v] for _, k, v in sorted(pairs, key=lambda p: p[0])])
    if isinstance(value, (set, frozenset)):
        return ("__set__", sorted((_canonical(v) for v in value), key=repr))
    if type(value) is list:
        return [_canonical(v) for v in value]
    if type(value) is tuple:
        return tuple(_canonical(v) for v in value)
    return value


def hash_value(value: Any) -> bytes:
    """A digest of any value LangGraph stores (serialized with durastate's serializer)."""
    typ, data = _SERDE.dumps_typed(_canonical(value))
    return hashlib.sha256(typ.encode() + b"\0" + data).digest()


def checkpoint_key(tup: CheckpointTuple) -> tuple[str, str]:
    conf = tup.config["configurable"]
    return str(conf.get("checkpoint_ns", "")), str(conf["checkpoint_id"])


def parent_id(tup: CheckpointTuple) -> str | None:
    if not tup.parent_config:
        return None
    found = tup.parent_config.get("configurable", {}).get("checkpoint_id")
    return None if found is None else str(found)


def core_digest(tup: CheckpointTuple) -> bytes:
    """The checkpoint, its metadata and its parent link (pending writes apart)."""
    return hash_value([dict(tup.checkpoint), dict(tup.metadata or {}), parent_id(tup)])


def write_digests(tup: CheckpointTuple) -> list[bytes]:
    """One digest per pending write (task, channel, value), in the saver's order."""
    return [hash_value([task, channel, value]) for task, channel, value in tup.pending_writes or ()]


def thread_digest(entries: Iterable[tuple[str, str, bytes, list[bytes]]]) -> str:
    """A digest of a whole thread from its (ns, id, core, writes) entries, in any order."""
    h = hashlib.sha256()
    for ns, cid, core, writes in sorted(entries, key=lambda e: (e[0], e[1])):
        h.update(hash_value([ns, cid]))
        h.update(core)
        for w in sorted(writes):
            h.update(w)
    return h.hexdigest()


def item_digest(item: ExportedItem) -> bytes:
    """The item's namespace, key and value (timestamps are compared separately)."""
    return hash_value([list(item.namespace), item.key, item.value])


def same_time(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=TIME_TOLERANCE)


def item_matches(item: ExportedItem, found: Item | None, *, timestamps: bool) -> bool:
    """Whether ``found`` (read from a destination) holds ``item``'s data."""
    if found is None or hash_value(found.value) != hash_value(item.value):
        return False
    if not timestamps:
        return True
    return same_time(found.created_at.timestamp(), item.created_at) and same_time(
        found.updated_at.timestamp(), item.updated_at
    )
