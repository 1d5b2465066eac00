import type { FeedStats } from '../feed/event-log.js'
import type { PollHubStats } from './poll-hub.js'
import type { SseHubStats } from './sse-hub.js'
import type { WsHubStats } from './ws-hub.js'

/** Everything the server counts, sampled on demand (healthz, /metrics, tests). */
export interface ServerStats {
  readonly uptimeMs: number
  readonly feed: FeedStats
  readonly sse: SseHubStats
  readonly poll: PollHubStats
  readonly ws: WsHubStats
  /** Time to fan one frame out over every transport: the last and the worst. */
  readonly lastFanoutUs: number
  readonly maxFanoutUs: number
  /** Stream requests answered with `retry:` and an end while draining (never a 503). */
  readonly shedStreams: number
  /** Requests refused with 401 (no or bad token) and 403 (symbols or origin not allowed). */
  readonly auth: { readonly unauthorized: number; readonly forbidden: number }
}
