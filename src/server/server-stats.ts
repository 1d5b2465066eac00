import type { FeedStats } from '../feed/event-log.js'
import type { TransportStatsByName } from './transports/list.js'

/**
 * Everything the server counts, sampled on demand (healthz, /metrics, tests): its own figures,
 * and each transport's stats under the transport's name (`sse`, `longpoll`, `ws`).
 */
export type ServerStats = TransportStatsByName & {
  readonly uptimeMs: number
  readonly feed: FeedStats
  /** Time to fan one frame out over every transport: the last and the worst. */
  readonly lastFanoutUs: number
  readonly maxFanoutUs: number
  /** Requests refused with 401 (no or bad token) and 403 (symbols or origin not allowed). */
  readonly auth: { readonly unauthorized: number; readonly forbidden: number }
}
