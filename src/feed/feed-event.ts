import type { SseEventType } from '../wire/sse-frame.js'

/** One event of the global stream, encoded once and shared by every transport and subscriber. */
export interface FeedEvent {
  /** The global sequence: the SSE `id`, the long-poll cursor and the WebSocket resume point. */
  readonly seq: number
  /** Instrument index. */
  readonly symbol: number
  readonly type: SseEventType
  /** When the market scheduled the tick, in epoch µs: latency is measured from here. */
  readonly scheduledUs: number
  /** The JSON payload (one line). */
  readonly json: string
  /** The complete SSE event (`id`, `event`, `data`, blank line) as bytes. */
  readonly sse: Uint8Array
}

/** The events due in one pacing frame, in sequence order. */
export interface FeedFrame {
  readonly events: readonly FeedEvent[]
  /** The frame's deadline (epoch µs) and how late the loop ran it. */
  readonly deadlineUs: number
  readonly lagUs: number
}
