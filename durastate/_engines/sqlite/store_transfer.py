"""Export and import of SQLite store items, exactly as stored (timestamps, TTL, vectors).

Export reads one page at a time in ``(ns, key)`` order (one snapshot per page, keyset
paging, so memory stays flat); import writes a batch in one transaction, replacing any
item with the same namespace and key together with its vectors.
"""

from __future__ import annotations

import json
from typing import Any

from durastate._engines.sqlite.requests import Body, Operation, Plan, Rows, Run, RunMany
from durastate._engines.sqlite.schema import STORE
from durastate._engines.sqlite.store_ops import check_batch
from durastate._engines.sqlite.store_rows import (
    LIVE,
    Deserializer,
    decode_namespace,
    encode_namespace,
    prefix_sql,
)
from durastate.store.base import Namespace
from durastate.store.transfer import ExportedItem, ExportedVector, ImportPlan, import_expiry
from durastate.store.vectors import from_blob, to_blob

_COLUMNS = "id, ns, key, value, created_at, updated_at, expires_at, ttl_minutes"
_REPLACE = """
INSERT INTO durastate_store (ns, key, value, created_at, updated_at, expires_at, ttl_minutes)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ns, key) DO UPDATE SET
    value = excluded.value,
    created_at = excluded.created_at,
    updated_at = excluded.updated_at,
    expires_at = excluded.expires_at,
    ttl_minutes = excluded.ttl_minutes
"""
_IDS = (
    "SELECT i.id, i.ns, i.key FROM json_each(?) j CROSS JOIN durastate_store i "
    "ON i.ns = json_extract(j.value, '$[0]') AND i.key = json_extract(j.value, '$[1]')"
)

Cursor = tuple[str, str] | None
"""The last (ns text, key) exported; the next page starts after it."""


def _page_body(
    prefix: Namespace, after: Cursor, size: int, now: float, deserializer: Deserializer | None
) -> Body[tuple[list[ExportedItem], Cursor]]:
    where, params = prefix_sql(prefix)
    args: list[Any] = [*params, now]
    sql = f"SELECT {_COLUMNS} FROM durastate_store WHERE {where} AND {LIVE}"
    if after is not None:
        sql += " AND (ns > ? OR (ns = ? AND key > ?))"
        args += [after[0], after[0], after[1]]
    rows = yield Rows(f"{sql} ORDER BY ns, key LIMIT ?", [*args, size])
    if not rows:
        return [], None
    vector_rows = yield Rows(
        "SELECT item_id, field, embedding FROM durastate_store_vectors "
        "WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY item_id, seq",
        (json.dumps([r[0] for r in rows]),),
    )
    vectors: dict[int, list[ExportedVector]] = {}
    for item_id, field, blob in vector_rows:
        vectors.setdefault(item_id, []).append(ExportedVector(field, from_blob(blob)))
    items = [
        ExportedItem(
            namespace=decode_namespace(r[1]),
            key=r[2],
            value=deserializer(r[3]) if deserializer is not None else json.loads(r[3]),
            created_at=r[4],
            updated_at=r[5],
            expires_at=r[6],
            ttl_minutes=r[7],
            vectors=tuple(vectors.get(r[0], ())),
        )
        for r in rows
    ]
    return items, (rows[-1][1], rows[-1][2])


def export_page_operation(
    prefix: Namespace, after: Cursor, size: int, now: float, deserializer: Deserializer | None
) -> Operation[tuple[list[ExportedItem], Cursor]]:
    """One page of items after ``after`` (in one snapshot) and the cursor for the next."""
    return Operation("read", lambda: _page_body(prefix, after, size, now, deserializer), (STORE,))


def _import_body(plan: ImportPlan) -> Body[int]:
    if not plan.items:
        return 0
    yield RunMany(
        _REPLACE,
        [
            (
                encode_namespace(put.namespace),
                put.key,
                put.value_json,
                float(item.created_at),
                float(item.updated_at),
                import_expiry(item),
                put.ttl_minutes,
            )
            for item, put in plan.items
        ],
    )
    keys = json.dumps([[encode_namespace(put.namespace), put.key] for _, put in plan.items])
    ids = {(r[1], r[2]): int(r[0]) for r in (yield Rows(_IDS, (keys,)))}
    yield Run(
        "DELETE FROM durastate_store_vectors WHERE item_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(ids.values())),),
    )
    vectors = [
        (ids[(encode_namespace(put.namespace), put.key)], seq, e.path, to_blob(e.vector))
        for _, put in plan.items
        for seq, e in enumerate(put.embeddings)
    ]
    if vectors:
        yield RunMany(
            "INSERT INTO durastate_store_vectors (item_id, seq, field, embedding) "
            "VALUES (?, ?, ?, ?)",
            vectors,
        )
    return len(plan.items)


def import_plan(plan: ImportPlan) -> Plan[int]:
    """Write planned items (embeddings already computed) in one transaction."""
    check_batch(plan.batch)
    written = yield Operation("write", lambda: _import_body(plan), (STORE,))
    return int(written)
