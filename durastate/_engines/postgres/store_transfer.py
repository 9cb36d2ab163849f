"""Export and import of Postgres store items exactly as stored (timestamps, TTL, vectors).

Export reads one page at a time in ``(ns, key)`` order (keyset paging, one query with
the page's vectors aggregated), so memory stays flat; import writes a batch in one
statement, replacing any item with the same namespace and key together with its vectors.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from durastate._engines.postgres.requests import Body, Operation, Rows, Run
from durastate._engines.postgres.store_ops import VECTORS_CTE, vector_params
from durastate._engines.postgres.store_rows import StoreContext, check_batch, prefix_sql, value_text
from durastate._engines.sqlite.store_rows import decode_namespace, encode_namespace
from durastate.store.base import Namespace
from durastate.store.transfer import ExportedItem, ExportedVector, ImportPlan, import_expiry

_PAGE = """
SELECT i.ns, i.key, i.value::text, i.created_at, i.updated_at, i.expires_at, i.ttl_minutes,
    (SELECT array_agg(v.field ORDER BY v.seq) FROM {p}durastate_store_vectors v
     WHERE v.ns = i.ns AND v.key = i.key),
    (SELECT array_agg(v.embedding::text ORDER BY v.seq) FROM {p}durastate_store_vectors v
     WHERE v.ns = i.ns AND v.key = i.key)
FROM {p}durastate_store i
WHERE {where} AND (i.expires_at IS NULL OR i.expires_at > %(now)s){after}
ORDER BY i.ns, i.key LIMIT %(size)s
"""
_REPLACE = (
    """
WITH replaced AS (
INSERT INTO {p}durastate_store AS t
    (ns, key, value, created_at, updated_at, expires_at, ttl_minutes)
SELECT u.ns, u.key, u.value::jsonb, u.created_at, u.updated_at, u.expires_at, u.ttl
FROM unnest(%(u_ns)s::text[], %(u_key)s::text[], %(u_value)s::text[], %(u_created)s::float8[],
            %(u_updated)s::float8[], %(u_expires)s::float8[], %(u_ttl)s::float8[])
    AS u(ns, key, value, created_at, updated_at, expires_at, ttl)
ON CONFLICT (ns, key) DO UPDATE SET
    value = excluded.value,
    created_at = excluded.created_at,
    updated_at = excluded.updated_at,
    expires_at = excluded.expires_at,
    ttl_minutes = excluded.ttl_minutes
),"""
    + VECTORS_CTE
    + """
SELECT 1
"""
)

Cursor = tuple[str, str] | None
"""The last (ns text, key) exported; the next page starts after it."""


def _vector(text: str) -> Any:
    return np.asarray([float(x) for x in text.strip("{}").split(",") if x], dtype=np.float32)


def export_page_operation(
    ctx: StoreContext, prefix: Namespace, after: Cursor, size: int
) -> Operation[tuple[list[ExportedItem], Cursor]]:
    """One page of live items after ``after`` and the cursor for the next page."""

    def body() -> Body[tuple[list[ExportedItem], Cursor]]:
        where, params = prefix_sql(prefix)
        params.update(now=time.time(), size=size)
        extra = ""
        if after is not None:
            extra = ' AND (i.ns, i.key) > (%(a_ns)s COLLATE "C", %(a_key)s COLLATE "C")'
            params.update(a_ns=after[0], a_key=after[1])
        sql = _PAGE.replace("{where}", where).replace("{after}", extra)
        rows = yield Rows(ctx.sql(sql), params)
        items = [
            ExportedItem(
                namespace=decode_namespace(r[0]),
                key=r[1],
                value=ctx.load(r[2]),
                created_at=r[3],
                updated_at=r[4],
                expires_at=r[5],
                ttl_minutes=r[6],
                vectors=tuple(
                    ExportedVector(field, _vector(text))
                    for field, text in zip(r[7] or (), r[8] or (), strict=True)
                ),
            )
            for r in rows
        ]
        return items, ((rows[-1][0], rows[-1][1]) if rows else None)

    return Operation(body, needs=(ctx.needs[0],))


def import_operation(ctx: StoreContext, plan: ImportPlan) -> Operation[int]:
    """Write planned items (embeddings already computed) in one transaction."""
    check_batch(plan.batch)
    items = sorted(plan.items, key=lambda pair: (encode_namespace(pair[1].namespace), pair[1].key))
    puts = [put for _, put in items]

    def body() -> Body[int]:
        if not plan.items:
            return 0
        yield Run(
            ctx.sql(_REPLACE),
            {
                "u_ns": [encode_namespace(p.namespace) for p in puts],
                "u_key": [p.key for p in puts],
                "u_value": [value_text(p) for p in puts],
                "u_created": [float(i.created_at) for i, _ in items],
                "u_updated": [float(i.updated_at) for i, _ in items],
                "u_expires": [import_expiry(i) for i, _ in items],
                "u_ttl": [p.ttl_minutes for p in puts],
                **vector_params(puts),
            },
        )
        return len(plan.items)

    return Operation(body, needs=ctx.needs)


__all__ = ["Cursor", "export_page_operation", "import_operation"]
