"""Retention: delete threads or runs, copy a thread, prune, and sweep expired threads.

Deleting a thread is one statement; the others are one transaction each. Channel values
no remaining checkpoint names are deleted with the checkpoints that named them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from durastate._engines.postgres.checkpoint_read import ts
from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Operation, Rows, Run
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.base import LineageRow, checkpoints_to_keep, delta_depth

_PURGE = """
WITH gone_w AS (DELETE FROM {p}durastate_checkpoint_writes WHERE thread_id = ANY(%(threads)s)),
gone_b AS (DELETE FROM {p}durastate_checkpoint_blobs WHERE thread_id = ANY(%(threads)s)),
gone_t AS (DELETE FROM {p}durastate_threads WHERE thread_id = ANY(%(threads)s))
DELETE FROM {p}durastate_checkpoints WHERE thread_id = ANY(%(threads)s)
"""

_GC_BLOBS = """
DELETE FROM {p}durastate_checkpoint_blobs b
WHERE b.thread_id = ANY(%(threads)s) AND NOT EXISTS (
    SELECT 1 FROM {p}durastate_checkpoints c
    WHERE c.thread_id = b.thread_id AND c.checkpoint_ns = b.checkpoint_ns
      AND c.blob_versions ->> b.channel = b.version)
"""
"""Values of these threads that no checkpoint names any more."""


def purge_threads_body(thread_ids: list[str], schema: str | None) -> Body[None]:
    """Delete everything stored for these threads (one statement)."""
    yield Run(qualify(_PURGE, schema), {"threads": thread_ids})


def delete_threads_operation(thread_ids: list[str], schema: str | None) -> Operation[None]:
    return Operation(lambda: purge_threads_body(thread_ids, schema), needs=(CHECKPOINTS,))


def _delete_runs_body(run_ids: list[str], schema: str | None) -> Body[None]:
    deleted = yield Rows(
        qualify(
            "DELETE FROM {p}durastate_checkpoints WHERE run_id = ANY(%(runs)s) "
            "RETURNING thread_id, checkpoint_ns, checkpoint_id",
            schema,
        ),
        {"runs": run_ids},
    )
    if not deleted:
        return
    yield Run(
        qualify(
            "DELETE FROM {p}durastate_checkpoint_writes w USING unnest(%(t)s::text[], "
            "%(n)s::text[], %(c)s::text[]) AS d(thread_id, checkpoint_ns, checkpoint_id) "
            'WHERE w.thread_id = (d.thread_id COLLATE "C") '
            'AND w.checkpoint_ns = (d.checkpoint_ns COLLATE "C") '
            'AND w.checkpoint_id = (d.checkpoint_id COLLATE "C")',
            schema,
        ),
        {"t": [r[0] for r in deleted], "n": [r[1] for r in deleted], "c": [r[2] for r in deleted]},
    )
    threads = sorted({r[0] for r in deleted})
    emptied = yield Rows(
        qualify(
            "SELECT t FROM unnest(%(threads)s::text[]) AS t WHERE NOT EXISTS "
            '(SELECT 1 FROM {p}durastate_checkpoints c WHERE c.thread_id = (t COLLATE "C"))',
            schema,
        ),
        {"threads": threads},
    )
    gone = [r[0] for r in emptied]
    if gone:
        yield from purge_threads_body(gone, schema)
    yield Run(qualify(_GC_BLOBS, schema), {"threads": threads})


def delete_runs_operation(run_ids: list[str], schema: str | None) -> Operation[None]:
    return Operation(
        lambda: _delete_runs_body(run_ids, schema), transaction=True, needs=(CHECKPOINTS,)
    )


def _prune_body(thread_ids: list[str], keep: int, schema: str | None) -> Body[None]:
    rows = yield Rows(
        qualify(
            "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, "
            "metadata_json -> 'counters_since_delta_snapshot' "
            "FROM {p}durastate_checkpoints WHERE thread_id = ANY(%(threads)s) FOR UPDATE",
            schema,
        ),
        {"threads": thread_ids},
    )
    by_thread: dict[str, list[LineageRow]] = {}
    for thread, ns, cid, parent, counters in rows:
        depth = delta_depth({"counters_since_delta_snapshot": counters}) if counters else 0
        by_thread.setdefault(thread, []).append(LineageRow(ns, cid, parent, depth))
    drop: list[tuple[str, str, str]] = []
    for thread, lineage in by_thread.items():
        kept = checkpoints_to_keep(lineage, keep)
        drop += [
            (thread, r.checkpoint_ns, r.checkpoint_id)
            for r in lineage
            if (r.checkpoint_ns, r.checkpoint_id) not in kept
        ]
    if not drop:
        return
    keys = {"t": [d[0] for d in drop], "n": [d[1] for d in drop], "c": [d[2] for d in drop]}
    for table in ("durastate_checkpoints", "durastate_checkpoint_writes"):
        yield Run(
            qualify(
                f"DELETE FROM {{p}}{table} x USING unnest(%(t)s::text[], %(n)s::text[], "
                "%(c)s::text[]) AS d(thread_id, checkpoint_ns, checkpoint_id) "
                'WHERE x.thread_id = (d.thread_id COLLATE "C") '
                'AND x.checkpoint_ns = (d.checkpoint_ns COLLATE "C") '
                'AND x.checkpoint_id = (d.checkpoint_id COLLATE "C")',
                schema,
            ),
            keys,
        )
    yield Run(qualify(_GC_BLOBS, schema), {"threads": sorted(by_thread)})


def prune_operation(
    thread_ids: list[str], strategy: str, keep: int, schema: str | None
) -> Operation[None]:
    """``keep_latest``: the newest ``keep`` per namespace (and what their deltas need)."""
    if strategy == "delete":
        return delete_threads_operation(thread_ids, schema)
    return Operation(
        lambda: _prune_body(thread_ids, keep, schema), transaction=True, needs=(CHECKPOINTS,)
    )


_COPY_COLUMNS = (
    "checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id, checkpoint_type, checkpoint, "
    "metadata_type, metadata, metadata_json, blob_versions, created_at"
)
_WRITE_COLUMNS = "checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path"


def _copy_body(src: str, dst: str, expires_at: float | None, schema: str | None) -> Body[bool]:
    now = ts(time.time())
    params = {"src": src, "dst": dst, "now": now}
    ((ok,),) = yield Rows(
        qualify(
            "SELECT EXISTS (SELECT 1 FROM {p}durastate_checkpoints WHERE thread_id = %(src)s) "
            "AND NOT EXISTS (SELECT 1 FROM {p}durastate_threads "
            "WHERE thread_id = %(src)s AND expires_at <= %(now)s)",
            schema,
        ),
        params,
    )
    if not ok:
        return False
    if src != dst:
        expired = yield Rows(
            qualify(
                "DELETE FROM {p}durastate_threads WHERE thread_id = %(dst)s "
                "AND expires_at <= %(now)s RETURNING thread_id",
                schema,
            ),
            params,
        )
        if expired:
            yield from purge_threads_body([dst], schema)
        yield Run(
            qualify(
                "INSERT INTO {p}durastate_checkpoint_blobs "
                "(thread_id, checkpoint_ns, channel, version, type, data) "
                "SELECT %(dst)s, checkpoint_ns, channel, version, type, data "
                "FROM {p}durastate_checkpoint_blobs WHERE thread_id = %(src)s "
                "ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO UPDATE "
                "SET type = excluded.type, data = excluded.data",
                schema,
            ),
            params,
        )
        updates = ", ".join(f"{c} = excluded.{c}" for c in _COPY_COLUMNS.split(", ")[2:])
        yield Run(
            qualify(
                f"INSERT INTO {{p}}durastate_checkpoints (thread_id, {_COPY_COLUMNS}) "
                f"SELECT %(dst)s, {_COPY_COLUMNS} FROM {{p}}durastate_checkpoints "
                "WHERE thread_id = %(src)s "
                f"ON CONFLICT (thread_id, checkpoint_ns, checkpoint_id) DO UPDATE SET {updates}",
                schema,
            ),
            params,
        )
        yield Run(
            qualify(
                "DELETE FROM {p}durastate_checkpoint_writes d USING "
                "{p}durastate_checkpoint_writes s WHERE d.thread_id = %(dst)s "
                "AND s.thread_id = %(src)s AND d.checkpoint_ns = s.checkpoint_ns "
                "AND d.checkpoint_id = s.checkpoint_id",
                schema,
            ),
            params,
        )
        yield Run(
            qualify(
                f"INSERT INTO {{p}}durastate_checkpoint_writes (thread_id, {_WRITE_COLUMNS}) "
                f"SELECT %(dst)s, {_WRITE_COLUMNS} FROM {{p}}durastate_checkpoint_writes "
                "WHERE thread_id = %(src)s",
                schema,
            ),
            params,
        )
    if expires_at is not None:
        yield Run(
            qualify(
                "INSERT INTO {p}durastate_threads (thread_id, expires_at) "
                "VALUES (%(dst)s, %(expires)s) "
                "ON CONFLICT (thread_id) DO UPDATE SET expires_at = excluded.expires_at",
                schema,
            ),
            {"dst": dst, "expires": ts(expires_at)},
        )
    return True


def copy_thread_operation(
    src: str, dst: str, expires_at: float | None, schema: str | None
) -> Operation[bool]:
    """Copy every checkpoint, value and write of ``src`` to ``dst`` (False: nothing to copy)."""
    return Operation(
        lambda: _copy_body(src, dst, expires_at, schema), transaction=True, needs=(CHECKPOINTS,)
    )


def _sweep_body(schema: str | None) -> Body[int]:
    expired = yield Rows(
        qualify(
            "DELETE FROM {p}durastate_threads WHERE thread_id IN ("
            "SELECT thread_id FROM {p}durastate_threads WHERE expires_at <= %(now)s "
            "FOR UPDATE SKIP LOCKED) RETURNING thread_id",
            schema,
        ),
        {"now": ts(time.time())},
    )
    ids = [r[0] for r in expired]
    if ids:
        yield from purge_threads_body(ids, schema)
    return len(ids)


def sweep_operation(schema: str | None) -> Operation[int]:
    """Delete every expired thread; answers how many (concurrent sweepers share the work)."""
    return Operation(lambda: _sweep_body(schema), transaction=True, needs=(CHECKPOINTS,))


def thread_list(thread_ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(thread_ids))
