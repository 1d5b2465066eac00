import type { TickstormError } from '../errors.js'
import type { LogSource } from '../feed/log-source.js'
import type { HealthDocument } from './health.js'
import type { ServerOptions } from './server-options.js'
import type { ServerStats } from './server-stats.js'

/** A running server, one thread or several: the same shape either way. */
export interface TickstormServer {
  /** `http://host:port`, with the port actually bound. */
  readonly url: string
  readonly host: string
  readonly port: number
  readonly options: ServerOptions
  /** How many threads serve the port (1: this one). */
  readonly workers: number
  /** The source on this thread: the market (or the edge's reader) whose head and universe it has. */
  readonly feed: LogSource
  /** The whole server's counters (a cluster's, as its workers last reported them). */
  stats(): ServerStats
  /** The whole server's /healthz document. */
  health(): Promise<HealthDocument>
  /** The whole server's /metrics exposition. */
  metrics(): Promise<string>
  /** Cuts one client's connections, wherever they are; resolves with how many. */
  dropClient(clientId: string): Promise<number>
  /**
   * Cuts up to `count` connections of each transport (a cluster: on each worker), as a network
   * fault would (fault injection: clients reconnect and resume); resolves with how many.
   */
  dropStreams(count?: number): Promise<number>
  /**
   * Called once if the server fails for good: a worker thread died (`TS_ERR_WORKER_CRASHED`, the
   * cluster has drained the others), or its source stopped (`TS_ERR_REDIS_UNAVAILABLE`).
   */
  onFailure(listener: (error: TickstormError) => void): void
  /**
   * Graceful shutdown: stop accepting, end every connection with its transport's "come back
   * later" (SSE: a jittered `retry:`, reference/sse.md §4.4), close the source, close every socket.
   */
  close(): Promise<void>
}
