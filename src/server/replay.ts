import { nowUs } from '../clock.js'
import type { EventLog } from '../feed/event-log.js'
import type { FeedEvent } from '../feed/feed-event.js'
import { encodeSnapshotJson } from '../wire/snapshot-json.js'
import { includes, type Subscription } from './subscription.js'

/**
 * Resume points, shared by the three transports: an SSE `Last-Event-ID`, a long-poll `cursor` and
 * a WebSocket `lastEventId` are the same number, so a client can switch transport and resume.
 * Decimal ASCII only, at most 15 digits (exact in a double).
 */
const RESUME_ID = /^\d{1,15}$/

/**
 * How long a resume from an id a following copy of the log has not reached yet may wait for it
 * (EventLog.awaitSeq), before it is treated as unknown (a reset snapshot).
 */
export const CATCH_UP_WAIT_MS = 1000

/** The resume point as a sequence, or null when it is malformed. */
export function parseResumeId(id: string): number | null {
  return RESUME_ID.test(id) ? Number(id) : null
}

/**
 * For a resume from `id` on a log that follows another one (an edge a moment behind the client's
 * previous edge): a promise that settles once the log has the id, or after CATCH_UP_WAIT_MS.
 * Null when the resume can go on at once (no id, a malformed one, one already here, or a log
 * that follows nothing). Every transport's resume waits through this one rule.
 */
export function catchUpFor(feed: EventLog, id: string | null): Promise<void> | null {
  const seq = id === null ? null : parseResumeId(id)
  if (feed.awaitSeq === undefined || seq === null || seq <= feed.headSeq) return null
  return feed.awaitSeq(seq, CATCH_UP_WAIT_MS)
}

export interface ReplayChunk {
  /** The subscription's events after the cursor, in order. */
  readonly events: FeedEvent[]
  /** The last sequence examined: the cursor to continue from (≥ the last event's). */
  readonly cursor: number
  readonly bytes: number
}

/**
 * The subscription's events after `afterSeq` from the ring, up to about `maxBytes` of SSE bytes.
 * The caller checked `history.covers(afterSeq)`.
 */
export function replayAfter(
  feed: EventLog,
  subscription: Subscription,
  afterSeq: number,
  maxBytes: number,
): ReplayChunk {
  const history = feed.history
  const head = history.headSeq
  const events: FeedEvent[] = []
  let bytes = 0
  let seq = afterSeq + 1
  for (; seq <= head && bytes < maxBytes; seq++) {
    const event = history.get(seq)!
    if (includes(subscription, event.symbol)) {
      events.push(event)
      bytes += event.sse.length
    }
  }
  return { events, cursor: seq - 1, bytes }
}

export interface SnapshotEvent {
  readonly seq: number
  readonly type: 'snapshot'
  readonly json: string
}

/**
 * The full state of a subscription's symbols as of the head of the feed; its id is the head, so
 * a client resumes from it with nothing missed and nothing repeated.
 */
export function snapshotEvent(
  feed: EventLog,
  subscription: Subscription,
  reset: boolean,
  replacesFrom?: number,
): SnapshotEvent {
  const symbols = subscription.symbols ?? feed.symbols.map((_, index) => index)
  const states = symbols.map((symbol) => feed.state(symbol))
  const seq = feed.headSeq
  const replaces = replacesFrom === undefined ? undefined : { from: replacesFrom, to: seq }
  return {
    seq,
    type: 'snapshot',
    json: encodeSnapshotJson(states, feed.symbols, seq, nowUs(), reset, replaces),
  }
}
