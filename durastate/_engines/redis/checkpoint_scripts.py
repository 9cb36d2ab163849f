"""The Lua scripts behind the Redis checkpointers; each runs inside one thread's hash slot.

Per (thread, escaped namespace ``E``) under the thread's ``base`` key:
``c:E`` sorted set of checkpoint ids (lexicographic, all scores 0), ``k:E`` hash id ->
record, ``v:E`` id -> channel versions (msgpack ``[channel, version, ...]``), ``l:E`` id
-> lineage (msgpack ``[parent, delta depth, run id]``), ``m:E`` id -> metadata JSON (for
filters), ``b:E`` ``version NUL channel`` -> blob (each version stored once), ``w:E``
``id NUL msgpack[task, idx]`` -> pending write (4-byte header length, msgpack header
``[task, channel, type, task path, idx]``, value) and ``x:E`` the same names in a sorted set,
so one checkpoint's writes are a lexicographic range. ``base:n`` is the set of the
thread's escaped namespaces and exists exactly when the thread does.
"""

from __future__ import annotations

from durastate._engines.redis.requests import LuaScript

_PRELUDE = r"""
local function nskeys(base, ens)
  return {base .. ':c:' .. ens, base .. ':k:' .. ens, base .. ':v:' .. ens,
          base .. ':l:' .. ens, base .. ':m:' .. ens, base .. ':b:' .. ens,
          base .. ':w:' .. ens, base .. ':x:' .. ens}
end

-- ttl > 0: every key of the thread expires in ttl ms; ttl < 0: none expires.
local function touch(base, ttl)
  local n = base .. ':n'
  if ttl == 0 then return end
  if ttl < 0 then
    if redis.call('PTTL', n) < 0 then return end
  end
  local spaces = redis.call('SMEMBERS', n)
  local keys = {n}
  for _, ens in ipairs(spaces) do
    for _, key in ipairs(nskeys(base, ens)) do keys[#keys + 1] = key end
  end
  for _, key in ipairs(keys) do
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
  end
end

local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, 500 do
    local vals = redis.call('HMGET', key, unpack(fields, i, math.min(i + 499, #fields)))
    for j = 1, #vals do out[#out + 1] = vals[j] end
  end
  return out
end

local function hdel(key, fields)
  for i = 1, #fields, 500 do
    redis.call('HDEL', key, unpack(fields, i, math.min(i + 499, #fields)))
  end
end

local function write_fields(base, ens, cid)
  return redis.call('ZRANGE', base .. ':x:' .. ens, '[' .. cid .. '\0', '(' .. cid .. '\1',
                    'BYLEX')
end

-- {id, record, {channel, blob, ...}, {write, ...}, metadata json or ''} or nil
local function load(base, ens, cid, with_meta)
  local rec = redis.call('HGET', base .. ':k:' .. ens, cid)
  if not rec then return nil end
  local blobs = {}
  local vraw = redis.call('HGET', base .. ':v:' .. ens, cid)
  if vraw then
    local v = cmsgpack.unpack(vraw)
    local fields, chans = {}, {}
    for i = 1, #v, 2 do
      fields[#fields + 1] = v[i + 1] .. '\0' .. v[i]
      chans[#chans + 1] = v[i]
    end
    if #fields > 0 then
      local vals = hmget(base .. ':b:' .. ens, fields)
      for i = 1, #fields do
        if vals[i] then
          blobs[#blobs + 1] = chans[i]
          blobs[#blobs + 1] = vals[i]
        end
      end
    end
  end
  local writes = {}
  local wf = write_fields(base, ens, cid)
  if #wf > 0 then
    local vals = hmget(base .. ':w:' .. ens, wf)
    for i = 1, #wf do
      if vals[i] then writes[#writes + 1] = vals[i] end
    end
  end
  local meta = ''
  if with_meta then meta = redis.call('HGET', base .. ':m:' .. ens, cid) or '' end
  return {cid, rec, blobs, writes, meta}
end

-- A pending write: 4-byte header length, msgpack [task, channel, type, path, idx], value.
local function write_channel(raw)
  local b1, b2, b3, b4 = string.byte(raw, 1, 4)
  local size = ((b1 * 256 + b2) * 256 + b3) * 256 + b4
  return cmsgpack.unpack(string.sub(raw, 5, 4 + size))[2]
end

local function equal(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= 'table' then return a == b end
  for k, v in pairs(a) do
    if b[k] == nil or not equal(v, b[k]) then return false end
  end
  for k, _ in pairs(b) do
    if a[k] == nil then return false end
  end
  return true
end

-- A superset of the exact filter semantics; the client checks every match again.
local function matches(meta_json, filter)
  if not meta_json then return false end
  local ok, meta = pcall(cjson.decode, meta_json)
  if not ok or type(meta) ~= 'table' then return false end
  for k, v in pairs(filter) do
    if meta[k] == nil or not equal(meta[k], v) then return false end
  end
  return true
end
"""


def _script(name: str, body: str) -> LuaScript:
    return LuaScript(f"durastate_checkpoint_{name}", _PRELUDE + body)


PUT = _script(
    "put",
    r"""
-- KEYS[1] base:n; ARGV base, ens, id, record, versions, lineage, meta json, ttl, blobs...
local base, ens, cid = ARGV[1], ARGV[2], ARGV[3]
local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SADD', KEYS[1], ens)
local k = nskeys(base, ens)
redis.call('ZADD', k[1], 0, cid)
redis.call('HSET', k[2], cid, ARGV[4])
redis.call('HSET', k[3], cid, ARGV[5])
redis.call('HSET', k[4], cid, ARGV[6])
redis.call('HSET', k[5], cid, ARGV[7])
for i = 9, #ARGV, 2 do redis.call('HSET', k[6], ARGV[i], ARGV[i + 1]) end
touch(base, tonumber(ARGV[8]))
if fresh then return 1 end
return 0
""",
)

PUT_WRITES = _script(
    "put_writes",
    r"""
-- KEYS[1] base:n; ARGV base, ens, ttl, then (field, write, overwrite) triples
local base, ens = ARGV[1], ARGV[2]
local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('SADD', KEYS[1], ens)
local w, x = base .. ':w:' .. ens, base .. ':x:' .. ens
for i = 4, #ARGV, 3 do
  if ARGV[i + 2] == '1' then
    redis.call('HSET', w, ARGV[i], ARGV[i + 1])
    redis.call('ZADD', x, 0, ARGV[i])
  elseif redis.call('HSETNX', w, ARGV[i], ARGV[i + 1]) == 1 then
    redis.call('ZADD', x, 0, ARGV[i])
  end
end
touch(base, tonumber(ARGV[3]))
if fresh then return 1 end
return 0
""",
)

GET = _script(
    "get",
    r"""
-- KEYS[1] base:n; ARGV base, ens, id ('' = latest), ttl to refresh (0 = none)
local base, ens, cid = ARGV[1], ARGV[2], ARGV[3]
if cid == '' then
  local top = redis.call('ZRANGE', base .. ':c:' .. ens, '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)
  cid = top[1]
  if not cid then return {} end
end
local item = load(base, ens, cid, false)
if not item then return {} end
touch(base, tonumber(ARGV[4]))
return item
""",
)

LIST = _script(
    "list",
    r"""
-- KEYS[1] base:n; ARGV base, ens, all namespaces ('1'), id ('' = any), before ('' = none),
-- count (-1 = all), ttl to refresh, filter json ('' = none)
-- Answers {ens, exhausted, {item, ...}} per namespace, items newest first.
local base, all, scid, before = ARGV[1], ARGV[3] == '1', ARGV[4], ARGV[5]
local count, ttl = tonumber(ARGV[6]), tonumber(ARGV[7])
local filter = nil
if ARGV[8] ~= '' then filter = cjson.decode(ARGV[8]) end
local spaces = {ARGV[2]}
if all then spaces = redis.call('SMEMBERS', KEYS[1]) end
local out, any = {}, false
for _, ens in ipairs(spaces) do
  local found, exhausted = {}, 1
  local function consider(cid)
    if filter and not matches(redis.call('HGET', base .. ':m:' .. ens, cid), filter) then
      return
    end
    local item = load(base, ens, cid, filter ~= nil)
    if item then found[#found + 1] = item end
  end
  if scid ~= '' then
    consider(scid)
  else
    local c = base .. ':c:' .. ens
    local hi = '+'
    if before ~= '' then hi = '(' .. before end
    if filter == nil then
      local cids
      if count < 0 then
        cids = redis.call('ZRANGE', c, hi, '-', 'BYLEX', 'REV')
      else
        cids = redis.call('ZRANGE', c, hi, '-', 'BYLEX', 'REV', 'LIMIT', 0, count)
        if #cids >= count then exhausted = 0 end
      end
      for _, cid in ipairs(cids) do consider(cid) end
    else
      local batch = 64
      while true do
        local cids = redis.call('ZRANGE', c, hi, '-', 'BYLEX', 'REV', 'LIMIT', 0, batch)
        for _, cid in ipairs(cids) do
          if count >= 0 and #found >= count then break end
          consider(cid)
        end
        if count >= 0 and #found >= count then
          exhausted = 0
          break
        end
        if #cids < batch then break end
        hi = '(' .. cids[#cids]
      end
    end
  end
  if #found > 0 then any = true end
  out[#out + 1] = {ens, exhausted, found}
end
if any then touch(base, ttl) end
return out
""",
)

DELETE_THREAD = _script(
    "delete_thread",
    r"""
-- KEYS[1] base:n; ARGV base
for _, ens in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  redis.call('UNLINK', unpack(nskeys(ARGV[1], ens)))
end
return redis.call('UNLINK', KEYS[1])
""",
)

REMOVE = _script(
    "remove",
    r"""
-- KEYS[1] base:n; ARGV base, 'runs', run ids...  or  base, 'ids', (ens, n, ids...)...
-- Deletes checkpoints with their writes, then blobs no remaining checkpoint names.
-- Answers {checkpoints removed, whether the thread still exists}.
local base = ARGV[1]
local function drop(ens, cid)
  local k = nskeys(base, ens)
  if redis.call('ZREM', k[1], cid) == 0 then return 0 end
  redis.call('HDEL', k[2], cid)
  redis.call('HDEL', k[3], cid)
  redis.call('HDEL', k[4], cid)
  redis.call('HDEL', k[5], cid)
  hdel(k[7], write_fields(base, ens, cid))
  redis.call('ZREMRANGEBYLEX', k[8], '[' .. cid .. '\0', '(' .. cid .. '\1')
  return 1
end
local function collect(ens)
  local k = nskeys(base, ens)
  if redis.call('ZCARD', k[1]) == 0 then
    redis.call('UNLINK', unpack(k))
    redis.call('SREM', KEYS[1], ens)
    return
  end
  local used = {}
  for _, raw in ipairs(redis.call('HVALS', k[3])) do
    local v = cmsgpack.unpack(raw)
    for i = 1, #v, 2 do used[v[i + 1] .. '\0' .. v[i]] = true end
  end
  local stale = {}
  for _, f in ipairs(redis.call('HKEYS', k[6])) do
    if not used[f] then stale[#stale + 1] = f end
  end
  hdel(k[6], stale)
end
local removed = 0
if ARGV[2] == 'runs' then
  local runs = {}
  for i = 3, #ARGV do runs[ARGV[i]] = true end
  for _, ens in ipairs(redis.call('SMEMBERS', KEYS[1])) do
    local hit = false
    local flat = redis.call('HGETALL', base .. ':l:' .. ens)
    for i = 1, #flat, 2 do
      local lineage = cmsgpack.unpack(flat[i + 1])
      if runs[lineage[3]] then
        removed = removed + drop(ens, flat[i])
        hit = true
      end
    end
    if hit then collect(ens) end
  end
else
  local i = 3
  while i <= #ARGV do
    local ens, n = ARGV[i], tonumber(ARGV[i + 1])
    for j = 1, n do removed = removed + drop(ens, ARGV[i + 1 + j]) end
    collect(ens)
    i = i + 2 + n
  end
end
return {removed, redis.call('EXISTS', KEYS[1])}
""",
)

LINEAGE = _script(
    "lineage",
    r"""
-- KEYS[1] base:n; ARGV base.  Answers {ens, {id, lineage, ...}} per namespace.
local out = {}
for _, ens in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = {ens, redis.call('HGETALL', ARGV[1] .. ':l:' .. ens)}
end
return out
""",
)

EXPORT = _script(
    "export",
    r"""
-- KEYS[1] base:n; ARGV base.  Answers {ens, k, v, l, m, b, w} (flat hash contents).
local out = {}
for _, ens in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local k = nskeys(ARGV[1], ens)
  local entry = {ens}
  for s = 2, 7 do entry[#entry + 1] = redis.call('HGETALL', k[s]) end
  out[#out + 1] = entry
end
return out
""",
)

IMPORT = _script(
    "import",
    r"""
-- KEYS[1] base:n; ARGV base, ttl, then per namespace: ens and six (count, pairs...) sections
-- for k, v, l, m, b, w.  Merges into the thread; answers 1 when the thread is new.
local base = ARGV[1]
local fresh = redis.call('EXISTS', KEYS[1]) == 0
local i = 3
while i <= #ARGV do
  local ens = ARGV[i]
  i = i + 1
  local k = nskeys(base, ens)
  redis.call('SADD', KEYS[1], ens)
  for s = 1, 6 do
    local n = tonumber(ARGV[i])
    i = i + 1
    for j = 0, n - 1 do
      local f, v = ARGV[i + 2 * j], ARGV[i + 2 * j + 1]
      redis.call('HSET', k[s + 1], f, v)
      if s == 1 then redis.call('ZADD', k[1], 0, f) end
      if s == 6 then redis.call('ZADD', k[8], 0, f) end
    end
    i = i + 2 * n
  end
end
touch(base, tonumber(ARGV[2]))
if fresh then return 1 end
return 0
""",
)

HISTORY = _script(
    "history",
    r"""
-- KEYS[1] base:n; ARGV base, ens, id ('' = latest), ttl to refresh, channels...
-- Walks the parents of the checkpoint until every channel has a stored value. Answers
-- {ancestor id, {write, ...}, {channel, blob, ...}} per ancestor, nearest first; writes
-- are those to channels still looking for their value.
local base, ens, cid = ARGV[1], ARGV[2], ARGV[3]
local k = nskeys(base, ens)
if cid == '' then
  cid = redis.call('ZRANGE', k[1], '+', '-', 'BYLEX', 'REV', 'LIMIT', 0, 1)[1]
  if not cid then return {} end
end
local remaining, left = {}, 0
for i = 5, #ARGV do
  if not remaining[ARGV[i]] then
    remaining[ARGV[i]] = true
    left = left + 1
  end
end
local lineage = redis.call('HGET', k[4], cid)
if not lineage or not redis.call('HEXISTS', k[2], cid) then return {} end
local cursor = cmsgpack.unpack(lineage)[1]
local out = {}
while cursor ~= '' and left > 0 do
  local raw = redis.call('HGET', k[4], cursor)
  if not raw or redis.call('HEXISTS', k[2], cursor) == 0 then break end
  local writes = {}
  local wf = write_fields(base, ens, cursor)
  if #wf > 0 then
    local vals = hmget(k[7], wf)
    for i = 1, #wf do
      if vals[i] and remaining[write_channel(vals[i])] then
        writes[#writes + 1] = vals[i]
      end
    end
  end
  local seeds = {}
  local vraw = redis.call('HGET', k[3], cursor)
  if vraw then
    local v = cmsgpack.unpack(vraw)
    for i = 1, #v, 2 do
      if remaining[v[i]] then
        local blob = redis.call('HGET', k[6], v[i + 1] .. '\0' .. v[i])
        if blob and string.sub(blob, 1, 6) ~= 'empty\0' then
          seeds[#seeds + 1] = v[i]
          seeds[#seeds + 1] = blob
        end
      end
    end
  end
  out[#out + 1] = {cursor, writes, seeds}
  for i = 1, #seeds, 2 do
    if remaining[seeds[i]] then
      remaining[seeds[i]] = nil
      left = left - 1
    end
  end
  cursor = cmsgpack.unpack(raw)[1]
end
touch(base, tonumber(ARGV[4]))
return out
""",
)
