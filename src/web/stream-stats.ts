import type { StreamEvent } from './stream-event.js'

/** Events/s is counted in 100-ms buckets over the last second. */
const RATE_BUCKET_MS = 100
const RATE_BUCKETS = 10
/** Latency percentiles cover the last few seconds, from at most this many samples. */
const LATENCY_WINDOW_MS = 5_000
const LATENCY_CAPACITY = 8192

export interface LatencySummary {
  /** Microseconds; NaN until a first sample. */
  readonly lastUs: number
  readonly p50Us: number
  readonly p99Us: number
  readonly samples: number
}

/**
 * What the page proves about the stream, from the events alone. Gaps come from each symbol's
 * own sequence `q` (+1 per event of that symbol), so a lost event shows even though the stream is
 * filtered to a watch-list; a snapshot sets the baseline. Latency is receipt − the event's
 * scheduled time `ts`, so time spent anywhere (generator, server, network, this page) counts.
 */
export interface StreamStats {
  observe(event: StreamEvent, receivedUs: number): void
  /** A fresh subscription (new watch-list): forget baselines; its snapshot sets new ones. */
  forgetBaselines(): void
  readonly events: number
  /** Events missing between two of the same symbol: the number the demo keeps at zero. */
  readonly gaps: number
  /** Events seen twice (a `q` at or below the last one). */
  readonly duplicates: number
  /** Snapshots with `reset: true`: the server could not replay, events were skipped. */
  readonly resets: number
  readonly lastId: string | null
  ratePerSec(nowMs: number): number
  /** Latency of the events received in the last `windowMs` (5 s unless given). */
  latency(nowMs: number, windowMs?: number): LatencySummary
}

export function createStreamStats(): StreamStats {
  const lastQ = new Map<string, number>()
  let events = 0
  let gaps = 0
  let duplicates = 0
  let resets = 0
  let lastId: string | null = null

  const rateCounts = new Uint32Array(RATE_BUCKETS)
  const rateSlots = new Float64Array(RATE_BUCKETS).fill(-1)

  // A ring of (received ms, latency µs): bounded whatever the event rate.
  const latencyAtMs = new Float64Array(LATENCY_CAPACITY)
  const latencyUs = new Float64Array(LATENCY_CAPACITY)
  let latencyNext = 0
  let latencyCount = 0
  let lastLatencyUs = Number.NaN

  const countRate = (nowMs: number): void => {
    const slot = Math.floor(nowMs / RATE_BUCKET_MS)
    const index = slot % RATE_BUCKETS
    if (rateSlots[index] !== slot) {
      rateSlots[index] = slot
      rateCounts[index] = 0
    }
    rateCounts[index]!++
  }

  return {
    observe(event, receivedUs) {
      events++
      lastId = event.id
      countRate(receivedUs / 1000)
      if (event.type === 'snapshot') {
        if (event.data.reset) resets++
        for (const quote of event.data.quotes) lastQ.set(quote.sym, quote.q)
        return
      }
      const { sym, q, ts } = event.data
      const previous = lastQ.get(sym)
      if (previous === undefined || q === previous + 1) lastQ.set(sym, q)
      else if (q > previous + 1) {
        gaps += q - previous - 1
        lastQ.set(sym, q)
      } else duplicates++
      lastLatencyUs = receivedUs - ts
      latencyAtMs[latencyNext] = receivedUs / 1000
      latencyUs[latencyNext] = lastLatencyUs
      latencyNext = (latencyNext + 1) % LATENCY_CAPACITY
      if (latencyCount < LATENCY_CAPACITY) latencyCount++
    },
    forgetBaselines() {
      lastQ.clear()
    },
    get events() {
      return events
    },
    get gaps() {
      return gaps
    },
    get duplicates() {
      return duplicates
    },
    get resets() {
      return resets
    },
    get lastId() {
      return lastId
    },
    ratePerSec(nowMs) {
      // The current bucket is partly filled: count the nine whole ones before it and scale.
      const current = Math.floor(nowMs / RATE_BUCKET_MS)
      let sum = 0
      for (let index = 0; index < RATE_BUCKETS; index++) {
        const slot = rateSlots[index]!
        if (slot < current && slot >= current - (RATE_BUCKETS - 1)) sum += rateCounts[index]!
      }
      return (sum * 1000) / (RATE_BUCKET_MS * (RATE_BUCKETS - 1))
    },
    latency(nowMs, windowMs = LATENCY_WINDOW_MS) {
      const recent: number[] = []
      for (let index = 0; index < latencyCount; index++) {
        if (nowMs - latencyAtMs[index]! <= windowMs) recent.push(latencyUs[index]!)
      }
      recent.sort((a, b) => a - b)
      const at = (quantile: number): number =>
        recent.length === 0
          ? Number.NaN
          : recent[Math.min(recent.length - 1, Math.floor(quantile * recent.length))]!
      return { lastUs: lastLatencyUs, p50Us: at(0.5), p99Us: at(0.99), samples: recent.length }
    },
  }
}
