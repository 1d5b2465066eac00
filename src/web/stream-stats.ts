import type { StreamEvent } from './stream-event.js'

/** Events/s is counted in 100-ms buckets over the last second. */
const RATE_BUCKET_MS = 100
const RATE_BUCKETS = 10
/** Latency percentiles cover the last few seconds, from at most this many samples. */
export const LATENCY_WINDOW_MS = 5_000
const LATENCY_CAPACITY = 8192

/**
 * The events a resumed stream replayed: scheduled before the new connection opened, so each is
 * late by (most of) the outage. `maxLatencyUs` is the oldest one's lateness.
 */
export interface CatchUp {
  readonly events: number
  readonly maxLatencyUs: number
}

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
  /**
   * Counts one event. Returns the catch-up of the last resume when this is the first live event
   * after it (once per resume), else null.
   */
  observe(event: StreamEvent, receivedUs: number): CatchUp | null
  /**
   * A resumed stream opened at `openedUs`: the events it replays (scheduled before that) are
   * counted as its catch-up and left out of the latency figures.
   */
  resumed(openedUs: number): void
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

  // After a drop, the replayed events are late by the outage (the retry interval plus the
  // reconnect): a second or two, against a few milliseconds live. Kept in the window, they set
  // p99 to the outage for the next five seconds, and the tile says "p99 1,480 ms" of a stream that
  // is delivering in 5 ms again. Resetting the window on the resume would not help (the replay
  // arrives after it) and would throw away true samples, so the replayed events are excluded
  // instead: the latency figures describe live delivery, and the outage is reported beside the
  // reconnect (its length is a fact about the fault, not about the transport).
  let catchUpBeforeUs = Number.NEGATIVE_INFINITY
  let catchUpEvents = 0
  let catchUpMaxUs = 0

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
        return null
      }
      const { sym, q, ts } = event.data
      const previous = lastQ.get(sym)
      if (previous === undefined || q === previous + 1) lastQ.set(sym, q)
      else if (q > previous + 1) {
        gaps += q - previous - 1
        lastQ.set(sym, q)
      } else duplicates++
      if (ts < catchUpBeforeUs) {
        catchUpEvents++
        catchUpMaxUs = Math.max(catchUpMaxUs, receivedUs - ts)
        return null
      }
      let finished: CatchUp | null = null
      if (catchUpBeforeUs !== Number.NEGATIVE_INFINITY) {
        // Replays come in id order, so the first live event ends the catch-up.
        catchUpBeforeUs = Number.NEGATIVE_INFINITY
        finished = { events: catchUpEvents, maxLatencyUs: catchUpMaxUs }
      }
      lastLatencyUs = receivedUs - ts
      latencyAtMs[latencyNext] = receivedUs / 1000
      latencyUs[latencyNext] = lastLatencyUs
      latencyNext = (latencyNext + 1) % LATENCY_CAPACITY
      if (latencyCount < LATENCY_CAPACITY) latencyCount++
      return finished
    },
    resumed(openedUs) {
      catchUpBeforeUs = openedUs
      catchUpEvents = 0
      catchUpMaxUs = 0
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
