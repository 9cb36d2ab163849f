"""Store export, import and sweeping on Redis: exact timestamps, expiries and vectors.

Export walks the namespace index (sorted by labels), then each namespace's keys in code
point order, reading a chunk of items (with their vectors and absolute expiry) per script
call. Import writes items exactly as exported through the same atomic ``PUT`` script.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from durastate._engines.redis.requests import Body, Call, Cmd, Pipe
from durastate._engines.redis.store_keys import Namespace, StoreKeys, ns_text
from durastate._engines.redis.store_ops import (
    CLEAN_BATCH,
    WRITE_CHUNK,
    check_batch,
    decode_row,
    item_args,
    namespaces_body,
)
from durastate._engines.redis.store_scripts import EXPORT, PUT, SWEEP
from durastate.store.transfer import ExportedItem, ExportedVector, ImportPlan, import_expiry
from durastate.store.vectors import from_blob


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def sweep_body(keys: StoreKeys) -> Body[int]:
    """Drop expired items from every index; answers how many items had expired."""
    total = 0
    while True:
        gone, seen = yield Call(SWEEP, keys.route, (keys.base, CLEAN_BATCH))
        total += int(gone)
        if int(seen) < CLEAN_BATCH:
            return total


def export_namespaces_body(keys: StoreKeys, prefix: Namespace) -> Body[list[Namespace]]:
    """Namespaces with live items at or under ``prefix``, sorted by labels."""
    found = yield from namespaces_body(keys, prefix)
    return sorted(ns for ns in found if ns[: len(prefix)] == prefix)


def export_keys_body(keys: StoreKeys, namespace: Namespace) -> Body[list[str]]:
    """The namespace's keys in code point order (expired ones included; reads skip them)."""
    members = yield Cmd(("ZRANGE", keys.recency(namespace), 0, -1))
    return sorted(_text(m) for m in members)


def export_chunk_body(
    keys: StoreKeys, namespace: Namespace, names: Sequence[str]
) -> Body[list[ExportedItem]]:
    """The live items among ``names`` of one namespace, in the order given."""
    if not names:
        return []
    replies = yield Call(EXPORT, keys.route, (keys.base, ns_text(namespace), *names))
    out: list[ExportedItem] = []
    for key, reply in zip(names, replies, strict=True):
        if not reply:
            continue
        row = decode_row(namespace, key, [*reply[:4], 0])
        expire_ms = int(reply[4])
        rest = reply[5:]
        vectors = tuple(
            ExportedVector(_text(rest[i]), from_blob(bytes(rest[i + 1])))
            for i in range(0, len(rest) - 1, 2)
        )
        out.append(
            ExportedItem(
                namespace=namespace,
                key=key,
                value=row.value,
                created_at=row.created_at,
                updated_at=row.updated_at,
                expires_at=expire_ms / 1000.0 if expire_ms >= 0 else None,
                ttl_minutes=row.ttl_minutes,
                vectors=vectors or None,
            )
        )
    return out


def import_body(keys: StoreKeys, plan: ImportPlan) -> Body[int]:
    """Write planned items exactly (embeddings already computed); answers how many."""
    check_batch(plan.batch)
    if not plan.items:
        return 0
    calls: list[Call] = []
    for start in range(0, len(plan.items), WRITE_CHUNK):
        args: list[Any] = [keys.base]
        for item, put in plan.items[start : start + WRITE_CHUNK]:
            args += item_args(
                put,
                created=float(item.created_at),
                updated=float(item.updated_at),
                expires_at=import_expiry(item),
            )
        calls.append(Call(PUT, keys.route, tuple(args)))
    yield Pipe(tuple(calls))
    return len(plan.items)


__all__ = [
    "export_chunk_body",
    "export_keys_body",
    "export_namespaces_body",
    "import_body",
    "sweep_body",
]
