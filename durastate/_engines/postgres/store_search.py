"""Store searches on Postgres: by recency with SQL filters, and semantic over the ANN index.

A semantic search orders by ``embedding::vector(dims) <op> query LIMIT n``, the indexed
expression, with the namespace, expiry and filter conditions in the same query and
``SET LOCAL hnsw.iterative_scan = relaxed_order``, so the planner walks the index and the
scan goes on past rows the conditions reject. When the index gives fewer candidates than
asked, an exact scan of the (few) matching vectors replaces them; the candidates are then
scored and ordered exactly in Python (``rank_items``), as on every engine, followed by
unscored items newest first. ``list_namespaces`` walks the primary key one namespace at a
time (a loose index scan).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from durastate._engines.postgres.requests import Body, Rows, Run
from durastate._engines.postgres.store_filters import compile_sql
from durastate._engines.postgres.store_rows import (
    COLUMNS,
    LIVE,
    PREFIX_END,
    StoreContext,
    prefix_sql,
    stored,
    vector_text,
)
from durastate._engines.sqlite.store_rows import decode_namespace, encode_namespace
from durastate.store.base import (
    ListNamespacesRequest,
    SearchRequest,
    StoredItem,
    literal_prefix,
    rank_items,
    recency_key,
    select_namespaces,
)
from durastate.store.filters import matches

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


def search_body(
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


def list_body(
    ctx: StoreContext, req: ListNamespacesRequest, now: float
) -> Body[list[tuple[str, ...]]]:
    prefix = literal_prefix(req.prefix)
    params: dict[str, Any] = {"now": now, "low": ""}
    hi = ""
    if prefix:
        enc = encode_namespace(prefix)
        params.update(low=enc, high=enc + PREFIX_END)
        hi = " AND ns < %(high)s"
    sql = _NAMESPACES.replace("{hi}", hi).replace("{live}", LIVE)
    rows = yield Rows(ctx.sql(sql), params)
    return select_namespaces((decode_namespace(r[0]) for r in rows), req)
