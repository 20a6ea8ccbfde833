package redisstore

import "github.com/redis/go-redis/v9"

// The Lua scripts. Each runs atomically on the keys it is given, and only on
// those (KEYS), so that Redis Cluster can route it; scripts with several keys
// are only given keys of one hash slot.
//
// Scripts never do arithmetic on versions or nanosecond times: Lua numbers
// are doubles and would round them. Versions are compared as strings (Go
// computes the next one), times with before, below. Milliseconds (below
// 2^53 until the year 2255) are safe as numbers.

// before reports whether a < b for non-negative decimal integers without
// leading zeros.
const luaBefore = `
local function before(a, b)
  if #a ~= #b then return #a < #b end
  return a < b
end
`

// saveScript is SaveSession's compare-and-swap.
//
// KEYS[1]: the record. ARGV: 1 the version read ("0": create), 2 the new
// version, 3 now (ns), 4 the save's nonce, 5 user, 6 folded user, 7 data,
// 8 created (ns), 9 last seen (ns), 10 expires (ns, clamped), 11 expires
// (ms, rounded up), 12 user agent, 13 how long an expired record is kept
// (ms), 14 kind, 15 account id, 16 auth time (ns; "" for none), 17 "1"
// when the owner's index entry was written (with this save's nonce) before
// this script was sent.
//
// A save that would give the record an owner it does not have (creating an
// owned record, or changing its owner to a named user) is applied only when
// ARGV[17] is "1": a record never belongs to a user whose index does not
// name it. Without it, such a save changes nothing and returns {2}.
//
// It returns {1} when the record was saved (or this very save, recognised by
// its nonce, was saved before: a retry after a lost reply), {1, owner, nonce}
// when the save moved the record away from another named owner (whose index
// entry written with nonce can go), {0} on a version conflict and {2} as
// above.
var saveScript = redis.NewScript(luaBefore + `
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'v', 'e', 'n', 'f')
local v, e, n, f = cur[1], cur[2], cur[3], cur[4]
if v and n == ARGV[4] and v == ARGV[2] then
  return {1}
end
local have = '0'
if v and before(ARGV[3], e) then have = v end
if have ~= ARGV[1] then return {0} end
if ARGV[6] ~= '' and ARGV[17] ~= '1' and (have == '0' or f ~= ARGV[6]) then
  return {2}
end
redis.call('HSET', key, 'v', ARGV[2], 'e', ARGV[10], 'n', ARGV[4], 'u', ARGV[5], 'f', ARGV[6],
  'd', ARGV[7], 'c', ARGV[8], 'l', ARGV[9], 'a', ARGV[12], 'k', ARGV[14], 'i', ARGV[15], 't', ARGV[16])
if before(ARGV[3], ARGV[10]) then
  redis.call('PEXPIREAT', key, ARGV[11])
else
  redis.call('PEXPIRE', key, ARGV[13])
end
if v and f and f ~= '' and f ~= ARGV[6] then
  return {1, f, n}
end
return {1}
`)

// luaIndex holds what the scripts on a user's session index share. An
// index is two keys of one hash slot: a sorted set of record ids (hex)
// scored by their entry's expiry (Unix ms), and a hash of record id →
// "expires:written:nonce" (Unix ms, Unix ms, the nonce of the save that
// last wrote the entry). Every script changes both together.
//
// keep extends the TTL of both keys, never shortens it, to the expiry exp
// (ms) plus as long again from now: until exp + (exp − now). Milliseconds
// are below 2^53, so they are exact as Lua numbers; fmt writes them back
// without an exponent.
const luaIndex = `
local function fmt(x) return string.format('%.0f', x) end
local function keep(z, h, exp, now)
  local at = exp
  if exp > now then at = exp + (exp - now) end
  local ttl = redis.call('PTTL', h)
  if ttl == -1 or (ttl >= 0 and ttl < at - now) then
    redis.call('PEXPIREAT', h, fmt(at))
    redis.call('PEXPIREAT', z, fmt(at))
  end
end
local function entryExp(v)
  return tonumber(string.match(v or '', '^(%d+):') or '0')
end
`

// indexScript writes one entry of a user's session index and, for a
// login, returns some of the index's expired entries, for the caller to
// check against their records.
//
// KEYS: 1 the index's sorted set, 2 its hash (one hash slot). ARGV: 1 the
// record id (hex), 2 the record's expiry (ms), 3 now (ms), 4 the save's
// nonce, 5 how many expired entries to return at most (0: none).
//
// The entry's expiry is the latest any save wrote, so that a save that
// lost (and wrote a shorter one) cannot make it look expired while its
// record lives. It returns {id1, entry1, id2, entry2, ...}: entries other
// than the one written whose expiry is not after now, earliest first, at
// most ARGV[5] of them. Its work grows with the log of the index's size,
// not with its size.
var indexScript = redis.NewScript(luaIndex + `
local z, h, id = KEYS[1], KEYS[2], ARGV[1]
local now = tonumber(ARGV[3])
local exp = math.max(tonumber(ARGV[2]), entryExp(redis.call('HGET', h, id)),
  tonumber(redis.call('ZSCORE', z, id) or '0'))
redis.call('HSET', h, id, fmt(exp) .. ':' .. ARGV[3] .. ':' .. ARGV[4])
redis.call('ZADD', z, fmt(exp), id)
local out = {}
local limit = tonumber(ARGV[5])
if limit > 0 then
  local ids = redis.call('ZRANGEBYSCORE', z, '-inf', ARGV[3], 'LIMIT', 0, limit + 1)
  for _, other in ipairs(ids) do
    if other ~= id and #out < 2 * limit then
      out[#out + 1] = other
      out[#out + 1] = redis.call('HGET', h, other) or ''
    end
  end
end
keep(z, h, exp, now)
return out
`)

// indexFixScript removes, repairs and adds entries of a user's session
// index, as a caller decided after reading them and their records.
//
// KEYS: 1 the index's sorted set, 2 its hash (one hash slot). ARGV: 1 now
// (ms), then triples of an operation, a record id (hex) and its operand:
//
//   - "d", id, nonce: remove the entry if it was last written with nonce,
//     so that an entry written again since the caller read it stays (and
//     an id in the sorted set without an entry in the hash, which no
//     script leaves, goes).
//   - "r", id, expiry (ms): raise the entry's expiry to the one given (its
//     record's), keeping its nonce; an entry missing or later is left.
//   - "m", id, "expires:written:nonce": add the entry unless there is one
//     (then raise its expiry as "r" does): an entry moved from an index of
//     the earlier layout.
//
// It returns how many entries it removed.
var indexFixScript = redis.NewScript(luaIndex + `
local z, h = KEYS[1], KEYS[2]
local now = tonumber(ARGV[1])
local n = 0
for i = 2, #ARGV, 3 do
  local op, id, arg = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local v = redis.call('HGET', h, id)
  if op == 'd' then
    if not v then
      redis.call('ZREM', z, id)
    elseif string.sub(v, -(#arg + 1)) == ':' .. arg then
      redis.call('HDEL', h, id)
      redis.call('ZREM', z, id)
      n = n + 1
    end
  else
    local exp = tonumber(string.match(arg, '^(%d+)') or '0')
    if v and entryExp(v) < exp then
      redis.call('HSET', h, id, fmt(exp) .. (string.match(v, '^%d*(:.*)$') or '::'))
      redis.call('ZADD', z, fmt(exp), id)
      keep(z, h, exp, now)
    elseif not v and op == 'm' then
      redis.call('HSET', h, id, arg)
      redis.call('ZADD', z, fmt(exp), id)
      keep(z, h, exp, now)
    end
  end
end
return n
`)

// legacyPruneScript removes entries of a session index of the earlier
// layout (one hash per user: record id → "expires:written:nonce"), each
// only if it was last written with the nonce given: an entry written again
// since the caller read it (by a process of the earlier version) stays.
//
// KEYS[1]: the index. ARGV: pairs of record id (hex) and nonce. It returns
// how many entries it removed.
var legacyPruneScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and string.sub(v, -(#ARGV[i + 1] + 1)) == ':' .. ARGV[i + 1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n
`)

// deleteScript removes a record.
//
// KEYS[1]: the record. ARGV: 1 now (ns), 2 "any" to remove the record
// whoever owns it, or "owner" to remove it only if its folded owner is
// 3.
//
// It returns {0} when there is no record, {1, owner, nonce} when it removed
// a live record, {2, owner, nonce} when it removed an expired one, and
// {3, owner, nonce} when it kept a record of another owner. owner is folded;
// nonce is that of the record's last save.
var deleteScript = redis.NewScript(luaBefore + `
local cur = redis.call('HMGET', KEYS[1], 'f', 'e', 'n')
local f, e, n = cur[1], cur[2], cur[3]
if not n then return {0} end
if ARGV[2] == 'owner' and f ~= ARGV[3] then return {3, f, n} end
redis.call('DEL', KEYS[1])
if before(ARGV[1], e) then return {1, f, n} end
return {2, f, n}
`)

// denyScript adds a deny-list entry, keeping the later of two times.
//
// KEYS[1]: the entry. ARGV: 1 until (ns, clamped), 2 until (ms, rounded up).
var denyScript = redis.NewScript(luaBefore + `
local cur = redis.call('GET', KEYS[1])
if cur and not before(cur, ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`)

// setPasswordScript replaces an account's password hash and Updated time.
// An account is "@len(id):id" (missing in one written before accounts had
// ids), then "created:updated:len(name):name" followed by the hash. The
// id is kept as it is.
//
// KEYS[1]: the accounts. ARGV: 1 the folded name, 2 the new hash, 3 updated
// (ns). It returns 1, or 0 when there is no such account.
var setPasswordScript = redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local id = ''
if string.sub(v, 1, 1) == '@' then
  local size, rest = string.match(v, '^@(%d+):(.*)$')
  if not size or tonumber(size) > #rest then
    return redis.error_reply('malformed account ' .. ARGV[1])
  end
  id = string.sub(v, 1, #v - #rest + tonumber(size))
  v = string.sub(rest, tonumber(size) + 1)
end
local created, n, rest = string.match(v, '^(%-?%d+):%-?%d+:(%d+):(.*)$')
if not created then return redis.error_reply('malformed account ' .. ARGV[1]) end
local name = string.sub(rest, 1, tonumber(n))
redis.call('HSET', KEYS[1], ARGV[1], id .. created .. ':' .. ARGV[3] .. ':' .. n .. ':' .. name .. ARGV[2])
return 1
`)

// assignIDsScript gives accounts written before accounts had ids one,
// unless a concurrent call gave them one first: of concurrent readers of
// such an account, every one gets the same id.
//
// KEYS[1]: the accounts. ARGV: pairs of folded name and a new random id.
// It returns, for each pair, the account as it then is, or nil when there
// is no such account.
var assignIDsScript = redis.NewScript(`
local out = {}
for i = 1, #ARGV, 2 do
  local v = redis.call('HGET', KEYS[1], ARGV[i])
  if v and string.sub(v, 1, 1) ~= '@' then
    v = '@' .. #ARGV[i + 1] .. ':' .. ARGV[i + 1] .. v
    redis.call('HSET', KEYS[1], ARGV[i], v)
  end
  out[#out + 1] = v or false
end
return out
`)

// addCountScript adds to a counter, a hash of its value (n) and expiry
// (e, ns). A counter that is missing, or has expired by the store's clock
// though Redis still holds it, starts from zero with the new expiry; a
// live one keeps its expiry. A counter whose value falls to zero or below
// is removed. Values are added by HINCRBY and compared as strings, so they
// are exact whatever their size.
//
// The counter keeps the nonce of the last add (x), so that an add retried
// after its reply was lost is not counted twice (unless another add came
// in between).
//
// KEYS[1]: the counter. ARGV: 1 delta, 2 now (ns, clamped), 3 the expiry
// of a new counter (ns, clamped), 4 the same (ms, rounded up), 5 the
// add's nonce. It returns {value, expiry (ns)}, the expiry "" when the
// counter was removed.
var addCountScript = redis.NewScript(luaBefore + `
local key = KEYS[1]
local cur = redis.call('HMGET', key, 'e', 'x')
local e = cur[1]
local fresh = not e or not before(ARGV[2], e)
if not fresh and cur[2] == ARGV[5] then
  return {redis.call('HGET', key, 'n'), e}
end
if fresh then
  e = ARGV[3]
  redis.call('HSET', key, 'n', '0', 'e', e)
end
redis.call('HINCRBY', key, 'n', ARGV[1])
redis.call('HSET', key, 'x', ARGV[5])
local n = redis.call('HGET', key, 'n')
if n == '0' or string.sub(n, 1, 1) == '-' then
  redis.call('DEL', key)
  return {n, ''}
end
if fresh then redis.call('PEXPIREAT', key, ARGV[4]) end
return {n, e}
`)

// addKeyScript adds a key to a purpose unless its ID is taken.
//
// KEYS: 1 the purpose's ID list, 2 its key hash (one hash slot). ARGV: 1 the
// ID, 2 the key. It returns 1, or 0 when the ID is taken.
var addKeyScript = redis.NewScript(`
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`)

// deleteKeyScript removes a key from a purpose.
//
// KEYS: 1 the purpose's ID list, 2 its key hash (one hash slot). ARGV: 1 the
// ID. It returns 1, or 0 when there is no such key.
var deleteKeyScript = redis.NewScript(`
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('LREM', KEYS[1], 0, ARGV[1])
return 1
`)

// luaKeys holds what the scripts that change a purpose's keys share. A
// key (a value of the purpose's hash) is "@created:signs:retires:"
// followed by the secret, the times in Unix nanoseconds, signs and retires
// "" for the zero time; or, written before keys had SignsFrom and Retires,
// "created:" followed by the secret, which starts with a digit or '-',
// never with '@'. The secret may hold any bytes, colons included.
//
// keyHead returns the length of a key's part before its secret (up to
// and with the colon that ends it), or nil when the key is malformed.
// retiring returns the key with retires set to at, or nil when it is
// retiring already; a key in the earlier layout is rewritten in the new
// one. It must only be given a key keyHead accepts.
const luaKeys = `
local function keyHead(v)
  if string.sub(v, 1, 1) ~= '@' then
    local a = string.find(v, ':', 1, true)
    return a
  end
  local a = string.find(v, ':', 2, true)
  local b = a and string.find(v, ':', a + 1, true)
  local c = b and string.find(v, ':', b + 1, true)
  return c
end
local function retiring(v, at)
  if string.sub(v, 1, 1) ~= '@' then
    local a = string.find(v, ':', 1, true)
    return '@' .. string.sub(v, 1, a) .. ':' .. at .. string.sub(v, a)
  end
  local a = string.find(v, ':', 2, true)
  local b = string.find(v, ':', a + 1, true)
  local c = string.find(v, ':', b + 1, true)
  if c ~= b + 1 then return nil end
  return string.sub(v, 1, b) .. at .. string.sub(v, c)
end
`

// addFirstKeyScript adds a key to a purpose only when the purpose has
// none. The ID list of a purpose without keys should be empty; it is
// cleared anyway, so that the key is the only one it names.
//
// KEYS: 1 the purpose's ID list, 2 its key hash (one hash slot). ARGV: 1 the
// ID, 2 the key. It returns 1, or 0 when the purpose has a key.
var addFirstKeyScript = redis.NewScript(`
if redis.call('HLEN', KEYS[2]) > 0 then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`)

// rotateKeyScript adds a key to a purpose unless its ID is taken, and
// sets the retirement time of every other key of the purpose that is not
// retiring yet. It reads every key before it writes any, so that a
// malformed key fails it having changed nothing.
//
// KEYS: 1 the purpose's ID list, 2 its key hash (one hash slot). ARGV: 1 the
// ID, 2 the key, 3 the retirement time (Unix ns; "" to retire nothing). It
// returns 1, or 0 when the ID is taken.
var rotateKeyScript = redis.NewScript(luaKeys + `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
if ARGV[3] ~= '' then
  local all = redis.call('HGETALL', KEYS[2])
  local changed = {}
  for i = 1, #all, 2 do
    if not keyHead(all[i + 1]) then return redis.error_reply('malformed key ' .. all[i]) end
    local v = retiring(all[i + 1], ARGV[3])
    if v then
      changed[#changed + 1] = all[i]
      changed[#changed + 1] = v
    end
  end
  for i = 1, #changed, 2 do
    redis.call('HSET', KEYS[2], changed[i], changed[i + 1])
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('RPUSH', KEYS[1], ARGV[1])
return 1
`)

// replaceKeySecretScript replaces a key's secret if it is still the one
// expected, keeping the rest of the key (its times, in the layout it has).
//
// KEYS[1]: the purpose's key hash. ARGV: 1 the ID, 2 the secret expected,
// 3 the new secret. It returns 1, 0 when there is no such key, and 2 when
// its secret is not the one expected (changing nothing).
var replaceKeySecretScript = redis.NewScript(luaKeys + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local h = keyHead(v)
if not h then return redis.error_reply('malformed key ' .. ARGV[1]) end
if string.sub(v, h + 1) ~= ARGV[2] then return 2 end
redis.call('HSET', KEYS[1], ARGV[1], string.sub(v, 1, h) .. ARGV[3])
return 1
`)

// keysScript reads a purpose's keys in the order added.
//
// KEYS: 1 the purpose's ID list, 2 its key hash (one hash slot). It returns
// {id1, key1, id2, key2, ...}.
var keysScript = redis.NewScript(`
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
local out = {}
for _, id in ipairs(ids) do
  local k = redis.call('HGET', KEYS[2], id)
  if k then
    out[#out + 1] = id
    out[#out + 1] = k
  end
end
return out
`)

// luaFields reads and writes a passkey or a list of credential IDs: a
// sequence of fields, each its length in decimal, a colon and its bytes
// (netstrings without the trailing comma), so that any bytes may be kept.
// fields returns nil for a value that is not such a sequence.
const luaFields = `
local function fields(v)
  local out, pos = {}, 1
  while pos <= #v do
    local c = string.find(v, ':', pos, true)
    if not c then return nil end
    local n = tonumber(string.sub(v, pos, c - 1))
    if not n or n < 0 or c + n > #v then return nil end
    out[#out + 1] = string.sub(v, c + 1, c + n)
    pos = c + n + 1
  end
  return out
end
local function join(f)
  local parts = {}
  for i = 1, #f do parts[i] = #f[i] .. ':' .. f[i] end
  return table.concat(parts)
end
local function passkey(key, id)
  local v = redis.call('HGET', key, id)
  if not v then return nil end
  local f = fields(v)
  if not f or #f < 12 then error('malformed passkey') end
  return f
end
`

// A passkey is the fields, in order: 1 account id, 2 user, 3 name, 4
// public key, 5 AAGUID, 6 transports (themselves such fields), 7 sign
// count (decimal), 8 backup eligible and 9 backup state ("1" or "0"), 10
// created and 11 last used (ns, "" for the zero time), 12 the nonce of the
// call that last wrote the counter (add or use). Scripts keep fields they
// do not know. An account's passkeys are the fields of its credential IDs
// in the order added.

// addPasskeyScript adds a passkey unless its credential ID is taken, and
// appends the ID to its account's.
//
// KEYS: 1 the passkeys, 2 the accounts' credential IDs (one hash slot).
// ARGV: 1 the credential ID, 2 the account id, 3 the passkey, 4 the add's
// nonce, which the passkey holds too. It returns 1, or 0 when the ID is
// taken (by another passkey than this very add, retried after a lost
// reply).
var addPasskeyScript = redis.NewScript(luaFields + `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local f = fields(cur)
  if f and f[12] == ARGV[4] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local ids = redis.call('HGET', KEYS[2], ARGV[2]) or ''
redis.call('HSET', KEYS[2], ARGV[2], ids .. #ARGV[1] .. ':' .. ARGV[1])
return 1
`)

// accountPasskeysScript reads an account's passkeys in the order added.
//
// KEYS: 1 the passkeys, 2 the accounts' credential IDs (one hash slot).
// ARGV: 1 the account id. It returns {id1, passkey1, id2, passkey2, ...}.
var accountPasskeysScript = redis.NewScript(luaFields + `
local ids = redis.call('HGET', KEYS[2], ARGV[1])
if not ids then return {} end
local list = fields(ids)
if not list then return redis.error_reply('malformed passkey list') end
local out = {}
for _, id in ipairs(list) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    out[#out + 1] = id
    out[#out + 1] = v
  end
end
return out
`)

// usePasskeyScript records a login with a passkey, in one step with the
// check that its signature counter increased: the new count must be
// greater than the stored one, unless both are zero.
//
// KEYS[1]: the passkeys. ARGV: 1 the credential ID, 2 the new count, 3
// the backup state ("1" or "0"), 4 the time of use (ns), 5 the call's
// nonce. It returns 1, 0 when there is no such passkey, and 2 when the
// counter did not increase (changing nothing). A call retried after its
// reply was lost finds its own nonce and returns 1 again, unless another
// call came in between.
var usePasskeyScript = redis.NewScript(luaFields + `
local f = passkey(KEYS[1], ARGV[1])
if not f then return 0 end
if f[12] == ARGV[5] then return 1 end
local have, new = tonumber(f[7]), tonumber(ARGV[2])
if not have then return redis.error_reply('malformed passkey') end
if not (new > have or (new == 0 and have == 0)) then return 2 end
f[7], f[9], f[11], f[12] = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
redis.call('HSET', KEYS[1], ARGV[1], join(f))
return 1
`)

// renamePasskeyScript sets the name of a passkey of one account.
//
// KEYS[1]: the passkeys. ARGV: 1 the credential ID, 2 the account id, 3
// the name. It returns 1, or 0 when the account has no such passkey.
var renamePasskeyScript = redis.NewScript(luaFields + `
local f = passkey(KEYS[1], ARGV[1])
if not f or f[1] ~= ARGV[2] then return 0 end
f[3] = ARGV[3]
redis.call('HSET', KEYS[1], ARGV[1], join(f))
return 1
`)

// deletePasskeyScript removes a passkey of one account, and its
// credential ID from the account's.
//
// KEYS: 1 the passkeys, 2 the accounts' credential IDs (one hash slot).
// ARGV: 1 the credential ID, 2 the account id. It returns 1, or 0 when the
// account has no such passkey.
var deletePasskeyScript = redis.NewScript(luaFields + `
local f = passkey(KEYS[1], ARGV[1])
if not f or f[1] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local ids = fields(redis.call('HGET', KEYS[2], ARGV[2]) or '') or {}
local kept = {}
for _, id in ipairs(ids) do
  if id ~= ARGV[1] then kept[#kept + 1] = id end
end
if #kept == 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
else
  redis.call('HSET', KEYS[2], ARGV[2], join(kept))
end
return 1
`)

// deleteUserScript removes an account and, in the same step, its
// passkeys. An account written before accounts had ids (no "@len(id):id")
// has none: a passkey names the id of its account, which that account gets
// the first time it is read.
//
// KEYS: 1 the accounts, 2 the passkeys, 3 the accounts' credential IDs
// (one hash slot). ARGV: 1 the folded name. It returns 1, or 0 when there
// is no such account. It changes nothing and fails when the account or its
// list of passkeys is malformed, rather than leave passkeys behind.
var deleteUserScript = redis.NewScript(luaFields + `
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local ids = {}
local id
if string.sub(v, 1, 1) == '@' then
  local size, rest = string.match(v, '^@(%d+):(.*)$')
  if not size or tonumber(size) > #rest then
    return redis.error_reply('malformed account ' .. ARGV[1])
  end
  id = string.sub(rest, 1, tonumber(size))
  ids = fields(redis.call('HGET', KEYS[3], id) or '')
  if not ids then return redis.error_reply('malformed passkey list of ' .. ARGV[1]) end
end
redis.call('HDEL', KEYS[1], ARGV[1])
for _, cred in ipairs(ids) do redis.call('HDEL', KEYS[2], cred) end
if id then redis.call('HDEL', KEYS[3], id) end
return 1
`)

// scripts lists every script, for tests.
var scripts = map[string]*redis.Script{
	"save":        saveScript,
	"index":       indexScript,
	"indexFix":    indexFixScript,
	"legacyPrune": legacyPruneScript,
	"delete":      deleteScript,
	"deny":        denyScript,
	"setPassword": setPasswordScript,
	"assignIDs":   assignIDsScript,
	"addCount":    addCountScript,
	"addKey":      addKeyScript,
	"deleteKey":   deleteKeyScript,
	"keys":        keysScript,

	"addFirstKey":      addFirstKeyScript,
	"rotateKey":        rotateKeyScript,
	"replaceKeySecret": replaceKeySecretScript,

	"addPasskey":      addPasskeyScript,
	"accountPasskeys": accountPasskeysScript,
	"usePasskey":      usePasskeyScript,
	"renamePasskey":   renamePasskeyScript,
	"deletePasskey":   deletePasskeyScript,
	"deleteUser":      deleteUserScript,
}
