"""Store batches on SQLite: reads in one snapshot, then all writes in one transaction.

A batch's gets, searches and namespace listings run first (they see the store as it
was before the batch's writes); TTL refreshes of what they returned and the batch's
puts and deletes follow in a single write transaction. Filtered searches stream rows
in batches and stop as soon as the page is full.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import Result

from durastate._engines.sqlite.maintenance import vacuum_operation
from durastate._engines.sqlite.requests import (
    Body,
    Fetch,
    Mode,
    Operation,
    Plan,
    Rows,
    Run,
    RunMany,
    Stream,
)
from durastate._engines.sqlite.schema import STORE
from durastate._engines.sqlite.store_filters import compile_sql
from durastate._engines.sqlite.store_rows import (
    ITEM_COLUMNS,
    LIVE,
    Deserializer,
    ItemRow,
    check_text,
    decode_namespace,
    encode_namespace,
    prefix_range,
    prefix_sql,
)
from durastate._engines.sqlite.store_vectors import VectorIndex, ranked
from durastate.store.base import (
    ListNamespacesRequest,
    PreparedBatch,
    SearchRequest,
    assemble,
    literal_prefix,
    make_item,
    make_search_item,
    select_namespaces,
)
from durastate.store.filters import matches
from durastate.store.index import IndexSettings
from durastate.store.vectors import to_blob

STREAM_BATCH = 256
_BY_KEYS = (
    "json_each(?) j CROSS JOIN durastate_store i "
    "ON i.ns = json_extract(j.value, '$[0]') AND i.key = json_extract(j.value, '$[1]')"
)
_GET = (
    "SELECT i.id, i.ns, i.key, i.value, i.created_at, i.updated_at, i.ttl_minutes "
    f"FROM {_BY_KEYS} WHERE i.expires_at IS NULL OR i.expires_at > ?"
)
_UPSERT = """
INSERT INTO durastate_store (ns, key, value, created_at, updated_at, expires_at, ttl_minutes)
VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (ns, key) DO UPDATE SET
    value = excluded.value,
    updated_at = excluded.updated_at,
    expires_at = excluded.expires_at,
    ttl_minutes = excluded.ttl_minutes,
    created_at = CASE
        WHEN durastate_store.expires_at IS NOT NULL
             AND durastate_store.expires_at <= excluded.updated_at
        THEN excluded.created_at ELSE durastate_store.created_at END
"""
_UNSCORED = (
    " AND NOT EXISTS (SELECT 1 FROM durastate_store_vectors v WHERE v.item_id = durastate_store.id)"
)
_NAMESPACES = """
WITH RECURSIVE seen(p) AS (
    SELECT (SELECT ns FROM durastate_store WHERE ns >= ?{hi} ORDER BY ns LIMIT 1)
    UNION ALL
    SELECT (SELECT ns FROM durastate_store WHERE ns > seen.p{hi} ORDER BY ns LIMIT 1)
    FROM seen WHERE seen.p IS NOT NULL
)
SELECT p FROM seen WHERE p IS NOT NULL AND (
    EXISTS (SELECT 1 FROM durastate_store s WHERE s.ns = seen.p AND s.expires_at IS NULL)
    OR EXISTS (SELECT 1 FROM durastate_store s WHERE s.ns = seen.p AND s.expires_at > ?))
"""

Hit = tuple[ItemRow, dict[str, Any], float | None]


@dataclass(slots=True)
class StoreContext:
    """What a store's operations need besides the batch: its index and value decoder."""

    index: IndexSettings | None
    vectors: VectorIndex | None
    deserializer: Deserializer | None = None


def check_batch(batch: PreparedBatch) -> None:
    """Reject text SQLite cannot store (lone surrogates) before anything runs."""
    for get in batch.gets:
        check_text(get.key, f"key {get.key!r} in {get.namespace!r}")
    for put in batch.puts:
        where = f"{put.namespace!r}/{put.key!r}"
        for label in put.namespace:
            check_text(label, f"namespace {put.namespace!r}")
        check_text(put.key, f"key of {where}")
        if put.value_json is not None:
            check_text(put.value_json, f"value of {where}")


def _recency_body(
    ctx: StoreContext, req: SearchRequest, now: float, count: int, skip: int, unscored: bool
) -> Body[list[Hit]]:
    """Up to ``count`` items after ``skip``, newest first (optionally only unscored ones)."""
    where, params = prefix_sql(req.namespace_prefix)
    filt = compile_sql(req.conditions)
    sql = (
        f"SELECT {ITEM_COLUMNS} FROM durastate_store WHERE {where} AND {LIVE} AND {filt.sql}"
        f"{_UNSCORED if unscored else ''} ORDER BY updated_at DESC, ns, key"
    )
    args: list[Any] = [*params, now, *filt.params]
    if not req.conditions:
        rows = yield Rows(f"{sql} LIMIT ? OFFSET ?", [*args, count, skip])
        items = [ItemRow.of(r) for r in rows]
        return [(i, i.value(ctx.deserializer), None) for i in items]
    hits: list[Hit] = []
    cursor = yield Stream(sql, args)
    while len(hits) < count:
        rows = yield Fetch(cursor, STREAM_BATCH)
        for r in rows:
            item = ItemRow.of(r)
            value = item.value(ctx.deserializer)
            if not matches(value, req.conditions):
                continue
            if skip:
                skip -= 1
                continue
            hits.append((item, value, None))
            if len(hits) >= count:
                break
        if len(rows) < STREAM_BATCH:
            break
    return hits


def _search_body(ctx: StoreContext, req: SearchRequest, now: float) -> Body[list[Hit]]:
    want = req.offset + req.limit
    if req.limit == 0:
        return []
    if req.query_vector is None or ctx.vectors is None or ctx.index is None:
        return (yield from _recency_body(ctx, req, now, req.limit, req.offset, False))
    snap = yield from ctx.vectors.current_body()
    filt = compile_sql(req.conditions)
    hits: list[Hit] = []
    first = 2 * want if req.conditions else want + 4
    chunks = ranked(snap, req.query_vector, ctx.index.distance_type, req.namespace_prefix, first)
    for chunk in chunks:
        rows = yield Rows(
            f"SELECT {ITEM_COLUMNS} FROM durastate_store "
            f"WHERE id IN (SELECT value FROM json_each(?)) AND {LIVE} AND {filt.sql}",
            [json.dumps([item_id for item_id, _ in chunk]), now, *filt.params],
        )
        by_id = {r[0]: ItemRow.of(r) for r in rows}
        for item_id, score in chunk:
            item = by_id.get(item_id)
            if item is None:
                continue
            value = item.value(ctx.deserializer)
            if req.conditions and not matches(value, req.conditions):
                continue
            hits.append((item, value, score))
            if len(hits) >= want:
                break
        if len(hits) >= want:
            break
    if len(hits) < want:
        hits.extend((yield from _recency_body(ctx, req, now, want - len(hits), 0, True)))
    return hits[req.offset : want]


def _list_body(req: ListNamespacesRequest, now: float) -> Body[list[tuple[str, ...]]]:
    low, high = prefix_range(literal_prefix(req.prefix))
    sql = _NAMESPACES.format(hi=" AND ns < ?" if high is not None else "")
    params: list[Any] = [low, high, high, now] if high is not None else [low, now]
    rows = yield Rows(sql, params)
    return select_namespaces((decode_namespace(r[0]) for r in rows), req)


def _reads_body(
    ctx: StoreContext, batch: PreparedBatch
) -> Body[tuple[dict[int, Result], list[int]]]:
    now = batch.now
    answers: dict[int, Result] = {}
    refresh: list[int] = []
    if batch.gets:
        keys = json.dumps([[encode_namespace(g.namespace), g.key] for g in batch.gets])
        found = {(r[1], r[2]): ItemRow.of(r) for r in (yield Rows(_GET, (keys, now)))}
        for get in batch.gets:
            item = found.get((encode_namespace(get.namespace), get.key))
            if item is None:
                answers[get.slot] = None
                continue
            if get.refresh_ttl and item.ttl_minutes is not None:
                refresh.append(item.id)
            answers[get.slot] = make_item(
                item.namespace,
                item.key,
                item.value(ctx.deserializer),
                item.created_at,
                item.updated_at,
            )
    for search in batch.searches:
        hits = yield from _search_body(ctx, search, now)
        if search.refresh_ttl:
            refresh.extend(item.id for item, _, _ in hits if item.ttl_minutes is not None)
        answers[search.slot] = [
            make_search_item(
                item.namespace, item.key, value, item.created_at, item.updated_at, score
            )
            for item, value, score in hits
        ]
    for req in batch.lists:
        answers[req.slot] = yield from _list_body(req, now)
    return answers, refresh


def _writes_body(batch: PreparedBatch, refresh: list[int]) -> Body[None]:
    now = batch.now
    if refresh:
        yield Run(
            "UPDATE durastate_store SET expires_at = ? + ttl_minutes * 60.0 "
            "WHERE id IN (SELECT value FROM json_each(?)) AND ttl_minutes IS NOT NULL "
            f"AND {LIVE}",
            (now, json.dumps(sorted(set(refresh))), now),
        )
    deletes = [p for p in batch.puts if p.value is None]
    upserts = [p for p in batch.puts if p.value is not None]
    if deletes:
        keys = json.dumps([[encode_namespace(p.namespace), p.key] for p in deletes])
        chosen = f"SELECT i.id FROM {_BY_KEYS}"
        yield Run(f"DELETE FROM durastate_store_vectors WHERE item_id IN ({chosen})", (keys,))
        yield Run(f"DELETE FROM durastate_store WHERE id IN ({chosen})", (keys,))
    if not upserts:
        return
    yield RunMany(
        _UPSERT,
        [
            (
                encode_namespace(p.namespace),
                p.key,
                p.value_json,
                now,
                now,
                p.expires_at(now),
                p.ttl_minutes,
            )
            for p in upserts
        ],
    )
    keys = json.dumps([[encode_namespace(p.namespace), p.key] for p in upserts])
    rows = yield Rows(f"SELECT i.id, i.ns, i.key FROM {_BY_KEYS}", (keys,))
    ids = {(r[1], r[2]): int(r[0]) for r in rows}
    yield Run(
        "DELETE FROM durastate_store_vectors WHERE item_id IN (SELECT value FROM json_each(?))",
        (json.dumps(sorted(ids.values())),),
    )
    vectors = [
        (ids[(encode_namespace(p.namespace), p.key)], seq, e.path, to_blob(e.vector))
        for p in upserts
        for seq, e in enumerate(p.embeddings)
    ]
    if vectors:
        yield RunMany(
            "INSERT INTO durastate_store_vectors (item_id, seq, field, embedding) "
            "VALUES (?, ?, ?, ?)",
            vectors,
        )


def batch_plan(ctx: StoreContext, batch: PreparedBatch) -> Plan[list[Result]]:
    """Answer a prepared batch (embeddings already computed)."""
    check_batch(batch)
    answers: dict[int, Result] = {}
    refresh: list[int] = []
    reads = len(batch.searches) + len(batch.lists) + (1 if batch.gets else 0)
    if reads:
        mode: Mode = "read" if reads > 1 or batch.searches else "auto"
        answers, refresh = yield Operation(mode, lambda: _reads_body(ctx, batch), (STORE,))
    if refresh or batch.puts:
        yield Operation("write", lambda: _writes_body(batch, refresh), (STORE,))
    return assemble(batch, answers)


def _sweep_body() -> Body[int]:
    now = time.time()
    yield Run(
        "DELETE FROM durastate_store_vectors WHERE item_id IN "
        "(SELECT id FROM durastate_store WHERE expires_at <= ?)",
        (now,),
    )
    return int((yield Run("DELETE FROM durastate_store WHERE expires_at <= ?", (now,))))


def sweep_plan() -> Plan[int]:
    """Delete expired items (and their vectors); answers how many."""
    removed = yield Operation("write", _sweep_body, (STORE,))
    if removed:
        yield vacuum_operation()
    return int(removed)
