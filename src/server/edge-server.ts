import { openRedisEdge, type RedisEdge } from '../feed/redis-edge.js'
import type { LinkLog } from '../feed/redis-stream.js'
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
): Promise<EdgeServer> {
  const { historyEvents, historyBytes } = resolveServerOptions(partial)
  const edge = await openRedisEdge({ ...link, historyEvents, historyBytes })
  const { market } = edge
  let server: TickstormServer
  try {
    server = await createServer(
      {
        ...partial,
        seed: market.seed,
        preset: market.preset,
        symbols: market.symbols,
        ratePerSec: market.ratePerSec,
      },
      () => edge,
    )
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
