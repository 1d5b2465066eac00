import { ERROR_CODES, TickstormError } from '../errors.js'
import type { EventLog } from '../feed/event-log.js'
import { encodePollBody } from '../wire/event-json.js'
import type { ClientRegistry } from './client-registry.js'
import type { CorsDecision } from './cors.js'
import type { Fanout, Group } from './fanout.js'
import { sendError, sendJson } from './http.js'
import { type ConnectionLimiter, remoteAddress } from './limits.js'
import type { HttpResponse } from './native-uws.js'
import { canReplay, replayAfter, snapshotEvent } from './replay.js'
import type { Subscription } from './subscription.js'

export interface PollHubOptions {
  /** Parked requests across all subscriptions; past it a poll gets 503 + Retry-After. */
  readonly maxParkedPolls: number
  /** Most SSE-equivalent bytes of events in one answer; the cursor says where to continue. */
  readonly catchUpBytes: number
}

/** The long-poll part of a subscription group: requests waiting for its next events. */
export interface PollSlot {
  readonly parked: Poller[]
}

/** A subscription group as this hub sees it: only its own slot (group-state.ts holds them all). */
type HubGroup = Group<{ readonly poll: PollSlot }>
type HubFanout = Fanout<{ readonly poll: PollSlot }>

interface Poller {
  readonly res: HttpResponse
  readonly group: HubGroup
  index: number
  readonly deadlineMs: number
  readonly cors: CorsDecision
  done: boolean
  forgetClient: (() => void) | null
  /** The peer address holding a connection slot while parked. */
  readonly address: string
}

export interface PollRequest {
  /** The `cursor` parameter (the last event id the client has), or null for a fresh start. */
  readonly cursor: string | null
  readonly timeoutMs: number
  /** The client's own id (`client=`), so it can ask for its parked request to be cut. */
  readonly clientId: string | null
  /** The request's origin decision, made in the route handler (cors.ts). */
  readonly cors: CorsDecision
}

export interface PollHubStats {
  readonly parked: number
  readonly answered: number
  readonly timedOut: number
  readonly deliveries: number
  readonly bytesWritten: number
  readonly replayHits: number
  readonly replayMisses: number
  readonly rejected: number
  /** Immediate answers served from the per-(subscription, cursor) body cache. */
  readonly cacheHits: number
}

export interface PollHub {
  /** Answers at once when events after the cursor exist, otherwise parks the request. */
  handle(res: HttpResponse, subscription: Subscription, request: PollRequest): void
  /** Answers every request parked on `group` with this frame's events (one body for all). */
  deliver(group: HubGroup, lastSeq: number): void
  /** Answers every parked request with an empty batch (shutdown). */
  drain(): void
  /** Cuts the connections of up to `count` parked requests, as a network fault would. */
  dropParked(count: number): number
  stats(): PollHubStats
  /** Answers parked requests past their deadline with an empty batch (the server's timer). */
  sweep(): void
}

interface Answer {
  readonly body: Uint8Array
  readonly events: number
}

const CACHE_LIMIT = 256

/**
 * Long polling over the same event stream. A request either gets the events after its cursor at
 * once, or parks in its subscription group until the next frame with matching events, whose body
 * is built once and shared by every parked request of the group. Immediate answers are built once
 * per (subscription, cursor) per head and cached, since pollers of one subscription come back
 * with the same cursor. One timer answers expired requests; an aborted one is dropped at once.
 */
export function createPollHub(
  feed: EventLog,
  fanout: HubFanout,
  clients: ClientRegistry,
  limiter: ConnectionLimiter,
  options: PollHubOptions,
): PollHub {
  let parkedCount = 0
  let answered = 0
  let timedOut = 0
  let deliveries = 0
  let bytesWritten = 0
  let replayHits = 0
  let replayMisses = 0
  let rejected = 0
  let cacheHits = 0
  const allParked = new Set<Poller>()
  let cache = new Map<string, Answer>()
  let cacheHead = -1
  const encoder = new TextEncoder()

  const unpark = (poller: Poller): void => {
    poller.done = true
    poller.forgetClient?.()
    limiter.release(poller.address)
    const parked = poller.group.state.poll.parked
    const last = parked.pop()!
    if (last !== poller) {
      parked[poller.index] = last
      last.index = poller.index
    }
    allParked.delete(poller)
    parkedCount--
    fanout.release(poller.group)
  }

  const answer = (
    res: HttpResponse,
    cors: CorsDecision,
    body: Uint8Array,
    events: number,
  ): void => {
    sendJson(res, 200, body, cors)
    answered++
    deliveries += events
    bytesWritten += body.length
  }

  /**
   * The answer for a request that need not wait, or null when nothing after its cursor matches.
   * Built once per (subscription, cursor) while the head stays put.
   */
  const immediate = (subscription: Subscription, cursor: string | null): Answer | null => {
    const head = feed.headSeq
    if (cacheHead !== head) {
      cache = new Map()
      cacheHead = head
    }
    const key = `${subscription.key}|${cursor}`
    const cached = cache.get(key)
    if (cached !== undefined) {
      cacheHits++
      return cached
    }
    let result: Answer
    if (cursor === null || !canReplay(feed, cursor)) {
      // No cursor: the current state to start from. A bad or too-old one: the same, flagged as
      // a reset so the client knows it missed events.
      const reset = cursor !== null
      if (reset) replayMisses++
      const snapshot = snapshotEvent(feed, subscription, reset)
      result = { body: encoder.encode(encodePollBody([snapshot], snapshot.seq, reset)), events: 1 }
    } else {
      const chunk = replayAfter(feed, subscription, Number(cursor), options.catchUpBytes)
      if (chunk.events.length === 0) return null
      replayHits++
      const body = encoder.encode(encodePollBody(chunk.events, chunk.cursor))
      result = { body, events: chunk.events.length }
    }
    if (cache.size < CACHE_LIMIT) cache.set(key, result)
    return result
  }

  /** Nothing matched after the cursor up to the head, so the head is the client's new cursor. */
  const emptyAnswer = (): Uint8Array => encoder.encode(encodePollBody([], feed.headSeq))

  const sweep = (): void => {
    const now = Date.now()
    let body: Uint8Array | undefined
    for (const poller of allParked) {
      if (poller.deadlineMs > now) continue
      body ??= emptyAnswer()
      unpark(poller)
      timedOut++
      answer(poller.res, poller.cors, body, 0)
    }
  }

  return {
    handle(res, subscription, request) {
      const ready = immediate(subscription, request.cursor)
      if (ready !== null) {
        answer(res, request.cors, ready.body, ready.events)
        return
      }
      if (request.timeoutMs === 0) {
        answer(res, request.cors, emptyAnswer(), 0)
        return
      }
      const address = remoteAddress(res)
      if (parkedCount >= options.maxParkedPolls || !limiter.admit(address)) {
        rejected++
        sendError(
          res,
          new TickstormError(
            ERROR_CODES.OVERLOADED,
            parkedCount >= options.maxParkedPolls
              ? `too many parked polls (${options.maxParkedPolls})`
              : 'too many connections; retry later',
          ),
          request.cors,
          [['Retry-After', '1']],
        )
        return
      }
      const group = fanout.acquire(subscription)
      const parked = group.state.poll.parked
      const poller: Poller = {
        res,
        group,
        index: parked.length,
        deadlineMs: Date.now() + request.timeoutMs,
        cors: request.cors,
        done: false,
        forgetClient: null,
        address,
      }
      if (request.clientId !== null) {
        poller.forgetClient = clients.add(request.clientId, () => {
          if (poller.done) return
          unpark(poller)
          res.close()
        })
      }
      parked.push(poller)
      allParked.add(poller)
      parkedCount++
      res.onAborted(() => {
        if (!poller.done) unpark(poller)
      })
    },

    deliver(group, lastSeq) {
      const parked = group.state.poll.parked
      if (parked.length === 0) return
      const events = group.events
      const body = encoder.encode(encodePollBody(events, lastSeq))
      for (const poller of [...parked]) {
        unpark(poller)
        answer(poller.res, poller.cors, body, events.length)
      }
    },

    drain() {
      const body = emptyAnswer()
      for (const poller of [...allParked]) {
        unpark(poller)
        answer(poller.res, poller.cors, body, 0)
      }
    },

    dropParked(count) {
      let dropped = 0
      for (const poller of [...allParked]) {
        if (dropped >= count) break
        unpark(poller)
        poller.res.close()
        dropped++
      }
      return dropped
    },

    stats() {
      return {
        parked: parkedCount,
        answered,
        timedOut,
        deliveries,
        bytesWritten,
        replayHits,
        replayMisses,
        rejected,
        cacheHits,
      }
    },

    sweep,
  }
}
