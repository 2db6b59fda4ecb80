"""The Redis scripts: one decides (and charges) every entry of a request atomically, one reconciles.

Both use the server's clock (``TIME``) so instances with skewed clocks still share one timeline, and
mirror the arithmetic of :mod:`litellm_accel_ratelimit.algorithms`. Numbers travel as strings
(``%.6f``) because Redis truncates Lua numbers to integers in replies.

DECIDE: ``KEYS[i]`` is entry i's key. ``ARGV = tokens, slot_id, slot_ttl, charge`` then per entry
``kind, limit, period, metric`` (metric ``t`` tokens, ``r`` requests, ``c`` slots). The reply is one
string, ``ok,remaining,retry_after,window_start`` per entry joined by ``;`` (one bulk
reply parses much faster in the client than a long array).

ADJUST: ``ARGV = n, slot_id`` then per entry ``kind, limit, period, delta, window_start`` (``""``: the
current window). Frees ``slot_id`` from slot entries, adds ``delta`` to rate entries.
"""

from __future__ import annotations

_COMMON = r"""
local EPS = 1e-6
local function f6(x) return string.format('%.6f', x) end
local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^|]+') do out[#out + 1] = tonumber(part) end
  return out
end
local function sliding_roll(raw, now, period)
  local aligned = math.floor(now / period) * period
  if not raw then return aligned, 0, 0 end
  local st = split(raw)
  local ws, cur = st[1], st[2]
  if ws == aligned then return ws, cur, st[3] end
  if math.abs(aligned - ws - period) < EPS then return aligned, 0, cur end
  return aligned, 0, 0
end
local function fixed_state(raw, now, period, first)
  if first then
    if not raw then return now, 0 end
    local st = split(raw)
    if now - st[1] >= period then return now, 0 end
    return st[1], st[2]
  end
  local ws = math.floor(now / period) * period
  if raw then
    local st = split(raw)
    if st[1] == ws then return ws, st[2] end
  end
  return ws, 0
end
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

DECIDE = (
    _COMMON
    + r"""
local tokens = tonumber(ARGV[1])
local slot_id = ARGV[2]
local slot_ttl = tonumber(ARGV[3])
local charge = ARGV[4] == '1'
local n = (#ARGV - 4) / 4
local specs = {}
for i = 1, n do
  local b = 4 + (i - 1) * 4
  specs[i] = {ARGV[b + 1], tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), ARGV[b + 4]}
end
local tcheck = tokens
if tcheck < 1 then tcheck = 1 end
local parts = {}
local writes = {}
local allowed = true
for i = 1, n do
  local kind, limit, period, metric = specs[i][1], specs[i][2], specs[i][3], specs[i][4]
  local key = KEYS[i]
  local check, consume = 1, 1
  if metric == 't' then check, consume = tcheck, tokens end
  local ok, rem, retry, ws, new = 0, 0, 0, 0, nil
  if kind == 'c' then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
    local used = redis.call('ZCARD', key)
    if used + 1 > limit then ok, rem, retry = 0, 0, 1
    else ok, rem = 1, limit - used - 1 end
  elseif kind == 'g' then
    local interval = period / limit
    local raw = redis.call('GET', key)
    local tat = now
    if raw then tat = tonumber(raw); if tat < now then tat = now end end
    if tat + check * interval - now > period + EPS then
      ok = 0
      retry = tat + check * interval - period - now
      if check > limit then retry = period end
      rem = math.floor((now + period - tat) / interval + EPS)
    else
      ok = 1
      local new_tat = tat + consume * interval
      rem = math.floor((now + period - new_tat) / interval + EPS)
      new = {f6(new_tat), math.ceil((new_tat - now) * 1000) + 1000}
    end
  elseif kind == 's' then
    local raw = redis.call('GET', key)
    local cur, prev
    ws, cur, prev = sliding_roll(raw, now, period)
    local weight = (period - (now - ws)) / period
    local used = prev * weight + cur
    if used + check > limit + EPS then
      ok = 0
      local need = used + check - limit
      if check > limit then retry = period
      elseif prev > 0 and prev * weight >= need then retry = need * period / prev
      else
        retry = ws + period - now
        if cur > 0 and cur + check > limit then retry = retry + period * (1 - (limit - check) / cur) end
      end
      rem = math.floor(limit - used + EPS)
    else
      ok = 1
      rem = math.floor(limit - used - consume + EPS)
      new = {f6(ws) .. '|' .. f6(cur + consume) .. '|' .. f6(prev), math.ceil((ws + 2 * period - now) * 1000) + 1000}
    end
  else
    local used
    ws, used = fixed_state(redis.call('GET', key), now, period, kind == 'F')
    if used + check > limit then
      ok = 0
      retry = ws + period - now
      if check > limit then retry = period end
      rem = limit - used
    else
      ok = 1
      rem = limit - used - consume
      new = {f6(ws) .. '|' .. f6(used + consume), math.ceil((ws + period - now) * 1000) + 1000}
    end
  end
  if ok == 0 then allowed = false end
  if rem < 0 then rem = 0 end
  if retry < 0 then retry = 0 end
  writes[i] = new
  -- Formatting is a large share of the script's time: integers and zeros go out as they are.
  local rem_s, retry_s, ws_s = '0', '0', '0'
  if rem ~= 0 then
    if rem == math.floor(rem) and rem < 1e14 then rem_s = tostring(rem) else rem_s = f6(rem) end
  end
  if retry ~= 0 then retry_s = f6(retry) end
  if ws ~= 0 then ws_s = f6(ws) end
  parts[#parts + 1] = ok .. ',' .. rem_s .. ',' .. retry_s .. ',' .. ws_s
end
if allowed and charge then
    for i = 1, n do
      local kind = specs[i][1]
      if kind == 'c' then
        redis.call('ZADD', KEYS[i], now + slot_ttl, slot_id)
        redis.call('PEXPIRE', KEYS[i], math.ceil(slot_ttl * 1000) + 1000)
      elseif writes[i] then
        redis.call('SET', KEYS[i], writes[i][1], 'PX', writes[i][2])
      end
    end
end
return table.concat(parts, ';')
"""
)

ADJUST = (
    _COMMON
    + r"""
local n = tonumber(ARGV[1])
local slot_id = ARGV[2]
for i = 1, n do
  local base = 2 + (i - 1) * 5
  local kind = ARGV[base + 1]
  local limit = tonumber(ARGV[base + 2])
  local period = tonumber(ARGV[base + 3])
  local delta = tonumber(ARGV[base + 4])
  local target = tonumber(ARGV[base + 5])
  local key = KEYS[i]
  if kind == 'c' then
    redis.call('ZREM', key, slot_id)
  elseif delta ~= 0 then
    if kind == 'g' then
      local interval = period / limit
      local raw = redis.call('GET', key)
      local tat = nil
      if raw then tat = tonumber(raw) end
      if delta > 0 then
        if not tat or tat < now then tat = now end
        tat = tat + delta * interval
      elseif tat then
        tat = tat + delta * interval
      end
      if tat and tat > now then
        redis.call('SET', key, f6(tat), 'PX', math.ceil((tat - now) * 1000) + 1000)
      elseif tat then
        redis.call('DEL', key)
      end
    elseif kind == 's' then
      local ws, cur, prev = sliding_roll(redis.call('GET', key), now, period)
      if not target then target = ws end
      local changed = true
      if target == ws then
        cur = cur + delta; if cur < 0 then cur = 0 end
      elseif math.abs(target + period - ws) < EPS then
        prev = prev + delta; if prev < 0 then prev = 0 end
      else changed = false end
      if changed then
        redis.call('SET', key, f6(ws) .. '|' .. f6(cur) .. '|' .. f6(prev), 'PX',
          math.ceil((ws + 2 * period - now) * 1000) + 1000)
      end
    else
      local raw = redis.call('GET', key)
      local first = kind == 'F'
      local ws, used = fixed_state(raw, now, period, first)
      local fresh = first and (not raw or ws == now)
      if not (fresh and target) and (not target or target == ws) then
        used = used + delta; if used < 0 then used = 0 end
        redis.call('SET', key, f6(ws) .. '|' .. f6(used), 'PX', math.ceil((ws + period - now) * 1000) + 1000)
      end
    end
  end
end
return 1
"""
)
