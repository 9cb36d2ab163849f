"""Retention: delete threads or runs, copy a thread, prune, sweep expired threads, vacuum.

Each change is one write transaction; afterwards ``maintenance.vacuum_operation`` hands
the freed pages back to the file system.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

from durastate._engines.sqlite.checkpoint_read import TOUCH_SQL
from durastate._engines.sqlite.checkpoint_write import (
    detach_body,
    full_value_body,
    purge_threads_body,
)
from durastate._engines.sqlite.deltas import DeltaBases
from durastate._engines.sqlite.maintenance import vacuum_operation
from durastate._engines.sqlite.requests import Body, Operation, Plan, Rows, Run
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import LineageRow, checkpoints_to_keep, delta_depth
from durastate.errors import DeserializationError

_GC_BLOBS = """
WITH RECURSIVE used(id) AS (
    SELECT b.id FROM durastate_checkpoints c CROSS JOIN json_each(c.blob_versions) v
    CROSS JOIN durastate_checkpoint_blobs b
      ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
     AND b.channel = v.key AND b.version = v.value
    WHERE c.thread_id = :thread
    UNION
    SELECT b.base_id FROM used JOIN durastate_checkpoint_blobs b ON b.id = used.id
    WHERE b.base_id IS NOT NULL
)
DELETE FROM durastate_checkpoint_blobs
WHERE thread_id = :thread AND id NOT IN (SELECT id FROM used)
"""
_PAIRS = "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(:keys)"
_COPY_CONFLICTS = """
SELECT s.id, n.id FROM durastate_checkpoint_blobs s
JOIN durastate_checkpoint_blobs n
  ON n.thread_id = :dst AND n.checkpoint_ns = s.checkpoint_ns
 AND n.channel = s.channel AND n.version = s.version
WHERE s.thread_id = :src AND NOT (
    n.type = s.type AND n.data = s.data AND n.base_skip = s.base_skip
    AND n.head_len = s.head_len
    AND ((n.base_id IS NULL AND s.base_id IS NULL) OR
         (SELECT version FROM durastate_checkpoint_blobs WHERE id = n.base_id) =
         (SELECT version FROM durastate_checkpoint_blobs WHERE id = s.base_id)))
"""
_COPY_BLOBS = """
INSERT OR IGNORE INTO durastate_checkpoint_blobs (
    thread_id, checkpoint_ns, channel, version, type, data, base_id, base_skip, head_len, depth)
SELECT :dst, s.checkpoint_ns, s.channel, s.version, s.type, s.data, m.id,
       s.base_skip, s.head_len, s.depth
FROM durastate_checkpoint_blobs s
LEFT JOIN durastate_checkpoint_blobs sb ON sb.id = s.base_id
LEFT JOIN durastate_checkpoint_blobs m
  ON m.thread_id = :dst AND m.checkpoint_ns = sb.checkpoint_ns
 AND m.channel = sb.channel AND m.version = sb.version
WHERE s.thread_id = :src AND s.depth = :depth AND (s.base_id IS NULL OR m.id IS NOT NULL)
"""
_UNCOPIED = """
SELECT COUNT(*) FROM durastate_checkpoint_blobs s
WHERE s.thread_id = :src AND NOT EXISTS (
    SELECT 1 FROM durastate_checkpoint_blobs n
    WHERE n.thread_id = :dst AND n.checkpoint_ns = s.checkpoint_ns
      AND n.channel = s.channel AND n.version = s.version)
"""
_CHECKPOINT_COLUMNS = (
    "checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint_type, checkpoint, "
    "metadata_type, metadata, metadata_json, inline_values, blob_versions, created_at"
)
_WRITE_COLUMNS = "checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path"


def gc_blobs_body(thread_id: str) -> Body[None]:
    """Delete a thread's values that no checkpoint (nor any kept delta) needs."""
    yield Run(_GC_BLOBS, {"thread": thread_id})


def delete_threads_plan(thread_ids: Sequence[str], bases: DeltaBases) -> Plan[None]:
    ids = list(thread_ids)
    yield Operation("write", lambda: purge_threads_body(ids), (CHECKPOINTS,))
    bases.forget_threads(ids)
    yield vacuum_operation()


def _delete_runs_body(run_ids: list[str]) -> Body[list[str]]:
    deleted = yield Rows(
        "DELETE FROM durastate_checkpoints WHERE run_id IN (SELECT value FROM json_each(?)) "
        "RETURNING thread_id, checkpoint_ns, checkpoint_id",
        (json.dumps(run_ids),),
    )
    if not deleted:
        return []
    yield Run(
        "DELETE FROM durastate_checkpoint_writes WHERE (thread_id, checkpoint_ns, checkpoint_id)"
        " IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
        " json_extract(value, '$[2]') FROM json_each(?))",
        (json.dumps([list(r) for r in deleted]),),
    )
    threads = sorted({r[0] for r in deleted})
    emptied = yield Rows(
        "SELECT value FROM json_each(?) WHERE NOT EXISTS "
        "(SELECT 1 FROM durastate_checkpoints c WHERE c.thread_id = json_each.value)",
        (json.dumps(threads),),
    )
    gone = [r[0] for r in emptied]
    if gone:
        yield from purge_threads_body(gone)
    for thread in threads:
        if thread not in gone:
            yield from gc_blobs_body(thread)
    return threads


def delete_runs_plan(run_ids: Sequence[str], bases: DeltaBases) -> Plan[None]:
    runs = list(run_ids)
    if not runs:
        return
    threads = yield Operation("write", lambda: _delete_runs_body(runs), (CHECKPOINTS,))
    bases.forget_threads(threads)
    yield vacuum_operation()


def _prune_body(thread_ids: list[str], keep: int) -> Body[None]:
    for thread in thread_ids:
        rows = yield Rows(
            "SELECT checkpoint_ns, checkpoint_id, parent_checkpoint_id, metadata_json "
            "FROM durastate_checkpoints WHERE thread_id = ?",
            (thread,),
        )
        lineage = [LineageRow(r[0], r[1], r[2], delta_depth(json.loads(r[3]))) for r in rows]
        kept = checkpoints_to_keep(lineage, keep)
        drop = [
            [r.checkpoint_ns, r.checkpoint_id]
            for r in lineage
            if (r.checkpoint_ns, r.checkpoint_id) not in kept
        ]
        if not drop:
            continue
        params = {"thread": thread, "keys": json.dumps(drop)}
        for table in ("durastate_checkpoints", "durastate_checkpoint_writes"):
            yield Run(
                f"DELETE FROM {table} WHERE thread_id = :thread "
                f"AND (checkpoint_ns, checkpoint_id) IN ({_PAIRS})",
                params,
            )
        yield from gc_blobs_body(thread)


def prune_plan(
    thread_ids: Sequence[str], strategy: str, keep: int, bases: DeltaBases
) -> Plan[None]:
    """``keep_latest``: the newest ``keep`` per namespace (and what their deltas need)."""
    ids = list(thread_ids)
    if not ids:
        return
    if strategy == "delete":
        yield from delete_threads_plan(ids, bases)
        return
    yield Operation("write", lambda: _prune_body(ids, keep), (CHECKPOINTS,))
    bases.forget_threads(ids)
    yield vacuum_operation()


def _resolve_copy_conflicts(src: str, dst: str) -> Body[None]:
    """Make values the target already holds under a source version equal the source's."""
    seen: set[tuple[int, int]] = set()
    while True:
        pairs = [
            (int(a), int(b))
            for a, b in (yield Rows(_COPY_CONFLICTS, {"src": src, "dst": dst}))
            if (int(a), int(b)) not in seen
        ]
        if not pairs:
            return
        for source_id, target_id in pairs:
            seen.add((source_id, target_id))
            typ, data, _ = yield from full_value_body(source_id)
            old = yield from full_value_body(target_id)
            if old[:2] == (typ, data):
                continue
            key = yield Rows(
                "SELECT checkpoint_ns, channel, version FROM durastate_checkpoint_blobs "
                "WHERE id = ?",
                (target_id,),
            )
            yield from detach_body(target_id)
            yield Run(
                "INSERT INTO durastate_checkpoint_blobs (thread_id, checkpoint_ns, channel, "
                "version, type, data) VALUES (?, ?, ?, ?, ?, ?)",
                (dst, *key[0], typ, data),
            )


def _copy_body(src: str, dst: str, expires_at: float | None) -> Body[bool]:
    now = time.time()
    (ok,) = (
        yield Rows(
            "SELECT EXISTS (SELECT 1 FROM durastate_checkpoints WHERE thread_id = ?) "
            "AND NOT EXISTS (SELECT 1 FROM durastate_threads "
            "WHERE thread_id = ? AND expires_at <= ?)",
            (src, src, now),
        )
    )[0]
    if not ok:
        return False
    if src != dst:
        expired = yield Rows(
            "DELETE FROM durastate_threads WHERE thread_id = ? AND expires_at <= ? "
            "RETURNING thread_id",
            (dst, now),
        )
        if expired:
            yield from purge_threads_body([dst])
        yield from _resolve_copy_conflicts(src, dst)
        (deepest,) = (
            yield Rows(
                "SELECT COALESCE(MAX(depth), -1) FROM durastate_checkpoint_blobs "
                "WHERE thread_id = ?",
                (src,),
            )
        )[0]
        for depth in range(int(deepest) + 1):
            yield Run(_COPY_BLOBS, {"src": src, "dst": dst, "depth": depth})
        (missing,) = (yield Rows(_UNCOPIED, {"src": src, "dst": dst}))[0]
        if missing:
            raise DeserializationError(
                f"copy of thread {src!r}: {missing} stored values depend on values that are "
                "missing; the source thread is damaged and nothing was copied"
            )
        params = {"src": src, "dst": dst}
        yield Run(
            f"INSERT OR REPLACE INTO durastate_checkpoints (thread_id, {_CHECKPOINT_COLUMNS}) "
            f"SELECT :dst, {_CHECKPOINT_COLUMNS} FROM durastate_checkpoints "
            "WHERE thread_id = :src",
            params,
        )
        yield Run(
            "DELETE FROM durastate_checkpoint_writes WHERE thread_id = :dst "
            "AND (checkpoint_ns, checkpoint_id) IN (SELECT checkpoint_ns, checkpoint_id "
            "FROM durastate_checkpoint_writes WHERE thread_id = :src)",
            params,
        )
        yield Run(
            f"INSERT INTO durastate_checkpoint_writes (thread_id, {_WRITE_COLUMNS}) "
            f"SELECT :dst, {_WRITE_COLUMNS} FROM durastate_checkpoint_writes "
            "WHERE thread_id = :src",
            params,
        )
    if expires_at is not None:
        yield Run(TOUCH_SQL, (dst, expires_at))
    return True


def copy_thread_operation(src: str, dst: str, expires_at: float | None) -> Operation[bool]:
    """Copy every checkpoint, value and write of ``src`` to ``dst`` (False: nothing to copy)."""
    return Operation("write", lambda: _copy_body(src, dst, expires_at), (CHECKPOINTS,))


def _sweep_body() -> Body[list[str]]:
    expired = yield Rows(
        "SELECT thread_id FROM durastate_threads WHERE expires_at <= ?", (time.time(),)
    )
    ids = [r[0] for r in expired]
    if ids:
        yield from purge_threads_body(ids)
    return ids


def sweep_plan(bases: DeltaBases) -> Plan[int]:
    """Delete every expired thread; answers how many."""
    ids = yield Operation("write", _sweep_body, (CHECKPOINTS,))
    if ids:
        bases.forget_threads(ids)
        yield vacuum_operation()
    return len(ids)
