"""Checkpointer operations on Redis, shared by ``RedisSaver`` and ``AsyncRedisSaver``.

Round trips: ``put`` and ``put_writes`` are one script each (plus one ``SADD`` to the
thread registry the first time a thread is written); ``get_tuple`` is one script; a
``list`` page of one thread is one script (every namespace, blobs and pending writes
included). Listing every thread, ``delete_for_runs``, ``prune`` and the sweeper read the
thread registry first and then pipeline one script per thread.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import ormsgpack

from durastate._engines.redis.checkpoint_scripts import (
    DELETE_THREAD,
    EXPORT,
    GET,
    HISTORY,
    IMPORT,
    LINEAGE,
    LIST,
    PUT,
    PUT_WRITES,
    REMOVE,
)
from durastate._engines.redis.keys import Layout, escape, unescape
from durastate._engines.redis.requests import Body, Call, Cmd, Pipe, gather
from durastate.checkpoint.base import (
    Blob,
    CheckpointRef,
    LineageRow,
    PreparedCheckpoint,
    PreparedWrite,
    StoredCheckpoint,
    StoredWrite,
    checkpoints_to_keep,
    delta_depth,
    metadata_matches,
    sort_writes,
)
from durastate.checkpoint.history import ChannelHistory
from durastate.errors import DeserializationError, InvalidInputError


def ttl_ms(seconds: float | None) -> int:
    """Milliseconds for the scripts' ``ttl``: -1 when threads never expire."""
    return -1 if seconds is None else max(1, math.ceil(seconds * 1000))


def _text(raw: Any) -> str:
    return raw.decode() if isinstance(raw, bytes) else str(raw)


def _pack_blob(type_: str, data: bytes) -> bytes:
    return type_.encode() + b"\x00" + data


def _unpack_blob(raw: bytes, what: str) -> Blob:
    type_, sep, data = raw.partition(b"\x00")
    if not sep:
        raise DeserializationError(f"{what}: stored value is not a durastate blob")
    return type_.decode(), data


def _check_id(cid: str) -> str:
    if "\x00" in cid:
        raise InvalidInputError(f"checkpoint id {cid!r} must not contain NUL")
    return cid


def _write_field(cid: str, task_id: str, idx: int) -> bytes:
    return cid.encode() + b"\x00" + ormsgpack.packb([task_id, idx])


def _pack_write(w: PreparedWrite) -> bytes:
    """A 4-byte header length, a msgpack header the scripts can read, then the value."""
    header = ormsgpack.packb([w.task_id, w.channel, w.type, w.task_path, w.idx])
    return len(header).to_bytes(4, "big") + header + w.data


def _unpack_write(raw: bytes) -> StoredWrite:
    size = int.from_bytes(raw[:4], "big")
    task_id, channel, type_, task_path, idx = ormsgpack.unpackb(raw[4 : 4 + size])
    return StoredWrite(task_id, channel, type_, raw[4 + size :], task_path, int(idx))


@dataclass(frozen=True, slots=True)
class Freshness:
    """Thread TTL in script terms: ``write`` ms on writes, ``read`` ms on reads (0: none)."""

    write: int
    read: int


def put_body(layout: Layout, prep: PreparedCheckpoint, fresh: Freshness) -> Body[None]:
    cid = _check_id(prep.checkpoint_id)
    keys = layout.thread(prep.thread_id)
    record = ormsgpack.packb([*prep.checkpoint, *prep.metadata, prep.parent_id or ""])
    versions: list[str] = []
    for channel, version in prep.channel_versions.items():
        versions += [channel, version]
    depth = delta_depth(json.loads(prep.metadata_json))
    lineage = ormsgpack.packb([prep.parent_id or "", depth, prep.run_id or ""])
    args: list[Any] = [
        keys.base,
        escape(prep.checkpoint_ns),
        cid,
        record,
        ormsgpack.packb(versions),
        lineage,
        prep.metadata_json,
        fresh.write,
    ]
    for blob in prep.blobs:
        args += [f"{blob.version}\x00{blob.channel}", _pack_blob(blob.type, blob.data)]
    yield from _registered_then(layout, prep.thread_id, Call(PUT, (keys.namespaces,), tuple(args)))


def put_writes_body(
    layout: Layout, ref: CheckpointRef, writes: Sequence[PreparedWrite], fresh: Freshness
) -> Body[None]:
    assert ref.checkpoint_id is not None
    cid = _check_id(ref.checkpoint_id)
    keys = layout.thread(ref.thread_id)
    args: list[Any] = [keys.base, escape(ref.checkpoint_ns), fresh.write]
    for w in writes:
        args += [_write_field(cid, w.task_id, w.idx), _pack_write(w), "1" if w.overwrites else "0"]
    yield from _registered_then(
        layout, ref.thread_id, Call(PUT_WRITES, (keys.namespaces,), tuple(args))
    )


def _registered_then(layout: Layout, thread_id: str, write: Call) -> Body[None]:
    """Register the thread, then write, in one pipeline: a process that dies between the
    two leaves at worst a registered thread without data (listing and sweeps skip those),
    never data that ``list(None)``, ``sweep_ttl`` and the CLI cannot find."""
    yield Pipe((Cmd(("SADD", layout.threads, thread_id)), write))


def _stored(thread_id: str, ns: str, item: Sequence[Any]) -> StoredCheckpoint:
    cid = _text(item[0])
    where = f"checkpoint {cid} of thread {thread_id!r}"
    try:
        ctype, cdata, mtype, mdata, parent = ormsgpack.unpackb(item[1])
        flat = item[2]
        blobs = {
            _text(flat[i]): _unpack_blob(bytes(flat[i + 1]), f"channel of {where}")
            for i in range(0, len(flat), 2)
        }
        writes = [_unpack_write(bytes(raw)) for raw in item[3]]
    except (ValueError, TypeError, ormsgpack.MsgpackDecodeError) as exc:
        raise DeserializationError(f"{where}: stored record cannot be read: {exc}") from exc
    return StoredCheckpoint(
        thread_id, ns, cid, parent or None, (ctype, cdata), (mtype, mdata), blobs, writes
    )


def get_body(layout: Layout, ref: CheckpointRef, fresh: Freshness) -> Body[StoredCheckpoint | None]:
    keys = layout.thread(ref.thread_id)
    cid = ref.checkpoint_id or ""
    if "\x00" in cid:
        return None
    item = yield Call(
        GET, (keys.namespaces,), (keys.base, escape(ref.checkpoint_ns), cid, fresh.read)
    )
    if not item:
        return None
    return _stored(ref.thread_id, ref.checkpoint_ns, item)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What one ``list`` call asks for, already validated."""

    thread_id: str | None
    checkpoint_ns: str | None
    checkpoint_id: str | None
    filter: Mapping[str, Any]
    before: str | None
    limit: int | None


def _thread_list(
    layout: Layout, thread_id: str, q: ListQuery, refresh: int
) -> Body[list[StoredCheckpoint]]:
    """One thread's matches, newest first: one script call unless the filter misleads Lua."""
    keys = layout.thread(thread_id)
    if q.checkpoint_id is not None and (
        "\x00" in q.checkpoint_id or (q.before is not None and not q.checkpoint_id < q.before)
    ):
        return []
    fjson = json.dumps(q.filter, ensure_ascii=False) if q.filter else ""
    got: list[StoredCheckpoint] = []
    cursor = q.before
    while True:
        count = -1 if q.limit is None else q.limit - len(got)
        reply = yield Call(
            LIST,
            (keys.namespaces,),
            (
                keys.base,
                "" if q.checkpoint_ns is None else escape(q.checkpoint_ns),
                "1" if q.checkpoint_ns is None else "0",
                q.checkpoint_id or "",
                cursor or "",
                count,
                refresh,
                fjson,
            ),
        )
        candidates: list[tuple[StoredCheckpoint, str]] = []
        bound: str | None = None
        for ens, exhausted, items in sorted(reply, key=lambda r: unescape(_text(r[0]))):
            ns = unescape(_text(ens))
            block = [(_stored(thread_id, ns, item), _text(item[4])) for item in items]
            candidates += block
            if not int(exhausted) and block and q.checkpoint_id is None:
                lowest = block[-1][0].checkpoint_id
                bound = lowest if bound is None or lowest > bound else bound
        candidates.sort(key=lambda c: c[0].checkpoint_id, reverse=True)
        for stored, meta in candidates:
            if bound is not None and stored.checkpoint_id < bound:
                break
            if q.filter and not metadata_matches(json.loads(meta or "{}"), q.filter):
                continue
            got.append(stored)
            if q.limit is not None and len(got) >= q.limit:
                return got
        if bound is None:
            return got
        cursor = bound


PAGE = 100
"""Checkpoints fetched per round trip when ``list`` has no (or a larger) limit."""


def list_page_body(
    layout: Layout, q: ListQuery, fresh: Freshness, cursor: str | None, size: int
) -> Body[tuple[list[StoredCheckpoint], str | None]]:
    """Up to ``size`` matches older than ``cursor`` (newest first; ties: thread, namespace),
    and the cursor of the next page (None when there is none).

    One script call for a thread; across threads, the registry and then one pipeline.
    """
    page = replace(q, before=q.before if cursor is None else cursor, limit=size)
    if q.thread_id is not None:
        items = yield from _thread_list(layout, q.thread_id, page, fresh.read)
        more = len(items) >= size and q.checkpoint_id is None
        return items, items[-1].checkpoint_id if more and items else None
    threads = yield from _registered(layout)
    per_thread = yield from gather([_thread_list(layout, t, page, 0) for t in threads])
    found = [s for rows in per_thread for s in rows]
    found.sort(key=lambda s: s.checkpoint_id, reverse=True)
    if all(len(rows) < size for rows in per_thread) or q.checkpoint_id is not None:
        return found, None
    last = found[size - 1].checkpoint_id
    # Checkpoints copied between threads share ids: a page never splits such a group.
    return [s for s in found if s.checkpoint_id >= last], last


def delete_threads_body(layout: Layout, thread_ids: Sequence[str]) -> Body[None]:
    if not thread_ids:
        return
    calls = []
    for tid in thread_ids:
        keys = layout.thread(tid)
        calls.append(Call(DELETE_THREAD, (keys.namespaces,), (keys.base,)))
    yield Pipe((*calls, Cmd(("SREM", layout.threads, *thread_ids))))


def _forget(layout: Layout, thread_ids: Sequence[str]) -> Body[int]:
    """Drop threads that no longer exist from the registry; answers how many stayed gone.

    A thread written again between the check and the removal is put back.
    """
    if not thread_ids:
        return 0
    yield Cmd(("SREM", layout.threads, *thread_ids))
    alive = yield Pipe(tuple(Cmd(("EXISTS", layout.thread(t).namespaces)) for t in thread_ids))
    revived = [t for t, n in zip(thread_ids, alive, strict=True) if int(n)]
    if revived:
        yield Cmd(("SADD", layout.threads, *revived))
    return len(thread_ids) - len(revived)


def _registered(layout: Layout) -> Body[list[str]]:
    """Every registered thread id, read with ``SSCAN`` in pages (sorted)."""
    found: set[str] = set()
    cursor: Any = 0
    while True:
        cursor, members = yield Cmd(("SSCAN", layout.threads, cursor, "COUNT", 1000))
        found.update(_text(m) for m in members)
        if int(cursor) == 0:
            return sorted(found)


def delete_runs_body(layout: Layout, run_ids: Sequence[str]) -> Body[None]:
    runs = [r for r in run_ids if r]
    if not runs:
        return
    threads = yield from _registered(layout)
    calls = []
    for tid in threads:
        keys = layout.thread(tid)
        calls.append(Call(REMOVE, (keys.namespaces,), (keys.base, "runs", *runs)))
    replies = yield Pipe(tuple(calls))
    gone = [t for t, (_, exists) in zip(threads, replies, strict=True) if not int(exists)]
    yield from _forget(layout, gone)


def _prune_thread(layout: Layout, thread_id: str, keep: int) -> Body[bool]:
    """Keep the newest ``keep`` per namespace (and delta ancestors); True if the thread is gone."""
    keys = layout.thread(thread_id)
    reply = yield Call(LINEAGE, (keys.namespaces,), (keys.base,))
    rows: list[LineageRow] = []
    for ens, flat in reply:
        ns = unescape(_text(ens))
        for i in range(0, len(flat), 2):
            parent, depth, _run = ormsgpack.unpackb(flat[i + 1])
            rows.append(LineageRow(ns, _text(flat[i]), parent or None, int(depth)))
    kept = checkpoints_to_keep(rows, keep)
    doomed: dict[str, list[str]] = {}
    for row in rows:
        if (row.checkpoint_ns, row.checkpoint_id) not in kept:
            doomed.setdefault(row.checkpoint_ns, []).append(row.checkpoint_id)
    if not doomed:
        return False
    args: list[Any] = [keys.base, "ids"]
    for ns, cids in doomed.items():
        args += [escape(ns), len(cids), *cids]
    _removed, exists = yield Call(REMOVE, (keys.namespaces,), tuple(args))
    return not int(exists)


def prune_body(layout: Layout, thread_ids: Sequence[str], strategy: str, keep: int) -> Body[None]:
    tids = list(dict.fromkeys(thread_ids))
    if strategy == "delete":
        yield from delete_threads_body(layout, tids)
        return
    gone = yield from gather([_prune_thread(layout, t, keep) for t in tids])
    yield from _forget(layout, [t for t, g in zip(tids, gone, strict=True) if g])


def copy_thread_body(layout: Layout, source: str, target: str, fresh: Freshness) -> Body[None]:
    src, dst = layout.thread(source), layout.thread(target)
    reply = yield Call(EXPORT, (src.namespaces,), (src.base,))
    if not reply:
        return
    args: list[Any] = [dst.base, fresh.write]
    for entry in reply:
        args.append(entry[0])
        for flat in entry[1:]:
            args.append(len(flat) // 2)
            args += flat
    created = yield Call(IMPORT, (dst.namespaces,), tuple(args))
    if int(created):
        yield Cmd(("SADD", layout.threads, target))


def live_threads_body(layout: Layout) -> Body[list[str]]:
    """Every registered thread whose keys still exist (expiry is native), sorted: the
    registry in ``SSCAN`` pages, then ``EXISTS`` pipelined a thousand at a time."""
    threads = yield from _registered(layout)
    live: list[str] = []
    for start in range(0, len(threads), 1000):
        chunk = threads[start : start + 1000]
        alive = yield Pipe(tuple(Cmd(("EXISTS", layout.thread(t).namespaces)) for t in chunk))
        live += [t for t, n in zip(chunk, alive, strict=True) if int(n)]
    return live


def sweep_body(layout: Layout) -> Body[int]:
    """Forget expired threads (Redis already deleted their keys); answers how many."""
    threads = yield from _registered(layout)
    if not threads:
        return 0
    alive = yield Pipe(tuple(Cmd(("EXISTS", layout.thread(t).namespaces)) for t in threads))
    gone = [t for t, n in zip(threads, alive, strict=True) if not int(n)]
    return (yield from _forget(layout, gone))


def history_body(
    layout: Layout, ref: CheckpointRef, channels: Sequence[str], fresh: Freshness
) -> Body[dict[str, ChannelHistory]]:
    """The parent-chain walk of ``get_delta_channel_history`` in one script.

    Matches LangGraph's generic walk: per ancestor (nearest first) its writes in
    ``get_tuple`` order, then its stored values end the walk for their channels.
    """
    wanted = list(dict.fromkeys(channels))
    keys = layout.thread(ref.thread_id)
    cid = ref.checkpoint_id or ""
    reply = []
    if "\x00" not in cid:
        reply = yield Call(
            HISTORY,
            (keys.namespaces,),
            (keys.base, escape(ref.checkpoint_ns), cid, fresh.read, *wanted),
        )
    collected: dict[str, list[StoredWrite]] = {c: [] for c in wanted}
    seeds: dict[str, Blob] = {}
    remaining = set(wanted)
    for _ancestor, raw_writes, flat in reply:
        writes = [_unpack_write(bytes(raw)) for raw in raw_writes]
        for w in reversed(sort_writes(writes)):
            if w.channel in remaining:
                collected[w.channel].append(w)
        for i in range(0, len(flat), 2):
            channel = _text(flat[i])
            if channel in remaining:
                seeds[channel] = _unpack_blob(bytes(flat[i + 1]), f"channel {channel!r}")
                remaining.discard(channel)
    return {c: ChannelHistory(collected[c][::-1], seeds.get(c)) for c in wanted}
