"""Lua scripts of the Redis store: atomic writes, reads with TTL refresh, expiry cleanup.

Every script takes the store's key base (``<key_prefix>:store``) as ``ARGV[1]`` and
builds item keys with the same escaping as ``keys.escape``, so ``:u``, ``:n``, ``:h``,
``:x`` and the item hashes change together; writes also drop up to 16 expired items from
those indexes, so they stay small even without a sweeper. Times: item timestamps are the
client's epoch seconds (written as given, so ordering is exact); expiries are server
milliseconds.

``:h`` is a sorted set of namespace -> the lowest ``-updated_at`` ever written there
(``ZADD LT``): a bound on where the namespace's newest item stands, which deletes leave
conservative and which the search uses to read a namespace's recency set only once the
merge reaches it (a namespace missing from it, as in stores written before it existed,
is read at once). It leaves with the namespace's last item.
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
  if redis.call('ZCARD', u) == 0 then
    redis.call('ZREM', P .. ':n', ns)
    redis.call('ZREM', P .. ':h', ns)
  end
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
  redis.call('ZADD', P .. ':h', 'LT', negu, ns)
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

_PREFILTER = r"""
-- The pre-filter: drops an item only when the reference evaluator surely rejects it.
-- Strings compare as bytes (UTF-8 byte order is code point order; Lua's '<' would use
-- the server's locale). Tables (objects, arrays, cjson's ambiguous empty {} / []),
-- numbers of magnitude 2^53 and beyond and text holding surrogates are never judged.
local NULL = cjson.null
local EXACT = 9007199254740992
local byte = string.byte
local function bcmp(a, b)
  if a == b then return 0 end
  local n = math.min(#a, #b)
  for i = 1, n do
    local x, y = byte(a, i), byte(b, i)
    if x ~= y then
      if x < y then return -1 end
      return 1
    end
  end
  if #a < #b then return -1 end
  return 1
end
local function lookup(doc, path)
  local cur = doc
  for i = 1, #path do
    if type(cur) ~= 'table' then return nil end
    cur = cur[path[i]]
    if cur == nil then return nil end
  end
  return cur
end
local function judged(f)
  local t = type(f)
  if t == 'string' then
    return not (string.find(f, '\237', 1, true) and string.find(f, '\237[\160-\191]'))
  end
  if t == 'number' then return f > -EXACT and f < EXACT end
  return t == 'boolean' or f == NULL
end
local function orders(f, v, op)
  local c
  if type(v) == 'number' then
    if type(f) ~= 'number' then return false end
    if f == v then c = 0 elseif f < v then c = -1 else c = 1 end
  else
    if type(f) ~= 'string' then return false end
    c = bcmp(f, v)
  end
  if op == '$gt' then return c > 0 end
  if op == '$gte' then return c >= 0 end
  if op == '$lt' then return c < 0 end
  return c <= 0
end
local function rejects(doc, cond)
  local op, v = cond[2], cond[3]
  local f = lookup(doc, cond[1])
  if op == '$exists' then return (f ~= nil) ~= v end
  if f == nil then return op ~= '$ne' and op ~= '$nin' end
  if not judged(f) then return false end
  if op == '$eq' then return f ~= v end
  if op == '$ne' then return f == v end
  if op == '$in' or op == '$nin' then
    for _, x in ipairs(v) do
      if f == x then return op == '$nin' end
    end
    return op == '$in'
  end
  return not orders(f, v, op)
end
-- Needles: an $eq / $in on strings that JSON writes verbatim (no quote, backslash or
-- control character) cannot hold in a value text without backslashes unless the text
-- contains the quoted string; such items are rejected before decoding.
local function needles(conds)
  local out = {}
  for _, cond in ipairs(conds) do
    local op, v = cond[2], cond[3]
    local list = nil
    if op == '$eq' and type(v) == 'string' then
      list = {v}
    elseif op == '$in' and #v > 0 then
      list = v
    end
    if list then
      local quoted = {}
      for _, x in ipairs(list) do
        if type(x) ~= 'string' or string.find(x, '[%z\1-\31"\\]') then
          quoted = nil
          break
        end
        quoted[#quoted + 1] = '"' .. x .. '"'
      end
      if quoted then out[#out + 1] = quoted end
    end
  end
  return out
end
local function passes(conds, quick, text)
  if #quick > 0 and not string.find(text, '\\', 1, true) then
    for _, quoted in ipairs(quick) do
      local found = false
      for _, q in ipairs(quoted) do
        if string.find(text, q, 1, true) then
          found = true
          break
        end
      end
      if not found then return false end
    end
  end
  local ok, doc = pcall(cjson.decode, text)
  if not ok or type(doc) ~= 'table' then return true end
  for _, cond in ipairs(conds) do
    if rejects(doc, cond) then return false end
  end
  return true
end
"""

SEARCH = LuaScript(
    "durastate_store_search",
    _COMMON
    + _PREFILTER
    + r"""
-- ARGV[2..3] lex range, ARGV[4] namespace prefix ('' = all), ARGV[5] rows wanted,
-- ARGV[6] most recency entries to look at, ARGV[7] '1' = only items without vectors,
-- ARGV[8] pre-filter JSON ('' = none), ARGV[9..11] cursor: score, namespace and key of
-- the last entry looked at by the previous call ('' = start).
-- Merges the recency sets of the namespaces at or under the prefix (whole labels) in
-- search order (updated desc = score asc, then namespace labels, then key) and answers
-- {more, cursor score, cursor namespace, cursor key, rows...}, a row being
-- {namespace, key, value, created, updated, ttl or '', vector count}.
local want, budget = tonumber(ARGV[5]), tonumber(ARGV[6])
local unscored = ARGV[7] == '1'
local conds, quick = nil, nil
if ARGV[8] ~= '' then
  conds = cjson.decode(ARGV[8])
  quick = needles(conds)
end
local cs, cns, ckey = ARGV[9], ARGV[10], ARGV[11]
local csn = tonumber(cs)
local function labels(ns) return (string.gsub(ns, '%.', '\0')) end
local cl = labels(cns)

local function start_rank(z, l)
  if cs == '' then return 0 end
  local c = bcmp(l, cl)
  if c < 0 then return redis.call('ZCOUNT', z, '-inf', cs) end
  if c > 0 then return redis.call('ZCOUNT', z, '-inf', '(' .. cs) end
  local sc = redis.call('ZSCORE', z, ckey)
  if sc and tonumber(sc) == csn then return redis.call('ZRANK', z, ckey) + 1 end
  local r = redis.call('ZCOUNT', z, '-inf', '(' .. cs)
  for _, m in ipairs(redis.call('ZRANGE', z, cs, cs, 'BYSCORE')) do
    if bcmp(m, ckey) <= 0 then r = r + 1 end
  end
  return r
end

local function load(s)
  local buf = redis.call('ZRANGE', s.z, s.rank, s.rank + s.chunk - 1, 'WITHSCORES')
  s.rank = s.rank + #buf / 2
  if s.chunk < 16 then s.chunk = 16 elseif s.chunk < 256 then s.chunk = s.chunk * 4 end
  s.buf, s.bi = buf, 1
  return #buf > 0
end

-- Namespaces in label order (o = 1, 2, ...): the index's byte order is that order unless
-- a namespace holds a byte below '.' (then they are sorted by labels here).
local want_ns, under = ARGV[4], ARGV[4] .. '.'
local names, resort = {}, false
for _, ns in ipairs(redis.call('ZRANGEBYLEX', P .. ':n', ARGV[2], ARGV[3])) do
  if want_ns == '' or ns == want_ns or string.sub(ns, 1, #under) == under then
    names[#names + 1] = ns
    if not resort and string.find(ns, '[%z\1-\45]') then resort = true end
  end
end
if resort then
  table.sort(names, function(a, b) return bcmp(labels(a), labels(b)) < 0 end)
end

-- The heap holds namespace numbers by (score, number). An unopened namespace stands at
-- its bound (':h', at most the score of its newest entry; -inf when unknown) and reads
-- its recency set only when that bound comes first; an open one at its next entry.
local score, streams, heap, n = {}, {}, {}, #names
for first = 1, n, 1000 do
  local last = math.min(first + 999, n)
  local bounds = {}
  if n > 1 then bounds = redis.call('ZMSCORE', P .. ':h', unpack(names, first, last)) end
  for o = first, last do
    local b = bounds[o - first + 1]
    score[o] = b and tonumber(b) or -math.huge
    heap[o] = o
  end
end
local function down(i)
  while true do
    local l, r, m = 2 * i, 2 * i + 1, i
    if l <= n then
      local a, b = heap[l], heap[m]
      if score[a] < score[b] or (score[a] == score[b] and a < b) then m = l end
    end
    if r <= n then
      local a, b = heap[r], heap[m]
      if score[a] < score[b] or (score[a] == score[b] and a < b) then m = r end
    end
    if m == i then return end
    heap[i], heap[m] = heap[m], heap[i]
    i = m
  end
end
for i = math.floor(n / 2), 1, -1 do down(i) end
local function drop_first()
  heap[1] = heap[n]
  heap[n] = nil
  n = n - 1
  if n > 0 then down(1) end
end
-- The first read of a namespace (opened once the merge reaches it): as many entries as
-- rows are wanted when every entry read is a row (no filter), else 16.
local first_read = 16
if not conds and not unscored then first_read = math.min(want, 256) end
local function open(o)
  local ns = names[o]
  local e = ns
  if string.find(e, '[^0-9A-Za-z.]') then e = esc(e) end
  local s = {ns = ns, z = P .. ':u:' .. e, i = P .. ':i:' .. e .. ':', chunk = first_read, rank = 0}
  if cs ~= '' then s.rank = start_rank(s.z, labels(ns)) end
  if not load(s) then return false end
  streams[o], score[o] = s, tonumber(s.buf[2])
  return true
end

-- Each round takes the run of the first namespace's entries that come before the
-- runner-up, then puts that namespace back in order.
local out = {0, cs, cns, ckey}
local got, seen = 0, 0
while n > 0 do
  if got >= want or seen >= budget then
    out[1] = 1
    break
  end
  local o = heap[1]
  local s = streams[o]
  if not s then
    if open(o) then down(1) else drop_first() end
  else
    local bs, bo = math.huge, 0
    if n >= 2 then
      bo = heap[2]
      if n >= 3 then
        local c = heap[3]
        if score[c] < score[bo] or (score[c] == score[bo] and c < bo) then bo = c end
      end
      bs = score[bo]
    end
    local buf, bi, ik, sc = s.buf, s.bi, s.i, score[o]
    local live = true
    repeat
      local key = buf[bi]
      out[2], out[4] = buf[bi + 1], key
      seen = seen + 1
      local ek = key
      if string.find(key, '[^0-9A-Za-z]') then ek = esc(key) end
      if not conds then
        local h = redis.call('HMGET', ik .. ek, 'v', 'c', 'u', 't', 'nv')
        local nv = tonumber(h[5]) or 0
        if h[1] and not (unscored and nv > 0) then
          out[#out + 1] = {s.ns, key, h[1], h[2], h[3], h[4] or '', nv}
          got = got + 1
        end
      else
        local v, nv = nil, 0
        if unscored then
          local h = redis.call('HMGET', ik .. ek, 'v', 'nv')
          v, nv = h[1], tonumber(h[2]) or 0
        else
          v = redis.call('HGET', ik .. ek, 'v')
        end
        if v and nv == 0 and passes(conds, quick, v) then
          local h = redis.call('HMGET', ik .. ek, 'c', 'u', 't', 'nv')
          if h[2] then
            out[#out + 1] = {s.ns, key, v, h[1], h[2], h[3] or '', tonumber(h[4]) or 0}
            got = got + 1
          end
        end
      end
      bi = bi + 2
      if got >= want or seen >= budget then break end
      if bi > #buf then
        live = load(s)
        if not live then break end
        buf, bi = s.buf, 1
      end
      sc = tonumber(buf[bi + 1])
    until sc > bs or (sc == bs and o > bo)
    out[3] = s.ns
    if live then
      s.bi, score[o] = bi, sc
      down(1)
    else
      drop_first()
    end
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
    "GET",
    "NAMESPACES",
    "PUT",
    "REFRESH",
    "SEARCH",
    "SWEEP",
]
