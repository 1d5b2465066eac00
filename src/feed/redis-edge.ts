import { ERROR_CODES, TickstormError } from '../errors.js'
import { createMarket, type ResolvedMarketOptions } from '../market/market.js'
import { type UniverseEntry, universeMarket } from '../market/tapes/tape-universe.js'
import type { Market } from '../market/types.js'
import { createEventLog, type EventLogOptions, type EventLogWriter } from './event-log.js'
import { createLatestValues, type LatestValues } from './latest-values.js'
import { createListeners, type LogSource } from './log-source.js'
import {
  DEFAULT_REDIS_PREFIX,
  decodeEntry,
  decodeMeta,
  decodeStates,
  entryId,
  type LinkLog,
  lastSeqOf,
  openRedisLink,
  REDIS_FORMAT,
  type RedisKeys,
  type RedisLink,
  redisFailure,
  redisKeys,
} from './redis-stream.js'

export interface RedisEdgeOptions extends EventLogOptions {
  readonly url: string
  readonly prefix?: string
  readonly log?: LinkLog
  /** Entries per XREAD / XRANGE call, and how long one XREAD blocks. */
  readonly batchEntries?: number
  readonly blockMs?: number
}

export interface RedisEdgeStats {
  readonly redisUp: boolean
  readonly outages: number
  /** Times the log had to start over past a gap (events trimmed or lost while away). */
  readonly resyncs: number
  readonly lastEntryId: string
  /** Whether the XREAD loop runs (false once stopped and its last read returned). */
  readonly following: boolean
  /** Resumes waiting for an id this edge has not read yet. */
  readonly waitingResumes: number
}

/** A copy of the generator's log, kept by reading its Redis Stream: a LogSource. */
export interface RedisEdge extends LogSource {
  /** The market the generator runs, from the meta hash: the edge's universe and initial quotes. */
  readonly market: ResolvedMarketOptions
  /** Set when the generator replays a tape (`feed --tape`): the universe, from the meta hash. */
  readonly universe?: Market
  readonly url: string
  /** Begins following the stream (XREAD BLOCK from where the load ended). */
  start(): void
  /** Stops reading after the current XREAD (`start` goes on from there). */
  stop(): void
  /** Called after the log started over past a gap: open streams must reconnect and resume. */
  onReset(listener: () => void): () => void
  /** Called if the read loop stops on an error it cannot ride out (TS_ERR_REDIS_UNAVAILABLE). */
  onFailure(listener: (error: TickstormError) => void): void
  /** Resolves once this edge has read `seq` (or after `timeoutMs`): see EventLog.awaitSeq. */
  awaitSeq(seq: number, timeoutMs: number): Promise<void>
  describe(): Readonly<Record<string, unknown>>
  edgeStats(): RedisEdgeStats
  close(): Promise<void>
}

/**
 * An edge's event source. On open it reads the meta hash (the market to build), then, atomically,
 * the latest-values hash and the stream's last id, and loads the stream's window into its replay
 * ring — so a client resuming here by `Last-Event-ID` after another edge gets no gap and no
 * duplicate. Then it follows the stream with XREAD BLOCK, appending each frame as it comes.
 *
 * Redis down: the edge keeps its clients (heartbeats go on), logs the outage once, and continues
 * from its last entry id when Redis is back. If what it missed is no longer in the stream (trimmed,
 * or lost with a Redis that restarted empty), it loads again and asks its streams to reconnect:
 * they resume by id, with a reset snapshot where the ring cannot cover them.
 */
export async function openRedisEdge(options: RedisEdgeOptions): Promise<RedisEdge> {
  const log = options.log ?? ((line: string) => process.stderr.write(`tickstorm edge: ${line}\n`))
  const keys = redisKeys(options.prefix ?? DEFAULT_REDIS_PREFIX)
  const link = await openRedisLink(options.url, 'the edge', log)
  // XREAD BLOCK holds its connection: the reads get one of their own.
  const reader = link.redis.duplicate({ connectionName: 'tickstorm-edge-reader' })
  reader.on('error', (error: Error) => link.failed(error))
  try {
    await reader.connect()
    const { market, universe } = await readMarket(link, keys)
    // A tape replay's universe travels in the meta hash; the model's is rebuilt from its seed.
    const instruments = universe === undefined ? createMarket(market) : universeMarket(universe)
    const symbols = instruments.instruments.map((instrument) => instrument.symbol)
    const latest = createLatestValues(instruments)
    const writer = createEventLog(symbols, latest, options)
    const edge = createEdge(link, reader, keys, market, writer, latest, options, log)
    await edge.load()
    return universe === undefined ? edge.api : Object.assign(edge.api, { universe: instruments })
  } catch (error) {
    reader.disconnect()
    await link.close()
    throw error
  }
}

async function readMarket(
  link: RedisLink,
  keys: RedisKeys,
): Promise<{ market: ResolvedMarketOptions; universe?: readonly UniverseEntry[] }> {
  let hash: Record<string, string>
  try {
    hash = await link.redis.hgetall(keys.meta)
  } catch (error) {
    throw redisFailure(link, `reading ${keys.meta}`, error)
  }
  const meta = decodeMeta(hash)
  if (meta === null) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `no tickstorm feed at ${link.url} (no ${keys.meta}): start \`tickstorm feed --redis ${link.url}\` first`,
    )
  }
  if (meta.format !== REDIS_FORMAT) {
    throw new TickstormError(
      ERROR_CODES.FEED_MISMATCH,
      `${keys.meta} holds a feed of format ${meta.format}; this tickstorm reads ${REDIS_FORMAT}`,
    )
  }
  return meta
}

function createEdge(
  link: RedisLink,
  reader: RedisLink['redis'],
  keys: RedisKeys,
  market: ResolvedMarketOptions,
  writer: EventLogWriter,
  latestValues: LatestValues,
  options: RedisEdgeOptions,
  log: LinkLog,
) {
  const { log: eventLog } = writer
  const batch = options.batchEntries ?? 1000
  const blockMs = options.blockMs ?? 1000
  const resetListeners = createListeners<void>()
  const failureListeners = createListeners<TickstormError>()
  // Resumes waiting for an id this edge has not read yet (awaitSeq), released as frames come.
  let waiters: { seq: number; resolve: () => void }[] = []
  eventLog.onFrame(() => {
    if (waiters.length === 0) return
    const head = eventLog.headSeq
    const ready = waiters.filter((waiter) => waiter.seq <= head)
    waiters = waiters.filter((waiter) => waiter.seq > head)
    for (const waiter of ready) waiter.resolve()
  })
  let lastId = '0-0'
  let resyncs = 0
  let running = false
  let loop: Promise<void> | null = null
  let following = false

  /**
   * Loads the window: the latest values and the stream's top read in one MULTI (a consistent
   * pair), then every entry up to that top, silently (no listener sees the past as news).
   */
  const load = async (): Promise<void> => {
    let latest: Record<string, string>
    let top: [string, string[]][]
    try {
      const replies = await link.redis
        .multi()
        .hgetall(keys.latest)
        .xrevrange(keys.events, '+', '-', 'COUNT', 1)
        .exec()
      latest = replies![0]![1] as Record<string, string>
      top = replies![1]![1] as [string, string[]][]
    } catch (error) {
      throw redisFailure(link, `reading ${keys.latest}`, error)
    }
    const topId = top[0]?.[0] ?? '0-0'
    writer.restartAfter(0)
    if (topId !== '0-0') {
      for (const entry of await readRange(topId)) {
        // The window's start (or a hole inside the stream, where a generator's outbox
        // overflowed): the ring starts over there.
        if (entry.frame.firstSeq !== eventLog.headSeq + 1) {
          writer.restartAfter(entry.frame.firstSeq - 1)
        }
        writer.append(entry.frame, false)
      }
    }
    lastId = topId
    for (const state of decodeStates(latest)) latestValues.restore(state)
  }

  /** Every entry up to `topId` still in the stream, oldest first, within the ring's bounds. */
  const readRange = async (topId: string) => {
    const topSeq = lastSeqOf(topId)
    const fromSeq = Math.max(1, topSeq - options.historyEvents + 1)
    const out: ReturnType<typeof decodeEntry>[] = []
    let start = entryId(fromSeq)
    for (;;) {
      let entries: [string, string[]][]
      try {
        entries = await link.redis.xrange(keys.events, start, topId, 'COUNT', batch)
      } catch (error) {
        throw redisFailure(link, `reading ${keys.events}`, error)
      }
      for (const [id, fields] of entries) out.push(decodeEntry(id, fields))
      if (entries.length < batch) break
      start = `(${entries[entries.length - 1]![0]}`
    }
    // The first entry may start before the window: keep whole frames, the ring bounds itself.
    return out
  }

  const apply = (id: string, fields: string[]): boolean => {
    const { frame } = decodeEntry(id, fields)
    const head = eventLog.headSeq
    const last = frame.firstSeq + frame.ticks.length - 1
    if (last <= head) return true
    if (frame.firstSeq !== head + 1) return false
    writer.append(frame)
    lastId = id
    return true
  }

  const follow = async (): Promise<void> => {
    while (running) {
      if (!link.up) {
        await link.ready()
        continue
      }
      let reply: [string, [string, string[]][]][] | null
      try {
        reply = (await reader.xread(
          'COUNT',
          batch,
          'BLOCK',
          blockMs,
          'STREAMS',
          keys.events,
          lastId,
        )) as [string, [string, string[]][]][] | null
      } catch (error) {
        if (!running) return
        link.failed(error)
        await readerReady()
        continue
      }
      if (!running || reply === null) continue
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          if (apply(id, fields)) continue
          await resync(`event ${eventLog.headSeq + 1} onwards is no longer in ${keys.events}`)
          break
        }
      }
    }
  }

  /** After a failed read: the reader's next `ready`, and never sooner than a short pause. */
  const readerReady = async (): Promise<void> => {
    await new Promise((resolve) => setTimeout(resolve, 50))
    if (reader.status !== 'ready' && running) {
      await new Promise<void>((resolve) => {
        reader.once('ready', resolve)
        reader.once('end', resolve)
      })
    }
  }

  const resync = async (why: string): Promise<void> => {
    resyncs++
    log(`${why}: loading the stream's window again and asking open streams to resume`)
    try {
      await load()
    } catch (error) {
      link.failed(error)
      log((error as Error).message)
      return
    }
    resetListeners.emit()
  }

  const api: RedisEdge = {
    history: eventLog.history,
    symbols: eventLog.symbols,
    get headSeq() {
      return eventLog.headSeq
    },
    onFrame: eventLog.onFrame,
    state: eventLog.state,
    stats: eventLog.stats,
    market,
    url: link.url,
    start() {
      if (running) return
      running = true
      // A loop stopped a moment ago may still wait on its last XREAD: it then just goes on.
      if (following) return
      following = true
      loop = follow()
        .finally(() => {
          following = false
        })
        .catch((error: unknown) => {
          const message = `following ${keys.events} stopped: ${(error as Error).message}`
          log(message)
          failureListeners.emit(
            error instanceof TickstormError
              ? error
              : new TickstormError(ERROR_CODES.REDIS_UNAVAILABLE, message, { cause: error }),
          )
        })
    },
    stop() {
      running = false
    },
    onReset: resetListeners.add,
    onFailure: failureListeners.add,
    awaitSeq(seq, timeoutMs) {
      if (seq <= eventLog.headSeq) return Promise.resolve()
      return new Promise<void>((resolve) => {
        const waiter = { seq, resolve }
        waiters.push(waiter)
        setTimeout(() => {
          waiters = waiters.filter((other) => other !== waiter)
          resolve()
        }, timeoutMs).unref()
      })
    },
    describe: () => ({
      kind: 'redis',
      url: link.url,
      stream: keys.events,
      connected: link.up,
      lastEntryId: lastId,
      outages: link.outages,
      resyncs,
      lastError: link.lastError,
      waitingResumes: waiters.length,
    }),
    edgeStats: () => ({
      redisUp: link.up,
      outages: link.outages,
      resyncs,
      lastEntryId: lastId,
      following,
      waitingResumes: waiters.length,
    }),
    async close() {
      running = false
      reader.disconnect()
      await link.close()
      await loop
    },
  }
  return { api, load }
}
