import { ERROR_CODES, TickstormError } from '../errors.js'
import { createFeed } from '../feed/feed.js'
import { createListeners, type FrameSource, type LogSource } from '../feed/log-source.js'
import { openRedisEdge } from '../feed/redis-edge.js'
import { DEFAULT_REDIS_PREFIX, type LinkLog } from '../feed/redis-stream.js'
import { createTapeFeed } from '../feed/tape-feed.js'
import { createMarket } from '../market/market.js'
import { openTapeMarket, type TapeReplayOptions } from '../market/tapes/tape-market.js'
import type { Market } from '../market/types.js'
import { startApp } from './app.js'
import { type ClusterDeps, createCluster } from './cluster.js'
import { urlOf } from './listen.js'
import {
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
  withMarketOf,
} from './server-options.js'
import type { TickstormServer } from './tickstorm-server.js'

export type { ServerStats } from './server-stats.js'
export type { TickstormServer } from './tickstorm-server.js'

/** An edge's link to the generator's Redis Stream (`tickstorm feed --redis`). */
export interface RedisSourceLink {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string
  /** Key prefix the generator writes under (default `tickstorm`). */
  readonly prefix?: string
  readonly log?: LinkLog
}

/**
 * Where a server's events come from. By default its own market, paced here. `{ redis }`: an edge
 * of a several-host deployment, reading the generator's stream (the market options are then the
 * generator's, from Redis). A function: a source of frames of one's own (tests drive one by hand).
 */
export type SourceOption =
  | { readonly redis: RedisSourceLink }
  | ((options: ServerOptions, market: Market) => FrameSource)

export interface CreateServerOptions extends Partial<ServerOptions> {
  readonly source?: SourceOption
  /**
   * 1 (the default): one uWS app in this thread. N: N apps on the one port in worker threads, all
   * fed by one source, so ids, replay and snapshots are the same on every worker (cluster.ts).
   */
  readonly workers?: number
  /** Worker threads only: the compiled entry point and how often they report their stats. */
  readonly cluster?: Pick<ClusterDeps, 'workerUrl' | 'statsIntervalMs'>
  /**
   * Replay a recorded tape instead of running the model (tape-market.ts): its universe and its
   * events, paced by `speed` from its start (with `workers`, fed from this thread to every worker
   * as the model is). The market options are then unused.
   */
  readonly tape?: TapeReplayOptions
}

/**
 * The one constructor: a source (the local market by default) and `workers` threads serving it on
 * `host:port`. Resolves once the port is bound. `createServer({ port: 0 })` is the library's
 * simple call.
 */
export async function createServer(options: CreateServerOptions = {}): Promise<TickstormServer> {
  const { source, workers = 1, cluster = {}, tape, ...partial } = options
  if (tape !== undefined) {
    if (source !== undefined) {
      throw new TickstormError(ERROR_CODES.USAGE, 'a tape replay is its own source of events')
    }
    const resolved = resolveServerOptions(partial)
    // The speed rides along so /healthz can say it beside the tape (the market only describes).
    const market = await openTapeMarket({ speed: resolved.speed, ...tape })
    const started =
      workers === 1
        ? startLone(partial, () => createTapeFeed(market, pick(resolved, FEED_OPTION_KEYS)), market)
        : // The main thread's feed keeps the smallest ring, as for the model (cluster.ts).
          createCluster(partial, workers, {
            ...cluster,
            market,
            source: (options) =>
              createTapeFeed(market, {
                ...pick(options, FEED_OPTION_KEYS),
                historyEvents: 1,
                historyBytes: 1024,
              }),
          })
    return started.catch(async (error: unknown) => {
      await market.close()
      throw error
    })
  }
  if (source === undefined || typeof source === 'function') {
    return workers === 1
      ? startLone(partial, source)
      : createCluster(partial, workers, { ...cluster, ...(source ? { source } : {}) })
  }
  const link = { ...source.redis, prefix: source.redis.prefix ?? DEFAULT_REDIS_PREFIX }
  // A lone edge serves from its reader's ring; a cluster's main thread keeps a one-event ring,
  // only to report the head and the link (each worker reads the stream itself).
  const ring =
    workers === 1
      ? pick(resolveServerOptions(partial), ['historyEvents', 'historyBytes'])
      : { historyEvents: 1, historyBytes: 1024 }
  const edge = await openRedisEdge({ ...link, ...ring })
  const generators = withMarketOf(partial, edge.market)
  if (workers === 1) return startLone(generators, () => edge, edge.universe)
  try {
    return await createCluster(generators, workers, {
      ...cluster,
      redis: { url: link.url, prefix: link.prefix, edge },
    })
  } catch (error) {
    await edge.close().catch(() => undefined)
    throw error
  }
}

/** One app in this thread, on its source. */
async function startLone(
  partial: Partial<ServerOptions>,
  factory?: (options: ServerOptions, market: Market) => LogSource,
  own?: Market,
): Promise<TickstormServer> {
  const options = resolveServerOptions(partial)
  // The universe (/v1/symbols, initial quotes) comes from the market's options even when the
  // events come from elsewhere: the market is deterministic, so every copy has the same one.
  // A tape is its own market.
  const market = own ?? createMarket(marketOptionsOf(options))
  const source =
    factory?.(options, market) ?? createFeed({ market }, pick(options, FEED_OPTION_KEYS))
  let app: Awaited<ReturnType<typeof startApp>>
  try {
    app = await startApp({ options, market, source })
  } catch (error) {
    await source.close()
    throw error
  }
  const failures = createListeners<TickstormError>()
  source.onFailure?.(failures.emit)
  source.start?.()
  let closing: Promise<void> | undefined
  return {
    url: urlOf(options.host, app.port),
    host: options.host,
    port: app.port,
    options,
    workers: 1,
    feed: source,
    stats: app.stats,
    health: async () => app.health(),
    metrics: app.metrics,
    dropClient: async (clientId) => app.dropClient(clientId),
    dropStreams: async (count = Number.POSITIVE_INFINITY) => app.dropStreams(count),
    onFailure: failures.add,
    close() {
      closing ??= (async () => {
        await app.close()
        await source.close()
      })()
      return closing
    },
  }
}
