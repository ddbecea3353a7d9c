/* Review queues in Redis, the pure part: routing, key layout, entry encoding and the Lua scripts.
 */
#include "queues.h"

#include <assert.h>
#include <errno.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "langtag.h"
#include "rules.h"
/* ---- scripts ----
 * Each runs atomically in Redis. A script stops at the first failing call
 * without undoing what it did, so every call that can fail comes before the
 * first write, or cannot fail once the group exists (hence the guarded
 * XGROUP CREATE first). */

/* Lua shared by the scripts that keep the claim index. The waiting entries
 * (those the pool holds) of band stream KEY are indexed by language and by
 * the reviewer they exclude, so that a claim finds the oldest one a reviewer
 * may take without looking at those they may not. All in fixed keys:
 *   KEY:ix        sorted set, every score 0, ordered by member: for each
 *                 language key L of an entry, "L\0POS\0ID" when it excludes
 *                 nobody, "L\1R\0POS\0ID" when reviewer R may not take it
 *   KEY:ix:heads  sorted set, score 0: "L\0POS\0ID\0R", the first entry of
 *                 every non-empty "L\1R\0" range
 *   KEY:ix:n      how many entries KEY:ix holds
 * L is "*" (every entry) and the tag's first one, two and three subtags,
 * lowercased ("sr", "sr-latn", "sr-latn-rs"): RFC 4647 basic filtering for
 * ranges language[-script][-region] (langtag_match; the same cases are
 * tested on both sides). ID is the stream id and POS its milliseconds and
 * sequence padded to 15 and 20 digits, so that members sort as the stream.
 * A claim reads, per band and range L, the first member of the "L\0" range
 * of KEY:ix and the first two of KEY:ix:heads (one may be the claimant's
 * own): O(log N), whatever else waits.
 *
 * Only the claim checks that the index is whole (ix_ensure): every other
 * script changes pool and index together, so a difference stays until then.
 * It rebuilds the index from the pool when the count differs from the pool's:
 * entries enqueued before the index existed (an upgrade), or by an older
 * arbiterd during a rolling upgrade. */
#define QUEUES_LUA_INDEX                                                                           \
	"local function ix_langs(lang)\n"                                                          \
	"  local ks = {'*'}\n"                                                                     \
	"  lang = string.lower(lang or '')\n"                                                      \
	"  if lang == '' or #lang > 64 or string.find(lang, '[^a-z0-9%-]')"                        \
	" or string.find(lang, '^%-') or string.find(lang, '%-$')"                                 \
	" or string.find(lang, '%-%-') then return ks end\n"                                       \
	"  local p\n"                                                                              \
	"  for sub in string.gmatch(lang, '[^%-]+') do\n"                                          \
	"    p = p and (p .. '-' .. sub) or sub\n"                                                 \
	"    ks[#ks + 1] = p\n"                                                                    \
	"    if #ks > 3 then break end\n"                                                          \
	"  end\n"                                                                                  \
	"  return ks\n"                                                                            \
	"end\n"                                                                                    \
	"local function ix_pos(id)\n"                                                              \
	"  local ms, seq = string.match(id, '^(%d+)%-(%d+)$')\n"                                   \
	"  if not ms or #ms > 15 or #seq > 20 then return nil end\n"                               \
	"  return string.rep('0', 15 - #ms) .. ms .. string.rep('0', 20 - #seq) .. seq\n"          \
	"end\n"                                                                                    \
	"local function ix_fields(f, first)\n"                                                     \
	"  local lang, excl = '', ''\n"                                                            \
	"  for i = first or 1, #f - 1, 2 do\n"                                                     \
	"    if f[i] == 'lang' then lang = f[i + 1]\n"                                             \
	"    elseif f[i] == 'exclude' then excl = f[i + 1] end\n"                                  \
	"  end\n"                                                                                  \
	"  return lang, excl\n"                                                                    \
	"end\n"                                                                                    \
	"local function ix_first(k, prefix, n)\n"                                                  \
	"  return redis.call('ZRANGEBYLEX', k, '[' .. prefix .. '\\0', '(' .. prefix .. '\\1',"    \
	" 'LIMIT', 0, n)\n"                                                                        \
	"end\n"                                                                                    \
	"local function ix_xhead(ix, l, r)\n"                                                      \
	"  local h = ix_first(ix, l .. '\\1' .. r, 1)[1]\n"                                        \
	"  return h and string.sub(h, #l + #r + 3)\n"                                              \
	"end\n"                                                                                    \
	"local function ix_change(key, id, lang, excl, add)\n"                                     \
	"  local pos = ix_pos(id)\n"                                                               \
	"  if not pos then return end\n"                                                           \
	"  local ix, hk, ls, ms, before = key .. ':ix', key .. ':ix:heads', ix_langs(lang), {},"   \
	" {}\n"                                                                                    \
	"  for i, l in ipairs(ls) do\n"                                                            \
	"    if excl == '' then ms[#ms + 1] = l .. '\\0' .. pos .. '\\0' .. id\n"                  \
	"    else\n"                                                                               \
	"      ms[#ms + 1] = l .. '\\1' .. excl .. '\\0' .. pos .. '\\0' .. id\n"                  \
	"      before[i] = ix_xhead(ix, l, excl) or ''\n"                                          \
	"    end\n"                                                                                \
	"  end\n"                                                                                  \
	"  local n\n"                                                                              \
	"  if add then\n"                                                                          \
	"    local args = {}\n"                                                                    \
	"    for i, m in ipairs(ms) do args[2 * i - 1] = 0; args[2 * i] = m end\n"                 \
	"    n = redis.call('ZADD', ix, unpack(args))\n"                                           \
	"  else\n"                                                                                 \
	"    n = redis.call('ZREM', ix, unpack(ms))\n"                                             \
	"  end\n"                                                                                  \
	"  if excl ~= '' then\n"                                                                   \
	"    for i, l in ipairs(ls) do\n"                                                          \
	"      local after = ix_xhead(ix, l, excl) or ''\n"                                        \
	"      if after ~= before[i] then\n"                                                       \
	"        if before[i] ~= '' then\n"                                                        \
	"          redis.call('ZREM', hk, l .. '\\0' .. before[i] .. '\\0' .. excl)\n"             \
	"        end\n"                                                                            \
	"        if after ~= '' then\n"                                                            \
	"          redis.call('ZADD', hk, 0, l .. '\\0' .. after .. '\\0' .. excl)\n"              \
	"        end\n"                                                                            \
	"      end\n"                                                                              \
	"    end\n"                                                                                \
	"  end\n"                                                                                  \
	"  if n > 0 then redis.call('INCRBY', key .. ':ix:n', add and 1 or -1) end\n"              \
	"end\n"

/* The second half of it: rebuilding and checking a stream's index. A
 * rebuild reads the pool a thousand entries at a time, their fields with one
 * XRANGE, and writes each page with a few ZADDs; the heads last. */
#define QUEUES_LUA_ENSURE                                                                          \
	"local function ix_rebuild(key)\n"                                                         \
	"  local ix, hk = key .. ':ix', key .. ':ix:heads'\n"                                      \
	"  redis.call('DEL', ix, hk, key .. ':ix:n')\n"                                            \
	"  local start, n, xs = '-', 0, {}\n"                                                      \
	"  while true do\n"                                                                        \
	"    local pend = redis.pcall('XPENDING', key, '" QUEUES_GROUP "', start, '+', 1000,"      \
	" '" QUEUES_POOL "')\n"                                                                    \
	"    if type(pend) ~= 'table' or pend.err or #pend == 0 then break end\n"                  \
	"    local waiting, args = {}, {}\n"                                                       \
	"    for _, p in ipairs(pend) do waiting[p[1]] = true end\n"                               \
	"    start = '(' .. pend[#pend][1]\n"                                                      \
	"    for _, e in ipairs(redis.call('XRANGE', key, pend[1][1], pend[#pend][1])) do\n"       \
	"      local pos = waiting[e[1]] and ix_pos(e[1])\n"                                       \
	"      waiting[e[1]] = nil\n"                                                              \
	"      if pos then\n"                                                                      \
	"        local lang, excl = ix_fields(e[2])\n"                                             \
	"        n = n + 1\n"                                                                      \
	"        for _, l in ipairs(ix_langs(lang)) do\n"                                          \
	"          args[#args + 1] = 0\n"                                                          \
	"          if excl == '' then args[#args + 1] = l .. '\\0' .. pos .. '\\0' .. e[1]\n"      \
	"          else\n"                                                                         \
	"            args[#args + 1] = l .. '\\1' .. excl .. '\\0' .. pos .. '\\0' .. e[1]\n"      \
	"            xs[l .. '\\1' .. excl] = {l, excl}\n"                                         \
	"          end\n"                                                                          \
	"        end\n"                                                                            \
	"      end\n"                                                                              \
	"    end\n"                                                                                \
	"    for id in pairs(waiting) do redis.call('XACK', key, '" QUEUES_GROUP "', id) end\n"    \
	"    for i = 1, #args, 2000 do\n"                                                          \
	"      redis.call('ZADD', ix, unpack(args, i, math.min(i + 1999, #args)))\n"               \
	"    end\n"                                                                                \
	"  end\n"                                                                                  \
	"  for _, x in pairs(xs) do\n"                                                             \
	"    local h = ix_xhead(ix, x[1], x[2])\n"                                                 \
	"    if h then redis.call('ZADD', hk, 0, x[1] .. '\\0' .. h .. '\\0' .. x[2]) end\n"       \
	"  end\n"                                                                                  \
	"  if n > 0 then redis.call('SET', key .. ':ix:n', n) end\n"                               \
	"end\n"                                                                                    \
	"local function ix_ensure(key)\n"                                                          \
	"  local pool = 0\n"                                                                       \
	"  local p = redis.pcall('XPENDING', key, '" QUEUES_GROUP "')\n"                           \
	"  if type(p) == 'table' and not p.err and p[4] then\n"                                    \
	"    for _, c in ipairs(p[4]) do\n"                                                        \
	"      if c[1] == '" QUEUES_POOL "' then pool = tonumber(c[2]) end\n"                      \
	"    end\n"                                                                                \
	"  end\n"                                                                                  \
	"  local n = tonumber(redis.call('GET', key .. ':ix:n') or '0')\n"                         \
	"  if n ~= pool then ix_rebuild(key) end\n"                                                \
	"end\n"

static const char script_enqueue[] =
	"if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"local max = tonumber(ARGV[2])\n"
	"if max > 0 then\n"
	"  local n = 0\n"
	"  for i = 5, 8 do n = n + redis.call('XLEN', KEYS[i]) end\n"
	"  if n >= max then return -1 end\n"
	"end\n"
	"redis.pcall('XGROUP', 'CREATE', KEYS[2], '" QUEUES_GROUP "', '$', 'MKSTREAM')\n"
	"local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 5))\n"
	"redis.call('XREADGROUP', 'GROUP', '" QUEUES_GROUP "', '" QUEUES_POOL "', 'COUNT', 1,"
	" 'STREAMS', KEYS[2], '>')\n"
	"redis.call('SET', KEYS[1], ARGV[4] .. ' ' .. id)\n"
	"redis.call('ZADD', KEYS[3], ARGV[1], ARGV[3])\n"
	"redis.call('ZADD', KEYS[4], ARGV[1], ARGV[3])\n"
	"local lang, excl = ix_fields(ARGV, 5)\n"
	"ix_change(KEYS[2], id, lang, excl, true)\n"
	"return 1\n";

/* Bands in order; within a band, the oldest entry of the heads of the
 * reviewer's ranges, each the oldest of "no exclusion" and "excluding someone
 * else". An index that disagrees with its stream (an entry claimed or
 * deleted by hand) is rebuilt, and the search goes on. */
static const char script_claim[] =
	"local me, ls = ARGV[1], {}\n"
	"if ARGV[2] == '' then ls[1] = '*' end\n"
	"for l in string.gmatch(string.lower(ARGV[2]), '[^,]+') do\n"
	"  if l == '*' or not string.find(l, '[^a-z0-9%-]') then ls[#ls + 1] = l end\n"
	"end\n"
	"for b = 1, #KEYS do\n"
	"  local key = KEYS[b]\n"
	"  local ix = key .. ':ix'\n"
	"  ix_ensure(key)\n"
	"  for _ = 1, 3 do\n"
	"    local bpos, bid\n"
	"    for _, l in ipairs(ls) do\n"
	"      local h = ix_first(ix, l, 1)[1]\n"
	"      if h then\n"
	"        local pos = string.sub(h, #l + 2, #l + 36)\n"
	"        if not bpos or pos < bpos then bpos, bid = pos, string.sub(h, #l + 38) end\n"
	"      end\n"
	"      for _, m in ipairs(ix_first(ix .. ':heads', l, 2)) do\n"
	"        local pos = string.sub(m, #l + 2, #l + 36)\n"
	"        local id, r = string.match(string.sub(m, #l + 38), '^([^%z]*)%z(.*)$')\n"
	"        if id and r ~= me then\n"
	"          if not bpos or pos < bpos then bpos, bid = pos, id end\n"
	"          break\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"    if not bid then break end\n"
	"    local e = redis.call('XRANGE', key, bid, bid)\n"
	"    local p = redis.call('XPENDING', key, '" QUEUES_GROUP "', bid, bid, 1)\n"
	"    local f = e[1] and e[1][2]\n"
	"    if f and p[1] and p[1][2] == '" QUEUES_POOL "' then\n"
	"      local lang, excl = ix_fields(f)\n"
	"      ix_change(key, bid, lang, excl, false)\n"
	"      redis.call('XCLAIM', key, '" QUEUES_GROUP "', me, 0, bid)\n"
	"      return {b - 1, bid, f}\n"
	"    end\n"
	"    if not f and p[1] then redis.call('XACK', key, '" QUEUES_GROUP "', bid) end\n"
	"    ix_rebuild(key)\n"
	"  end\n"
	"end\n"
	"return false\n";

/* The decided entry leaves its stream and both SLA sets; its dedupe key
 * stays for the dedupe TTL, so that a late redelivery adds nothing. A claimed
 * entry is not in the claim index, so the index has nothing to lose. */
static const char script_ack[] =
	"local p = redis.pcall('XPENDING', KEYS[1], '" QUEUES_GROUP "', ARGV[1], ARGV[1], 1)\n"
	"if type(p) ~= 'table' or p.err or #p == 0 then\n"
	"  return redis.error_reply('NOTCLAIMED the entry is not claimed: decided already, or"
	" not in this queue')\n"
	"end\n"
	"if p[1][2] ~= ARGV[2] then\n"
	"  return redis.error_reply('NOTYOURS the entry is held by ' .. p[1][2] .. ': the lease"
	" expired and it was reclaimed')\n"
	"end\n"
	"redis.call('XACK', KEYS[1], '" QUEUES_GROUP "', ARGV[1])\n"
	"redis.call('XDEL', KEYS[1], ARGV[1])\n"
	"redis.call('ZREM', KEYS[2], ARGV[3])\n"
	"redis.call('ZREM', KEYS[3], ARGV[3])\n"
	"redis.call('SET', KEYS[4], 'decided', 'PX', ARGV[4])\n"
	"return 1\n";

/* Lua shared by reclaim and sweep: raise(K, ID, F, SEEN) moves the entry ID
 * (fields F) of band stream KEYS[K], which the pool holds, to the urgent
 * stream KEYS[1], keeping its fields, moving it in the claim index and
 * pointing its dedupe key SEEN at the new place. */
#define QUEUES_LUA_RAISE                                                                           \
	"local function raise(k, id, f, seen)\n"                                                   \
	"  local lang, excl = ix_fields(f)\n"                                                      \
	"  ix_change(KEYS[k], id, lang, excl, false)\n"                                            \
	"  local from, q = '', ''\n"                                                               \
	"  for j = 1, #f, 2 do\n"                                                                  \
	"    if f[j] == 'band' then from = f[j + 1]; f[j + 1] = 'urgent'\n"                        \
	"    elseif f[j] == 'queue' then q = f[j + 1] end\n"                                       \
	"  end\n"                                                                                  \
	"  f[#f + 1] = 'raised_from'\n"                                                            \
	"  f[#f + 1] = from\n"                                                                     \
	"  redis.pcall('XGROUP', 'CREATE', KEYS[1], '" QUEUES_GROUP "', '$', 'MKSTREAM')\n"        \
	"  local nid = redis.call('XADD', KEYS[1], '*', unpack(f))\n"                              \
	"  redis.call('XREADGROUP', 'GROUP', '" QUEUES_GROUP "', '" QUEUES_POOL "',"               \
	" 'COUNT', 1, 'STREAMS', KEYS[1], '>')\n"                                                  \
	"  redis.call('XACK', KEYS[k], '" QUEUES_GROUP "', id)\n"                                  \
	"  redis.call('XDEL', KEYS[k], id)\n"                                                      \
	"  redis.call('SET', seen, q .. ' urgent ' .. nid)\n"                                      \
	"  ix_change(KEYS[1], nid, lang, excl, true)\n"                                            \
	"end\n"

/* XAUTOCLAIM cannot tell the pool's own idle entries from expired leases,
 * so leases are found per reviewer. An entry that comes back past its
 * deadline is raised then: the sweeper passed it while it was claimed. */
static const char script_reclaim[] =
	"local n, raised, now = 0, 0, tonumber(ARGV[2])\n"
	"for b = 1, #KEYS do\n"
	"  local cs = redis.pcall('XINFO', 'CONSUMERS', KEYS[b], '" QUEUES_GROUP "')\n"
	"  if type(cs) == 'table' and not cs.err then\n"
	"    for _, c in ipairs(cs) do\n"
	"      local name = c[2]\n"
	"      if name ~= '" QUEUES_POOL "' then\n"
	"        local pend = redis.call('XPENDING', KEYS[b], '" QUEUES_GROUP "', 'IDLE', ARGV[1],"
	" '-', '+', 1000, name)\n"
	"        for _, p in ipairs(pend) do\n"
	"          local e = redis.call('XCLAIM', KEYS[b], '" QUEUES_GROUP "', '" QUEUES_POOL
	"', 0, p[1])\n"
	"          local f = e[1] and e[1][2]\n"
	"          if f then\n"
	"            n = n + 1\n"
	"            local due, esc\n"
	"            for j = 1, #f, 2 do\n"
	"              if f[j] == 'deadline_ms' then due = tonumber(f[j + 1])\n"
	"              elseif f[j] == 'id' then esc = f[j + 1] end\n"
	"            end\n"
	"            if b > 1 and due and esc and due <= now then\n"
	"              raise(b, p[1], f, ARGV[3] .. esc)\n"
	"              raised = raised + 1\n"
	"            else\n"
	"              local lang, excl = ix_fields(f)\n"
	"              ix_change(KEYS[b], p[1], lang, excl, true)\n"
	"            end\n"
	"          end\n"
	"        end\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {n, raised}\n";

/* Entries due by now leave the to-do set, each counted once whichever
 * instance sweeps; those waiting in a lower band move to urgent. One that a
 * reviewer holds stays with them; reclaim raises it if it comes back. */
static const char script_sweep[] =
	"local due = redis.call('ZRANGEBYSCORE', KEYS[5], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])\n"
	"local overdue, raised = 0, 0\n"
	"local bands = {urgent = 1, high = 2, normal = 3, low = 4}\n"
	"for _, esc in ipairs(due) do\n"
	"  overdue = overdue + 1\n"
	"  redis.call('ZREM', KEYS[5], esc)\n"
	"  local loc = redis.call('GET', ARGV[2] .. esc) or ''\n"
	"  local band, id = string.match(loc, '^%S+ (%S+) (%S+)$')\n"
	"  local k = band and bands[band]\n"
	"  if k and k > 1 then\n"
	"    local p = redis.pcall('XPENDING', KEYS[k], '" QUEUES_GROUP "', id, id, 1)\n"
	"    if type(p) == 'table' and not p.err and #p == 1 and p[1][2] == '" QUEUES_POOL
	"' then\n"
	"      local e = redis.call('XRANGE', KEYS[k], id, id)\n"
	"      if #e == 1 then\n"
	"        raise(k, id, e[1][2], ARGV[2] .. esc)\n"
	"        raised = raised + 1\n"
	"      end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return {overdue, raised}\n";

/* What `arbiterctl queues` and the daemon's gauges show, read in one atomic
 * call: entries past their deadline (KEYS[5] is the SLA index), then per
 * band stream its length, the entries the pool holds (waiting) and the
 * reviewers hold (claimed), and the time in ms of its oldest entry (its
 * stream id's first part; -1 when empty). A stream or group not created yet
 * counts as empty. Reads only. */
static const char script_stats[] =
	"local out = {redis.call('ZCOUNT', KEYS[5], '-inf', ARGV[1])}\n"
	"for b = 1, 4 do\n"
	"  local depth, waiting, claimed, oldest = redis.call('XLEN', KEYS[b]), 0, 0, -1\n"
	"  if depth > 0 then\n"
	"    local cs = redis.pcall('XINFO', 'CONSUMERS', KEYS[b], '" QUEUES_GROUP "')\n"
	"    if type(cs) == 'table' and not cs.err then\n"
	"      for _, c in ipairs(cs) do\n"
	"        local name, pending = nil, 0\n"
	"        for i = 1, #c - 1, 2 do\n"
	"          if c[i] == 'name' then name = c[i + 1]\n"
	"          elseif c[i] == 'pending' then pending = c[i + 1] end\n"
	"        end\n"
	"        if name == '" QUEUES_POOL "' then waiting = waiting + pending\n"
	"        else claimed = claimed + pending end\n"
	"      end\n"
	"    end\n"
	"    local first = redis.call('XRANGE', KEYS[b], '-', '+', 'COUNT', 1)\n"
	"    if #first == 1 then oldest = tonumber(string.match(first[1][1], '^(%d+)')) end\n"
	"  end\n"
	"  out[#out + 1] = depth\n"
	"  out[#out + 1] = waiting\n"
	"  out[#out + 1] = claimed\n"
	"  out[#out + 1] = oldest\n"
	"end\n"
	"return out\n";

/* Lua shared by the decision scripts. The hash KEY (PREFIX decision:CONTENT)
 * holds every decision on the content by id, "d:ID" = "DECIDED_MS ACTOR
 * ACTION REVIEWER", and "current" = the id of the decision an appeal that
 * names none is against. That one is the best by: a human decision (any
 * actor but AUTOMATED) before an automated one, then the later decided_ms,
 * then the greater id, so it does not depend on the order decisions arrive
 * in. Past QUEUES_DECISIONS_MAX decisions the oldest other than the current
 * one is forgotten. dec_migrate turns the layout before (the last decision's
 * fields) into this one. */
#define QUEUES_LUA_DECISIONS                                                                       \
	"local function dec_parse(v)\n"                                                            \
	"  local ms, actor, action, reviewer =\n"                                                  \
	"    string.match(v or '', '^(%S+) (%S*) (%S*) (.*)$')\n"                                  \
	"  return tonumber(ms) or 0, actor or '', action or '', reviewer or '', ms or '0'\n"       \
	"end\n"                                                                                    \
	"local function dec_beats(ia, va, ib, vb)\n"                                               \
	"  local ta, ka = dec_parse(va)\n"                                                         \
	"  local tb, kb = dec_parse(vb)\n"                                                         \
	"  local ha, hb = ka ~= 'AUTOMATED', kb ~= 'AUTOMATED'\n"                                  \
	"  if ha ~= hb then return ha end\n"                                                       \
	"  if ta ~= tb then return ta > tb end\n"                                                  \
	"  return ia > ib\n"                                                                       \
	"end\n"                                                                                    \
	"local function dec_migrate(k)\n"                                                          \
	"  local o = redis.call('HMGET', k, 'decision_id', 'decided_ms', 'actor', 'action',"       \
	" 'reviewer')\n"                                                                           \
	"  if not o[1] then return end\n"                                                          \
	"  redis.call('HDEL', k, 'decision_id', 'decided_ms', 'actor', 'action', 'reviewer')\n"    \
	"  redis.call('HSET', k, 'd:' .. o[1], (o[2] or '0') .. ' ' .. (o[3] or '') .. ' ' .."     \
	" (o[4] or '') .. ' ' .. (o[5] or ''), 'current', o[1])\n"                                 \
	"end\n"                                                                                    \
	"local function dec_add(k, id, v)\n"                                                       \
	"  dec_migrate(k)\n"                                                                       \
	"  redis.call('HSET', k, 'd:' .. id, v)\n"                                                 \
	"  local cur = redis.call('HGET', k, 'current')\n"                                         \
	"  local cv = cur and redis.call('HGET', k, 'd:' .. cur)\n"                                \
	"  local won = 0\n"                                                                        \
	"  if not cv or cur == id or dec_beats(id, v, cur, cv) then\n"                             \
	"    redis.call('HSET', k, 'current', id)\n"                                               \
	"    cur, won = id, 1\n"                                                                   \
	"  end\n"                                                                                  \
	"  if redis.call('HLEN', k) > DEC_MAX + 1 then\n"                                          \
	"    local all, old, ot = redis.call('HGETALL', k)\n"                                      \
	"    for i = 1, #all, 2 do\n"                                                              \
	"      local f = all[i]\n"                                                                 \
	"      if string.sub(f, 1, 2) == 'd:' and string.sub(f, 3) ~= cur then\n"                  \
	"        local t = dec_parse(all[i + 1])\n"                                                \
	"        if not old or t < ot then old, ot = all[i], t end\n"                              \
	"      end\n"                                                                              \
	"    end\n"                                                                                \
	"    if old then redis.call('HDEL', k, old) end\n"                                         \
	"  end\n"                                                                                  \
	"  return won\n"                                                                           \
	"end\n"

/* Records a decision; answers 1 when it is now the current one. */
static const char script_decision[] =
	"local won = dec_add(KEYS[1], ARGV[6], ARGV[2] .. ' ' .. ARGV[4] .. ' ' .. ARGV[3] .. ' ' .."
	" ARGV[5])\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[1])\n"
	"return won\n";

/* The appeal remembers the decision it is against when it is filed: the one
 * it names, else the content's current one; a later decision on the content
 * does not change who may not resolve it. A redelivered appeal finds what it
 * remembered. */
static const char script_appeal_file[] =
	"if redis.call('EXISTS', KEYS[2]) == 0 then\n"
	"  dec_migrate(KEYS[1])\n"
	"  local named = ARGV[4] or ''\n"
	"  local id = named ~= '' and named or redis.call('HGET', KEYS[1], 'current')\n"
	"  local v = id and redis.call('HGET', KEYS[1], 'd:' .. id)\n"
	"  if not v and named ~= '' then\n"
	"    return redis.error_reply('" QUEUES_REFUSAL_UNKNOWN_DECISION " ' .."
	" string.sub(named, 1, 100) .. ', which content ' .. string.sub(ARGV[2], 1, 100) .."
	" ' does not have (never recorded, or forgotten after review.decision_ttl)')\n"
	"  end\n"
	"  if not v then return redis.error_reply('" QUEUES_REFUSAL_NO_DECISION "') end\n"
	"  local _, actor, action, reviewer, ms = dec_parse(v)\n"
	"  redis.call('HSET', KEYS[2], 'content_id', ARGV[2], 'filed_ms', ARGV[3],"
	" 'original_action', action, 'original_reviewer', reviewer, 'decision_id', id,"
	" 'original_actor', actor, 'original_decided_ms', ms, 'named', named ~= '' and '1' or '0')\n"
	"  redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
	"end\n"
	"return redis.call('HMGET', KEYS[2], 'original_action', 'original_reviewer', 'decision_id',"
	" 'filed_ms')\n";

/* A reversal or a modification is a human decision on the content, recorded
 * as any other. */
static const char script_appeal_resolve[] =
	"local a = redis.call('HMGET', KEYS[1], 'original_action', 'original_reviewer',"
	" 'decision_id', 'filed_ms', 'resolved_by')\n"
	"if not a[1] then return redis.error_reply('" QUEUES_REFUSAL_NO_APPEAL "') end\n"
	"if a[2] ~= '' and a[2] == ARGV[2] then\n"
	"  return redis.error_reply('" QUEUES_REFUSAL_SAME_REVIEWER "')\n"
	"end\n"
	"if not a[5] then\n"
	"  redis.call('HSET', KEYS[1], 'resolved_by', ARGV[2], 'outcome', ARGV[3], 'resolved_ms',"
	" ARGV[5])\n"
	"  if ARGV[3] ~= 'UPHELD' then\n"
	"    dec_add(KEYS[2], ARGV[6], ARGV[5] .. ' HUMAN ' .. ARGV[4] .. ' ' .. ARGV[2])\n"
	"    redis.call('EXPIRE', KEYS[2], ARGV[1])\n"
	"  end\n"
	"end\n"
	"return {a[1], a[2], a[3], a[4]}\n";

/* C99 promises string literals of 4095 bytes, fewer than some scripts hold:
 * each is put together from its pieces once, before its hash is needed. */
static const char lua_index[] = QUEUES_LUA_INDEX, lua_ensure[] = QUEUES_LUA_ENSURE,
		  lua_raise[] = QUEUES_LUA_RAISE, lua_decisions[] = QUEUES_LUA_DECISIONS,
		  lua_decisions_max[] = "local DEC_MAX = " QUEUES_STR(QUEUES_DECISIONS_MAX) "\n";
#define QUEUES_SCRIPT_PIECES 5
static const char *const script_pieces[QUEUES__SCRIPTS][QUEUES_SCRIPT_PIECES] = {
	[QUEUES_ENQUEUE] = {lua_index, script_enqueue},
	[QUEUES_CLAIM] = {lua_index, lua_ensure, script_claim},
	[QUEUES_ACK] = {script_ack},
	[QUEUES_RECLAIM] = {lua_index, lua_raise, script_reclaim},
	[QUEUES_SWEEP] = {lua_index, lua_raise, script_sweep},
	[QUEUES_DECISION] = {lua_decisions_max, lua_decisions, script_decision},
	[QUEUES_APPEAL_FILE] = {lua_decisions_max, lua_decisions, script_appeal_file},
	[QUEUES_APPEAL_RESOLVE] = {lua_decisions_max, lua_decisions, script_appeal_resolve},
	[QUEUES_STATS] = {script_stats},
};
#define QUEUES_SCRIPT_MAX 16384
static char script_bodies[QUEUES__SCRIPTS][QUEUES_SCRIPT_MAX];
static const char *const script_names[QUEUES__SCRIPTS] = {
	[QUEUES_ENQUEUE] = "enqueue",
	[QUEUES_CLAIM] = "claim",
	[QUEUES_ACK] = "ack",
	[QUEUES_RECLAIM] = "reclaim",
	[QUEUES_SWEEP] = "sweep",
	[QUEUES_DECISION] = "decision",
	[QUEUES_APPEAL_FILE] = "appeal-file",
	[QUEUES_APPEAL_RESOLVE] = "appeal-resolve",
	[QUEUES_STATS] = "stats",
};
static char script_shas[QUEUES__SCRIPTS][41];
static pthread_once_t script_shas_once = PTHREAD_ONCE_INIT;

static void queues_hash_scripts(void)
{
	for (int s = 0; s < QUEUES__SCRIPTS; s++) {
		size_t len = 0;
		for (int i = 0; i < QUEUES_SCRIPT_PIECES && script_pieces[s][i]; i++) {
			size_t n = strlen(script_pieces[s][i]);
			if (len + n >= QUEUES_SCRIPT_MAX)
				abort(); /* a fact of this file: the scripts fit */
			memcpy(script_bodies[s] + len, script_pieces[s][i], n);
			len += n;
		}
		script_bodies[s][len] = '\0';
		unsigned char md[EVP_MAX_MD_SIZE];
		unsigned int n = 0;
		EVP_Digest(script_bodies[s], strlen(script_bodies[s]), md, &n, EVP_sha1(), NULL);
		for (unsigned i = 0; i < n && i < 20; i++)
			snprintf(&script_shas[s][2 * i], 3, "%02x", md[i]);
	}
}

const char *queues_script_body(enum queues_script s)
{
	pthread_once(&script_shas_once, queues_hash_scripts);
	return script_bodies[s];
}

const char *queues_script_sha(enum queues_script s)
{
	pthread_once(&script_shas_once, queues_hash_scripts);
	return script_shas[s];
}

const char *queues_script_name(enum queues_script s)
{
	return script_names[s];
}

/* ---- routing ---- */

static bool queues_has(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(v[i], s))
			return true;
	return false;
}

/* The most specific of queue Q's languages that covers LANG: its number of
 * subtags, 0 when none does. */
static int queues_lang_score(const struct config_queue *q, const char *lang)
{
	int best = 0;
	for (size_t i = 0; lang && i < q->n_languages; i++) {
		int m = langtag_match(q->languages[i], lang);
		best = m > best ? m : best;
	}
	return best;
}

const struct config_queue *queues_route(const struct config *cfg, const char *queue,
					const char *lang, const char *country)
{
	const struct config_queue *best = NULL;
	int best_score = 0;
	for (size_t i = 0; i < cfg->review.n_queues; i++) {
		const struct config_queue *q = &cfg->review.queues[i];
		if (!q->serves || strcmp(q->serves, queue))
			continue;
		int lang_score = queues_lang_score(q, lang);
		if (q->n_languages && !lang_score)
			continue;
		if (q->n_countries &&
		    !(country && queues_has(q->countries, q->n_countries, country)))
			continue;
		/* Languages weigh more than countries, a longer tag more than a
		 * shorter one: (sr-Latn) > (sr, RS) > (sr) > (RS). */
		int score = 2 * lang_score + (q->n_countries ? 1 : 0);
		if (score > best_score) {
			best = q;
			best_score = score;
		}
	}
	return best ? best : config_queue_find(cfg, queue);
}

int64_t queues_deadline(const struct config_queue *q, enum config_band b, int64_t base_ms,
			uint32_t rule_sla_s)
{
	uint32_t sla = rule_sla_s;
	if (q && (unsigned)b < CONFIG_BANDS && q->sla_s[b] && (!sla || q->sla_s[b] < sla))
		sla = q->sla_s[b];
	/* Input times are validated to [2000, 3000); saturate anyway rather than wrap. */
	int64_t deadline;
	if (__builtin_add_overflow(base_ms, (int64_t)sla * 1000, &deadline))
		return INT64_MAX;
	return deadline;
}

enum config_band queues_band(Arbiter__V1__Band b)
{
	switch (b) {
	case ARBITER__V1__BAND__URGENT:
		return CONFIG_BAND_URGENT;
	case ARBITER__V1__BAND__HIGH:
		return CONFIG_BAND_HIGH;
	case ARBITER__V1__BAND__LOW:
		return CONFIG_BAND_LOW;
	default:
		return CONFIG_BAND_NORMAL;
	}
}

Arbiter__V1__Band queues_band_pb(enum config_band b)
{
	static const Arbiter__V1__Band map[CONFIG_BANDS] = {
		ARBITER__V1__BAND__URGENT, ARBITER__V1__BAND__HIGH, ARBITER__V1__BAND__NORMAL,
		ARBITER__V1__BAND__LOW};
	return (unsigned)b < CONFIG_BANDS ? map[b] : ARBITER__V1__BAND__NORMAL;
}

enum config_band queues_appeal_band(Arbiter__V1__Action original)
{
	int removal = rules_action_severity(ARBITER__V1__ACTION__REMOVE);
	return rules_action_severity(original) >= removal ? CONFIG_BAND_HIGH : CONFIG_BAND_NORMAL;
}

int queues_band_parse(const char *s)
{
	for (int b = 0; b < CONFIG_BANDS; b++)
		if (!strcmp(s, config_band_name((enum config_band)b)))
			return b;
	return -1;
}

/* ---- keys ---- */

void queues_key_stream(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue,
		       enum config_band b)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sq:%.64s:%s", prefix, queue, config_band_name(b));
}

void queues_key_sla(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64ssla:%.64s", prefix, queue);
}

void queues_key_todo(char out[QUEUES_KEY_MAX], const char *prefix, const char *queue)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64ssla:%.64s:todo", prefix, queue);
}

void queues_key_seen(char out[QUEUES_KEY_MAX], const char *prefix, const char *escalation_id)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sseen:%.64s", prefix, escalation_id);
}

void queues_key_decision(char out[QUEUES_KEY_MAX], const char *prefix, const char *content_id)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sdecision:%.100s", prefix, content_id);
}

void queues_key_appeal(char out[QUEUES_KEY_MAX], const char *prefix, const char *appeal_id)
{
	snprintf(out, QUEUES_KEY_MAX, "%.64sappeal:%.100s", prefix, appeal_id);
}

/* ---- the enqueue command ---- */

/* Builds strings into one heap block, then points the vectors at them: the
 * block's final address is known only once every string is written. */
struct queues_builder {
	char *heap;
	size_t len, cap;
	size_t *offs; /* into heap, or SIZE_MAX for an external argument */
	const char **ext;
	size_t *lens;
	int argc, max;
	bool oom;
};

static void qb_reserve(struct queues_builder *b, size_t more)
{
	if (b->oom || b->len + more <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 1024;
	while (cap < b->len + more)
		cap *= 2;
	char *h = realloc(b->heap, cap);
	if (!h) {
		b->oom = true;
		return;
	}
	b->heap = h;
	b->cap = cap;
}

static void qb_add(struct queues_builder *b, const char *s, size_t len)
{
	if (b->oom || b->argc == b->max) {
		b->oom = true;
		return;
	}
	qb_reserve(b, len + 1);
	if (b->oom)
		return;
	memcpy(b->heap + b->len, s, len);
	b->heap[b->len + len] = '\0';
	b->offs[b->argc] = b->len;
	b->lens[b->argc++] = len;
	b->len += len + 1;
}

static void qb_str(struct queues_builder *b, const char *s)
{
	qb_add(b, s ? s : "", s ? strlen(s) : 0);
}

static void qb_i64(struct queues_builder *b, int64_t v)
{
	char n[24];
	qb_add(b, n, (size_t)snprintf(n, sizeof(n), "%" PRId64, v));
}

/* An argument the command points to without copying (the packed record). */
static void qb_ext(struct queues_builder *b, const void *p, size_t len)
{
	if (b->oom || b->argc == b->max) {
		b->oom = true;
		return;
	}
	b->offs[b->argc] = SIZE_MAX;
	b->ext[b->argc] = p;
	b->lens[b->argc++] = len;
}

static void qb_join(struct queues_builder *b, char *const *v, size_t n)
{
	size_t len = 0;
	for (size_t i = 0; i < n; i++)
		len += strlen(v[i]) + 1;
	char *s = malloc(len + 1), *w = s;
	if (!s) {
		b->oom = true;
		return;
	}
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s%s", i ? "," : "", v[i]);
	*w = '\0';
	qb_add(b, s, (size_t)(w - s));
	free(s);
}

#define QUEUES_MAX_ARGS 60

static void qb_init(struct queues_builder *b, enum queues_script s)
{
	memset(b, 0, sizeof(*b));
	b->max = QUEUES_MAX_ARGS;
	b->offs = calloc(b->max, sizeof(*b->offs));
	b->ext = calloc(b->max, sizeof(*b->ext));
	b->lens = calloc(b->max, sizeof(*b->lens));
	if (!b->offs || !b->ext || !b->lens)
		b->oom = true;
	qb_str(b, "EVALSHA");
	qb_str(b, queues_script_sha(s));
}

/* The four band streams of queue NAME, as keys. */
static void qb_band_keys(struct queues_builder *b, const char *prefix, const char *name)
{
	char key[QUEUES_KEY_MAX];
	for (int i = 0; i < CONFIG_BANDS; i++) {
		queues_key_stream(key, prefix, name, (enum config_band)i);
		qb_str(b, key);
	}
}

static int qb_finish(struct queues_builder *b, enum queues_script s, struct queues_cmd *out)
{
	out->argv = b->oom ? NULL : calloc((size_t)b->argc, sizeof(*out->argv));
	if (!out->argv) {
		free(b->heap);
		free(b->offs);
		free(b->ext);
		free(b->lens);
		return -ENOMEM;
	}
	for (int i = 0; i < b->argc; i++)
		out->argv[i] = b->offs[i] == SIZE_MAX ? b->ext[i] : b->heap + b->offs[i];
	out->script = s;
	out->body = out->name = NULL;
	out->argc = b->argc;
	out->lens = b->lens;
	out->heap = b->heap;
	free(b->offs);
	free(b->ext);
	return 0;
}

int queues_enqueue_cmd(const struct config *cfg, const struct config_queue *q,
		       const Arbiter__V1__Escalation *es, const uint8_t *packed, size_t packed_len,
		       const char *exclude, struct queues_cmd *out)
{
	return queues_enqueue_appeal_cmd(cfg, q, es, packed, packed_len, exclude, NULL, out);
}

int queues_enqueue_appeal_cmd(const struct config *cfg, const struct config_queue *q,
			      const Arbiter__V1__Escalation *es, const uint8_t *packed,
			      size_t packed_len, const char *exclude, const char *appeal_id,
			      struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX], loc[QUEUES_KEY_MAX];
	const char *prefix = cfg->redis.prefix;
	enum config_band band = queues_band(es->band);
	memset(out, 0, sizeof(*out));
	qb_init(&b, QUEUES_ENQUEUE);
	qb_str(&b, "8");
	queues_key_seen(key, prefix, es->escalation_id);
	qb_str(&b, key);
	queues_key_stream(key, prefix, q->name, band);
	qb_str(&b, key);
	queues_key_sla(key, prefix, q->name);
	qb_str(&b, key);
	queues_key_todo(key, prefix, q->name);
	qb_str(&b, key);
	qb_band_keys(&b, prefix, q->name);
	qb_i64(&b, es->deadline_ms);
	qb_i64(&b, q->max_length);
	qb_str(&b, es->escalation_id);
	snprintf(loc, sizeof(loc), "%.64s %s", q->name, config_band_name(band));
	qb_str(&b, loc);

	static const char *const fields[] = {
		"id",         "content_id", "event_id", "queue",     "band",      "deadline_ms",
		"created_ms", "lang",       "country",  "rules",     "ruleset",   "modes",
		"evidence",   "action",     "exclude",  "appeal_id", "escalation"};
	static_assert(sizeof(fields) / sizeof(fields[0]) == 17, "one name per field written below");
	const ProtobufCEnumValue *action =
		protobuf_c_enum_descriptor_get_value(&arbiter__v1__action__descriptor, es->action);
	size_t f = 0;
	qb_str(&b, fields[f++]);
	qb_str(&b, es->escalation_id);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->content_id);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->event_id);
	qb_str(&b, fields[f++]);
	qb_str(&b, q->name);
	qb_str(&b, fields[f++]);
	qb_str(&b, config_band_name(band));
	qb_str(&b, fields[f++]);
	qb_i64(&b, es->deadline_ms);
	qb_str(&b, fields[f++]);
	qb_i64(&b, es->created_at_ms);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->lang);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->country);
	qb_str(&b, fields[f++]);
	qb_join(&b, es->rule_ids, es->n_rule_ids);
	qb_str(&b, fields[f++]);
	qb_str(&b, es->ruleset_version);
	qb_str(&b, fields[f++]);
	qb_join(&b, es->modes, es->n_modes);
	qb_str(&b, fields[f++]);
	qb_join(&b, es->evidence, es->n_evidence);
	qb_str(&b, fields[f++]);
	qb_str(&b, action ? action->name : "NONE");
	qb_str(&b, fields[f++]);
	qb_str(&b, exclude);
	qb_str(&b, fields[f++]);
	qb_str(&b, appeal_id);
	qb_str(&b, fields[f++]);
	qb_ext(&b, packed, packed_len);
	return qb_finish(&b, QUEUES_ENQUEUE, out);
}

int queues_sweep_cmd(const struct config *cfg, const struct config_queue *q, int64_t now_ms,
		     struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX];
	const char *prefix = cfg->redis.prefix;
	memset(out, 0, sizeof(*out));
	qb_init(&b, QUEUES_SWEEP);
	qb_str(&b, "5");
	qb_band_keys(&b, prefix, q->name);
	queues_key_todo(key, prefix, q->name);
	qb_str(&b, key);
	qb_i64(&b, now_ms);
	queues_key_seen(key, prefix, "");
	qb_str(&b, key);
	qb_i64(&b, 1000);
	return qb_finish(&b, QUEUES_SWEEP, out);
}

int queues_stats_cmd(const struct config *cfg, const char *queue, int64_t now_ms,
		     struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX];
	memset(out, 0, sizeof(*out));
	qb_init(&b, QUEUES_STATS);
	qb_str(&b, "5");
	qb_band_keys(&b, cfg->redis.prefix, queue);
	queues_key_sla(key, cfg->redis.prefix, queue);
	qb_str(&b, key);
	qb_i64(&b, now_ms);
	return qb_finish(&b, QUEUES_STATS, out);
}

int queues_stats_reply(const redisReply *r, int64_t now_ms, struct queues_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 1 + 4 * CONFIG_BANDS)
		return -EPROTO;
	for (size_t i = 0; i < r->elements; i++)
		if (r->element[i]->type != REDIS_REPLY_INTEGER)
			return -EPROTO;
	out->overdue = r->element[0]->integer;
	for (int b = 0; b < CONFIG_BANDS; b++) {
		struct queues_band_stats *s = &out->bands[b];
		redisReply *const *e = r->element + 1 + 4 * b;
		s->entries = e[0]->integer;
		s->waiting = e[1]->integer;
		s->claimed = e[2]->integer;
		/* Stream ids carry Redis's clock: an entry "from the future" is new. */
		s->oldest_age_ms = e[3]->integer < 0      ? -1 :
				   e[3]->integer > now_ms ? 0 :
							    now_ms - e[3]->integer;
	}
	return 0;
}

int queues_decision_cmd(const struct config *cfg, enum queues_script s, const char *content,
			const char *appeal, const char *const *args, size_t n_args,
			struct queues_cmd *out)
{
	struct queues_builder b;
	char key[QUEUES_KEY_MAX];
	memset(out, 0, sizeof(*out));
	qb_init(&b, s);
	qb_str(&b, s == QUEUES_DECISION ? "1" : "2");
	queues_key_decision(key, cfg->redis.prefix, content);
	char akey[QUEUES_KEY_MAX];
	queues_key_appeal(akey, cfg->redis.prefix, appeal ? appeal : "");
	if (s == QUEUES_APPEAL_RESOLVE) {
		qb_str(&b, akey);
		qb_str(&b, key);
	} else {
		qb_str(&b, key);
		if (s == QUEUES_APPEAL_FILE)
			qb_str(&b, akey);
	}
	qb_i64(&b, cfg->review.decision_ttl_s);
	for (size_t i = 0; i < n_args; i++)
		qb_str(&b, args[i]);
	return qb_finish(&b, s, out);
}

int queues_claim_cmd(const struct config *cfg, const char *queue, const char *reviewer,
		     char *const *ranges, size_t n_ranges, struct queues_cmd *out)
{
	struct queues_builder b;
	memset(out, 0, sizeof(*out));
	size_t len = 1;
	for (size_t i = 0; i < n_ranges; i++) {
		if (langtag_check_range(ranges[i], NULL, NULL) < 0)
			return -EINVAL;
		len += strlen(ranges[i]) + 1;
	}
	/* "sw,sr-latn": the index keys are lowercase. */
	char *joined = malloc(len), *w = joined;
	if (!joined)
		return -ENOMEM;
	for (size_t i = 0; i < n_ranges; i++) {
		if (i)
			*w++ = ',';
		for (const char *c = ranges[i]; *c; c++)
			*w++ = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
	}
	*w = '\0';
	qb_init(&b, QUEUES_CLAIM);
	qb_str(&b, "4");
	qb_band_keys(&b, cfg->redis.prefix, queue);
	qb_str(&b, reviewer);
	qb_str(&b, joined);
	free(joined);
	return qb_finish(&b, QUEUES_CLAIM, out);
}

static const char *queues_enum_name(const ProtobufCEnumDescriptor *d, int v)
{
	const ProtobufCEnumValue *e = protobuf_c_enum_descriptor_get_value(d, v);
	return e ? e->name : "";
}

int queues_decision_state_cmd(const struct config *cfg, const char *content_id,
			      const char *decision_id, Arbiter__V1__Action action,
			      Arbiter__V1__Actor actor, const char *reviewer, int64_t decided_ms,
			      struct queues_cmd *out)
{
	char at[24];
	snprintf(at, sizeof(at), "%" PRId64, decided_ms);
	const char *a = queues_enum_name(&arbiter__v1__action__descriptor, action);
	const char *args[] = {at, a[0] ? a : "NONE",
			      queues_enum_name(&arbiter__v1__actor__descriptor, actor),
			      reviewer ? reviewer : "", decision_id};
	return queues_decision_cmd(cfg, QUEUES_DECISION, content_id, NULL, args, 5, out);
}

int queues_appeal_file_cmd(const struct config *cfg, const char *content_id, const char *appeal_id,
			   int64_t filed_ms, const char *decision_id, struct queues_cmd *out)
{
	char at[24];
	snprintf(at, sizeof(at), "%" PRId64, filed_ms);
	const char *args[] = {content_id, at, decision_id ? decision_id : ""};
	return queues_decision_cmd(cfg, QUEUES_APPEAL_FILE, content_id, appeal_id, args, 3, out);
}

int queues_appeal_resolve_cmd(const struct config *cfg, const char *content_id,
			      const char *appeal_id, const char *reviewer,
			      Arbiter__V1__AppealOutcome outcome, Arbiter__V1__Action new_action,
			      int64_t resolved_ms, const char *decision_id, struct queues_cmd *out)
{
	char at[24];
	snprintf(at, sizeof(at), "%" PRId64, resolved_ms);
	const char *args[] = {
		reviewer, queues_enum_name(&arbiter__v1__appeal_outcome__descriptor, outcome),
		queues_enum_name(&arbiter__v1__action__descriptor, new_action), at, decision_id};
	return queues_decision_cmd(cfg, QUEUES_APPEAL_RESOLVE, content_id, appeal_id, args, 5, out);
}

int queues_appeal_reply(const redisReply *r, struct queues_appeal *out)
{
	static const char arbiter[] = "ARBITER ";
	memset(out, 0, sizeof(*out));
	if (!r)
		return -EPROTO;
	if (r->type == REDIS_REPLY_ERROR) {
		/* A refusal has a reason; Redis's own errors are not refusals. */
		if (!r->str || r->len < sizeof(arbiter) ||
		    strncmp(r->str, arbiter, sizeof(arbiter) - 1))
			return -EPROTO;
		out->reason = r->str + sizeof(arbiter) - 1;
		return strncmp(r->str, QUEUES_REFUSAL_UNKNOWN_DECISION " ",
			       sizeof(QUEUES_REFUSAL_UNKNOWN_DECISION)) ?
			       -EPERM :
			       -ENOENT;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 4)
		return -EPROTO;
	for (size_t i = 0; i < 4; i++)
		if (r->element[i]->type != REDIS_REPLY_STRING)
			return -EPROTO;
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(
		&arbiter__v1__action__descriptor, r->element[0]->str);
	char *end;
	errno = 0;
	long long filed = strtoll(r->element[3]->str, &end, 10);
	if (*end || end == r->element[3]->str || errno)
		return -EPROTO;
	out->original_action = v ? (Arbiter__V1__Action)v->value : ARBITER__V1__ACTION__NONE;
	out->original_reviewer = r->element[1]->str;
	out->decision_id = r->element[2]->str;
	out->filed_ms = filed;
	return 0;
}

void queues_cmd_use_eval(struct queues_cmd *cmd)
{
	cmd->argv[0] = "EVAL";
	cmd->lens[0] = 4;
	cmd->argv[1] = cmd->body ? cmd->body : queues_script_body(cmd->script);
	cmd->lens[1] = strlen(cmd->argv[1]);
}

const char *queues_cmd_name(const struct queues_cmd *cmd)
{
	return cmd->name ? cmd->name : queues_script_name(cmd->script);
}

void queues_cmd_free(struct queues_cmd *cmd)
{
	free(cmd->argv);
	free(cmd->lens);
	free(cmd->heap);
	memset(cmd, 0, sizeof(*cmd));
}
