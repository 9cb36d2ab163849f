"""Node-cache operations on SQLite: read live entries, write, clear namespaces, sweep."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from durastate._engines.sqlite.maintenance import vacuum_operation
from durastate._engines.sqlite.requests import Body, Operation, Plan, Rows, Run, RunMany
from durastate._engines.sqlite.schema import CACHE
from durastate._engines.sqlite.store_rows import check_text
from durastate.cache.base import CacheEntry, decode_namespace
from durastate.checkpoint.base import Blob

_READ = """
SELECT c.ns, c.key, c.type, c.data
FROM json_each(?) j CROSS JOIN durastate_cache c
  ON c.ns = json_extract(j.value, '$[0]') AND c.key = json_extract(j.value, '$[1]')
WHERE c.expires_at IS NULL OR c.expires_at > ?
"""
_WRITE = (
    "INSERT OR REPLACE INTO durastate_cache (ns, key, type, data, expires_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def _check_keys(keys: Sequence[tuple[str, str]]) -> None:
    for ns, key in keys:
        check_text(ns, f"cache namespace {ns}")
        check_text(key, f"cache key {key!r}")


def read_operation(
    keys: Sequence[tuple[str, str]], now: float
) -> Operation[dict[tuple[str, str], Blob]]:
    """Entries for (namespace text, key) pairs that have not expired at ``now``."""
    _check_keys(keys)
    wanted = json.dumps([list(k) for k in keys], ensure_ascii=False)

    def body() -> Body[dict[tuple[str, str], Blob]]:
        rows = yield Rows(_READ, (wanted, now))
        return {(r[0], r[1]): (r[2], r[3]) for r in rows}

    return Operation("auto", body, (CACHE,))


def write_operation(entries: Sequence[CacheEntry]) -> Operation[None]:
    _check_keys([(e.ns_text, e.key) for e in entries])
    rows = [(e.ns_text, e.key, e.type, e.data, e.expires_at) for e in entries]

    def body() -> Body[None]:
        yield RunMany(_WRITE, rows)

    return Operation("write", body, (CACHE,))


def clear_plan(ns_texts: Sequence[str] | None) -> Plan[int]:
    """Delete entries of exactly these namespaces (every entry when None)."""

    def body() -> Body[int]:
        if ns_texts is None:
            return int((yield Run("DELETE FROM durastate_cache")))
        return int(
            (
                yield Run(
                    "DELETE FROM durastate_cache WHERE ns IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(ns_texts), ensure_ascii=False),),
                )
            )
        )

    removed = yield Operation("write", body, (CACHE,))
    if removed:
        yield vacuum_operation()
    return int(removed)


def export_page_operation(
    after: tuple[str, str] | None, size: int, now: float
) -> Operation[list[CacheEntry]]:
    """Up to ``size`` live entries after ``after`` (ns text, key), in (ns, key) order."""
    sql = (
        "SELECT ns, key, type, data, expires_at FROM durastate_cache "
        "WHERE (expires_at IS NULL OR expires_at > ?)"
    )
    params: list[Any] = [now]
    if after is not None:
        sql += " AND (ns > ? OR (ns = ? AND key > ?))"
        params += [after[0], after[0], after[1]]

    def body() -> Body[list[CacheEntry]]:
        rows = yield Rows(f"{sql} ORDER BY ns, key LIMIT ?", [*params, size])
        return [
            CacheEntry(
                decode_namespace(r[0]),
                r[0],
                r[1],
                r[2],
                r[3],
                None if r[4] is None else r[4] - now,
                r[4],
            )
            for r in rows
        ]

    return Operation("auto", body, (CACHE,))


def count_operation(now: float) -> Operation[int]:
    """How many live entries the cache holds."""

    def body() -> Body[int]:
        rows = yield Rows(
            "SELECT count(*) FROM durastate_cache WHERE expires_at IS NULL OR expires_at > ?",
            (now,),
        )
        return int(rows[0][0])

    return Operation("auto", body, (CACHE,))


def sweep_plan() -> Plan[int]:
    """Delete expired entries; answers how many."""

    def body() -> Body[int]:
        return int((yield Run("DELETE FROM durastate_cache WHERE expires_at <= ?", (time.time(),))))

    removed = yield Operation("write", body, (CACHE,))
    if removed:
        yield vacuum_operation()
    return int(removed)
