"""Reading checkpoints: one statement answers a page of checkpoints with values and writes.

``get_tuple`` is the same row shape from the function ``durastate_get_checkpoint``
(planned once per session; see ``schema``). ``list`` fetches pages of ``PAGE_SIZE`` by keyset
(``checkpoint_id`` descending, then thread and namespace), each one statement, and gives
the connection back between pages, so a paused consumer holds none. The page is chosen
first (a materialized CTE), then each checkpoint's channel values and pending writes are
aggregated into arrays beside it. A metadata filter is ``metadata_json @> filter`` (GIN
index); values that containment cannot decide exactly (lists, objects) are checked again
in Python with the reference semantics. With a thread TTL that refreshes on read, the
first statement that reads a thread also moves its expiry (a CTE of the same statement).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from langchain_core.runnables import RunnableConfig

from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Operation, Rows
from durastate._engines.postgres.schema import CHANNEL_VALUES, CHECKPOINTS
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

_TOUCH_CTE = """touch AS (
    UPDATE {p}durastate_threads SET expires_at = %(touch_to)s
    WHERE thread_id = %(touch_thread)s AND expires_at > %(now)s AND expires_at < %(touch_below)s
), """

_PAGE_SQL = """
WITH {touch}page AS MATERIALIZED (
    SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
           c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata, c.blob_versions{meta}
    FROM {p}durastate_checkpoints c
    WHERE {where} AND NOT EXISTS (
        SELECT 1 FROM {p}durastate_threads x
        WHERE x.thread_id = c.thread_id AND x.expires_at <= %(now)s)
    ORDER BY c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns
    LIMIT %(limit)s
)
SELECT c.thread_id, c.checkpoint_ns, c.checkpoint_id, c.parent_checkpoint_id,
       c.checkpoint_type, c.checkpoint, c.metadata_type, c.metadata,
       b.channels, b.types, b.datas,
       w.task_ids, w.idxs, w.channels, w.types, w.datas, w.paths{meta}
FROM page c
LEFT JOIN LATERAL (
    {values}
) b ON true
LEFT JOIN LATERAL (
    SELECT array_agg(w.task_id) AS task_ids, array_agg(w.idx) AS idxs,
           array_agg(w.channel) AS channels, array_agg(w.type) AS types,
           array_agg(w.data) AS datas, array_agg(w.task_path) AS paths
    FROM {p}durastate_checkpoint_writes w
    WHERE w.thread_id = c.thread_id AND w.checkpoint_ns = c.checkpoint_ns
      AND w.checkpoint_id = c.checkpoint_id
) w ON true
ORDER BY c.checkpoint_id DESC, c.thread_id, c.checkpoint_ns
"""


def ts(seconds: float) -> datetime:
    """Seconds since the epoch as an aware UTC datetime (a ``timestamptz`` parameter)."""
    return datetime.fromtimestamp(seconds, timezone.utc)


@lru_cache(maxsize=512)
def page_sql(where: str, touch: bool, with_metadata: bool, schema: str | None) -> str:
    sql = _PAGE_SQL.format(
        touch=_TOUCH_CTE if touch else "",
        meta=", c.metadata_json" if with_metadata else "",
        where=where,
        values=CHANNEL_VALUES,
        p="{p}",
    )
    return qualify(sql, schema)


@dataclass(slots=True)
class Page:
    """Checkpoints of one statement, newest first (with their metadata JSON if asked)."""

    checkpoints: list[StoredCheckpoint]
    metadata_json: list[Any]


def decode_page(rows: list[tuple[Any, ...]]) -> Page:
    checkpoints = []
    metadata = []
    for r in rows:
        blobs = dict(zip(r[8] or (), zip(r[9] or (), r[10] or (), strict=True), strict=True))
        writes = [
            StoredWrite(task, channel, typ, data, path, idx)
            for task, idx, channel, typ, data, path in zip(
                r[11] or (),
                r[12] or (),
                r[13] or (),
                r[14] or (),
                r[15] or (),
                r[16] or (),
                strict=True,
            )
        ]
        checkpoints.append(
            StoredCheckpoint(r[0], r[1], r[2], r[3], (r[4], r[5]), (r[6], r[7]), blobs, writes)
        )
        metadata.append(r[17] if len(r) > 17 else None)
    return Page(checkpoints, metadata)


@dataclass(frozen=True, slots=True)
class Freshness:
    """The thread TTL policy a read applies: lifetime in seconds, refresh on read."""

    ttl_seconds: float | None
    refresh: bool

    def touch_params(self, thread_id: str, now: float) -> dict[str, Any] | None:
        """Parameters of the touch CTE, or None when reads do not move the expiry.

        Moves under 1% of the TTL (at most a second) are skipped, so hot threads are not
        rewritten on every read.
        """
        if not self.refresh or self.ttl_seconds is None:
            return None
        new = now + self.ttl_seconds
        slack = min(1.0, self.ttl_seconds * 0.01)
        return {"touch_to": ts(new), "touch_below": ts(new - slack), "touch_thread": thread_id}


_GET = (
    "SELECT * FROM {p}durastate_get_checkpoint(%(thread)s, %(ns)s, %(id)s, %(now)s, "
    "%(touch_to)s, %(touch_below)s)"
)


def get_tuple_operation(
    config: RunnableConfig, freshness: Freshness, schema: str | None
) -> Operation[StoredCheckpoint | None]:
    """The checkpoint a config names (latest of its namespace without an id), in one call."""
    ref = parse_config(config)
    sql = qualify(_GET, schema)

    def body() -> Body[StoredCheckpoint | None]:
        now = time.time()
        touch = freshness.touch_params(ref.thread_id, now) or {}
        params = {
            "thread": ref.thread_id,
            "ns": ref.checkpoint_ns,
            "id": ref.checkpoint_id,
            "now": ts(now),
            "touch_to": touch.get("touch_to"),
            "touch_below": touch.get("touch_below"),
        }
        page = decode_page((yield Rows(sql, params)))
        return page.checkpoints[0] if page.checkpoints else None

    return Operation(body, needs=(CHECKPOINTS,))


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
        schema: str | None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        thread, ns, cid = list_scope(config)
        self.filter = check_filter(filter)
        self.remaining = check_limit(limit)
        self.freshness = freshness
        self.schema = schema
        self.page_size = page_size
        self.thread = thread
        self.single_namespace = thread is not None and ns is not None
        self.done = self.remaining == 0
        self.now = time.time()
        self.exact = True
        self.where: list[str] = []
        self.params: dict[str, Any] = {}
        for column, value in (("thread_id", thread), ("checkpoint_ns", ns), ("checkpoint_id", cid)):
            if value is not None:
                self.where.append(f"c.{column} = %({column})s")
                self.params[column] = value
        before_cid = before_id(before)
        if before_cid is not None:
            self.where.append("c.checkpoint_id < %(before)s")
            self.params["before"] = before_cid
        self._metadata_where()
        self._after: tuple[str, str, str] | None = None
        self._size = page_size
        self._first = True

    def _metadata_where(self) -> None:
        contained: dict[str, Any] = {}
        for key, value in self.filter.items():
            if "\\u0000" in json.dumps(value):
                self.exact = False  # Postgres JSON cannot hold NUL: decided in Python
                continue
            if isinstance(value, (list, dict)):
                self.exact = False  # containment narrows, equality is decided in Python
            contained[key] = value
        if contained:
            self.where.append("c.metadata_json @> %(metadata)s::jsonb")
            self.params["metadata"] = json.dumps(contained, ensure_ascii=False)

    def next_operation(self) -> Operation[Page] | None:
        if self.done:
            return None
        where = list(self.where)
        params = dict(self.params, now=ts(self.now))
        if self._after is not None:
            params.update(kc=self._after[0], kt=self._after[1], kn=self._after[2])
            if self.single_namespace:  # ids are unique there: a plain index range
                where.append("c.checkpoint_id < %(kc)s")
            else:
                where.append(
                    "(c.checkpoint_id < %(kc)s OR (c.checkpoint_id = %(kc)s AND "
                    "(c.thread_id > %(kt)s OR "
                    "(c.thread_id = %(kt)s AND c.checkpoint_ns > %(kn)s))))"
                )
        touch = None
        if self._first and self.thread is not None:
            touch = self.freshness.touch_params(self.thread, self.now)
        self._first = False
        size = self.page_size
        if self.remaining is not None and self.exact:
            size = min(size, self.remaining)
        self._size = size
        params["limit"] = size
        params.update(touch or {})
        sql = page_sql(
            " AND ".join(where) or "true", touch is not None, not self.exact, self.schema
        )

        def body() -> Body[Page]:
            return decode_page((yield Rows(sql, params)))

        return Operation(body, needs=(CHECKPOINTS,))

    def accept(self, page: Page) -> list[StoredCheckpoint]:
        """The page's checkpoints that the call returns; advances to the next page."""
        found = page.checkpoints
        if len(found) < self._size:
            self.done = True
        if found:
            last = found[-1]
            self._after = (last.checkpoint_id, last.thread_id, last.checkpoint_ns)
        if not self.exact:
            found = [
                c
                for c, meta in zip(found, page.metadata_json, strict=True)
                if metadata_matches(meta, self.filter)
            ]
        if self.remaining is not None:
            found = found[: self.remaining]
            self.remaining -= len(found)
            if self.remaining <= 0:
                self.done = True
        return found

    def touch_operation(self, returned: bool) -> None:
        """Nothing to run after a page: its query moves the thread's expiry itself."""
        return None
