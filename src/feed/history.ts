import type { FeedEvent } from './feed-event.js'

/**
 * The replay ring: the most recent events, bounded by count and by bytes (whichever binds first),
 * indexed by sequence. Sequences are contiguous, so a lookup is one subtraction; no search.
 */
export interface History {
  /** Oldest sequence still held (headSeq + 1 when empty). */
  readonly firstSeq: number
  /** Newest sequence appended (0 before the first). */
  readonly headSeq: number
  readonly size: number
  readonly bytes: number
  /** Events evicted so far to respect the bounds. */
  readonly evicted: number
  append(event: FeedEvent): void
  /**
   * Whether every event after `afterSeq` is still held, i.e. a resume from `afterSeq` can be
   * served by replay alone with no gap.
   */
  covers(afterSeq: number): boolean
  /** The event with this sequence, if held. */
  get(seq: number): FeedEvent | undefined
  /** Empties the ring; the next event appended must be `headSeq + 1`. */
  restartAfter(headSeq: number): void
}

export interface HistoryOptions {
  readonly maxEvents: number
  readonly maxBytes: number
}

export function createHistory(options: HistoryOptions): History {
  const capacity = options.maxEvents
  const ring: (FeedEvent | undefined)[] = new Array(capacity)
  let start = 0 // ring index of firstSeq
  let size = 0
  let bytes = 0
  let firstSeq = 1
  let headSeq = 0
  let evicted = 0

  const evictOldest = (): void => {
    const oldest = ring[start]!
    ring[start] = undefined
    bytes -= oldest.sse.length + oldest.json.length
    start = (start + 1) % capacity
    size--
    firstSeq++
    evicted++
  }

  return {
    get firstSeq() {
      return firstSeq
    },
    get headSeq() {
      return headSeq
    },
    get size() {
      return size
    },
    get bytes() {
      return bytes
    },
    get evicted() {
      return evicted
    },
    append(event) {
      if (event.seq !== headSeq + 1) {
        throw new Error(`history: expected seq ${headSeq + 1}, got ${event.seq}`)
      }
      // Both encodings are kept (SSE bytes and JSON for the other transports), so both count.
      const eventBytes = event.sse.length + event.json.length
      while (size > 0 && (size === capacity || bytes + eventBytes > options.maxBytes)) evictOldest()
      ring[(start + size) % capacity] = event
      size++
      bytes += eventBytes
      headSeq = event.seq
      if (size === 1) firstSeq = event.seq
    },
    covers(afterSeq) {
      return afterSeq >= firstSeq - 1 && afterSeq <= headSeq
    },
    get(seq) {
      if (seq < firstSeq || seq > headSeq) return undefined
      return ring[(start + (seq - firstSeq)) % capacity]
    },
    restartAfter(newHeadSeq) {
      evicted += size
      ring.fill(undefined)
      start = 0
      size = 0
      bytes = 0
      headSeq = newHeadSeq
      firstSeq = newHeadSeq + 1
    },
  }
}
