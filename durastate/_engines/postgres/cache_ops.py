"""Node-cache table and operations on Postgres: read live entries, write, clear, sweep.

One table keyed by (namespace text, key): the namespace is ``encode_namespace`` (a
compact JSON array), so clearing a namespace is an exact match; ``expires_at`` is epoch
seconds (NULL: never). Each operation is one statement.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Component, Operation, Rows, Run
from durastate._engines.sqlite.store_rows import check_text
from durastate.cache.base import CacheEntry, decode_namespace
from durastate.checkpoint.base import Blob

CACHE = Component(
    "cache",
    (
        (
            """CREATE TABLE IF NOT EXISTS {p}durastate_cache (
                ns text COLLATE "C" NOT NULL,
                key text COLLATE "C" NOT NULL,
                type text NOT NULL,
                data bytea NOT NULL,
                expires_at double precision,
                PRIMARY KEY (ns, key)
            )""",
            """CREATE INDEX IF NOT EXISTS durastate_cache_by_expiry
                ON {p}durastate_cache (expires_at) WHERE expires_at IS NOT NULL""",
        ),
    ),
)

_READ = """
SELECT c.ns, c.key, c.type, c.data
FROM unnest(%(ns)s::text[], %(key)s::text[]) AS w(ns, key)
JOIN {p}durastate_cache c ON c.ns = (w.ns COLLATE "C") AND c.key = (w.key COLLATE "C")
WHERE c.expires_at IS NULL OR c.expires_at > %(now)s
"""
_WRITE = """
INSERT INTO {p}durastate_cache (ns, key, type, data, expires_at)
SELECT * FROM unnest(%(ns)s::text[], %(key)s::text[], %(type)s::text[], %(data)s::bytea[],
                     %(expires)s::float8[])
ON CONFLICT (ns, key) DO UPDATE SET
    type = excluded.type, data = excluded.data, expires_at = excluded.expires_at
"""


def _check_keys(keys: Sequence[tuple[str, str]]) -> None:
    for ns, key in keys:
        check_text(ns, f"cache namespace {ns}")
        check_text(key, f"cache key {key!r}")


def read_operation(
    keys: Sequence[tuple[str, str]], now: float, schema: str | None
) -> Operation[dict[tuple[str, str], Blob]]:
    """Entries for (namespace text, key) pairs that have not expired at ``now``."""
    _check_keys(keys)
    params = {"ns": [k[0] for k in keys], "key": [k[1] for k in keys], "now": now}

    def body() -> Body[dict[tuple[str, str], Blob]]:
        rows = yield Rows(qualify(_READ, schema), params)
        return {(r[0], r[1]): (r[2], bytes(r[3])) for r in rows}

    return Operation(body, needs=(CACHE,))


def write_operation(entries: Sequence[CacheEntry], schema: str | None) -> Operation[None]:
    """Insert or replace entries (the last of duplicates wins), one statement."""
    _check_keys([(e.ns_text, e.key) for e in entries])
    latest = {(e.ns_text, e.key): e for e in entries}
    rows = list(latest.values())
    params = {
        "ns": [e.ns_text for e in rows],
        "key": [e.key for e in rows],
        "type": [e.type for e in rows],
        "data": [e.data for e in rows],
        "expires": [e.expires_at for e in rows],
    }

    def body() -> Body[None]:
        yield Run(qualify(_WRITE, schema), params)

    return Operation(body, needs=(CACHE,))


def clear_operation(ns_texts: Sequence[str] | None, schema: str | None) -> Operation[int]:
    """Delete entries of exactly these namespaces (every entry when None)."""
    _check_keys([(ns, "") for ns in ns_texts or ()])

    def body() -> Body[int]:
        if ns_texts is None:
            return int((yield Run(qualify("DELETE FROM {p}durastate_cache", schema))))
        sql = "DELETE FROM {p}durastate_cache WHERE ns = ANY(%(ns)s::text[])"
        return int((yield Run(qualify(sql, schema), {"ns": list(ns_texts)})))

    return Operation(body, needs=(CACHE,))


def sweep_operation(schema: str | None) -> Operation[int]:
    """Delete expired entries; answers how many."""

    def body() -> Body[int]:
        sql = "DELETE FROM {p}durastate_cache WHERE expires_at <= %(now)s"
        return int((yield Run(qualify(sql, schema), {"now": time.time()})))

    return Operation(body, needs=(CACHE,))


def export_page_operation(
    after: tuple[str, str] | None, size: int, now: float, schema: str | None
) -> Operation[list[CacheEntry]]:
    """Up to ``size`` live entries after ``after`` (ns text, key), in (ns, key) order."""
    sql = (
        "SELECT ns, key, type, data, expires_at FROM {p}durastate_cache "
        "WHERE (expires_at IS NULL OR expires_at > %(now)s)"
    )
    params: dict[str, Any] = {"now": now, "size": size}
    if after is not None:
        sql += ' AND (ns, key) > (%(ns)s COLLATE "C", %(key)s COLLATE "C")'
        params.update(ns=after[0], key=after[1])
    sql += " ORDER BY ns, key LIMIT %(size)s"

    def body() -> Body[list[CacheEntry]]:
        rows = yield Rows(qualify(sql, schema), params)
        return [
            CacheEntry(
                decode_namespace(r[0]),
                r[0],
                r[1],
                r[2],
                bytes(r[3]),
                None if r[4] is None else r[4] - now,
                r[4],
            )
            for r in rows
        ]

    return Operation(body, needs=(CACHE,))


def count_operation(now: float, schema: str | None) -> Operation[int]:
    """How many entries have not expired at ``now``."""
    sql = "SELECT count(*) FROM {p}durastate_cache WHERE expires_at IS NULL OR expires_at > %(now)s"

    def body() -> Body[int]:
        rows = yield Rows(qualify(sql, schema), {"now": now})
        return int(rows[0][0])

    return Operation(body, needs=(CACHE,))
