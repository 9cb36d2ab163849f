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
    """Bytes on disk of a SQLite database (with its WAL and shared-memory files)."""
    if url.engine != "sqlite" or url.target == ":memory:" or url.target.startswith("sqlite:"):
        return None
    paths = [url.target + suffix for suffix in ("", "-wal", "-shm")]
    return sum(os.path.getsize(p) for p in paths if os.path.isfile(p))
