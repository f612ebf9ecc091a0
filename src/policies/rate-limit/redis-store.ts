/**
 * The Redis side of the rate limiter: one Lua script takes a request's tokens from all its buckets at once
 * (check all, then take all, atomically, as the memory store does), with Redis `TIME` as the one clock of
 * every instance. It runs with EVALSHA, and ioredis sends the script again on NOSCRIPT (defineCommand).
 * A bucket is one key holding its TAT in microseconds, expiring when the bucket is full again.
 *
 * The script answers how long (µs, rounded up) each bucket needs to be full again after the decision, after
 * a first element that is 1 when the request was admitted.
 */
import type { Redis } from 'ioredis';

/** The ioredis command name (defined once per connection). */
const COMMAND = 'gatehouseRateLimit';

// ARGV holds, per key: its interval and capacity (µs), then the float tolerance as a share of an interval.
// Times are µs since 2023-11-14 (Unix 1700000000), not since 1970: at ~1e14 µs a double still resolves
// 1/64 µs, where µs since 1970 (~1.8e15) resolve only 1/4 µs and a 0.1 µs interval added to a TAT was lost.
// TATs are written with %.17g: Lua's default formatting keeps 14 digits, too few for these. A bucket's TTL
// is at least 1 ms (PX 0 is an error).
const SCRIPT = `
local time = redis.call('TIME')
local now = (tonumber(time[1]) - 1700000000) * 1000000 + tonumber(time[2])
local n = #KEYS
local tolerance = tonumber(ARGV[2 * n + 1])
local tats = {}
local admitted = 1
for i = 1, n do
  local interval = tonumber(ARGV[2 * i - 1])
  local tat = tonumber(redis.call('GET', KEYS[i]) or '0')
  if tat < now then tat = now end
  tats[i] = tat
  if tat - now + interval > tonumber(ARGV[2 * i]) + interval * tolerance then admitted = 0 end
end
local out = { admitted }
for i = 1, n do
  local tat = tats[i]
  if admitted == 1 then
    tat = tat + tonumber(ARGV[2 * i - 1])
    redis.call('SET', KEYS[i], string.format('%.17g', tat), 'PX', math.max(1, math.ceil((tat - now) / 1000)))
  end
  out[i + 1] = math.ceil(tat - now)
end
return out
`;

type ScriptClient = Redis & Record<typeof COMMAND, (...args: Array<string | number>) => Promise<number[]>>;

/** The client with the script defined on it (once per connection; defining again would only repeat the work). */
export function scriptClient(client: Redis): ScriptClient {
  if (!(COMMAND in client)) client.defineCommand(COMMAND, { lua: SCRIPT });
  return client as ScriptClient;
}

/** The Redis key of a bucket (the client adds its keyPrefix). */
export function redisKey(bucket: string): string {
  return `rl:${bucket}`;
}

/**
 * Runs the script for `keys`; `args` is [interval µs, capacity µs] per key then the tolerance, built once per
 * policy. Resolves to [admitted (1|0), occupancy µs per key], or rejects when Redis fails or times out.
 */
export function takeInRedis(client: ScriptClient, keys: readonly string[], args: readonly string[]): Promise<number[]> {
  return client[COMMAND](keys.length, ...keys, ...args);
}
