import { Redis } from 'ioredis'
import { ERROR_CODES, TickstormError } from '../errors.js'
import type { ResolvedMarketOptions } from '../market/market.js'
import type { UniverseEntry } from '../market/tapes/tape-universe.js'
import type { TickFrame } from './event-log.js'
import type { SymbolState } from './latest-values.js'

/**
 * How a log crosses hosts: one Redis Stream of frames, a hash of the latest value per symbol and a
 * hash describing the market, all under one key prefix (default `tickstorm`).
 *
 * Stream ids map onto event ids: the entry with id `L-0` holds the frame whose events are
 * `first`..`L` (`first` is a field of the entry). So everything after event id `N` is what
 * `XREAD STREAMS <prefix>:events N-0` returns, less the events ≤ N in its first entry; and every
 * copy encodes a frame with the same functions, so every edge sends the same `id:` and bytes.
 * The ids are set by the publisher (never `*`), which also makes a re-sent write idempotent:
 * Redis refuses an id at or below the stream's top.
 */
export interface RedisKeys {
  readonly events: string
  readonly latest: string
  readonly meta: string
}

export const DEFAULT_REDIS_PREFIX = 'tickstorm'

/** Bumped when the entry or meta layout changes: an edge refuses a stream of another format. */
export const REDIS_FORMAT = 1

export function redisKeys(prefix: string): RedisKeys {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) {
    throw new TickstormError(
      ERROR_CODES.USAGE,
      `--redis-prefix must be 1–64 letters, digits or _ . : -, got ${JSON.stringify(prefix)}`,
    )
  }
  return { events: `${prefix}:events`, latest: `${prefix}:latest`, meta: `${prefix}:meta` }
}

export function entryId(lastSeq: number): string {
  return `${lastSeq}-0`
}

/** One stream entry: the frame, and the simulated time the market had reached after it. */
export interface StreamEntry {
  readonly frame: TickFrame
  readonly simUs: number
}

/** The entry's fields, as XADD takes them. */
export function encodeEntry(entry: StreamEntry): string[] {
  const { frame } = entry
  return [
    'first',
    String(frame.firstSeq),
    'sim',
    String(entry.simUs),
    'frame',
    JSON.stringify({
      ticks: frame.ticks,
      scheduledUs: frame.scheduledUs,
      deadlineUs: frame.deadlineUs,
      lagUs: frame.lagUs,
    }),
  ]
}

/** The inverse of encodeEntry; a malformed entry is a FEED_MISMATCH naming the entry id. */
export function decodeEntry(id: string, fields: readonly string[]): StreamEntry {
  const values = new Map<string, string>()
  for (let i = 0; i + 1 < fields.length; i += 2) values.set(fields[i]!, fields[i + 1]!)
  const firstSeq = Number(values.get('first'))
  const simUs = Number(values.get('sim'))
  const body = values.get('frame')
  const lastSeq = Number.parseInt(id, 10)
  if (!Number.isSafeInteger(firstSeq) || !Number.isFinite(simUs) || body === undefined) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `stream entry ${id} is not a tickstorm frame`,
    )
  }
  const parsed = JSON.parse(body) as Omit<TickFrame, 'firstSeq'>
  if (parsed.ticks.length !== lastSeq - firstSeq + 1) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `stream entry ${id} holds ${parsed.ticks.length} events, its id says ${lastSeq - firstSeq + 1}`,
    )
  }
  return { frame: { firstSeq, ...parsed }, simUs }
}

/** The last event id an entry id stands for. */
export function lastSeqOf(id: string): number {
  return Number.parseInt(id, 10)
}

/**
 * What the meta hash says: the format and the market every copy must build; for a tape replay
 * (`feed --tape`) also its universe, which no seed rebuilds.
 */
export interface RedisMeta {
  readonly format: number
  readonly market: ResolvedMarketOptions
  readonly universe?: readonly UniverseEntry[]
}

export function encodeMeta(
  market: ResolvedMarketOptions,
  universe?: readonly UniverseEntry[],
): string[] {
  const fields = ['format', String(REDIS_FORMAT), 'market', JSON.stringify(market)]
  if (universe !== undefined) fields.push('universe', JSON.stringify(universe))
  return fields
}

export function decodeMeta(hash: Readonly<Record<string, string>>): RedisMeta | null {
  if (hash['format'] === undefined) return null
  const universe = hash['universe']
  return {
    format: Number(hash['format']),
    market: JSON.parse(hash['market'] ?? '{}'),
    ...(universe === undefined ? {} : { universe: JSON.parse(universe) }),
  }
}

/** The latest-values hash: field = instrument index, value = that symbol's state as JSON. */
export function encodeStates(states: readonly SymbolState[]): string[] {
  const fields: string[] = []
  for (const state of states) fields.push(String(state.symbol), JSON.stringify(state))
  return fields
}

export function decodeStates(hash: Readonly<Record<string, string>>): SymbolState[] {
  return Object.values(hash).map((value) => JSON.parse(value) as SymbolState)
}

/** The URL without its password, for logs and /healthz. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    if (parsed.password !== '') parsed.password = '***'
    return parsed.toString()
  } catch {
    return url
  }
}

export type LinkLog = (line: string) => void

/**
 * One Redis connection and how it is doing. Commands fail at once while it is down (no offline
 * queue: the publisher keeps its own outbox, the edge its own position), ioredis reconnects with
 * backoff, and an outage is logged once when it starts and once when it ends.
 */
export interface RedisLink {
  readonly redis: Redis
  readonly url: string
  readonly up: boolean
  readonly outages: number
  readonly lastError: string | null
  /** Resolves when the connection is (again) ready; at once if it is. */
  ready(): Promise<void>
  /** Notes a failed command: the start of an outage if the connection went down. */
  failed(error: unknown): void
  close(): Promise<void>
}

/**
 * Connects, and fails with a clear REDIS_UNAVAILABLE if the first connection does not come up
 * within `timeoutMs`: a process should not start against a broker it cannot reach.
 */
export async function openRedisLink(
  url: string,
  role: string,
  log: LinkLog,
  timeoutMs = 5000,
): Promise<RedisLink> {
  const shown = redactRedisUrl(url)
  let redis: Redis
  try {
    redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      connectTimeout: timeoutMs,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      connectionName: `tickstorm-${role}`,
    })
  } catch (error) {
    throw new TickstormError(ERROR_CODES.USAGE, `--redis: not a Redis URL: ${shown}`, {
      cause: error,
    })
  }
  let up = false
  let outages = 0
  let downSince = 0
  let lastError: string | null = null
  let waiters: (() => void)[] = []

  redis.on('error', (error: Error) => {
    lastError = error.message
  })
  redis.on('ready', () => {
    if (!up && downSince !== 0) {
      log(`redis at ${shown} is back after ${((Date.now() - downSince) / 1000).toFixed(1)} s`)
    }
    up = true
    downSince = 0
    const resolved = waiters
    waiters = []
    for (const resolve of resolved) resolve()
  })
  redis.on('close', () => {
    if (!up) return
    up = false
    outages++
    downSince = Date.now()
    log(
      `redis at ${shown} is unreachable (${lastError ?? 'connection closed'}): ${role} goes on and reconnects`,
    )
  })

  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw new TickstormError(
      ERROR_CODES.REDIS_UNAVAILABLE,
      `cannot reach redis at ${shown}: ${(error as Error).message || lastError || 'connection failed'}`,
      { details: { url: shown }, cause: error },
    )
  }

  return {
    redis,
    url: shown,
    get up() {
      return up
    },
    get outages() {
      return outages
    },
    get lastError() {
      return lastError
    },
    ready: () => (up ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    failed(error) {
      lastError = error instanceof Error ? error.message : String(error)
    },
    async close() {
      const resolved = waiters
      waiters = []
      for (const resolve of resolved) resolve()
      up = false
      downSince = 0
      redis.disconnect()
    },
  }
}

/** A command's error as a REDIS_UNAVAILABLE naming what was being done. */
export function redisFailure(link: RedisLink, doing: string, error: unknown): TickstormError {
  return new TickstormError(
    ERROR_CODES.REDIS_UNAVAILABLE,
    `redis at ${link.url}: ${doing} failed: ${(error as Error)?.message ?? String(error)}`,
    { cause: error },
  )
}
