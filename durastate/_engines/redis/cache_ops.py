"""Node-cache operations on Redis: pipelined reads, SET ... PX writes, exact clears, sweeps.

Each cache namespace keeps its entries under one hash tag plus a sorted set indexing
them by expiry (server milliseconds, ``+inf`` for none), so clearing a namespace and
counting expired entries need neither ``KEYS`` nor ``SCAN``. Expired entries are never
served (Redis expires them natively); the sweeper only drops them from the index.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from durastate._engines.redis.keys import Layout, escape, unescape
from durastate._engines.redis.requests import Body, Call, Cmd, LuaScript, Pipe
from durastate.cache.base import CacheEntry, decode_namespace
from durastate.checkpoint.base import Blob
from durastate.errors import DeserializationError

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

SET = LuaScript(
    "durastate_cache_set",
    _NOW
    + """
for i = 2, #ARGV, 3 do
  local key = ARGV[1] .. ':e:' .. ARGV[i]
  local px = tonumber(ARGV[i + 2])
  if px > 0 then
    redis.call('SET', key, ARGV[i + 1], 'PX', px)
    redis.call('ZADD', KEYS[1], now + px, ARGV[i])
  else
    redis.call('SET', key, ARGV[i + 1])
    redis.call('ZADD', KEYS[1], '+inf', ARGV[i])
  end
end
return 1
""",
)

CLEAR = LuaScript(
    "durastate_cache_clear",
    """
local members = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, m in ipairs(members) do redis.call('DEL', ARGV[1] .. ':e:' .. m) end
redis.call('UNLINK', KEYS[1])
return #members
""",
)

SWEEP = LuaScript(
    "durastate_cache_sweep",
    _NOW
    + """
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
for _, m in ipairs(members) do redis.call('DEL', ARGV[1] .. ':e:' .. m) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. now)
return {#members, redis.call('EXISTS', KEYS[1])}
""",
)


def pack_value(type_: str, data: bytes) -> bytes:
    return type_.encode() + b"\x00" + data


def unpack_value(raw: bytes, what: str) -> Blob:
    type_, sep, data = bytes(raw).partition(b"\x00")
    if not sep:
        raise DeserializationError(f"{what}: stored value is not a durastate cache entry")
    return type_.decode(), data


def _by_namespace(keys: Sequence[tuple[str, str]]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for ns_text, key in keys:
        groups.setdefault(ns_text, []).append(key)
    return groups


def _entry_keys(layout: Layout, ns_text: str, keys: Sequence[str]) -> list[str]:
    base = layout.cache(ns_text).base
    return [f"{base}:e:{escape(k)}" for k in keys]


def read_body(layout: Layout, keys: Sequence[tuple[str, str]]) -> Body[dict[tuple[str, str], Blob]]:
    """Live entries: one ``MGET`` per namespace (one hash slot each), all in one pipeline."""
    groups = _by_namespace(keys)
    order = list(groups)
    cmds = tuple(Cmd(("MGET", *_entry_keys(layout, ns, groups[ns]))) for ns in order)
    replies = yield Pipe(cmds)
    found: dict[tuple[str, str], Blob] = {}
    for ns, values in zip(order, replies, strict=True):
        for key, raw in zip(groups[ns], values, strict=True):
            if raw is not None:
                found[(ns, key)] = unpack_value(raw, f"cache entry {key!r} in {ns}")
    return found


def _px(seconds: float | None) -> int:
    return 0 if seconds is None else max(1, math.ceil(seconds * 1000))


def write_body(layout: Layout, entries: Sequence[CacheEntry]) -> Body[None]:
    """One script per namespace (atomic within it) plus the namespace registry, pipelined."""
    groups: dict[str, list[CacheEntry]] = {}
    for e in entries:
        groups.setdefault(e.ns_text, []).append(e)
    items: list[Cmd | Call] = []
    for ns_text, group in groups.items():
        keys = layout.cache(ns_text)
        args: list[object] = [keys.base]
        for e in group:
            args += [keys.member(e.key), pack_value(e.type, e.data), _px(e.ttl_seconds)]
        items.append(Call(SET, (keys.index,), tuple(args)))
    items.append(Cmd(("SADD", layout.cache_namespaces, *groups)))
    yield Pipe(tuple(items))


def _known_namespaces(layout: Layout) -> Body[list[str]]:
    members = yield Cmd(("SMEMBERS", layout.cache_namespaces))
    return sorted(bytes(m).decode() for m in members)


def clear_body(layout: Layout, ns_texts: Sequence[str] | None) -> Body[int]:
    """Delete every entry of exactly these namespaces (every namespace when None)."""
    targets = list(ns_texts) if ns_texts is not None else (yield from _known_namespaces(layout))
    if not targets:
        return 0
    calls = tuple(
        Call(CLEAR, (layout.cache(ns).index,), (layout.cache(ns).base,)) for ns in targets
    )
    replies = yield Pipe(calls)
    return sum(int(r) for r in replies)


def sweep_body(layout: Layout) -> Body[int]:
    """Drop expired entries from every namespace's index; answers how many expired."""
    targets = yield from _known_namespaces(layout)
    if not targets:
        return 0
    calls = tuple(
        Call(SWEEP, (layout.cache(ns).index,), (layout.cache(ns).base,)) for ns in targets
    )
    replies = yield Pipe(calls)
    empty = [ns for ns, (_, exists) in zip(targets, replies, strict=True) if not int(exists)]
    if empty:
        # Forget namespaces left without entries; re-add any a concurrent write revived.
        yield Cmd(("SREM", layout.cache_namespaces, *empty))
        alive = yield Pipe(tuple(Cmd(("EXISTS", layout.cache(ns).index)) for ns in empty))
        revived = [ns for ns, n in zip(empty, alive, strict=True) if int(n)]
        if revived:
            yield Cmd(("SADD", layout.cache_namespaces, *revived))
    return sum(int(count) for count, _ in replies)


EXPORT_PAGE = LuaScript(
    "durastate_cache_export_page",
    _NOW
    + """
local scan = redis.call('ZSCAN', KEYS[1], ARGV[2], 'COUNT', tonumber(ARGV[3]))
local page = scan[2]
local out = {}
for i = 1, #page, 2 do
  if tonumber(page[i + 1]) > now then
    local v = redis.call('GET', ARGV[1] .. ':e:' .. page[i])
    if v then
      out[#out + 1] = page[i]
      out[#out + 1] = page[i + 1]
      out[#out + 1] = v
    end
  end
end
return {scan[1], out}
""",
)

COUNT_LIVE = LuaScript(
    "durastate_cache_count_live",
    _NOW + "\nreturn redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')\n",
)


def export_namespace_body(
    layout: Layout, ns_text: str, cursor: str, size: int, now: float
) -> Body[tuple[str, list[CacheEntry]]]:
    """One ``ZSCAN`` step over a namespace's index with the live entries it found.

    ZSCAN returns every entry present for the whole scan even while others expire or
    are written (an entry may come twice; importing it twice is harmless). Answers the
    next cursor ("0" when done) and the entries.
    """
    keys = layout.cache(ns_text)
    next_cursor, flat = yield Call(EXPORT_PAGE, (keys.index,), (keys.base, cursor, size))
    namespace = decode_namespace(ns_text)
    entries = []
    for i in range(0, len(flat), 3):
        key = unescape(bytes(flat[i]).decode())
        score = float(bytes(flat[i + 1]).decode())
        expires_at = None if math.isinf(score) else score / 1000.0
        type_, data = unpack_value(flat[i + 2], f"cache entry {key!r} in {ns_text}")
        remaining = None if expires_at is None else expires_at - now
        entries.append(CacheEntry(namespace, ns_text, key, type_, data, remaining, expires_at))
    return bytes(next_cursor).decode(), entries


def namespaces_body(layout: Layout) -> Body[list[str]]:
    """Every cache namespace text that has (or recently had) entries, sorted."""
    return (yield from _known_namespaces(layout))


def count_body(layout: Layout) -> Body[int]:
    """How many unexpired entries the cache indexes, over every namespace."""
    targets = yield from _known_namespaces(layout)
    if not targets:
        return 0
    replies = yield Pipe(tuple(Call(COUNT_LIVE, (layout.cache(ns).index,), ()) for ns in targets))
    return sum(int(n) for n in replies)
