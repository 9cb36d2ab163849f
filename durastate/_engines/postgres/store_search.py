"""Store searches on Postgres: by recency with SQL filters, and semantic over the ANN index.

A semantic search orders by ``embedding::vector(dims) <op> query LIMIT n``, the indexed
expression, with the namespace, expiry and filter conditions in the same query, run by
``durastate_store_ann`` with ``hnsw.iterative_scan = relaxed_order`` (one statement), so
the planner walks the index and the scan goes on past rows the conditions reject. When
the index gives fewer candidates than asked, an exact scan of the (few) matching vectors
replaces them; the candidates are then scored and ordered exactly in Python
(``rank_items``), as on every engine, followed by unscored items newest first.
``list_namespaces`` walks the primary key one namespace at a time (a loose index scan).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from durastate._engines.postgres.requests import Body, Rows
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


def _vector_sql(
    ctx: StoreContext, req: SearchRequest, now: float
) -> tuple[str, str, dict[str, Any], bool]:
    """The approximate and the exact candidate query, their parameters, and whether the
    SQL filter is exact (``matches`` need not check the rows)."""
    layout = ctx.layout
    assert layout is not None and req.query_vector is not None
    where, params = prefix_sql(req.namespace_prefix, "v.ns")
    filt = compile_sql(req.conditions, "i.value")
    params.update(filt.params, now=now, q=vector_text(req.query_vector, "[]"))
    select = ctx.sql(
        f"SELECT {COLUMNS}, v.embedding FROM {{p}}durastate_store_vectors v "
        "JOIN {p}durastate_store i ON i.ns = v.ns AND i.key = v.key "
        f"WHERE v.dims = {layout.dims} AND {where} AND {LIVE} AND {filt.sql} "
    )
    distance = f"v.{layout.cast} {layout.operator} {layout.query_cast('%(q)s')}"
    approximate = f"{select} ORDER BY {distance} LIMIT %(n)s"
    exact = f"{select} ORDER BY ({distance}) + 0, i.updated_at DESC, i.ns, i.key LIMIT %(n)s"
    return approximate, exact, params, filt.exact


def vector_search_sql(
    ctx: StoreContext, req: SearchRequest, now: float, *, exact: bool = False
) -> tuple[str, dict[str, Any]]:
    """The candidate query of a semantic search (``%(n)s``: how many vector rows).

    Approximate: ordered by the indexed expression, so the planner walks the ANN index
    and applies the namespace, expiry and filter conditions as rows come (with
    ``scan_settings`` the scan goes on until ``n`` rows pass). Exact: ordered by an
    expression the index does not cover, for when the index scan ran dry.
    """
    approximate, exact_sql, params, _ = _vector_sql(ctx, req, now)
    return (exact_sql if exact else approximate), params


_PLACEHOLDER = re.compile(r"%\((\w+)\)s(::)?|%%")
_CASTS: dict[type, str] = {bool: "::boolean", int: "::bigint", float: "::float8", list: "::text[]"}


def _arg_text(value: Any) -> str | None:
    """A parameter as the text its SQL cast reads back exactly."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        items = ('"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"' for v in value)
        return "{" + ",".join(items) + "}"
    raise TypeError(f"cannot pass a {type(value).__name__} to durastate_store_ann")


def positional(sql: str, params: dict[str, Any]) -> tuple[str, list[str | None]]:
    """``sql`` reading its named parameters as ``$1[i]`` of one text array, and that array.

    A placeholder without a cast gets the one its Python type implies.
    """
    slots: dict[str, int] = {}
    args: list[str | None] = []

    def swap(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return "%"
        if name not in slots:
            args.append(_arg_text(params[name]))
            slots[name] = len(args)
        ref = f"($1[{slots[name]}])"
        if m.group(2):
            return ref + "::"
        return ref + _CASTS.get(type(params[name]), "")

    return _PLACEHOLDER.sub(swap, sql), args


_ANN = (
    "SELECT * FROM {p}durastate_store_ann(%(sql)s, %(args)s::text[], %(ef)s::int, %(probes)s::int)"
)


def _vector_body(
    ctx: StoreContext, req: SearchRequest, now: float, want: int
) -> Body[list[tuple[StoredItem, float | None]]]:
    """The best ``want`` items by score, candidates from the ANN index, ranked exactly.

    Each round is one statement: the approximate query through ``durastate_store_ann``
    (which carries the scan settings), or the exact one when the index ran dry. Values
    are decoded for the items ranked, not for every candidate.
    """
    assert ctx.layout is not None and ctx.index is not None
    layout = ctx.layout
    approximate, exact, params, sql_exact = _vector_sql(ctx, req, now)
    # ``flat``: exact scans only (never an index another store built on the same schema).
    indexed = layout.kind != "flat"
    candidates = 2 * want + 10
    while True:
        if indexed:
            ef, probes = layout.scan_values(candidates)
            inner, args = positional(approximate, {**params, "n": candidates})
            rows = yield Rows(
                ctx.sql(_ANN), {"sql": inner, "args": args, "ef": ef, "probes": probes}
            )
        else:
            rows = yield Rows(exact, {**params, "n": candidates})
        exhausted = len(rows) < candidates
        if exhausted and indexed:
            # Fewer than asked: the matching vectors are few, or the graph did not reach
            # them all (duplicates, deleted rows); an exact scan of the few is cheap.
            rows = yield Rows(exact, {**params, "n": candidates})
            exhausted = len(rows) < candidates
        items: dict[tuple[str, str], StoredItem] = {}
        texts: dict[tuple[str, str], str] = {}
        blocks: dict[tuple[str, str], list[Any]] = {}
        for row in rows:
            ident = (row[0], row[1])
            if ident not in items:
                items[ident] = StoredItem(
                    decode_namespace(row[0]), row[1], _UNREAD, row[3], row[4], None, row[5]
                )
                texts[ident] = row[2]
            blocks.setdefault(ident, []).append(row[6])
        for ident, item in items.items():
            item.vectors = np.asarray(blocks[ident], dtype=np.float32)
        if sql_exact:
            found = list(items.values())
        else:
            found = []
            for ident, item in items.items():
                item.value = ctx.load(texts[ident])
                if matches(item.value, req.conditions):
                    found.append(item)
        if len(found) >= want or exhausted:
            break
        candidates *= 4
    # The conditions hold for every item found: rank by score only.
    page = SearchRequest(
        req.slot, req.namespace_prefix, (), want, 0, req.query, False, req.query_vector
    )
    ranked = rank_items(found, page, ctx.index)
    for item, _ in ranked:
        if item.value is _UNREAD:
            item.value = ctx.load(texts[(encode_namespace(item.namespace), item.key)])
    if len(ranked) < want and exhausted:
        rest = yield from _recency_body(ctx, req, now, want - len(ranked), 0, True)
        ranked.extend((item, None) for item in sorted(rest, key=recency_key))
    return ranked


_UNREAD: dict[str, Any] = {}
"""The value of a candidate not decoded yet (only ranked items are)."""


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
