"""Delta-channel history: writes and the nearest stored value along a checkpoint's ancestors.

LangGraph's ``DeltaChannel`` stores a full value only every so many steps and rebuilds
the rest by replaying writes. ``get_delta_channel_history`` walks the parent chain;
here each batch of ``WALK_BATCH`` ancestors is one recursive query returning only the
requested channels' writes and where their values are stored, so a walk of a hundred
steps costs a few statements instead of a hundred checkpoint reads.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.runnables import RunnableConfig

from durastate._engines.sqlite.checkpoint_write import full_value_body
from durastate._engines.sqlite.inline import unpack_inline
from durastate._engines.sqlite.requests import Body, Operation, Rows
from durastate._engines.sqlite.schema import CHECKPOINTS
from durastate.checkpoint.base import StoredWrite, parse_config, sort_writes
from durastate.checkpoint.history import ChannelHistory
from durastate.errors import DeserializationError

WALK_BATCH = 256

_TARGET = """
SELECT c.parent_checkpoint_id
FROM durastate_checkpoints c LEFT JOIN durastate_threads t ON t.thread_id = c.thread_id
WHERE c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = {cid}
  AND (t.expires_at IS NULL OR t.expires_at > :now)
"""
_LATEST = (
    "(SELECT checkpoint_id FROM durastate_checkpoints WHERE thread_id = :thread "
    "AND checkpoint_ns = :ns ORDER BY checkpoint_id DESC LIMIT 1)"
)
_WALK = """
WITH RECURSIVE walk(cid, depth) AS (
    SELECT :start, 0
    UNION ALL
    SELECT c.parent_checkpoint_id, walk.depth + 1
    FROM walk JOIN durastate_checkpoints c
      ON c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = walk.cid
    WHERE c.parent_checkpoint_id IS NOT NULL AND walk.depth + 1 < :steps
),
wanted(channel) AS (SELECT value FROM json_each(:channels))
SELECT 0, walk.depth, c.parent_checkpoint_id, c.inline_values, NULL, NULL, NULL, NULL
FROM walk JOIN durastate_checkpoints c
  ON c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = walk.cid
UNION ALL
SELECT 1, walk.depth, v.key, b.id, NULL, NULL, NULL, NULL
FROM walk JOIN durastate_checkpoints c
  ON c.thread_id = :thread AND c.checkpoint_ns = :ns AND c.checkpoint_id = walk.cid
CROSS JOIN json_each(c.blob_versions) v
CROSS JOIN durastate_checkpoint_blobs b
  ON b.thread_id = c.thread_id AND b.checkpoint_ns = c.checkpoint_ns
 AND b.channel = v.key AND b.version = v.value
WHERE v.key IN (SELECT channel FROM wanted)
UNION ALL
SELECT 3, walk.depth, w.task_id, w.idx, w.channel, w.type, w.data, w.task_path
FROM walk JOIN durastate_checkpoint_writes w
  ON w.thread_id = :thread AND w.checkpoint_ns = :ns AND w.checkpoint_id = walk.cid
WHERE w.channel IN (SELECT channel FROM wanted)
"""


@dataclass(slots=True)
class _Ancestor:
    parent: str | None
    inline: dict[str, Any]
    blobs: dict[str, int] = field(default_factory=dict)
    writes: list[StoredWrite] = field(default_factory=list)


def _group(rows: list[tuple[Any, ...]]) -> dict[int, _Ancestor]:
    found: dict[int, _Ancestor] = {}
    for row in rows:
        if row[0] == 0:
            found[row[1]] = _Ancestor(row[2], unpack_inline(row[3]))
    for row in rows:
        ancestor = found.get(row[1])
        if ancestor is None:
            continue
        if row[0] == 1:
            ancestor.blobs[row[2]] = row[3]
        elif row[0] == 3:
            ancestor.writes.append(StoredWrite(row[2], row[4], row[5], row[6], row[7], row[3]))
    return found


def _history_body(
    thread: str, ns: str, cid: str | None, channels: list[str]
) -> Body[dict[str, ChannelHistory]]:
    result = {ch: ChannelHistory() for ch in channels}
    params: dict[str, Any] = {"thread": thread, "ns": ns, "now": time.time()}
    if cid is not None:
        params["cid"] = cid
    target = yield Rows(_TARGET.format(cid=":cid" if cid is not None else _LATEST), params)
    if not target:
        return result
    remaining = set(channels)
    collected: dict[str, list[StoredWrite]] = {ch: [] for ch in channels}
    seeds: dict[str, int] = {}
    start: str | None = target[0][0]
    walk = {"thread": thread, "ns": ns, "channels": json.dumps(channels), "steps": WALK_BATCH}
    visited: set[str] = set()
    while start is not None and remaining:
        if start in visited:
            raise DeserializationError(
                f"the parent chain of thread {thread!r} loops back to checkpoint {start}"
            )
        visited.add(start)
        ancestors = _group((yield Rows(_WALK, dict(walk, start=start))))
        start = None
        for depth in sorted(ancestors):
            ancestor = ancestors[depth]
            for w in reversed(sort_writes(ancestor.writes)):
                if w.channel in remaining:
                    collected[w.channel].append(w)
            for ch in list(remaining):
                entry = ancestor.inline.get(ch)
                if entry is not None and entry[1] != "empty":
                    result[ch].seed = (entry[1], entry[2])
                    remaining.discard(ch)
                elif ch in ancestor.blobs:
                    seeds[ch] = ancestor.blobs[ch]
                    remaining.discard(ch)
            if not remaining:
                break
            if depth == WALK_BATCH - 1:
                start = ancestor.parent
    for ch, blob_id in seeds.items():
        typ, data, _ = yield from full_value_body(blob_id)
        result[ch].seed = (typ, data)
    for ch, writes in collected.items():
        result[ch].writes = list(reversed(writes))
    return result


def history_operation(
    config: RunnableConfig, channels: Sequence[str]
) -> Operation[dict[str, ChannelHistory]]:
    """The history of ``channels`` up to the checkpoint ``config`` names (its latest if none)."""
    ref = parse_config(config)
    wanted = list(dict.fromkeys(channels))
    return Operation(
        "read",
        lambda: _history_body(ref.thread_id, ref.checkpoint_ns, ref.checkpoint_id, wanted),
        (CHECKPOINTS,),
    )
