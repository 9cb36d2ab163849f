"""Writing checkpoints: ``put`` and ``put_writes`` as single write transactions.

``put`` stores small values in the checkpoint row and, of the large ones, only those
whose version changed, each as a delta against the last value this process wrote for
that channel when one extends the other. A delta
names its base by row id and is only inserted while that row still exists; otherwise
the value is stored in full. Putting a version that already exists with different
bytes replaces it, after turning any deltas built on the old row into full rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from durastate._engines.sqlite.checkpoint_read import TOUCH_SQL
from durastate._engines.sqlite.deltas import (
    BaseKey,
    BlobRow,
    BlobWrite,
    DeltaBases,
    Known,
    Materializer,
    plan_write,
)
from durastate._engines.sqlite.inline import INLINE_MAX, Inline, pack_inline, unpack_inline
from durastate._engines.sqlite.requests import Body, Operation, Rows, Run, RunMany
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointRef, PreparedCheckpoint, PreparedWrite

_BLOB_COLUMNS = (
    "thread_id, checkpoint_ns, channel, version, type, data, base_id, base_skip, head_len, depth"
)
_INSERT_FULL = (
    f"INSERT OR IGNORE INTO durastate_checkpoint_blobs ({_BLOB_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, NULL, 0, 0, 0) RETURNING id"
)
_CHAIN = """
WITH RECURSIVE chain(id) AS (
    SELECT ?
    UNION
    SELECT b.base_id FROM chain JOIN durastate_checkpoint_blobs b ON b.id = chain.id
    WHERE b.base_id IS NOT NULL
)
SELECT b.id, b.type, b.data, b.base_id, b.base_skip, b.head_len, b.depth
FROM chain JOIN durastate_checkpoint_blobs b ON b.id = chain.id
"""
_INSERT_CHECKPOINT = """
INSERT OR REPLACE INTO durastate_checkpoints (
    thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, run_id,
    checkpoint_type, checkpoint, metadata_type, metadata, metadata_json,
    inline_values, blob_versions, created_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
_WRITE_COLUMNS = (
    "thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel, type, data, task_path"
)
_KEEP_WRITE = (
    f"INSERT OR IGNORE INTO durastate_checkpoint_writes ({_WRITE_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_REPLACE_WRITE = (
    f"INSERT OR REPLACE INTO durastate_checkpoint_writes ({_WRITE_COLUMNS}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
THREAD_TABLES = (
    "durastate_checkpoint_writes",
    "durastate_checkpoints",
    "durastate_checkpoint_blobs",
    "durastate_threads",
)


def purge_threads_body(thread_ids: list[str]) -> Body[None]:
    """Delete everything stored for these threads."""
    ids = json.dumps(thread_ids)
    for table in THREAD_TABLES:
        yield Run(
            f"DELETE FROM {table} WHERE thread_id IN (SELECT value FROM json_each(?))", (ids,)
        )


def full_value_body(blob_id: int) -> Body[tuple[str, bytes, int]]:
    """The (type, full bytes, depth) of a stored value, rebuilt from its chain."""
    rows = yield Rows(_CHAIN, (blob_id,))
    values = Materializer(BlobRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows)
    own = next(r for r in rows if r[0] == blob_id)
    return own[1], values.full(blob_id), int(own[6])


def detach_body(blob_id: int) -> Body[None]:
    """Delete a stored value, first storing the values built on it in full."""
    dependents = yield Rows(
        "SELECT id FROM durastate_checkpoint_blobs WHERE base_id = ?", (blob_id,)
    )
    for (dependent,) in dependents:
        _, data, _ = yield from full_value_body(dependent)
        yield Run(
            "UPDATE durastate_checkpoint_blobs SET data = ?, base_id = NULL, base_skip = 0, "
            "head_len = 0, depth = 0 WHERE id = ?",
            (data, dependent),
        )
    yield Run("DELETE FROM durastate_checkpoint_blobs WHERE id = ?", (blob_id,))


def _insert_full(thread_id: str, ns: str, w: BlobWrite) -> Body[Known]:
    rows = yield Rows(_INSERT_FULL, (thread_id, ns, w.channel, w.version, w.type, w.data))
    return Known(int(rows[0][0]), w.type, w.data, 0)


def _settle_body(thread_id: str, ns: str, w: BlobWrite) -> Body[Known]:
    """Store a value whose first insert was skipped: its version exists, or its base is gone."""
    existing = yield Rows(
        "SELECT id FROM durastate_checkpoint_blobs "
        "WHERE thread_id = ? AND checkpoint_ns = ? AND channel = ? AND version = ?",
        (thread_id, ns, w.channel, w.version),
    )
    if not existing:  # the delta's base was deleted meanwhile
        return (yield from _insert_full(thread_id, ns, w))
    old_id = int(existing[0][0])
    typ, data, depth = yield from full_value_body(old_id)
    if typ == w.type and data == w.data:
        return Known(old_id, typ, data, depth)
    yield from detach_body(old_id)
    return (yield from _insert_full(thread_id, ns, w))


@lru_cache(maxsize=64)
def _insert_many_sql(count: int) -> str:
    values = ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?)"] * count)
    return (
        f"INSERT OR IGNORE INTO durastate_checkpoint_blobs ({_BLOB_COLUMNS}) "
        "SELECT ?, ?, column1, column2, column3, column4, column5, column6, column7, column8 "
        f"FROM (VALUES {values}) WHERE column5 IS NULL "
        "OR EXISTS (SELECT 1 FROM durastate_checkpoint_blobs b WHERE b.id = column5) "
        "RETURNING channel, id"
    )


def write_blobs_body(thread_id: str, ns: str, writes: list[BlobWrite]) -> Body[dict[str, Known]]:
    """Store channel values in one statement; answers the row now holding each channel's."""
    if not writes:
        return {}
    params: list[Any] = [thread_id, ns]
    for w in writes:
        if w.base is None:
            params += [w.channel, w.version, w.type, w.data, None, 0, 0, 0]
        else:
            params += [
                w.channel,
                w.version,
                w.type,
                w.payload,
                w.base.blob_id,
                w.skip,
                w.head,
                w.depth,
            ]
    inserted = dict((yield Rows(_insert_many_sql(len(writes)), params)))
    written: dict[str, Known] = {}
    for w in writes:
        blob_id = inserted.get(w.channel)
        if blob_id is not None:
            written[w.channel] = Known(int(blob_id), w.type, w.data, w.depth)
        else:
            written[w.channel] = yield from _settle_body(thread_id, ns, w)
    return written


_BEFORE_PUT = """
SELECT (SELECT expires_at <= ? FROM durastate_threads WHERE thread_id = ?),
       (SELECT inline_values FROM durastate_checkpoints
        WHERE thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?)
"""
_STORED_VERSIONS = """
SELECT channel FROM durastate_checkpoint_blobs
WHERE thread_id = ? AND checkpoint_ns = ? AND (channel, version) IN
      (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?))
"""

Serialize = Callable[[str], "tuple[str, bytes] | None"]
"""Serializes the checkpoint's value of a channel (None when the checkpoint lacks it)."""


def plan_blob_writes(
    thread_id: str, ns: str, values: list[tuple[str, str, str, bytes]], bases: DeltaBases
) -> list[BlobWrite]:
    """(channel, version, type, bytes) of large values, planned as deltas where they can be."""
    known = bases.lookup(thread_id, ns, (v[0] for v in values))
    return [plan_write(ch, ver, typ, data, known.get(ch)) for ch, ver, typ, data in values]


def put_operation(
    prep: PreparedCheckpoint,
    bases: DeltaBases,
    serialize: Serialize,
    expires_at: float | None,
) -> Operation[dict[BaseKey, Known]]:
    """Store a prepared checkpoint; answers the large values written, to remember as bases.

    Changed values up to ``INLINE_MAX`` bytes go into the row, larger ones to the blob
    table. Unchanged channels keep their parent's inline copy when the version matches,
    else the blob table's row of that version; a channel found in neither (a parent
    that was pruned, say) is serialized again from the checkpoint when it has it.
    """
    tid, ns = prep.thread_id, prep.checkpoint_ns
    inline: Inline = {}
    large: list[tuple[str, str, str, bytes]] = []
    for b in prep.blobs:
        if len(b.data) <= INLINE_MAX:
            inline[b.channel] = (b.version, b.type, b.data)
        else:
            large.append((b.channel, b.version, b.type, b.data))
    changed = {b.channel for b in prep.blobs}
    unchanged = {ch: v for ch, v in prep.channel_versions.items() if ch not in changed}

    def body() -> Body[dict[BaseKey, Known]]:
        ((expired, parent),) = yield Rows(
            _BEFORE_PUT, (prep.created_at, tid, tid, ns, prep.parent_id or "")
        )
        if expired:
            yield from purge_threads_body([tid])
            parent = None
        row_inline = dict(inline)
        blob_versions = {ch: ver for ch, ver, _, _ in large}
        carried = unpack_inline(parent) if parent is not None else {}
        missing: dict[str, str] = {}
        for ch, ver in unchanged.items():
            entry = carried.get(ch)
            if entry is not None and entry[0] == ver:
                row_inline[ch] = entry
            else:
                missing[ch] = ver
        extra: list[tuple[str, str, str, bytes]] = []
        if missing:
            pairs = json.dumps([[ch, ver] for ch, ver in missing.items()], ensure_ascii=False)
            stored = {r[0] for r in (yield Rows(_STORED_VERSIONS, (tid, ns, pairs)))}
            for ch, ver in missing.items():
                if ch in stored:
                    blob_versions[ch] = ver
                    continue
                value = serialize(ch)
                if value is None:
                    continue  # neither stored nor given: the channel reads back absent
                if len(value[1]) <= INLINE_MAX:
                    row_inline[ch] = (ver, value[0], value[1])
                else:
                    extra.append((ch, ver, value[0], value[1]))
                    blob_versions[ch] = ver
        writes = plan_blob_writes(tid, ns, large + extra, bases)
        written = yield from write_blobs_body(tid, ns, writes)
        yield Run(
            _INSERT_CHECKPOINT,
            (
                tid,
                ns,
                prep.checkpoint_id,
                prep.parent_id,
                prep.run_id,
                prep.checkpoint[0],
                prep.checkpoint[1],
                prep.metadata[0],
                prep.metadata[1],
                prep.metadata_json,
                pack_inline(row_inline),
                json.dumps(blob_versions, ensure_ascii=False, separators=(",", ":")),
                prep.created_at,
            ),
        )
        if expires_at is not None:
            yield Run(TOUCH_SQL, (tid, expires_at))
        return {(tid, ns, channel): known for channel, known in written.items()}

    return Operation("write", body, (CHECKPOINTS,))


def put_writes_operation(
    ref: CheckpointRef, writes: tuple[PreparedWrite, ...], expires_at: float | None
) -> Operation[None]:
    """Store a task's pending writes: special ones replace, regular ones keep the first."""
    keep: list[tuple[object, ...]] = []
    replace: list[tuple[object, ...]] = []
    for w in writes:
        row = (
            ref.thread_id,
            ref.checkpoint_ns,
            ref.checkpoint_id,
            w.task_id,
            w.idx,
            w.channel,
            w.type,
            w.data,
            w.task_path,
        )
        (replace if w.overwrites else keep).append(row)

    def body() -> Body[None]:
        if keep:
            yield RunMany(_KEEP_WRITE, keep)
        if replace:
            yield RunMany(_REPLACE_WRITE, replace)
        if expires_at is not None:
            yield Run(TOUCH_SQL, (ref.thread_id, expires_at))

    return Operation("write", body, (CHECKPOINTS,))
