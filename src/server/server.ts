import { createFeed } from '../feed/feed.js'
import { createMarket } from '../market/market.js'
import type { Market } from '../market/types.js'
import { type AppSource, startApp } from './app.js'
import type { HealthDocument } from './health.js'
import type { WholeServer } from './info-routes.js'
import type { MetricsJson } from './prometheus.js'
import {
  FEED_OPTION_KEYS,
  marketOptionsOf,
  pick,
  resolveServerOptions,
  type ServerOptions,
} from './server-options.js'
import type { ServerStats } from './server-stats.js'

export type { ServerStats } from './server-stats.js'

/**
 * Where a server's events come from: by default its own market, paced in this process; or a copy
 * of another log (a worker thread fed by the main thread, an edge reading a Redis Stream). The
 * server starts it once it listens and stops it when it closes.
 */
export interface FeedSource extends AppSource {
  start(): void
  stop(): void
}

export interface TickstormServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly options: ServerOptions
  readonly feed: FeedSource
  stats(): ServerStats
  /**
   * Cuts the connection of up to `count` connections of each transport, as a network fault would
   * (fault injection: clients reconnect and resume); returns how many.
   */
  dropStreams(count?: number): number
  /** Cuts this server's connections of one client. */
  dropClient(clientId: string): number
  /** This server's own /healthz document. */
  health(): HealthDocument
  /** This server's metrics as prom-client JSON, to be added up with other servers'. */
  metricsJson(): Promise<MetricsJson>
  /**
   * Graceful shutdown: stop accepting, end every connection with its transport's "come back
   * later" (SSE: a jittered `retry:`, reference/sse.md §4.4), stop the feed, close every socket.
   */
  close(): Promise<void>
}

/**
 * market → feed → the server app (app.ts), listening on `host:port`. Resolves once the port is
 * bound. `whole` makes it one of several servers on a shared port (a cluster's worker).
 */
export async function createServer(
  partial: Partial<ServerOptions> = {},
  source?: (options: ServerOptions, market: Market) => FeedSource,
  whole?: WholeServer,
): Promise<TickstormServer> {
  const options = resolveServerOptions(partial)
  const market = createMarket(marketOptionsOf(options))
  const feed: FeedSource =
    source?.(options, market) ?? createFeed({ market }, pick(options, FEED_OPTION_KEYS))
  const app = await startApp({ options, market, source: feed, ...(whole ? { whole } : {}) })
  feed.start()
  let closing: Promise<void> | undefined
  return {
    url: `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${app.port}`,
    host: options.host,
    port: app.port,
    options,
    feed,
    stats: app.stats,
    dropStreams: (count = Number.POSITIVE_INFINITY) => app.dropStreams(count),
    dropClient: app.dropClient,
    health: app.health,
    metricsJson: app.metricsJson,
    close() {
      closing ??= (async () => {
        feed.stop()
        await app.close()
      })()
      return closing
    },
  }
}
