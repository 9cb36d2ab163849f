"""What a backend holds, counted through the public APIs (plus what an engine reports)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.store.base import BaseStore

from durastate.connect import BackendURL
from durastate.migrate.items import exports_exactly, read_items


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def _checkpoint_time(ts: Any) -> float | None:
    if not isinstance(ts, str):
        return None
    try:
        return datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None


def checkpointer_counts(saver: BaseCheckpointSaver[Any]) -> dict[str, Any]:
    """Threads, checkpoints and pending writes, and the oldest and newest checkpoint times."""
    threads: set[str] = set()
    checkpoints = writes = 0
    oldest = newest = None
    for tup in saver.list(None):
        threads.add(str(tup.config["configurable"]["thread_id"]))
        checkpoints += 1
        writes += len(tup.pending_writes or ())
        ts = _checkpoint_time(tup.checkpoint.get("ts"))
        if ts is not None:
            oldest = ts if oldest is None else min(oldest, ts)
            newest = ts if newest is None else max(newest, ts)
    return {
        "threads": len(threads),
        "checkpoints": checkpoints,
        "pending_writes": writes,
        "oldest": _iso(oldest),
        "newest": _iso(newest),
    }


def store_counts(store: BaseStore) -> dict[str, Any]:
    """Live items (and their vectors where the engine exports them), oldest/newest update."""
    items = vectors = 0
    oldest = newest = None
    for item in read_items(store, (), 500):
        items += 1
        vectors += len(item.vectors or ())
        oldest = item.updated_at if oldest is None else min(oldest, item.updated_at)
        newest = item.updated_at if newest is None else max(newest, item.updated_at)
    return {
        "items": items,
        "vectors": vectors if exports_exactly(store) else None,
        "oldest": _iso(oldest),
        "newest": _iso(newest),
    }


def cache_counts(cache: Any) -> dict[str, Any]:
    count = getattr(cache, "count_entries", None)
    return {"entries": count() if callable(count) else None}


def storage_bytes(url: BackendURL) -> int | None:
    """Bytes the backend uses: a SQLite file with its WAL and shared-memory files, the
    Postgres tables (indexes and TOAST included) of its schema, or the Redis memory of
    the keys under its prefix. None for memory:// and in-memory SQLite."""
    if url.engine == "postgres":
        return _postgres_bytes(url)
    if url.engine == "redis":
        return _redis_bytes(url)
    if url.engine != "sqlite" or url.target == ":memory:" or url.target.startswith("sqlite:"):
        return None
    paths = [url.target + suffix for suffix in ("", "-wal", "-shm")]
    return sum(os.path.getsize(p) for p in paths if os.path.isfile(p))


def _postgres_bytes(url: BackendURL) -> int:
    import psycopg

    from durastate._engines.postgres.inventory import TABLE_BYTES

    with psycopg.connect(url.target, autocommit=True) as conn:
        row = conn.execute(TABLE_BYTES, (url.options.get("schema"),)).fetchone()
    return int(row[0]) if row else 0


def _redis_bytes(url: BackendURL) -> int:
    from durastate._engines.redis.clients import SyncDriver
    from durastate._engines.redis.inventory import memory_body
    from durastate._engines.redis.keys import DEFAULT_PREFIX, Layout

    driver = SyncDriver.open(url.target, cluster=url.cluster or None)
    try:
        _, used = driver.run(memory_body(Layout(url.options.get("key_prefix", DEFAULT_PREFIX))))
    finally:
        driver.close()
    return used
