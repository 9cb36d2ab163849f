"""Reading checkpoints: one statement returns a page of checkpoints with values and writes.

``get_tuple`` is a page of one. ``list`` fetches pages of ``PAGE_SIZE`` by keyset
(``checkpoint_id`` descending, then thread and namespace), each in one statement, and
releases the connection between pages, so a paused consumer never holds it.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from langchain_core.runnables import RunnableConfig

from durastate._engines.sqlite.deltas import BlobRow, Materializer
from durastate._engines.sqlite.inline import unpack_inline
from durastate._engines.sqlite.requests import Body, Operation, Rows, Run
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import (
    StoredCheckpoint,
    StoredWrite,
    before_id,
    check_filter,
    check_limit,
    list_scope,
    metadata_matches,
    parse_config,
)

PAGE_SIZE = 100
_INT64 = (-(2**63), 2**63 - 1)

_PAGE_SQL = """
WITH page AS MATERIALIZED (
    SELECT c.rowid AS rid, c.thread_id, c.checkpoint_ns, c.checkpoint_id,
           c.parent_checkpoint_id, c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata,
           c.metadata_json, c.inline_values, c.blob_versions, t.expires_at
    FROM durastate_checkpoints c LEFT JOIN durastate_threads t ON t.thread_id = c.thread_id
    WHERE {where} AND (t.expires_at IS NULL OR t.expires_at > :now)
    ORDER BY c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns
    LIMIT :limit
),
refs AS MATERIALIZED (
    SELECT p.rid, v.key AS channel, b.id, b.type, b.data, b.base_id, b.base_skip, b.head_len
    FROM page p CROSS JOIN json_each(p.blob_versions) v
    CROSS JOIN durastate_checkpoint_blobs b
      ON b.thread_id = p.thread_id AND b.checkpoint_ns = p.checkpoint_ns
     AND b.channel = v.key AND b.version = v.value
),
chain(id) AS (
    SELECT base_id FROM refs WHERE base_id IS NOT NULL
    UNION
    SELECT b.base_id FROM chain JOIN durastate_checkpoint_blobs b ON b.id = chain.id
    WHERE b.base_id IS NOT NULL
)
SELECT 0, rid, thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, checkpoint_type,
       checkpoint, metadata_type, metadata, metadata_json, expires_at, inline_values
FROM page
UNION ALL
SELECT 1, rid, channel, id, type, data, base_id, base_skip, head_len, NULL, NULL, NULL, NULL
FROM refs
UNION ALL
SELECT 2, NULL, NULL, b.id, b.type, b.data, b.base_id, b.base_skip, b.head_len,
       NULL, NULL, NULL, NULL
FROM chain JOIN durastate_checkpoint_blobs b ON b.id = chain.id
WHERE b.id NOT IN (SELECT id FROM refs)
UNION ALL
SELECT 3, p.rid, w.task_id, w.idx, w.channel, w.type, w.data, w.task_path,
       NULL, NULL, NULL, NULL, NULL
FROM page p JOIN durastate_checkpoint_writes w
  ON w.thread_id = p.thread_id AND w.checkpoint_ns = p.checkpoint_ns
 AND w.checkpoint_id = p.checkpoint_id
"""
"""Rows: 0 = a checkpoint (with its inline values), 1 = a large value it names, 2 = an
older value a delta builds on, 3 = a pending write. Rows 1-3 name their checkpoint by
``rid``."""


@lru_cache(maxsize=256)
def page_sql(where: str) -> str:
    return _PAGE_SQL.format(where=where)


_LATEST = (
    "(SELECT checkpoint_id FROM durastate_checkpoints WHERE thread_id = :thread "
    "AND checkpoint_ns = :ns ORDER BY checkpoint_id DESC LIMIT 1)"
)
_ONE_SQL = """
WITH RECURSIVE chain(id) AS (
    SELECT b.base_id
    FROM durastate_checkpoints c CROSS JOIN json_each(c.blob_versions) v
    CROSS JOIN durastate_checkpoint_blobs b
      ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
     AND b.channel = v.key AND b.version = v.value
    WHERE c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = {cid}
      AND b.base_id IS NOT NULL
    UNION
    SELECT b.base_id FROM chain JOIN durastate_checkpoint_blobs b ON b.id = chain.id
    WHERE b.base_id IS NOT NULL
)
SELECT 0, c.rowid, c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
       c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata, c.metadata_json,
       t.expires_at, c.inline_values
FROM durastate_checkpoints c LEFT JOIN durastate_threads t ON t.thread_id = c.thread_id
WHERE c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = {cid}
  AND (t.expires_at IS NULL OR t.expires_at > :now)
UNION ALL
SELECT 1, c.rowid, v.key, b.id, b.type, b.data, b.base_id, b.base_skip, b.head_len,
       NULL, NULL, NULL, NULL
FROM durastate_checkpoints c CROSS JOIN json_each(c.blob_versions) v
CROSS JOIN durastate_checkpoint_blobs b
  ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
 AND b.channel = v.key AND b.version = v.value
WHERE c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = {cid}
UNION ALL
SELECT 2, NULL, NULL, b.id, b.type, b.data, b.base_id, b.base_skip, b.head_len,
       NULL, NULL, NULL, NULL
FROM chain JOIN durastate_checkpoint_blobs b ON b.id = chain.id
UNION ALL
SELECT 3, c.rowid, w.task_id, w.idx, w.channel, w.type, w.data, w.task_path,
       NULL, NULL, NULL, NULL, NULL
FROM durastate_checkpoints c JOIN durastate_checkpoint_writes w
  ON w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
 AND w.checkpoint_id = c.checkpoint_id
WHERE c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = {cid}
"""
"""One checkpoint (the latest of its namespace, or a given id) in the rows of ``_PAGE_SQL``,
without materializing a page: each part finds the checkpoint by its primary key."""
ONE_LATEST_SQL = _ONE_SQL.format(cid=_LATEST)
ONE_BY_ID_SQL = _ONE_SQL.format(cid=":cid")


TOUCH_SQL = (
    "INSERT INTO durastate_threads (thread_id, expires_at) VALUES (?, ?) "
    "ON CONFLICT (thread_id) DO UPDATE SET expires_at = excluded.expires_at"
)


@dataclass(slots=True)
class Page:
    """Checkpoints of one statement, newest first, with their thread's expiry."""

    checkpoints: list[StoredCheckpoint]
    metadata_json: list[str]
    expires_at: list[float | None]


def decode_page(rows: list[tuple[Any, ...]]) -> Page:
    """Group the rows of ``_PAGE_SQL`` into stored checkpoints, values rebuilt."""
    heads: dict[int, tuple[Any, ...]] = {}
    refs: dict[int, list[tuple[str, int]]] = {}
    writes: dict[int, list[StoredWrite]] = {}
    blobs: dict[int, BlobRow] = {}
    deltas = False
    for row in rows:
        kind = row[0]
        if kind == 0:
            heads[row[1]] = row
        elif kind == 3:
            writes.setdefault(row[1], []).append(
                StoredWrite(row[2], row[4], row[5], row[6], row[7], row[3])
            )
        else:
            if row[6] is not None:
                deltas = True
            blobs[row[3]] = BlobRow(row[3], row[4], row[5], row[6], row[7], row[8])
            if kind == 1:
                refs.setdefault(row[1], []).append((row[2], row[3]))
    if deltas:
        rebuilt = Materializer(blobs.values())
        rebuilt.warm()
        full = rebuilt.full
    else:

        def full(blob_id: int) -> bytes:
            return blobs[blob_id].data

    ordered = list(heads.values())
    if len(ordered) > 1:  # newest first; equal ids by thread, then namespace
        ordered.sort(key=lambda h: (h[2], h[3]))
        ordered.sort(key=lambda h: h[4], reverse=True)
    checkpoints = []
    for h in ordered:
        values: dict[str, tuple[str, bytes]] = {
            ch: (typ, data) for ch, (_, typ, data) in unpack_inline(h[12]).items()
        }
        for ch, bid in refs.get(h[1], ()):
            values[ch] = (blobs[bid].type, full(bid))
        checkpoints.append(
            StoredCheckpoint(
                h[2], h[3], h[4], h[5], (h[6], h[7]), (h[8], h[9]), values, writes.get(h[1], [])
            )
        )
    return Page(
        checkpoints,
        [h[10] for h in ordered],
        [h[11] for h in ordered],
    )


def _scalar_test(column: str, value: Any, name: str, params: dict[str, Any]) -> str | None:
    """SQL testing a json_each row against a scalar filter value (None: not expressible)."""
    if value is None:
        return f"{column}.type = 'null'"
    if isinstance(value, bool):
        return f"{column}.type = '{'true' if value else 'false'}'"
    if isinstance(value, str):
        params[name] = value
        return f"{column}.type = 'text' AND {column}.value = :{name}"
    if isinstance(value, int) and _INT64[0] <= value <= _INT64[1]:
        params[name] = value
        return f"{column}.type IN ('integer', 'real') AND {column}.value = :{name}"
    if isinstance(value, float) and math.isfinite(value):
        params[name] = value
        return f"{column}.type IN ('integer', 'real') AND {column}.value = :{name}"
    if isinstance(value, list):
        return f"{column}.type = 'array'"
    if isinstance(value, dict):
        return f"{column}.type = 'object'"
    return None


@dataclass(slots=True)
class Query:
    """The scope of a ``get_tuple`` or ``list`` call, compiled to a WHERE clause."""

    where: list[str]
    params: dict[str, Any]
    exact: bool
    """Whether SQL alone decides the filter (else rows are checked again in Python)."""


def metadata_where(filter: Mapping[str, Any], query: Query) -> None:
    for n, (key, value) in enumerate(filter.items()):
        name = f"mk{n}"
        query.params[name] = key
        test = _scalar_test("m", value, f"mv{n}", query.params)
        if test is None or isinstance(value, (list, dict)):
            query.exact = False  # deep or huge values: SQL narrows, Python decides
        if test is None:
            test = "1"
        query.where.append(
            f"EXISTS (SELECT 1 FROM json_each(c.metadata_json) m WHERE m.key = :{name} AND {test})"
        )


def page_operation(query: Query, limit: int, now: float) -> Operation[Page]:
    sql = page_sql(" AND ".join(query.where) or "1")
    params = dict(query.params, now=now, limit=limit)

    def body() -> Body[Page]:
        return decode_page((yield Rows(sql, params)))

    return Operation("auto", body, (CHECKPOINTS,))


@dataclass(frozen=True, slots=True)
class Freshness:
    """The thread TTL policy a read applies: lifetime in seconds, refresh on read."""

    ttl_seconds: float | None
    refresh: bool

    def touch_needed(self, expires_at: float | None, now: float) -> float | None:
        """The new expiry if reading should move it (skipping moves under 1% of the TTL)."""
        if not self.refresh or self.ttl_seconds is None:
            return None
        new = now + self.ttl_seconds
        if expires_at is not None and new - expires_at < min(1.0, self.ttl_seconds * 0.01):
            return None
        return new


def get_tuple_operation(
    config: RunnableConfig, freshness: Freshness
) -> Operation[StoredCheckpoint | None]:
    """The checkpoint a config names (latest of its namespace without an id), in one query."""
    ref = parse_config(config)
    params: dict[str, Any] = {"thread": ref.thread_id, "ns": ref.checkpoint_ns}
    sql = ONE_LATEST_SQL
    if ref.checkpoint_id is not None:
        sql = ONE_BY_ID_SQL
        params["cid"] = ref.checkpoint_id

    def body() -> Body[StoredCheckpoint | None]:
        now = time.time()
        page = decode_page((yield Rows(sql, dict(params, now=now))))
        if not page.checkpoints:
            return None
        expiry = freshness.touch_needed(page.expires_at[0], now)
        if expiry is not None:
            yield Run(TOUCH_SQL, (ref.thread_id, expiry))
        return page.checkpoints[0]

    return Operation("auto", body, (CHECKPOINTS,))


class Lister:
    """The state of one ``list`` call: which page comes next and how many are still wanted."""

    def __init__(
        self,
        config: RunnableConfig | None,
        *,
        filter: Mapping[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
        freshness: Freshness,
        page_size: int = PAGE_SIZE,
    ) -> None:
        thread, ns, cid = list_scope(config)
        wanted = check_filter(filter)
        self.filter = wanted
        self.remaining = check_limit(limit)
        self.freshness = freshness
        self.page_size = page_size
        self.thread = thread
        self.single_namespace = thread is not None and ns is not None
        self.touched = False
        self.done = self.remaining == 0
        self.query = Query([], {}, True)
        self.now = time.time()
        for column, value in (("thread_id", thread), ("checkpoint_ns", ns), ("checkpoint_id", cid)):
            if value is not None:
                self.query.where.append(f"c.{column} = :{column}")
                self.query.params[column] = value
        before_cid = before_id(before)
        if before_cid is not None:
            self.query.where.append("c.checkpoint_id < :before")
            self.query.params["before"] = before_cid
        metadata_where(wanted, self.query)
        self.base_where = list(self.query.where)
        self._after: tuple[str, str, str] | None = None
        self._size = page_size

    def next_operation(self) -> Operation[Page] | None:
        if self.done:
            return None
        where = list(self.base_where)
        params = dict(self.query.params)
        if self._after is not None:
            params.update(kc=self._after[0], kt=self._after[1], kn=self._after[2])
            if self.single_namespace:  # ids are unique there: a plain index range
                where.append("c.checkpoint_id < :kc")
            else:
                where.append("c.checkpoint_id <= :kc")
                where.append(
                    "(c.checkpoint_id < :kc OR c.thread_id > :kt"
                    " OR (c.thread_id = :kt AND c.checkpoint_ns > :kn))"
                )
        size = self.page_size
        if self.remaining is not None and self.query.exact:
            size = min(size, self.remaining)
        self._size = size
        return page_operation(Query(where, params, self.query.exact), size, self.now)

    def accept(self, page: Page) -> list[StoredCheckpoint]:
        """The page's checkpoints that the call returns; advances to the next page."""
        found = page.checkpoints
        if len(found) < self._size:
            self.done = True
        if found:
            last = found[-1]
            self._after = (last.checkpoint_id, last.thread_id, last.checkpoint_ns)
        if not self.query.exact:
            found = [
                c
                for c, meta in zip(found, page.metadata_json, strict=True)
                if metadata_matches(json.loads(meta), self.filter)
            ]
        if self.remaining is not None:
            found = found[: self.remaining]
            self.remaining -= len(found)
            if self.remaining <= 0:
                self.done = True
        return found

    def touch_operation(self, returned: bool) -> Operation[int] | None:
        """After the first non-empty page of one thread: move its expiry (refresh on read)."""
        if self.touched or not returned or self.thread is None:
            return None
        self.touched = True
        expiry = self.freshness.touch_needed(None, self.now)
        if expiry is None:
            return None
        thread = self.thread

        def body() -> Body[int]:
            return int((yield Run(TOUCH_SQL, (thread, expiry))))

        return Operation("auto", body, (CHECKPOINTS,))
