import {
  concatSse,
  encodeSseEvent,
  encodeSsePreamble,
  encodeSseRetry,
  SSE_HEARTBEAT,
} from '../../wire/sse-frame.js'
import type { Group } from '../fanout.js'
import { remoteAddress } from '../limits.js'
import type { HttpResponse } from '../native-uws.js'
import { snapshotEvent } from '../replay.js'
import type { Subscription } from '../subscription.js'
import {
  type ConnectionLease,
  catchUpStep,
  dropSome,
  openLease,
  resumeFrom,
  type Transport,
  type TransportContext,
} from '../transport.js'
import { mountSseRoutes, type StreamStart, shedSse, writeStreamHead } from './sse-routes.js'

export interface SseStats {
  readonly connections: number
  /** Streams not receiving live frames: catching up from the ring after a reconnect or a stall. */
  readonly behind: number
  readonly opened: number
  readonly closed: number
  readonly deliveries: number
  readonly bytesWritten: number
  readonly replayHits: number
  readonly replayMisses: number
  readonly slowDisconnects: number
  /** Times a live stream's socket pushed back, and conflated snapshots sent when it drained. */
  readonly slowEvents: number
  readonly conflations: number
  /** Stream requests answered with `retry:` and an end while draining (never a 503). */
  readonly shed: number
}

/** The SSE part of a subscription group: its live members. */
export interface SseSlot {
  readonly members: Subscriber[]
}

type SseGroup = Group<{ readonly sse: SseSlot }>

/** Per-connection state, kept in our own record (never as properties on `res`). */
interface Subscriber {
  readonly res: HttpResponse
  readonly subscription: Subscription
  /** The group it is a live member of, or null while behind. */
  group: SseGroup | null
  memberIndex: number
  /** While behind: the last sequence handed to uWS; replay continues after it. */
  cursor: number
  behindSinceMs: number
  closed: boolean
  /**
   * Fell behind while live (its socket pushed back), as opposed to resuming from an id: when it
   * drains it gets the latest value per symbol (conflation), not every tick it missed.
   */
  slow: boolean
  readonly lease: ConnectionLease
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
 * A reconnection time drawn uniformly from the drain range, so clients told to come back do not
 * all come back at once. (Not market data: the seeded generators are not needed here.)
 */
function drainRetryMs(options: TransportContext['options']): number {
  const span = options.drainRetryMaxMs - options.drainRetryMinMs + 1
  return options.drainRetryMinMs + Math.floor(Math.random() * span)
}

/**
 * Server-Sent Events. Live subscribers sit in the shared subscription groups; a group's events of
 * a frame are concatenated once and the same bytes are written, corked, to every member. A
 * subscriber whose write hits backpressure leaves its group and is "behind": from then on it is
 * fed from the ring by cursor (catchUpStep), a bounded chunk per turn, whenever uWS reports it
 * writable, and rejoins its group at the head. One path serves reconnect replay and slow
 * consumers; neither loses an event the ring still holds, and past the ring comes a reset snapshot.
 */
export function createSseTransport(ctx: TransportContext): Transport<'sse', SseSlot, SseStats> {
  const { feed, fanout, flow, options } = ctx
  const subscribers = new Set<Subscriber>()
  const behind = new Set<Subscriber>()
  /** Behind subscribers whose last chunk was accepted: continued on the next turn. */
  let continueQueue: Subscriber[] = []
  let continueScheduled = false
  let lastHeartbeatMs = Date.now()
  let opened = 0
  let closed = 0
  let deliveries = 0
  let bytesWritten = 0
  let replayHits = 0
  let replayMisses = 0
  let slowDisconnects = 0
  let slowEvents = 0
  let conflations = 0
  let shed = 0

  const joinLive = (sub: Subscriber): void => {
    const group = fanout.acquire(sub.subscription) as unknown as SseGroup
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
    sub.lease.end()
    leaveGroup(sub)
    behind.delete(sub)
    subscribers.delete(sub)
    closed++
  }

  /**
   * Writes the next catch-up step. Returns false when uWS pushed back (it will call onWritable);
   * true when caught up or when the chunk was accepted (then the subscriber continues next turn,
   * so one stream cannot starve the rest).
   */
  const catchUp = (sub: Subscriber): boolean => {
    const step = catchUpStep(feed, sub.subscription, sub.cursor, options.catchUpBytes, sub.slow)
    if (step.kind === 'live') {
      joinLive(sub)
      return true
    }
    if (step.kind === 'snapshot') {
      if (step.conflated) conflations++
      else replayMisses++
      const { snapshot } = step
      const bytes = encodeSseEvent(snapshot.seq, 'snapshot', snapshot.json)
      sub.slow = false
      sub.cursor = snapshot.seq
      const ok = sub.res.write(bytes)
      bytesWritten += bytes.length
      if (ok) joinLive(sub)
      return ok
    }
    sub.cursor = step.cursor
    let ok = true
    if (step.events.length > 0) {
      ok = sub.res.write(concatSse(step.events))
      deliveries += step.events.length
      bytesWritten += step.bytes
    }
    if (!ok) return false
    if (sub.cursor >= feed.history.headSeq) joinLive(sub)
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

  /** Starts a stream on `res`. Runs inside a uWS callback for `res` (corked there). */
  const open = (res: HttpResponse, subscription: Subscription, start: StreamStart): void => {
    const lease = openLease(ctx.limiter, ctx.clients, remoteAddress(res))
    if (lease === null) {
      shedSse(res, start.cors, drainRetryMs(options))
      return
    }
    const sub: Subscriber = {
      res,
      subscription,
      group: null,
      memberIndex: -1,
      cursor: 0,
      behindSinceMs: Date.now(),
      closed: false,
      slow: false,
      lease,
    }
    subscribers.add(sub)
    lease.nameClient(start.clientId, () => {
      forget(sub)
      res.close()
    })
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
    const resume = resumeFrom(feed, start.lastEventId)
    if (resume.kind !== 'fresh') {
      // Too old, from the future (a restarted server), or not ours: the spec has no status for it
      // and any non-200 would end EventSource for good, so a reset is answered in-band.
      if (resume.kind === 'replay') replayHits++
      sub.cursor = resume.kind === 'replay' ? resume.afterSeq : -1
      behind.add(sub)
      catchUp(sub)
      return
    }
    if (start.snapshot) {
      const snapshot = snapshotEvent(feed, subscription, false)
      const bytes = encodeSseEvent(snapshot.seq, 'snapshot', snapshot.json)
      res.write(bytes)
      bytesWritten += bytes.length
    }
    sub.cursor = head
    joinLive(sub)
  }

  const mount: Transport['mount'] = (app) =>
    mountSseRoutes(app, flow, options, {
      open,
      shed: (res, cors) => {
        shed++
        shedSse(res, cors, drainRetryMs(options))
      },
    })

  return {
    name: 'sse',
    routes: [
      {
        pattern: '/v1/stream',
        methods: ['GET', 'HEAD', 'POST'],
        endpoints: [
          [
            'GET /v1/stream?symbols=AAPL,MSFT',
            'Server-Sent Events: quote, trade, status, snapshot',
          ],
          [
            'POST /v1/stream',
            'the same stream, subscribed with a JSON body {"symbols": [...]} or {"symbols": "*"}',
          ],
        ],
      },
    ],
    createSlot: () => ({ members: [] }),
    mount,

    deliver(group, lastSeq) {
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
    },

    tick(nowMs) {
      // One heartbeat for every live stream, on the server's one timer.
      if (nowMs - lastHeartbeatMs >= options.heartbeatMs) {
        lastHeartbeatMs = nowMs
        const head = feed.headSeq
        // fallBehind leaves `subscribers` as it is (a stream cut meanwhile is deleted, which a
        // Set's iteration allows), so no copy of every stream is made per heartbeat.
        for (const sub of subscribers) {
          if (sub.group === null) continue
          if (!writeCorked(sub.res, SSE_HEARTBEAT)) fallBehind(sub, head)
        }
      }
      for (const sub of behind) {
        if (nowMs - sub.behindSinceMs > options.slowConsumerTimeoutMs) {
          slowDisconnects++
          forget(sub)
          sub.res.close()
        }
      }
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

    drop: (count) =>
      dropSome(subscribers, count, (sub) => {
        forget(sub)
        sub.res.close()
      }),

    stats: () => ({
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
      shed,
    }),
  }
}
