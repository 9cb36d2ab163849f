"""Lua scripts of the Redis store: atomic writes, reads with TTL refresh, expiry cleanup.

Every script takes the store's key base (``<key_prefix>:store``) as ``ARGV[1]`` and
builds item keys with the same escaping as ``keys.escape``, so ``:u``, ``:n``, ``:x`` and
the item hashes change together; writes also drop up to 16 expired items from those
indexes, so they stay small even without a sweeper. Times: item timestamps are the
client's epoch seconds (written as given, so ordering is exact); expiries are server
milliseconds.
"""

from __future__ import annotations

from durastate._engines.redis.requests import LuaScript

_COMMON = r"""
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local P = ARGV[1]
local WRITE_CLEAN = 16
local function esc(s)
  return (string.gsub(s, '[%z\1-\31%%{}:%*%?%[%]\\ ]', function(c)
    return string.format('%%%02X', string.byte(c))
  end))
end
local function base_of(ns, key) return esc(ns) .. ':' .. esc(key) end
local function forget(ns, key)
  local u = P .. ':u:' .. esc(ns)
  redis.call('ZREM', u, key)
  if redis.call('ZCARD', u) == 0 then redis.call('ZREM', P .. ':n', ns) end
  redis.call('ZREM', P .. ':x', ns .. '\0' .. key)
end
local function refresh(ns, key, ik, ttl, nv)
  local ms = math.ceil(tonumber(ttl) * 60000)
  if ms < 1 then ms = 1 end
  redis.call('PEXPIRE', ik, ms)
  for s = 0, nv - 1 do redis.call('PEXPIRE', P .. ':v:' .. base_of(ns, key) .. ':' .. s, ms) end
  redis.call('ZADD', P .. ':x', now + ms, ns .. '\0' .. key)
end
local function clean(limit)
  local x = P .. ':x'
  local members = redis.call('ZRANGEBYSCORE', x, '-inf', '(' .. now, 'LIMIT', 0, limit)
  local gone = 0
  for _, m in ipairs(members) do
    local cut = string.find(m, '\0', 1, true)
    local ns, key = string.sub(m, 1, cut - 1), string.sub(m, cut + 1)
    local pttl = redis.call('PTTL', P .. ':i:' .. base_of(ns, key))
    if pttl >= 0 then
      redis.call('ZADD', x, now + pttl, m)
    elseif pttl == -1 then
      redis.call('ZREM', x, m)
    else
      forget(ns, key)
      gone = gone + 1
    end
  end
  return gone, #members
end
"""

PUT = LuaScript(
    "durastate_store_put",
    _COMMON
    + r"""
-- per item: ns, key, value, created ('' = keep), updated, -updated, ttl minutes ('' = none),
-- expire-at ms ('' = from ttl), vector count, prefix tags, then (field, blob) per vector.
-- A few expired items leave the indexes first, so they stay small without a sweeper.
clean(WRITE_CLEAN)
local i = 2
while i <= #ARGV do
  local ns, key, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local created, updated, negu = ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local ttl, expat = ARGV[i + 6], ARGV[i + 7]
  local nvec, tags = tonumber(ARGV[i + 8]), ARGV[i + 9]
  i = i + 10
  local base = base_of(ns, key)
  local ik = P .. ':i:' .. base
  local old = redis.call('HMGET', ik, 'c', 'nv')
  if created == '' then created = old[1] or updated end
  for s = 0, (tonumber(old[2]) or 0) - 1 do redis.call('DEL', P .. ':v:' .. base .. ':' .. s) end
  redis.call('DEL', ik)
  if ttl ~= '' then
    redis.call('HSET', ik, 'v', value, 'c', created, 'u', updated, 'nv', nvec, 't', ttl)
  else
    redis.call('HSET', ik, 'v', value, 'c', created, 'u', updated, 'nv', nvec)
  end
  local at = nil
  if expat ~= '' then
    at = tonumber(expat)
  elseif ttl ~= '' then
    local ms = math.ceil(tonumber(ttl) * 60000)
    if ms < 1 then ms = 1 end
    at = now + ms
  end
  for s = 0, nvec - 1 do
    local vk = P .. ':v:' .. base .. ':' .. s
    redis.call('HSET', vk, 'f', ARGV[i], 'vec', ARGV[i + 1], 'nsp', tags)
    if at then redis.call('PEXPIREAT', vk, at) end
    i = i + 2
  end
  local member = ns .. '\0' .. key
  if at then
    redis.call('PEXPIREAT', ik, at)
    redis.call('ZADD', P .. ':x', at, member)
  else
    redis.call('ZREM', P .. ':x', member)
  end
  redis.call('ZADD', P .. ':u:' .. esc(ns), negu, key)
  redis.call('ZADD', P .. ':n', 0, ns)
end
return 1
""",
)

DELETE = LuaScript(
    "durastate_store_delete",
    _COMMON
    + r"""
-- pairs of ns, key
clean(WRITE_CLEAN)
local n = 0
for i = 2, #ARGV, 2 do
  local ns, key = ARGV[i], ARGV[i + 1]
  local base = base_of(ns, key)
  local ik = P .. ':i:' .. base
  local nv = tonumber(redis.call('HGET', ik, 'nv')) or 0
  for s = 0, nv - 1 do redis.call('DEL', P .. ':v:' .. base .. ':' .. s) end
  n = n + redis.call('DEL', ik)
  forget(ns, key)
end
return n
""",
)

GET = LuaScript(
    "durastate_store_get",
    _COMMON
    + r"""
-- triples of ns, key, refresh ('1' moves a TTL item's expiry); answers per item
-- false (absent or expired) or {value, created, updated, ttl or '', vector count}
local out = {}
for i = 2, #ARGV, 3 do
  local ns, key = ARGV[i], ARGV[i + 1]
  local ik = P .. ':i:' .. base_of(ns, key)
  local h = redis.call('HMGET', ik, 'v', 'c', 'u', 't', 'nv')
  if h[1] then
    local nv = tonumber(h[5]) or 0
    if ARGV[i + 2] == '1' and h[4] then refresh(ns, key, ik, h[4], nv) end
    out[#out + 1] = {h[1], h[2], h[3], h[4] or '', nv}
  else
    out[#out + 1] = false
  end
end
return out
""",
)

REFRESH = LuaScript(
    "durastate_store_refresh",
    _COMMON
    + r"""
-- pairs of ns, key: restart the lifetime of those that (still) have a TTL
local n = 0
for i = 2, #ARGV, 2 do
  local ns, key = ARGV[i], ARGV[i + 1]
  local ik = P .. ':i:' .. base_of(ns, key)
  local h = redis.call('HMGET', ik, 't', 'nv')
  if h[1] then
    refresh(ns, key, ik, h[1], tonumber(h[2]) or 0)
    n = n + 1
  end
end
return n
""",
)

_PAGE = r"""
local function page(ns, start, stop)
  local members = redis.call('ZRANGE', P .. ':u:' .. esc(ns), start, stop)
  local out = {#members}
  for _, key in ipairs(members) do
    local h = redis.call('HMGET', P .. ':i:' .. base_of(ns, key), 'v', 'c', 'u', 't', 'nv')
    if h[1] then
      out[#out + 1] = {key, h[1], h[2], h[3], h[4] or '', tonumber(h[5]) or 0}
    else
      out[#out + 1] = {key}
    end
  end
  return out
end
"""

RECENT = LuaScript(
    "durastate_store_recent",
    _COMMON
    + _PAGE
    + r"""
-- ARGV[2] namespace, ARGV[3..4] rank range of its recency set; answers the range size
-- and per member {key, value, created, updated, ttl or '', vector count} or {key}
return page(ARGV[2], ARGV[3], ARGV[4])
""",
)

FIRST_PAGES = LuaScript(
    "durastate_store_first_pages",
    _COMMON
    + _PAGE
    + r"""
-- ARGV[2..3] lex range, ARGV[4] namespace prefix ('' = all), ARGV[5] page size: the
-- namespaces at or under the prefix (whole labels), each followed by its first page
local want, out = ARGV[4], {}
local under = want .. '.'
for _, ns in ipairs(redis.call('ZRANGEBYLEX', P .. ':n', ARGV[2], ARGV[3])) do
  if want == '' or ns == want or string.sub(ns, 1, #under) == under then
    out[#out + 1] = ns
    out[#out + 1] = page(ns, 0, tonumber(ARGV[5]) - 1)
  end
end
return out
""",
)

NAMESPACES = LuaScript(
    "durastate_store_namespaces",
    _COMMON
    + r"""
-- ARGV[2..3] lex range, ARGV[4] cleanup batch: drop expired items from the indexes
-- first; answers {0} when more remain to clean (call again), else {1, namespaces}
local _, seen = clean(tonumber(ARGV[4]))
if seen >= tonumber(ARGV[4]) then return {0} end
return {1, redis.call('ZRANGEBYLEX', P .. ':n', ARGV[2], ARGV[3])}
""",
)

SWEEP = LuaScript(
    "durastate_store_sweep",
    _COMMON
    + r"""
-- ARGV[2] batch size: answers {expired items removed, entries looked at}
local gone, seen = clean(tonumber(ARGV[2]))
return {gone, seen}
""",
)


EXPORT = LuaScript(
    "durastate_store_export",
    _COMMON
    + r"""
-- ARGV[2] namespace, then keys: per key false or {value, created, updated, ttl or '',
-- expire-at ms (-1: none), field 1, vector 1, field 2, vector 2, ...}
local ns = ARGV[2]
local out = {}
for i = 3, #ARGV do
  local base = base_of(ns, ARGV[i])
  local ik = P .. ':i:' .. base
  local h = redis.call('HMGET', ik, 'v', 'c', 'u', 't', 'nv')
  if h[1] then
    local row = {h[1], h[2], h[3], h[4] or '', redis.call('PEXPIRETIME', ik)}
    for s = 0, (tonumber(h[5]) or 0) - 1 do
      local v = redis.call('HMGET', P .. ':v:' .. base .. ':' .. s, 'f', 'vec')
      if v[2] then
        row[#row + 1] = v[1] or ''
        row[#row + 1] = v[2]
      end
    end
    out[#out + 1] = row
  else
    out[#out + 1] = false
  end
end
return out
""",
)

__all__ = [
    "DELETE",
    "EXPORT",
    "FIRST_PAGES",
    "GET",
    "NAMESPACES",
    "PUT",
    "RECENT",
    "REFRESH",
    "SWEEP",
]
