import type { EventLog } from '../feed/event-log.js'
import {
  concatSse,
  encodeSseEvent,
  encodeSsePreamble,
  encodeSseRetry,
  SSE_HEARTBEAT,
} from '../wire/sse-frame.js'
import type { ClientRegistry } from './client-registry.js'
import { type CorsDecision, writeCorsHeaders } from './cors.js'
import type { Fanout, Group } from './fanout.js'
import { endWith } from './http.js'
import { type ConnectionLimiter, remoteAddress } from './limits.js'
import type { HttpResponse } from './native-uws.js'
import { canReplay, replayAfter, snapshotEvent } from './replay.js'
import type { Subscription } from './subscription.js'

export interface SseHubOptions {
  /** Sent as `retry:` on every new stream. */
  readonly retryMs: number
  /** Most bytes of replay written to one stream per turn before yielding to the others. */
  readonly catchUpBytes: number
  /** A stream that cannot keep up (or catch up) for this long is closed and counted. */
  readonly slowConsumerTimeoutMs: number
  /** On shutdown each stream gets `retry:` drawn uniformly from this range, spreading the storm. */
  readonly drainRetryMinMs: number
  readonly drainRetryMaxMs: number
}

/** How a new stream starts. */
export interface StreamStart {
  /** `Last-Event-ID` (header first, then the `lastEventId` query parameter), or null. */
  readonly lastEventId: string | null
  /** Whether a fresh stream (no id) begins with a snapshot of its symbols. */
  readonly snapshot: boolean
  /** The client's own id (`client=`), so it can ask for its connection to be cut; or null. */
  readonly clientId: string | null
  /** The request's origin decision, made in the route handler (cors.ts). */
  readonly cors: CorsDecision
}

export interface SseHubStats {
  readonly connections: number
  /** Streams not receiving live frames: catching up from the ring after a reconnect or a stall. */
  readonly behind: number
  readonly opened: number
  readonly closed: number
  readonly deliveries: number
  readonly bytesWritten: number
  /** Resumes served from the ring, and resumes that got a snapshot instead (too old, malformed). */
  readonly replayHits: number
  readonly replayMisses: number
  readonly slowDisconnects: number
  /** Times a live stream's socket pushed back, and conflated snapshots sent when it drained. */
  readonly slowEvents: number
  readonly conflations: number
}

/** The SSE part of a subscription group: its live members. */
export interface SseSlot {
  readonly members: Subscriber[]
}

/** A subscription group as this hub sees it: only its own slot (group-state.ts holds them all). */
type HubGroup = Group<{ readonly sse: SseSlot }>
type HubFanout = Fanout<{ readonly sse: SseSlot }>

export interface SseHub {
  /** Starts a stream on `res`. Must run inside a uWS callback for `res` (it is corked there). */
  open(res: HttpResponse, subscription: Subscription, start: StreamStart): void
  /** Writes a group's events of this frame to its live members; `lastSeq` ends the frame. */
  deliver(group: HubGroup, lastSeq: number): void
  /** Ends every stream with a jittered `retry:` and closes its connection. */
  drain(): void
  /**
   * Cuts the TCP connection of up to `count` streams, as a network fault would: clients reconnect
   * on their own and resume with `Last-Event-ID`. Returns how many were cut.
   */
  dropStreams(count?: number): number
  stats(): SseHubStats
  /** Writes the heartbeat comment to every live stream (called by the server's one timer). */
  heartbeat(): void
  /** Closes streams that have been behind longer than the slow-consumer timeout. */
  enforceDeadlines(): void
}

/** Per-connection state, kept in our own record (never as properties on `res`). */
interface Subscriber {
  readonly res: HttpResponse
  readonly subscription: Subscription
  /** The group it is a live member of, or null while behind. */
  group: HubGroup | null
  memberIndex: number
  /** While behind: the last sequence handed to uWS; replay continues after it. */
  cursor: number
  behindSinceMs: number
  closed: boolean
  forgetClient: (() => void) | null
  /**
   * Fell behind while live (its socket pushed back), as opposed to resuming from an id: when it
   * drains it gets the latest value per symbol (conflation), not every tick it missed.
   */
  slow: boolean
  /** Gives back the connection slot taken when it opened. */
  releaseSlot: (() => void) | null
}

// The fan-out loop corks every write; these module-level slots let it pass the same function to
// `cork` for every subscriber instead of allocating a closure per subscriber per frame.
let corkRes: HttpResponse
let corkBytes: Uint8Array
let corkOk = true
const corkedWrite = (): void => {
  corkOk = corkRes.write(corkBytes)
}
function writeCorked(res: HttpResponse, bytes: Uint8Array): boolean {
  corkRes = res
  corkBytes = bytes
  res.cork(corkedWrite)
  return corkOk
}

/** A harmless line that lets uWS flush its buffer when it asks us to write (see onWritable). */
const DRAIN_NUDGE = new TextEncoder().encode(':\n')

/**
 * A stream's status and headers, the same for a live stream, a shed one and a HEAD. no-transform
 * keeps compressing proxies from buffering; X-Accel-Buffering turns nginx's proxy buffering off for
 * this response (reference/sse.md §4.1, §5).
 */
function writeStreamHead(res: HttpResponse, cors: CorsDecision): void {
  res.writeStatus('200 OK')
  res.writeHeader('Content-Type', 'text/event-stream; charset=utf-8')
  res.writeHeader('Cache-Control', 'no-store, no-transform')
  res.writeHeader('X-Accel-Buffering', 'no')
  writeCorsHeaders(res, cors)
}

/**
 * Sheds a stream: 200, a `retry:` and the end. Never 503: a browser's EventSource gives up for
 * good on any non-200 status, while a `retry:` brings it back later (reference/sse.md §4.2).
 */
export function shedSse(res: HttpResponse, cors: CorsDecision, retryMs: number): void {
  res.cork(() => {
    writeStreamHead(res, cors)
    endWith(res, encodeSseRetry(retryMs), true)
  })
}

/**
 * HEAD of a stream (RFC 9110 §9.3.2): the headers a GET would get, then the end. No stream is
 * opened and no connection slot taken; there is no Content-Length, since a stream has none.
 */
export function headOfSse(res: HttpResponse, cors: CorsDecision): void {
  res.cork(() => {
    writeStreamHead(res, cors)
    endWith(res, null)
  })
}

/**
 * A reconnection time drawn uniformly from the drain range, so clients told to come back do not
 * all come back at once. (Not market data: the seeded generators are not needed here.)
 */
export function drainRetryMs(
  options: Pick<SseHubOptions, 'drainRetryMinMs' | 'drainRetryMaxMs'>,
): number {
  const span = options.drainRetryMaxMs - options.drainRetryMinMs + 1
  return options.drainRetryMinMs + Math.floor(Math.random() * span)
}

/**
 * Server-Sent Events fan-out. Live subscribers sit in the shared subscription groups; a group's
 * events of a frame are concatenated once and the same bytes are written, corked, to every member. A subscriber whose write hits backpressure
 * leaves its group and is "behind": from then on it is fed from the replay ring by cursor, in
 * bounded chunks, whenever uWS reports it writable, and rejoins its group once it reaches the
 * head. One code path serves reconnect replay and slow consumers, and neither can lose an event
 * while the ring still holds it; past the ring the subscriber gets a `snapshot` with `reset: true`.
 */
export function createSseHub(
  feed: EventLog,
  fanout: HubFanout,
  clients: ClientRegistry,
  limiter: ConnectionLimiter,
  options: SseHubOptions,
): SseHub {
  const subscribers = new Set<Subscriber>()
  const behind = new Set<Subscriber>()
  /** Behind subscribers whose last chunk was accepted: continued on the next turn. */
  let continueQueue: Subscriber[] = []
  let continueScheduled = false

  let opened = 0
  let closed = 0
  let deliveries = 0
  let bytesWritten = 0
  let replayHits = 0
  let replayMisses = 0
  let slowDisconnects = 0
  let slowEvents = 0
  let conflations = 0

  const joinLive = (sub: Subscriber): void => {
    const group = fanout.acquire(sub.subscription)
    const members = group.state.sse.members
    sub.group = group
    sub.memberIndex = members.length
    members.push(sub)
    behind.delete(sub)
  }

  // O(1) swap-remove from the group's dense member array.
  const leaveGroup = (sub: Subscriber): void => {
    const group = sub.group
    if (group === null) return
    const members = group.state.sse.members
    const last = members.pop()!
    if (last !== sub) {
      members[sub.memberIndex] = last
      last.memberIndex = sub.memberIndex
    }
    sub.group = null
    fanout.release(group)
  }

  const fallBehind = (sub: Subscriber, cursor: number): void => {
    sub.slow = true
    slowEvents++
    leaveGroup(sub)
    sub.cursor = cursor
    sub.behindSinceMs = Date.now()
    behind.add(sub)
  }

  const forget = (sub: Subscriber): void => {
    if (sub.closed) return
    sub.closed = true
    sub.forgetClient?.()
    sub.releaseSlot?.()
    leaveGroup(sub)
    behind.delete(sub)
    subscribers.delete(sub)
    closed++
  }

  const snapshotBytes = (subscription: Subscription, reset: boolean): Uint8Array => {
    const snapshot = snapshotEvent(feed, subscription, reset)
    return encodeSseEvent(snapshot.seq, 'snapshot', snapshot.json)
  }

  /**
   * Writes replay after `sub.cursor`, at most `catchUpBytes` per call. Returns false when uWS
   * pushed back (it will call onWritable); true when caught up or when the chunk was accepted
   * (then the subscriber is queued to continue next turn, so one stream cannot starve the rest).
   */
  const catchUp = (sub: Subscriber): boolean => {
    const history = feed.history
    const head = history.headSeq
    if (sub.cursor >= head) {
      joinLive(sub)
      return true
    }
    if (sub.slow || !history.covers(sub.cursor)) {
      // A slow consumer is conflated: one snapshot of its symbols stands in for the ticks it
      // could not take (market data's usual answer; replaying them would only keep it behind).
      // A resume older than the ring gets the same, as a reset.
      let bytes: Uint8Array
      if (sub.slow) {
        conflations++
        const snapshot = snapshotEvent(feed, sub.subscription, true, sub.cursor + 1)
        bytes = encodeSseEvent(snapshot.seq, 'snapshot', snapshot.json)
      } else {
        replayMisses++
        bytes = snapshotBytes(sub.subscription, true)
      }
      sub.slow = false
      sub.cursor = head
      const ok = sub.res.write(bytes)
      bytesWritten += bytes.length
      if (ok) joinLive(sub)
      return ok
    }
    const chunk = replayAfter(feed, sub.subscription, sub.cursor, options.catchUpBytes)
    sub.cursor = chunk.cursor
    let ok = true
    if (chunk.events.length > 0) {
      ok = sub.res.write(concatSse(chunk.events))
      deliveries += chunk.events.length
      bytesWritten += chunk.bytes
    }
    if (!ok) return false
    if (sub.cursor >= head) joinLive(sub)
    else scheduleContinue(sub)
    return true
  }

  const runContinues = (): void => {
    continueScheduled = false
    const queue = continueQueue
    continueQueue = []
    for (const sub of queue) {
      if (sub.closed || sub.group !== null) continue
      sub.res.cork(() => catchUp(sub))
    }
  }

  const scheduleContinue = (sub: Subscriber): void => {
    continueQueue.push(sub)
    if (!continueScheduled) {
      continueScheduled = true
      setImmediate(runContinues)
    }
  }

  const deliver = (group: HubGroup, lastSeq: number): void => {
    const members = group.state.sse.members
    if (members.length === 0) return
    const events = group.events
    const bytes = concatSse(events)
    let i = 0
    while (i < members.length) {
      const sub = members[i]!
      const ok = writeCorked(sub.res, bytes)
      deliveries += events.length
      bytesWritten += bytes.length
      // uWS keeps what it could not send; later frames come from the ring once it drains.
      // fallBehind swaps the last member into slot i, so i stays.
      if (ok) i++
      else fallBehind(sub, lastSeq)
    }
  }

  const heartbeat = (): void => {
    const head = feed.headSeq
    for (const sub of [...subscribers]) {
      if (sub.group === null) continue
      if (!writeCorked(sub.res, SSE_HEARTBEAT)) fallBehind(sub, head)
    }
  }

  const enforceDeadlines = (): void => {
    const now = Date.now()
    for (const sub of behind) {
      if (now - sub.behindSinceMs > options.slowConsumerTimeoutMs) {
        slowDisconnects++
        forget(sub)
        sub.res.close()
      }
    }
  }

  return {
    deliver,
    open(res, subscription, start) {
      const sub: Subscriber = {
        res,
        subscription,
        group: null,
        memberIndex: -1,
        cursor: 0,
        behindSinceMs: Date.now(),
        closed: false,
        forgetClient: null,
        slow: false,
        releaseSlot: null,
      }
      const address = remoteAddress(res)
      if (!limiter.admit(address)) {
        shedSse(res, start.cors, drainRetryMs(options))
        return
      }
      sub.releaseSlot = () => limiter.release(address)
      subscribers.add(sub)
      if (start.clientId !== null) {
        sub.forgetClient = clients.add(start.clientId, () => {
          forget(sub)
          res.close()
        })
      }
      opened++
      res.onAborted(() => forget(sub))
      res.onWritable(() => {
        if (sub.closed) return true
        // uWS does not flush its own buffer while a writable handler is registered: something
        // must be written. A lone comment line is invisible to the client.
        if (sub.group !== null) return res.write(DRAIN_NUDGE)
        return catchUp(sub)
      })

      writeStreamHead(res, start.cors)
      const head = feed.headSeq
      res.write(encodeSsePreamble(options.retryMs, head))

      const id = start.lastEventId
      if (id !== null && id !== '') {
        if (canReplay(feed, id)) {
          replayHits++
          sub.cursor = Number(id)
        } else {
          // Too old, from the future (a restarted server), or not ours: the spec has no status
          // for it and any non-200 would end EventSource for good, so answer in-band.
          sub.cursor = -1
        }
        behind.add(sub)
        catchUp(sub)
        return
      }
      if (start.snapshot) {
        const bytes = snapshotBytes(subscription, false)
        res.write(bytes)
        bytesWritten += bytes.length
      }
      sub.cursor = head
      joinLive(sub)
    },

    drain() {
      for (const sub of [...subscribers]) {
        forget(sub)
        const retryMs = drainRetryMs(options)
        // Headers are long gone, so `end(body, closeConnection)` would write a `Connection: close`
        // header into the body; the chunked stream is ended cleanly and the socket closed later.
        sub.res.cork(() => {
          sub.res.write(encodeSseRetry(retryMs))
          sub.res.end()
        })
      }
    },

    dropStreams(count = Number.POSITIVE_INFINITY) {
      let dropped = 0
      for (const sub of [...subscribers]) {
        if (dropped >= count) break
        forget(sub)
        sub.res.close()
        dropped++
      }
      return dropped
    },

    stats() {
      return {
        connections: subscribers.size,
        behind: behind.size,
        opened,
        closed,
        deliveries,
        bytesWritten,
        replayHits,
        replayMisses,
        slowDisconnects,
        slowEvents,
        conflations,
      }
    },

    heartbeat,
    enforceDeadlines,
  }
}
