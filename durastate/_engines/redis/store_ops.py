"""Store batches on Redis: reads first (one script for all gets), then atomic writes.

A batch's gets are one ``GET`` script call (one round trip, refreshing TTLs as asked);
searches and namespace listings follow; then one pipeline carries the TTL refresh of what
searches returned plus the puts and deletes, each chunk of items one script (atomic).
Searches without a query merge the namespaces' recency sets in a script that pre-filters
what it is sure the filter rejects; the rows it answers are checked with the reference
evaluator, and the script resumes from where it stopped, so a filter never truncates
results.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langgraph.store.base import Result

from durastate._engines.redis.requests import Body, Call, Pipe
from durastate._engines.redis.store_keys import (
    Namespace,
    StoreKeys,
    lex_range,
    namespace_tags,
    ns_from_text,
    ns_text,
)
from durastate._engines.redis.store_prefilter import prefilter_json
from durastate._engines.redis.store_scripts import (
    DELETE,
    GET,
    NAMESPACES,
    PUT,
    REFRESH,
    SEARCH,
)
from durastate.errors import InvalidInputError
from durastate.store.base import (
    ListNamespacesRequest,
    PreparedBatch,
    PutRequest,
    SearchRequest,
    assemble,
    literal_prefix,
    make_item,
    make_search_item,
    select_namespaces,
)
from durastate.store.filters import matches
from durastate.store.vectors import to_blob

WRITE_CHUNK = 256
"""Items per write script call (a call is atomic; chunks keep each one short)."""
READ_CHUNK = 1000
"""Items per read script call (several calls still go in one pipeline)."""
CLEAN_BATCH = 1000
PAGE_MAX = 1024
"""Most rows one search script call answers."""
EXAMINE = 2048
"""Most recency entries one search script call looks at (bounds the time a call blocks)."""


@dataclass(slots=True)
class Row:
    """One stored item as read back."""

    namespace: Namespace
    key: str
    value: dict[str, Any]
    created_at: float
    updated_at: float
    ttl_minutes: float | None
    vector_count: int

    def order(self) -> tuple[float, Namespace, str]:
        return (-self.updated_at, self.namespace, self.key)


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def decode_row(namespace: Namespace, key: str, fields: Sequence[Any]) -> Row:
    """A row from ``[value, created, updated, ttl or '', vector count]``."""
    value, created, updated, ttl, count = fields
    try:
        data = json.loads(value)
    except ValueError as exc:
        where = f"store item {namespace!r}/{key!r}"
        raise InvalidInputError(f"{where}: stored value is not JSON: {exc}") from None
    return Row(
        namespace,
        key,
        data,
        float(created),
        float(updated),
        float(ttl) if ttl else None,
        int(count),
    )


def _check_text(text: str, what: str) -> None:
    try:
        text.encode()
    except UnicodeEncodeError:
        raise InvalidInputError(f"{what} is not valid Unicode text (lone surrogate)") from None


def check_batch(batch: PreparedBatch) -> None:
    """Reject text Redis cannot carry as UTF-8 before anything runs."""
    for get in batch.gets:
        _check_text(get.key, f"key {get.key!r} in {get.namespace!r}")
        _check_text(ns_text(get.namespace), f"namespace {get.namespace!r}")
    for search in batch.searches:
        _check_text(ns_text(search.namespace_prefix), f"namespace {search.namespace_prefix!r}")
    for put in batch.puts:
        where = f"{put.namespace!r}/{put.key!r}"
        _check_text(ns_text(put.namespace), f"namespace {put.namespace!r}")
        _check_text(put.key, f"key of {where}")
        if put.value_json is not None:
            _check_text(put.value_json, f"value of {where}")


def get_body(
    keys: StoreKeys, wanted: Sequence[tuple[Namespace, str, bool]]
) -> Body[list[Row | None]]:
    """The live items named (one round trip), refreshing TTLs where asked."""
    if not wanted:
        return []
    calls: list[Call] = []
    for start in range(0, len(wanted), READ_CHUNK):
        args: list[Any] = [keys.base]
        for ns, key, refresh in wanted[start : start + READ_CHUNK]:
            args += [ns_text(ns), key, "1" if refresh else "0"]
        calls.append(Call(GET, keys.route, tuple(args)))
    replies = yield Pipe(tuple(calls))
    flat = [reply for chunk in replies for reply in chunk]
    return [
        None if not reply else decode_row(ns, key, reply)
        for (ns, key, _), reply in zip(wanted, flat, strict=True)
    ]


def refresh_call(keys: StoreKeys, items: Sequence[tuple[Namespace, str]]) -> Call:
    args: list[Any] = [keys.base]
    for ns, key in items:
        args += [ns_text(ns), key]
    return Call(REFRESH, keys.route, tuple(args))


def namespaces_body(keys: StoreKeys, prefix: Sequence[str]) -> Body[list[Namespace]]:
    """Namespaces holding live items that may start with ``prefix`` (labels not yet checked).

    Expired items are dropped from the indexes first, in the same script as the listing.
    """
    low, high = lex_range(prefix)
    while True:
        reply = yield Call(NAMESPACES, keys.route, (keys.base, low, high, CLEAN_BATCH))
        if int(reply[0]):
            return [ns_from_text(_text(m)) for m in reply[1]]


def recency_body(
    keys: StoreKeys, req: SearchRequest, count: int, *, unscored: bool = False
) -> Body[list[Row]]:
    """The first ``count`` live items under the prefix passing the filter, newest first.

    The ``SEARCH`` script merges the namespaces' recency sets server-side and answers only
    rows its pre-filter keeps (``store_prefilter``), at most ``EXAMINE`` entries per call;
    every row is checked here with the reference evaluator, and the script is called again
    from where it stopped until ``count`` rows passed or the sets are exhausted.
    ``unscored`` keeps only items without vectors.
    """
    if count <= 0:
        return []
    low, high = lex_range(req.namespace_prefix)
    prefilter = prefilter_json(req.conditions) if req.conditions else ""
    cursor: tuple[str, str, str] = ("", "", "")
    want = min(count, PAGE_MAX)
    seen: set[tuple[Namespace, str]] = set()
    spaces: dict[Any, Namespace] = {}
    out: list[Row] = []
    while True:
        reply = yield Call(
            SEARCH,
            keys.route,
            (
                keys.base,
                low,
                high,
                ns_text(req.namespace_prefix),
                want,
                EXAMINE,
                "1" if unscored else "0",
                prefilter,
                *cursor,
            ),
        )
        cursor = (_text(reply[1]), _text(reply[2]), _text(reply[3]))
        for entry in reply[4:]:
            raw_ns = entry[0]
            namespace = spaces.get(raw_ns)
            if namespace is None:
                namespace = spaces[raw_ns] = ns_from_text(_text(raw_ns))
            key = _text(entry[1])
            if (namespace, key) in seen:
                continue  # moved past the cursor by a concurrent write
            seen.add((namespace, key))
            row = decode_row(namespace, key, entry[2:])
            if req.conditions and not matches(row.value, req.conditions):
                continue
            out.append(row)
            if len(out) == count:
                return out
        if not int(reply[0]):
            return out
        want = min(max(2 * want, count - len(out)), PAGE_MAX)


def item_args(
    put: PutRequest, *, created: float | None, updated: float, expires_at: float | None
) -> list[Any]:
    """``PUT`` arguments; ``created=None`` keeps a live item's ``created_at``."""
    args: list[Any] = [
        ns_text(put.namespace),
        put.key,
        put.value_json,
        "" if created is None else repr(float(created)),
        repr(float(updated)),
        repr(-float(updated)),
        "" if put.ttl_minutes is None else repr(float(put.ttl_minutes)),
        "" if expires_at is None else str(int(expires_at * 1000)),
        len(put.embeddings),
        namespace_tags(put.namespace) if put.embeddings else "",
    ]
    for e in put.embeddings:
        args += [e.path, to_blob(e.vector)]
    return args


def write_calls(keys: StoreKeys, puts: Sequence[PutRequest], now: float) -> list[Call]:
    """Script calls writing and deleting ``puts``, a chunk of items per (atomic) call."""
    calls: list[Call] = []
    deletes = [p for p in puts if p.value is None]
    upserts = [p for p in puts if p.value is not None]
    for start in range(0, len(deletes), WRITE_CHUNK):
        args: list[Any] = [keys.base]
        for p in deletes[start : start + WRITE_CHUNK]:
            args += [ns_text(p.namespace), p.key]
        calls.append(Call(DELETE, keys.route, tuple(args)))
    for start in range(0, len(upserts), WRITE_CHUNK):
        args = [keys.base]
        for p in upserts[start : start + WRITE_CHUNK]:
            args += item_args(p, created=None, updated=now, expires_at=None)
        calls.append(Call(PUT, keys.route, tuple(args)))
    return calls


Hits = list[tuple[Row, float | None]]
SearchBody = Callable[[StoreKeys, SearchRequest], Body[Hits]]
"""Answers a search that carries a query vector: rows with their scores."""


def plain_search_body(keys: StoreKeys, req: SearchRequest) -> Body[list[tuple[Row, float | None]]]:
    rows = yield from recency_body(keys, req, req.offset + req.limit)
    return [(row, None) for row in rows[req.offset :]]


def _list_body(keys: StoreKeys, req: ListNamespacesRequest) -> Body[list[Namespace]]:
    found = yield from namespaces_body(keys, literal_prefix(req.prefix))
    return select_namespaces(found, req)


def batch_body(
    keys: StoreKeys, batch: PreparedBatch, vector_search: SearchBody | None
) -> Body[list[Result]]:
    """Answer a prepared batch (embeddings already computed).

    ``vector_search`` answers searches that carry a query vector (None: the store has no
    index, so queries are ignored).
    """
    check_batch(batch)
    answers: dict[int, Result] = {}
    refresh: dict[tuple[Namespace, str], None] = {}
    if batch.gets:
        rows = yield from get_body(keys, [(g.namespace, g.key, g.refresh_ttl) for g in batch.gets])
        for get, row in zip(batch.gets, rows, strict=True):
            answers[get.slot] = (
                None
                if row is None
                else make_item(row.namespace, row.key, row.value, row.created_at, row.updated_at)
            )
    for search in batch.searches:
        if search.limit == 0:
            answers[search.slot] = []
            continue
        if search.query_vector is not None and vector_search is not None:
            hits = yield from vector_search(keys, search)
        else:
            hits = yield from plain_search_body(keys, search)
        if search.refresh_ttl:
            refresh.update(
                ((row.namespace, row.key), None) for row, _ in hits if row.ttl_minutes is not None
            )
        answers[search.slot] = [
            make_search_item(
                row.namespace, row.key, row.value, row.created_at, row.updated_at, score
            )
            for row, score in hits
        ]
    for req in batch.lists:
        answers[req.slot] = yield from _list_body(keys, req)
    items: list[Call] = []
    if refresh:
        items.append(refresh_call(keys, list(refresh)))
    items += write_calls(keys, batch.puts, batch.now)
    if items:
        yield Pipe(tuple(items))
    return assemble(batch, answers)


__all__ = [
    "Row",
    "batch_body",
    "decode_row",
    "get_body",
    "item_args",
    "namespaces_body",
    "recency_body",
    "refresh_call",
    "write_calls",
]
