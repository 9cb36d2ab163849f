"""Delta-channel history: writes and the nearest stored value along a checkpoint's ancestors.

LangGraph's ``DeltaChannel`` stores a full value only every so many steps and rebuilds
the rest by replaying writes; ``get_delta_channel_history`` walks the parent chain. Here
the whole walk is one recursive query: it answers, for each requested channel, the
nearest ancestor's stored value (the seed) and the channel's writes from the target's
parent back to that ancestor, and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig

from durastate._engines.postgres.checkpoint_read import ts
from durastate._engines.postgres.literals import text_array
from durastate._engines.postgres.migrations import qualify
from durastate._engines.postgres.requests import Body, Operation, Rows
from durastate._engines.postgres.schema import CHECKPOINTS
from durastate.checkpoint.base import StoredWrite, parse_config, sort_writes
from durastate.checkpoint.history import ChannelHistory

MAX_DEPTH = 1_000_000
"""Ancestors a walk follows at most (a guard against a parent chain that loops)."""

_HISTORY = """
WITH RECURSIVE target AS (
    SELECT c.parent_checkpoint_id FROM {p}durastate_checkpoints c
    WHERE c.thread_id = %(t)s AND c.checkpoint_ns = %(ns)s {by_id}
      AND NOT EXISTS (SELECT 1 FROM {p}durastate_threads x
                      WHERE x.thread_id = c.thread_id AND x.expires_at <= %(now)s)
    ORDER BY c.checkpoint_id DESC LIMIT 1
),
walk(cid, parent, depth, versions) AS (
    SELECT c.checkpoint_id, c.parent_checkpoint_id, 0, c.blob_versions
    FROM target JOIN {p}durastate_checkpoints c
      ON c.thread_id = %(t)s AND c.checkpoint_ns = %(ns)s
     AND c.checkpoint_id = target.parent_checkpoint_id
    UNION ALL
    SELECT c.checkpoint_id, c.parent_checkpoint_id, walk.depth + 1, c.blob_versions
    FROM walk JOIN {p}durastate_checkpoints c
      ON c.thread_id = %(t)s AND c.checkpoint_ns = %(ns)s AND c.checkpoint_id = walk.parent
    WHERE walk.depth < %(max_depth)s AND (
        SELECT count(*) FROM unnest(%(channels)s::text[]) AS ch(name)
        JOIN {p}durastate_checkpoint_blobs b
          ON b.thread_id = %(t)s AND b.checkpoint_ns = %(ns)s
         AND b.channel = (ch.name COLLATE "C")
         AND b.version = ((walk.versions ->> ch.name) COLLATE "C")
        WHERE b.type <> 'empty') < %(wanted)s
),
seeds AS MATERIALIZED (
    SELECT DISTINCT ON (b.channel) b.channel, walk.depth, b.type, b.data
    FROM walk CROSS JOIN unnest(%(channels)s::text[]) AS ch(name)
    JOIN {p}durastate_checkpoint_blobs b
      ON b.thread_id = %(t)s AND b.checkpoint_ns = %(ns)s
     AND b.channel = (ch.name COLLATE "C")
     AND b.version = ((walk.versions ->> ch.name) COLLATE "C")
    WHERE b.type <> 'empty'
    ORDER BY b.channel, walk.depth
)
SELECT 0, depth, channel, NULL::integer, NULL::text, type, data, NULL::text FROM seeds
UNION ALL
SELECT 1, walk.depth, w.task_id, w.idx, w.channel, w.type, w.data, w.task_path
FROM walk
JOIN {p}durastate_checkpoint_writes w
  ON w.thread_id = %(t)s AND w.checkpoint_ns = %(ns)s AND w.checkpoint_id = walk.cid
WHERE w.channel = ANY(%(channels)s::text[])
  AND walk.depth <= COALESCE((SELECT s.depth FROM seeds s WHERE s.channel = w.channel),
                             %(max_depth)s)
"""
"""The walk stops after the first ancestor that holds a value of every requested channel.
Rows: 0 = a channel's seed (nearest stored value), 1 = a write at an ancestor (depth 0 is
the target's parent)."""


def _history_body(
    thread: str, ns: str, cid: str | None, channels: list[str], schema: str | None
) -> Body[dict[str, ChannelHistory]]:
    by_id = "AND c.checkpoint_id = %(cid)s" if cid is not None else ""
    sql = qualify(_HISTORY.replace("{by_id}", by_id), schema)
    params: dict[str, Any] = {
        "t": thread,
        "ns": ns,
        "cid": cid,
        "now": ts(time.time()),
        "channels": text_array(channels),
        "wanted": len(channels),
        "max_depth": MAX_DEPTH,
    }
    rows = yield Rows(sql, params)
    result = {ch: ChannelHistory() for ch in channels}
    by_depth: dict[int, list[StoredWrite]] = {}
    for kind, depth, name, idx, channel, typ, data, path in rows:
        if kind == 0:
            result[name].seed = (typ, data)
        else:
            by_depth.setdefault(depth, []).append(StoredWrite(name, channel, typ, data, path, idx))
    for depth in sorted(by_depth, reverse=True):  # oldest ancestor first
        for w in sort_writes(by_depth[depth]):
            result[w.channel].writes.append(w)
    return result


def history_operation(
    config: RunnableConfig, channels: Sequence[str], schema: str | None
) -> Operation[dict[str, ChannelHistory]]:
    """The history of ``channels`` up to the checkpoint ``config`` names (its latest if none)."""
    ref = parse_config(config)
    wanted = list(dict.fromkeys(channels))
    return Operation(
        lambda: _history_body(ref.thread_id, ref.checkpoint_ns, ref.checkpoint_id, wanted, schema),
        needs=(CHECKPOINTS,),
    )
