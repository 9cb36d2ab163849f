"""Writing checkpoints: ``put`` and ``put_writes``, each one statement (one round trip).

``put`` calls ``durastate_put_checkpoint`` (see ``schema``): it inserts the checkpoint
row and the values of the channels whose version changed (deduplicated by (thread,
namespace, channel, version)), moves the thread's expiry and, when the thread had expired
but was not swept yet, deletes its old history first. It answers which unchanged channels
have no stored value (their checkpoint was pruned, or the thread had expired); only then
a second statement stores those values from the checkpoint. Channels without a value
(LangGraph's versions of trigger channels) store no row: a reader finds none and leaves
the channel out, as it left out the empty rows older versions stored. ``put_writes``
calls ``durastate_put_writes``. Text arrays travel as literals (see ``literals``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from durastate._engines.postgres.checkpoint_read import ts
from durastate._engines.postgres.literals import int_array, text_array
from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Operation, Rows, Run
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.base import CheckpointRef, PreparedCheckpoint, PreparedWrite
from durastate.errors import InvalidInputError


def check_text(value: str | None, what: str) -> None:
    """PostgreSQL text cannot hold NUL: refuse it with an error naming the field."""
    if value is not None and "\x00" in value:
        raise InvalidInputError(f"{what} {value!r} contains NUL, which PostgreSQL cannot store")


_PUT = """
SELECT {p}durastate_put_checkpoint(
    %(t)s, %(ns)s, %(id)s, %(parent)s, %(run)s, %(c_type)s, %(c_data)s, %(m_type)s,
    %(m_data)s, %(m_json)s::jsonb, %(versions)s::jsonb, %(unchanged)s::jsonb, %(now)s,
    %(expires)s, %(b_channel)s::text[], %(b_version)s::text[], %(b_type)s::text[],
    %(b_data)b::bytea[])
"""

_PUT_MISSING = """
INSERT INTO {p}durastate_checkpoint_blobs (thread_id, checkpoint_ns, channel, version, type, data)
SELECT %(t)s, %(ns)s, channel, version, type, data
FROM unnest(%(b_channel)s::text[], %(b_version)s::text[], %(b_type)s::text[],
            %(b_data)b::bytea[]) AS n(channel, version, type, data)
ON CONFLICT (thread_id, checkpoint_ns, channel, version) DO NOTHING
"""

Serialize = Callable[[str], "tuple[str, bytes] | None"]
"""Serializes the checkpoint's value of a channel (None when the checkpoint lacks it)."""


def _blob_params(values: list[tuple[str, str, str, bytes]]) -> dict[str, Any]:
    return {
        "b_channel": text_array(v[0] for v in values),
        "b_version": text_array(v[1] for v in values),
        "b_type": text_array(v[2] for v in values),
        "b_data": [v[3] for v in values],
    }


def put_operation(
    prep: PreparedCheckpoint,
    serialize: Serialize,
    expires_at: float | None,
    schema: str | None,
) -> Operation[None]:
    """Store a prepared checkpoint and its changed channel values."""
    check_text(prep.checkpoint_id, "checkpoint id")
    check_text(prep.parent_id, "parent checkpoint id")
    check_text(prep.run_id, "run_id")
    for channel, version in prep.channel_versions.items():
        check_text(channel, "channel")
        check_text(version, f"version of channel {channel!r}")
    for b in prep.blobs:
        check_text(b.channel, "channel")
        check_text(b.version, f"version of channel {b.channel!r}")
    changed = {b.channel for b in prep.blobs}
    unchanged = {ch: v for ch, v in prep.channel_versions.items() if ch not in changed}
    versions = dict(prep.channel_versions)
    versions.update({b.channel: b.version for b in prep.blobs})
    sql = qualify(_PUT, schema)
    params: dict[str, Any] = {
        "t": prep.thread_id,
        "ns": prep.checkpoint_ns,
        "id": prep.checkpoint_id,
        "parent": prep.parent_id,
        "run": prep.run_id,
        "c_type": prep.checkpoint[0],
        "c_data": prep.checkpoint[1],
        "m_type": prep.metadata[0],
        "m_data": prep.metadata[1],
        "m_json": prep.metadata_json,
        "versions": json.dumps(versions, ensure_ascii=False),
        "unchanged": json.dumps(unchanged, ensure_ascii=False),
        "now": ts(prep.created_at),
        "expires": None if expires_at is None else ts(expires_at),
        **_blob_params(
            [(b.channel, b.version, b.type, b.data) for b in prep.blobs if b.type != "empty"]
        ),
    }

    def body() -> Body[None]:
        ((missing,),) = yield Rows(sql, params)
        if not missing:
            return
        restore = []
        for channel in missing:
            value = serialize(channel)
            if value is not None:  # neither stored nor given: the channel reads back absent
                restore.append((channel, unchanged[channel], value[0], value[1]))
        if restore:
            yield Run(
                qualify(_PUT_MISSING, schema),
                {"t": prep.thread_id, "ns": prep.checkpoint_ns, **_blob_params(restore)},
            )

    return Operation(body, needs=(CHECKPOINTS,))


_PUT_WRITES = """
SELECT {p}durastate_put_writes(
    %(t)s, %(ns)s, %(id)s, %(now)s, %(expires)s, %(task)s::text[], %(idx)s::int[],
    %(channel)s::text[], %(type)s::text[], %(data)b::bytea[], %(path)s::text[])
"""


def put_writes_operation(
    ref: CheckpointRef,
    writes: tuple[PreparedWrite, ...],
    expires_at: float | None,
    now: float,
    schema: str | None,
) -> Operation[None]:
    """Store a task's pending writes in one statement (and move the thread's expiry)."""
    chosen: dict[tuple[str, int], PreparedWrite] = {}
    check_text(ref.checkpoint_id, "checkpoint id")
    for w in writes:
        check_text(w.task_id, "task_id")
        check_text(w.task_path, "task_path")
        check_text(w.channel, f"channel of a write of task {w.task_id!r}")
        key = (w.task_id, w.idx)
        if w.overwrites or key not in chosen:
            chosen[key] = w
    rows = list(chosen.values())
    sql = qualify(_PUT_WRITES, schema)
    params: dict[str, Any] = {
        "t": ref.thread_id,
        "ns": ref.checkpoint_ns,
        "id": ref.checkpoint_id,
        "task": text_array(w.task_id for w in rows),
        "idx": int_array(w.idx for w in rows),
        "channel": text_array(w.channel for w in rows),
        "type": text_array(w.type for w in rows),
        "data": [w.data for w in rows],
        "path": text_array(w.task_path for w in rows),
        "now": ts(now),
        "expires": None if expires_at is None else ts(expires_at),
    }

    def body() -> Body[None]:
        if rows:
            yield Run(sql, params)

    return Operation(body, needs=(CHECKPOINTS,))
