"""Store batches on Postgres: every read of a batch, then its writes, in one transaction.

Gets are one query for the whole batch; a search is one query per page (re-run with more
candidates only when a page comes back short of matches); ``list_namespaces`` walks the
primary key one namespace at a time (a loose index scan). Writes are one statement per
kind (delete, upsert, replace vectors) for the whole batch. A semantic search orders by
``embedding::vector(dims) <op> query LIMIT n`` over the ANN index, with the namespace,
expiry and filter conditions in the same query and ``SET LOCAL hnsw.iterative_scan =
relaxed_order``, so the index scan goes on past rows the conditions reject; the
candidates are then scored and ordered exactly in Python (``rank_items``), as on every
engine.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from langgraph.store.base import Result

from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Component, Operation, Rows, Run
from durastate._engines.postgres.store_filters import compile_sql
from durastate._engines.postgres.store_schema import PGVECTOR, STORE, VectorLayout
from durastate._engines.sqlite.store_rows import check_text, decode_namespace, encode_namespace
from durastate.store.base import (
    ListNamespacesRequest,
    PreparedBatch,
    PutRequest,
    SearchRequest,
    StoredItem,
    assemble,
    literal_prefix,
    make_item,
    make_search_item,
    rank_items,
    recency_key,
    select_namespaces,
)
from durastate.store.filters import matches
from durastate.store.index import IndexSettings
from durastate.store.vectors import Matrix

Deserializer = Callable[[str], dict[str, Any]]

SEP = "\x01\x01"
_PREFIX_END = "\x01\x02"
COLUMNS = "i.ns, i.key, i.value::text, i.created_at, i.updated_at, i.ttl_minutes"
LIVE = "(i.expires_at IS NULL OR i.expires_at > %(now)s)"

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
), vectors_cut AS (
    DELETE FROM {p}durastate_store_vectors v
    USING unnest(%(c_ns)s::text[], %(c_key)s::text[], %(c_count)s::int[]) AS c(ns, key, n)
    WHERE v.ns = (c.ns COLLATE "C") AND v.key = (c.key COLLATE "C") AND v.seq >= c.n
)"""
"""Vectors of written items: upserted by position, the ones past their new count removed."""
_WRITE = """
SELECT {p}durastate_store_write(
    %(d_ns)s::text[], %(d_key)s::text[], %(u_ns)s::text[], %(u_key)s::text[],
    %(u_value)s::text[], %(u_expires)s::float8[], %(u_ttl)s::float8[], %(now)s::float8,
    %(a_ns)s::text[], %(a_key)s::text[], %(a_seq)s::int[], %(a_field)s::text[],
    %(a_dims)s::int[], %(a_vec)s::text[], %(c_count)s::int[])
"""
_NAMESPACES = """
WITH RECURSIVE seen(p) AS (
    SELECT (SELECT ns FROM {p}durastate_store WHERE ns >= %(low)s{hi} ORDER BY ns LIMIT 1)
    UNION ALL
    SELECT (SELECT ns FROM {p}durastate_store WHERE ns > seen.p{hi} ORDER BY ns LIMIT 1)
    FROM seen WHERE seen.p IS NOT NULL
)
SELECT p FROM seen WHERE p IS NOT NULL AND EXISTS (
    SELECT 1 FROM {p}durastate_store i WHERE i.ns = seen.p AND {live})
"""

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class StoreContext:
    """What a store's operations need: its schema, index and vector layout."""

    schema: str | None
    index: IndexSettings | None
    layout: VectorLayout | None
    deserializer: Deserializer | None = None

    @property
    def needs(self) -> tuple[Component, ...]:
        return (STORE, PGVECTOR) if self.layout is not None else (STORE,)

    def load(self, text: str) -> dict[str, Any]:
        if self.deserializer is not None:
            return self.deserializer(text)
        value: dict[str, Any] = json.loads(text)
        return value

    def sql(self, template: str) -> str:
        return qualify(template, self.schema)


def prefix_sql(prefix: tuple[str, ...], column: str = "i.ns") -> tuple[str, dict[str, Any]]:
    """A WHERE fragment for namespaces at or under ``prefix`` (labels, no ``*``): one range."""
    if not prefix:
        return "TRUE", {}
    enc = encode_namespace(prefix)
    return (
        f"({column} = %(ns_eq)s OR ({column} >= %(ns_lo)s AND {column} < %(ns_hi)s))",
        {"ns_eq": enc, "ns_lo": enc + SEP, "ns_hi": enc + _PREFIX_END},
    )


def vector_text(vector: Matrix, brackets: str = "{}") -> str:
    """A float32 vector as array text (``{}``) or pgvector text (``[]``), read back exactly."""
    return brackets[0] + ",".join(map(repr, vector.astype(np.float64).tolist())) + brackets[1]


def value_text(put: PutRequest) -> str:
    """A value's JSON for JSONB: floats of 1e16 and beyond written positionally.

    JSONB keeps a number's decimal text, so ``1e+16`` would come back as the int
    ``10000000000000000``; ``10000000000000000.0`` comes back as the float it was.
    """
    text = put.value_json
    assert text is not None
    if "e+" not in text and "E+" not in text:
        return text
    marker = f"durastate-{uuid.uuid4().hex}-"
    numbers: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, float) and "e+" in repr(value):
            numbers.append(format(Decimal(repr(value)), "f") + ".0")
            return f"{marker}{len(numbers) - 1}"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v) for v in value]
        return value

    out = json.dumps(swap(put.value), ensure_ascii=False, separators=(",", ":"))
    for i, number in enumerate(numbers):
        out = out.replace(f'"{marker}{i}"', number, 1)
    return out


def check_batch(batch: PreparedBatch) -> None:
    """Reject text Postgres cannot store (lone surrogates) before anything runs."""
    for get in batch.gets:
        check_text(get.key, f"key {get.key!r} in {get.namespace!r}")
    for put in batch.puts:
        where = f"{put.namespace!r}/{put.key!r}"
        for label in put.namespace:
            check_text(label, f"namespace {put.namespace!r}")
        check_text(put.key, f"key of {where}")
        if put.value_json is not None:
            check_text(put.value_json, f"value of {where}")


def stored(ctx: StoreContext, row: Row) -> StoredItem:
    return StoredItem(
        namespace=decode_namespace(row[0]),
        key=row[1],
        value=ctx.load(row[2]),
        created_at=row[3],
        updated_at=row[4],
        ttl_minutes=row[5],
    )


def _recency_body(
    ctx: StoreContext, req: SearchRequest, now: float, count: int, skip: int, unscored: bool
) -> Body[list[StoredItem]]:
    """Up to ``count`` matching items after ``skip``, newest first (optionally unscored)."""
    where, params = prefix_sql(req.namespace_prefix)
    filt = compile_sql(req.conditions, "i.value")
    params.update(filt.params, now=now)
    extra = ""
    if unscored and ctx.layout is not None:
        extra = (
            " AND NOT EXISTS (SELECT 1 FROM {p}durastate_store_vectors v WHERE v.ns = i.ns "
            f"AND v.key = i.key AND v.dims = {ctx.layout.dims})"
        )
    sql = (
        f"SELECT {COLUMNS} FROM {{p}}durastate_store i WHERE {where} AND {LIVE} "
        f"AND {filt.sql}{extra} ORDER BY i.updated_at DESC, i.ns, i.key"
    )
    if filt.exact:
        params.update(limit=count, offset=skip)
        rows = yield Rows(ctx.sql(sql + " LIMIT %(limit)s OFFSET %(offset)s"), params)
        return [stored(ctx, r) for r in rows]
    rows = yield Rows(ctx.sql(sql), params)
    hits = [item for item in (stored(ctx, r) for r in rows) if matches(item.value, req.conditions)]
    return hits[skip : skip + count]


def vector_search_sql(
    ctx: StoreContext, req: SearchRequest, now: float, *, exact: bool = False
) -> tuple[str, dict[str, Any]]:
    """The candidate query of a semantic search (``%(n)s``: how many vector rows).

    Approximate: ordered by the indexed expression, so the planner walks the ANN index
    and applies the namespace, expiry and filter conditions as rows come (with
    ``scan_settings`` the scan goes on until ``n`` rows pass). Exact: ordered by an
    expression the index does not cover, for when the index scan ran dry.
    """
    layout = ctx.layout
    assert layout is not None and req.query_vector is not None
    where, params = prefix_sql(req.namespace_prefix, "v.ns")
    filt = compile_sql(req.conditions, "i.value")
    params.update(filt.params, now=now, q=vector_text(req.query_vector, "[]"))
    select = (
        f"SELECT {COLUMNS}, v.embedding FROM {{p}}durastate_store_vectors v "
        "JOIN {p}durastate_store i ON i.ns = v.ns AND i.key = v.key "
        f"WHERE v.dims = {layout.dims} AND {where} AND {LIVE} AND {filt.sql} "
    )
    distance = f"v.{layout.cast} {layout.operator} {layout.query_cast('%(q)s')}"
    if exact:
        order = f"({distance}) + 0, i.updated_at DESC, i.ns, i.key"
    else:
        order = distance
    return ctx.sql(f"{select} ORDER BY {order} LIMIT %(n)s"), params


def _vector_body(
    ctx: StoreContext, req: SearchRequest, now: float, want: int
) -> Body[list[tuple[StoredItem, float | None]]]:
    """The best ``want`` items by score, candidates from the ANN index, ranked exactly."""
    assert ctx.layout is not None and ctx.index is not None
    layout = ctx.layout
    exact, params = vector_search_sql(ctx, req, now, exact=True)
    # ``flat``: exact scans only (never an index another store built on the same schema).
    approximate = exact if layout.kind == "flat" else vector_search_sql(ctx, req, now)[0]
    candidates = 2 * want + 10
    while True:
        settings = layout.scan_settings(candidates)
        if settings is not None:
            yield Run(settings)
        rows = yield Rows(approximate, {**params, "n": candidates})
        exhausted = len(rows) < candidates
        if exhausted and settings is not None:
            # Fewer than asked: the matching vectors are few, or the graph did not reach
            # them all (duplicates, deleted rows); an exact scan of the few is cheap.
            rows = yield Rows(exact, {**params, "n": candidates})
            exhausted = len(rows) < candidates
        items: dict[tuple[str, str], StoredItem] = {}
        blocks: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            ident = (row[0], row[1])
            if ident not in items:
                items[ident] = stored(ctx, row)
            blocks.setdefault(ident, []).append(row[6])
        for ident, item in items.items():
            item.vectors = np.asarray(blocks[ident], dtype=np.float32)
        found = [it for it in items.values() if matches(it.value, req.conditions)]
        if len(found) >= want or exhausted:
            break
        candidates *= 4
    page = SearchRequest(
        req.slot,
        req.namespace_prefix,
        req.conditions,
        want,
        0,
        req.query,
        False,
        req.query_vector,
    )
    ranked = rank_items(found, page, ctx.index)
    if len(ranked) < want and exhausted:
        rest = yield from _recency_body(ctx, req, now, want - len(ranked), 0, True)
        ranked.extend((item, None) for item in sorted(rest, key=recency_key))
    return ranked


def _search_body(
    ctx: StoreContext, req: SearchRequest, now: float
) -> Body[list[tuple[StoredItem, float | None]]]:
    if req.limit == 0:
        return []
    if req.query_vector is None or ctx.layout is None:
        hits = yield from _recency_body(ctx, req, now, req.limit, req.offset, False)
        return [(h, None) for h in hits]
    want = req.offset + req.limit
    ranked = yield from _vector_body(ctx, req, now, want)
    return ranked[req.offset : want]


def _list_body(
    ctx: StoreContext, req: ListNamespacesRequest, now: float
) -> Body[list[tuple[str, ...]]]:
    prefix = literal_prefix(req.prefix)
    params: dict[str, Any] = {"now": now, "low": ""}
    hi = ""
    if prefix:
        enc = encode_namespace(prefix)
        params.update(low=enc, high=enc + _PREFIX_END)
        hi = " AND ns < %(high)s"
    sql = _NAMESPACES.replace("{hi}", hi).replace("{live}", LIVE)
    rows = yield Rows(ctx.sql(sql), params)
    return select_namespaces((decode_namespace(r[0]) for r in rows), req)


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
        hits = yield from _search_body(ctx, search, now)
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
        answers[req.slot] = yield from _list_body(ctx, req, now)
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
    (and semantic searches, for their ``SET LOCAL``) run in one transaction.
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
    vector_search = ctx.layout is not None and any(
        s.query_vector is not None for s in batch.searches
    )
    return Operation(
        body, transaction=bool(vector_search or (reads and batch.puts)), needs=ctx.needs
    )


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
    """Create the ANN index this store's layout asks for (under the migrations' lock)."""
    layout = ctx.layout
    ddl = layout.index_sql() if layout is not None else None

    def body() -> Body[None]:
        if ddl is None:
            return
        key = ctx.schema if ctx.schema is not None else ""
        lock = (
            "SELECT pg_advisory_xact_lock(hashtextextended('durastate:' || current_schema(), 0))"
            if ctx.schema is None
            else f"SELECT pg_advisory_xact_lock(hashtextextended('durastate:{key}', 0))"
        )
        yield Run(f"{lock}; {ctx.sql(ddl)}")

    return Operation(body, transaction=True, needs=ctx.needs)
