import { openRedisEdge, type RedisEdge } from '../feed/redis-edge.js'
import { DEFAULT_REDIS_PREFIX, type LinkLog } from '../feed/redis-stream.js'
import { type ClusterDeps, createCluster, type TickstormCluster } from './cluster.js'
import type { WholeServer } from './info-routes.js'
import { createServer, type TickstormServer } from './server.js'
import { resolveServerOptions, type ServerOptions } from './server-options.js'

export interface EdgeServer extends TickstormServer {
  readonly edge: RedisEdge
}

export interface EdgeLink {
  /** `redis://[user:password@]host:port[/db]`. */
  readonly url: string
  /** Key prefix the generator writes under (default `tickstorm`). */
  readonly prefix?: string
  readonly log?: LinkLog
}

/**
 * An edge of a several-host deployment: the same server, with its events read from the
 * generator's Redis Stream instead of a market of its own. The market options (the universe,
 * `/v1/symbols`, initial quotes) are the generator's, from Redis; everything else is this edge's.
 */
export async function createEdgeServer(
  partial: Partial<ServerOptions>,
  link: EdgeLink,
  whole?: WholeServer,
): Promise<EdgeServer> {
  const { historyEvents, historyBytes } = resolveServerOptions(partial)
  const edge = await openRedisEdge({ ...link, historyEvents, historyBytes })
  let server: TickstormServer
  try {
    server = await createServer(withMarketOf(edge, partial), () => edge, whole)
  } catch (error) {
    await edge.close()
    throw error
  }
  // Past a gap the edge's log started over: every open stream resumes by id (reset if needed).
  edge.onResync(() => server.dropStreams())
  let closing: Promise<void> | undefined
  return {
    ...server,
    stats: server.stats,
    dropStreams: server.dropStreams,
    edge,
    close() {
      closing ??= server.close().then(() => edge.close())
      return closing
    },
  }
}

/** The generator's market options (from Redis) over the edge's own. */
function withMarketOf(edge: RedisEdge, partial: Partial<ServerOptions>): Partial<ServerOptions> {
  const { market } = edge
  return {
    ...partial,
    seed: market.seed,
    preset: market.preset,
    symbols: market.symbols,
    ratePerSec: market.ratePerSec,
  }
}

/**
 * `serve --redis <url> --workers N`: N edges in worker threads on one port, each reading the
 * stream itself (so each loads the window and follows it as a lone edge would; ids and bytes are
 * the same by construction). The main thread follows the stream too, with a one-event ring, only
 * to report the head and the link in /healthz.
 */
export async function createEdgeCluster(
  partial: Partial<ServerOptions>,
  workers: number,
  link: EdgeLink,
  deps: Pick<ClusterDeps, 'workerUrl' | 'statsIntervalMs'> = {},
): Promise<TickstormCluster> {
  const prefix = link.prefix ?? DEFAULT_REDIS_PREFIX
  const edge = await openRedisEdge({ ...link, historyEvents: 1, historyBytes: 1024 })
  let cluster: TickstormCluster
  try {
    cluster = await createCluster(withMarketOf(edge, partial), workers, {
      ...deps,
      source: () => ({
        symbols: edge.symbols,
        get headSeq() {
          return edge.headSeq
        },
        state: edge.state,
        stats: edge.stats,
        // The workers read Redis themselves: nothing is forwarded.
        onTickFrame: () => () => undefined,
        start: edge.start,
        stop: edge.stop,
        describe: edge.describe,
      }),
      redis: { url: link.url, prefix },
    })
  } catch (error) {
    await edge.close()
    throw error
  }
  const close = cluster.close
  let closing: Promise<void> | undefined
  return Object.assign(cluster, {
    close() {
      closing ??= close.call(cluster).then(() => edge.close())
      return closing
    },
  })
}
