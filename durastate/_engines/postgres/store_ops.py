"""Store batches on Postgres: the reads of a batch, then its writes in one statement.

Gets are one call of ``durastate_store_get`` for the whole batch (TTL refreshes
included); searches and listings are in ``store_search``; the deletes, upserts and vector
changes of a batch are one call of ``durastate_store_write``, items in key order. Reads
and writes together run in one transaction; a batch of only writes or of one read needs
none (a semantic search carries its scan settings in ``durastate_store_ann``).
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.store.base import Result

from durastate._engines.postgres.requests import Body, Operation, Rows, Run
from durastate._engines.postgres.store_rows import (
    StoreContext,
    check_batch,
    stored,
    value_text,
    vector_text,
)
from durastate._engines.postgres.store_schema import STORE
from durastate._engines.postgres.store_search import list_body, search_body
from durastate._engines.sqlite.store_rows import encode_namespace
from durastate.store.base import PreparedBatch, PutRequest, assemble, make_item, make_search_item

_GET = """
SELECT * FROM {p}durastate_store_get(
    %(g_ns)s::text[], %(g_key)s::text[], %(g_refresh)s::bool[], %(now)s::float8)
"""
_REFRESH = """
UPDATE {p}durastate_store i SET expires_at = %(now)s + i.ttl_minutes * 60.0
FROM unnest(%(r_ns)s::text[], %(r_key)s::text[]) AS w(ns, key)
WHERE i.ns = (w.ns COLLATE "C") AND i.key = (w.key COLLATE "C")
  AND i.ttl_minutes IS NOT NULL AND (i.expires_at IS NULL OR i.expires_at > %(now)s)
"""
VECTORS_CTE = """
vectors_set AS (
    INSERT INTO {p}durastate_store_vectors AS t (ns, key, seq, field, dims, embedding)
    SELECT a.ns, a.key, a.seq, a.field, a.dims, a.embedding::real[]
    FROM unnest(%(a_ns)s::text[], %(a_key)s::text[], %(a_seq)s::int[], %(a_field)s::text[],
                %(a_dims)s::int[], %(a_vec)s::text[]) AS a(ns, key, seq, field, dims, embedding)
    ON CONFLICT (ns, key, seq) DO UPDATE SET
        field = excluded.field, dims = excluded.dims, embedding = excluded.embedding
    WHERE (t.field, t.dims, t.embedding)
        IS DISTINCT FROM (excluded.field, excluded.dims, excluded.embedding)
), vectors_cut AS (
    DELETE FROM {p}durastate_store_vectors v
    USING unnest(%(c_ns)s::text[], %(c_key)s::text[], %(c_count)s::int[]) AS c(ns, key, n)
    WHERE v.ns = (c.ns COLLATE "C") AND v.key = (c.key COLLATE "C") AND v.seq >= c.n
)"""
"""Vectors of written items: upserted by position (an unchanged one left alone), the ones
past their new count removed."""
_WRITE = """
SELECT {p}durastate_store_write(
    %(d_ns)s::text[], %(d_key)s::text[], %(u_ns)s::text[], %(u_key)s::text[],
    %(u_value)s::text[], %(u_expires)s::float8[], %(u_ttl)s::float8[], %(now)s::float8,
    %(a_ns)s::text[], %(a_key)s::text[], %(a_seq)s::int[], %(a_field)s::text[],
    %(a_dims)s::int[], %(a_vec)s::text[], %(c_count)s::int[])
"""


def _keys(puts: list[PutRequest], tag: str) -> dict[str, Any]:
    return {
        f"{tag}_ns": [encode_namespace(p.namespace) for p in puts],
        f"{tag}_key": [p.key for p in puts],
    }


def _reads_body(
    ctx: StoreContext, batch: PreparedBatch
) -> Body[tuple[dict[int, Result], list[tuple[str, str]]]]:
    """Answer the reads; gets refresh their TTLs in the same statement."""
    now = batch.now
    answers: dict[int, Result] = {}
    refresh: list[tuple[str, str]] = []
    if batch.gets:
        rows = yield Rows(
            ctx.sql(_GET),
            {
                "g_ns": [encode_namespace(g.namespace) for g in batch.gets],
                "g_key": [g.key for g in batch.gets],
                "g_refresh": [g.refresh_ttl for g in batch.gets],
                "now": now,
            },
        )
        found = {(r[0], r[1]): r for r in rows}
        for get in batch.gets:
            row = found.get((encode_namespace(get.namespace), get.key))
            if row is None:
                answers[get.slot] = None
                continue
            item = stored(ctx, row)
            answers[get.slot] = make_item(
                item.namespace, item.key, item.value, item.created_at, item.updated_at
            )
    for search in batch.searches:
        hits = yield from search_body(ctx, search, now)
        if search.refresh_ttl:
            refresh.extend(
                (encode_namespace(it.namespace), it.key)
                for it, _ in hits
                if it.ttl_minutes is not None
            )
        answers[search.slot] = [
            make_search_item(it.namespace, it.key, it.value, it.created_at, it.updated_at, score)
            for it, score in hits
        ]
    for req in batch.lists:
        answers[req.slot] = yield from list_body(ctx, req, now)
    return answers, refresh


def vector_params(puts: list[PutRequest]) -> dict[str, Any]:
    """Parameters of ``VECTORS_CTE``: the vectors these items have after the write."""
    rows = [(p, seq, e) for p in puts for seq, e in enumerate(p.embeddings)]
    return {
        "a_ns": [encode_namespace(p.namespace) for p, _, _ in rows],
        "a_key": [p.key for p, _, _ in rows],
        "a_seq": [seq for _, seq, _ in rows],
        "a_field": [e.path for _, _, e in rows],
        "a_dims": [int(e.vector.shape[0]) for _, _, e in rows],
        "a_vec": [vector_text(e.vector) for _, _, e in rows],
        **_keys(puts, "c"),
        "c_count": [len(p.embeddings) for p in puts],
    }


def _refresh_body(ctx: StoreContext, now: float, refresh: list[tuple[str, str]]) -> Body[None]:
    unique = sorted(set(refresh))
    yield Run(
        ctx.sql(_REFRESH),
        {"r_ns": [n for n, _ in unique], "r_key": [k for _, k in unique], "now": now},
    )


def _writes_body(ctx: StoreContext, batch: PreparedBatch) -> Body[None]:
    """Every delete, upsert and vector change of the batch: one statement."""
    now = batch.now
    # In key order, so concurrent batches touching the same items lock them in one order.
    puts = sorted(batch.puts, key=lambda p: (encode_namespace(p.namespace), p.key))
    deletes = [p for p in puts if p.value is None]
    upserts = [p for p in puts if p.value is not None]
    yield Rows(
        ctx.sql(_WRITE),
        {
            **_keys(deletes, "d"),
            **_keys(upserts, "u"),
            "u_value": [value_text(p) for p in upserts],
            "u_expires": [p.expires_at(now) for p in upserts],
            "u_ttl": [p.ttl_minutes for p in upserts],
            "now": now,
            **vector_params(upserts),
        },
    )


def batch_operation(ctx: StoreContext, batch: PreparedBatch) -> Operation[list[Result]]:
    """Answer a prepared batch (embeddings already computed).

    A batch of writes only, or of one read, is one statement; reads and writes together
    run in one transaction.
    """
    check_batch(batch)

    def body() -> Body[list[Result]]:
        answers, refresh = yield from _reads_body(ctx, batch)
        if refresh:
            yield from _refresh_body(ctx, batch.now, refresh)
        if batch.puts:
            yield from _writes_body(ctx, batch)
        return assemble(batch, answers)

    reads = batch.gets or batch.lists or batch.searches
    return Operation(body, transaction=bool(reads and batch.puts), needs=ctx.needs)


def sweep_operation(ctx: StoreContext) -> Operation[int]:
    """Delete expired items (their vectors go with them); answers how many."""

    def body() -> Body[int]:
        removed = yield Run(
            ctx.sql("DELETE FROM {p}durastate_store WHERE expires_at <= %(now)s"),
            {"now": time.time()},
        )
        return int(removed)

    return Operation(body, needs=(STORE,))


def index_operation(ctx: StoreContext) -> Operation[None]:
    """Create the ANN index this store's layout asks for, unless it exists.

    The existence check comes first: ``CREATE INDEX IF NOT EXISTS`` would lock the table
    against writes even when the index is there. Creation runs under the migrations' lock.
    """
    layout = ctx.layout
    ddl = layout.index_sql() if layout is not None else None

    def body() -> Body[None]:
        if ddl is None or layout is None:
            return
        name = layout.index_name if ctx.schema is None else f'"{ctx.schema}".{layout.index_name}'
        ((exists,),) = yield Rows("SELECT to_regclass(%s) IS NOT NULL", (name,))
        if exists:
            return
        if ctx.schema is None:
            key = "'durastate:' || current_schema()"
        else:
            key = f"'durastate:{ctx.schema}'"
        lock = f"SELECT pg_advisory_xact_lock(hashtextextended({key}, 0))"
        yield Run(f"{lock}; {ctx.sql(ddl)}")

    return Operation(body, transaction=True, needs=ctx.needs)


class AnalyzeSchedule:
    """When to ``ANALYZE`` after bulk writes: at 1,000 items written, then at each 4x.

    Autovacuum analyzes a new table only a minute or more after a bulk load; until then
    the planner has no statistics, takes a namespace for selective and sorts every vector
    instead of walking the ANN index. Counting a store object's own writes is enough to
    catch the loads that matter.
    """

    def __init__(self, first: int = 1000) -> None:
        self.written = 0
        self.next = first

    def due(self, puts: int) -> bool:
        self.written += puts
        if self.written < self.next:
            return False
        while self.next <= self.written:
            self.next *= 4
        return True


_ANALYZE = (
    "ANALYZE {p}durastate_store (ns, key, updated_at, expires_at), "
    "{p}durastate_store_vectors (ns, key, dims)"
)
"""The columns the store's plans depend on: row counts, namespaces, recency, expiry and
vector widths. Values, embeddings and the ANN index's expression are left out (their
statistics cost 20x the rest, and no plan reads them); autovacuum gathers them later."""


def analyze_operation(ctx: StoreContext) -> Operation[None]:
    """Refresh the planner's statistics of the store's tables (a warning, not an error,
    for a role that may not analyze them)."""

    def body() -> Body[None]:
        yield Run(ctx.sql(_ANALYZE))

    return Operation(body, needs=(STORE,))
