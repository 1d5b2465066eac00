import { ERROR_CODES, TickstormError } from '../errors.js'
import { createMarket, type ResolvedMarketOptions, resolveMarketOptions } from '../market/market.js'
import type { TapeMarket } from '../market/tapes/tape-market.js'
import { type UniverseEntry, universeOf } from '../market/tapes/tape-universe.js'
import type { Market, Tick } from '../market/types.js'
import type { TickFrame } from './event-log.js'
import { createFeed, type Feed, type FeedOptions } from './feed.js'
import { createListeners } from './log-source.js'
import {
  DEFAULT_REDIS_PREFIX,
  decodeEntry,
  decodeMeta,
  encodeEntry,
  encodeMeta,
  encodeStates,
  entryId,
  type LinkLog,
  openRedisLink,
  REDIS_FORMAT,
  type RedisKeys,
  type RedisLink,
  redisFailure,
  redisKeys,
  type StreamEntry,
} from './redis-stream.js'

export interface RedisFeedOptions {
  readonly url: string
  readonly prefix?: string
  /** Market options (seed, preset, symbols, ratePerSec), as the server takes them. */
  readonly market: Readonly<Record<string, unknown>>
  readonly feed: Partial<FeedOptions>
  readonly log?: LinkLog
  /**
   * Replay this tape instead of running `market` (`feed --tape`): its universe goes into the meta
   * hash for the edges, and it always starts a stream of its own (a replay is not continued).
   */
  readonly tape?: TapeMarket
}

export interface RedisFeedStats {
  readonly headSeq: number
  /** Events written to the stream, and frames waiting for Redis (while it is down). */
  readonly written: number
  readonly pendingFrames: number
  /** Events dropped from a full outbox during a long outage (edges resynchronise past them). */
  readonly dropped: number
  readonly redisUp: boolean
  readonly outages: number
  /** Where this run started: 0, or the stream's last event id when it continued one. */
  readonly continuedAfter: number
}

export interface RedisFeed {
  readonly feed: Feed
  readonly market: ResolvedMarketOptions
  readonly url: string
  stats(): RedisFeedStats
  start(): void
  /**
   * Called when a write fails in a way no retry mends (Redis refused an entry: a broken
   * deployment). The generator goes on; the caller decides what it means (the CLI exits 1).
   */
  onFailure(listener: (error: TickstormError) => void): void
  /** Stops the market, writes what is still pending (if Redis is up), disconnects. */
  close(): Promise<void>
}

/**
 * The generator of a several-host deployment: the market and its pacer, as in one process, with
 * every frame written to a Redis Stream (XADD with the frame's own id, trimmed to the replay
 * window) and the latest value of every symbol it touched to a hash, both in one MULTI so an edge
 * reads a consistent pair. While Redis is down the frames wait in an outbox (bounded by the replay
 * window) and go out, in order, when it is back: nothing is lost to a short outage.
 *
 * Started on a stream that already has events of the same market, it continues it: the market is
 * fast-forwarded to the simulated time of the last entry (ticks are a pure function of seed and
 * time) and the sequence goes on from the last id, so a restarted generator neither repeats nor
 * skips an id.
 */
export async function openRedisFeed(options: RedisFeedOptions): Promise<RedisFeed> {
  const log = options.log ?? ((line: string) => process.stderr.write(`tickstorm feed: ${line}\n`))
  const keys = redisKeys(options.prefix ?? DEFAULT_REDIS_PREFIX)
  const { tape } = options
  const marketOptions =
    tape === undefined
      ? resolveMarketOptions(options.market)
      : // What edges validate their options with; the universe itself travels in `universe`.
        resolveMarketOptions({
          seed: 0,
          symbols: Math.min(tape.instruments.length, 8000),
          ratePerSec: 1,
        })
  const link = await openRedisLink(options.url, 'the generator', log)
  try {
    if (tape !== undefined) {
      await beginTape(link, keys)
      const universe = universeOf(tape)
      const feed = createFeed({ market: tape }, options.feed)
      const publisher = createPublisher(link, keys, feed, marketOptions, 0, log, universe)
      return {
        ...publisher,
        onFailure(listener) {
          publisher.onFailure(listener)
          tape.onFailure(listener)
        },
        async close() {
          await publisher.close()
          await tape.close()
        },
      }
    }
    const { market, afterSeq } = await continueOrBegin(link, keys, marketOptions)
    const feed = createFeed({ market, afterSeq }, options.feed)
    return createPublisher(link, keys, feed, marketOptions, afterSeq, log)
  } catch (error) {
    await link.close()
    throw error
  }
}

/** A replay writes a stream of its own: keys of an earlier feed are refused, never mixed in. */
async function beginTape(link: RedisLink, keys: RedisKeys): Promise<void> {
  let exists: number
  try {
    exists = await link.redis.exists(keys.meta, keys.events)
  } catch (error) {
    throw redisFailure(link, `reading ${keys.meta}`, error)
  }
  if (exists > 0) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `${keys.meta} holds a feed already, and a tape replay starts a stream of its own: use another --redis-prefix, or delete the keys: redis-cli del ${keys.events} ${keys.latest} ${keys.meta}`,
    )
  }
}

async function continueOrBegin(
  link: RedisLink,
  keys: RedisKeys,
  wanted: ResolvedMarketOptions,
): Promise<{ market: Market; afterSeq: number }> {
  let metaHash: Record<string, string>
  let last: [string, string[]][]
  try {
    ;[metaHash, last] = await Promise.all([
      link.redis.hgetall(keys.meta),
      link.redis.xrevrange(keys.events, '+', '-', 'COUNT', 1),
    ])
  } catch (error) {
    throw redisFailure(link, `reading ${keys.meta}`, error)
  }
  const market = createMarket(wanted)
  const meta = decodeMeta(metaHash)
  if (meta === null) return { market, afterSeq: 0 }
  const clear = `use another --redis-prefix, or delete the keys: redis-cli del ${keys.events} ${keys.latest} ${keys.meta}`
  if (meta.format !== REDIS_FORMAT) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `${keys.meta} holds a feed of format ${meta.format}, this tickstorm writes ${REDIS_FORMAT}: ${clear}`,
    )
  }
  if (JSON.stringify(meta.market) !== JSON.stringify(wanted)) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `${keys.meta} holds another market (${JSON.stringify(meta.market)}, asked ${JSON.stringify(wanted)}): ${clear}`,
    )
  }
  const top = last[0]
  if (top === undefined) return { market, afterSeq: 0 }
  const entry = decodeEntry(top[0], top[1])
  const afterSeq = entry.frame.firstSeq + entry.frame.ticks.length - 1
  const produced = fastForward(market, entry.simUs)
  if (produced !== afterSeq) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `the stream ends at event ${afterSeq} but this market makes ${produced} events up to its time: ${clear}`,
    )
  }
  return { market, afterSeq }
}

/** Runs the market to `simUs` in bounded chunks, discarding ticks; returns how many it made. */
function fastForward(market: Market, simUs: number): number {
  const chunkUs = 60_000_000
  const ticks: Tick[] = []
  let count = 0
  while (market.simTimeUs < simUs) {
    ticks.length = 0
    market.advanceTo(Math.min(simUs, market.simTimeUs + chunkUs), ticks)
    count += ticks.length
  }
  return count
}

function createPublisher(
  link: RedisLink,
  keys: RedisKeys,
  feed: Feed,
  marketOptions: ResolvedMarketOptions,
  continuedAfter: number,
  log: LinkLog,
  universe?: readonly UniverseEntry[],
): RedisFeed {
  const { redis } = link
  const windowEvents = feed.options.historyEvents
  const outbox: StreamEntry[] = []
  let outboxEvents = 0
  const touched = new Set<number>()
  // After every (re)connect the first write carries the meta and every symbol's latest value, so
  // a Redis that restarted empty is whole again.
  let needsFullState = true
  let flushing: Promise<void> | null = null
  let written = 0
  let dropped = 0
  let closed = false
  const failures = createListeners<TickstormError>()

  const flush = (): Promise<void> => {
    if (flushing !== null || !link.up || (outbox.length === 0 && !needsFullState)) {
      return flushing ?? Promise.resolve()
    }
    const batch = outbox.splice(0)
    const batchEvents = outboxEvents
    outboxEvents = 0
    const symbols = needsFullState ? feed.symbols.map((_, index) => index) : [...touched]
    const full = needsFullState
    touched.clear()
    needsFullState = false

    const multi = redis.multi()
    if (full) multi.hset(keys.meta, ...encodeMeta(marketOptions, universe))
    for (const entry of batch) {
      const lastSeq = entry.frame.firstSeq + entry.frame.ticks.length - 1
      const minSeq = Math.max(1, lastSeq - windowEvents + 1)
      multi.xadd(
        keys.events,
        'MINID',
        '~',
        entryId(minSeq),
        entryId(lastSeq),
        ...encodeEntry(entry),
      )
    }
    if (symbols.length > 0) {
      multi.hset(keys.latest, ...encodeStates(symbols.map((symbol) => feed.state(symbol))))
    }
    flushing = multi.exec().then(
      (results) => {
        flushing = null
        for (const [error] of results ?? []) {
          // A frame written before a connection died under its reply: already there, and the
          // explicit id made the re-send harmless. Anything else is a broken deployment.
          if (error !== null && !/equal or smaller/.test(error.message)) {
            throw redisFailure(link, `writing ${keys.events}`, error)
          }
        }
        written += batchEvents
        if (outbox.length > 0) pump()
      },
      (error: unknown) => {
        flushing = null
        link.failed(error)
        // Back to the front of the outbox, in order, with its symbols still to be written.
        outbox.unshift(...batch)
        outboxEvents += batchEvents
        needsFullState = needsFullState || full
        for (const symbol of symbols) touched.add(symbol)
        if (!closed) void link.ready().then(pump)
      },
    )
    return flushing
  }
  const pump = (): void => {
    flush().catch((error: unknown) => {
      log((error as Error).message)
      failures.emit(
        error instanceof TickstormError
          ? error
          : new TickstormError(ERROR_CODES.INTERNAL, (error as Error).message),
      )
    })
  }

  redis.on('ready', () => {
    needsFullState = true
    pump()
  })

  feed.onTickFrame((frame: TickFrame) => {
    outbox.push({ frame, simUs: feed.market.simTimeUs })
    outboxEvents += frame.ticks.length
    for (const tick of frame.ticks) touched.add(tick.symbol)
    // A long outage: keep at most one replay window; edges see the gap and resynchronise.
    while (outboxEvents > windowEvents && outbox.length > 1) {
      const oldest = outbox.shift()!
      outboxEvents -= oldest.frame.ticks.length
      dropped += oldest.frame.ticks.length
    }
    pump()
  })

  return {
    feed,
    market: marketOptions,
    url: link.url,
    stats: () => ({
      headSeq: feed.headSeq,
      written,
      pendingFrames: outbox.length,
      dropped,
      redisUp: link.up,
      outages: link.outages,
      continuedAfter,
    }),
    start() {
      feed.start()
      pump()
    },
    onFailure: failures.add,
    async close() {
      closed = true
      feed.stop()
      if (link.up) {
        await flush().catch(() => undefined)
        await flush().catch(() => undefined)
      }
      await link.close()
    },
  }
}
