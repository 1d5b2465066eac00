import { ERROR_CODES, TickstormError } from '../../errors.js'
import { encodePollBody } from '../../wire/event-json.js'
import { TOKEN_QUERY } from '../auth.js'
import type { CorsDecision } from '../cors.js'
import type { Group } from '../fanout.js'
import { isHead, parseIntParam, parseQuery, sendError, sendJson } from '../http.js'
import { remoteAddress } from '../limits.js'
import type { HttpResponse } from '../native-uws.js'
import { replayAfter, snapshotEvent } from '../replay.js'
import { clientIdParam, shuttingDown } from '../request-flow.js'
import { askedSymbols, type Subscription } from '../subscription.js'
import {
  type ConnectionLease,
  dropSome,
  openLease,
  resumeFrom,
  type Transport,
  type TransportContext,
} from '../transport.js'

export interface LongpollStats {
  /** Parked requests. */
  readonly connections: number
  readonly answered: number
  readonly timedOut: number
  readonly deliveries: number
  readonly bytesWritten: number
  readonly replayHits: number
  readonly replayMisses: number
  /** Polls refused with 503 + Retry-After: too many parked, or a connection limit. */
  readonly shed: number
  /** Immediate answers served from the per-(subscription, cursor) body cache. */
  readonly cacheHits: number
}

/** The long-poll part of a subscription group: requests waiting for its next events. */
export interface LongpollSlot {
  readonly parked: Poller[]
}

type PollGroup = Group<{ readonly longpoll: LongpollSlot }>

interface Poller {
  readonly res: HttpResponse
  readonly group: PollGroup
  index: number
  readonly deadlineMs: number
  readonly cors: CorsDecision
  done: boolean
  readonly lease: ConnectionLease
}

interface PollRequest {
  /** The `cursor` parameter (the last event id the client has), or null for a fresh start. */
  readonly cursor: string | null
  readonly timeoutMs: number
  readonly clientId: string | null
  readonly cors: CorsDecision
}

interface Answer {
  readonly body: Uint8Array
  readonly events: number
}

const POLL_QUERY = ['symbols', 'cursor', 'timeoutMs', 'client', TOKEN_QUERY] as const
const CACHE_LIMIT = 256

/**
 * Long polling over the same event stream. A request either gets the events after its cursor at
 * once, or parks in its subscription group until the next frame with matching events, whose body
 * is built once and shared by every parked request of the group. Immediate answers are built once
 * per (subscription, cursor) per head and cached, since pollers of one subscription come back
 * with the same cursor. The server's timer answers expired requests; an aborted one is dropped.
 */
export function createLongpollTransport(
  ctx: TransportContext,
): Transport<'longpoll', LongpollSlot, LongpollStats> {
  const { feed, fanout, flow, options } = ctx
  let answered = 0
  let timedOut = 0
  let deliveries = 0
  let bytesWritten = 0
  let replayHits = 0
  let replayMisses = 0
  let shed = 0
  let cacheHits = 0
  const allParked = new Set<Poller>()
  let cache = new Map<string, Answer>()
  let cacheHead = -1
  const encoder = new TextEncoder()

  const unpark = (poller: Poller): void => {
    poller.done = true
    poller.lease.end()
    const parked = poller.group.state.longpoll.parked
    const last = parked.pop()!
    if (last !== poller) {
      parked[poller.index] = last
      last.index = poller.index
    }
    allParked.delete(poller)
    fanout.release(poller.group)
  }

  const answer = (res: HttpResponse, cors: CorsDecision, body: Uint8Array, events: number) => {
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
    // An empty cursor is a bad one here (a reset), as it always was for long polling.
    const resume = cursor === '' ? { kind: 'reset' as const } : resumeFrom(feed, cursor)
    let result: Answer
    if (resume.kind !== 'replay') {
      // No cursor: the current state to start from. A bad or too-old one: the same, flagged as
      // a reset so the client knows it missed events.
      const reset = resume.kind === 'reset'
      if (reset) replayMisses++
      const snapshot = snapshotEvent(feed, subscription, reset)
      result = { body: encoder.encode(encodePollBody([snapshot], snapshot.seq, reset)), events: 1 }
    } else {
      const chunk = replayAfter(feed, subscription, resume.afterSeq, options.catchUpBytes)
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

  /** Answers at once when events after the cursor exist, otherwise parks the request. */
  const handle = (res: HttpResponse, subscription: Subscription, request: PollRequest): void => {
    const ready = immediate(subscription, request.cursor)
    if (ready !== null) {
      answer(res, request.cors, ready.body, ready.events)
      return
    }
    if (request.timeoutMs === 0) {
      answer(res, request.cors, emptyAnswer(), 0)
      return
    }
    const full = allParked.size >= options.maxParkedPolls
    const lease = full ? null : openLease(ctx.limiter, ctx.clients, remoteAddress(res))
    if (lease === null) {
      shed++
      const message = full
        ? `too many parked polls (${options.maxParkedPolls})`
        : 'too many connections; retry later'
      sendError(res, new TickstormError(ERROR_CODES.OVERLOADED, message), request.cors, [
        ['Retry-After', '1'],
      ])
      return
    }
    const group = fanout.acquire(subscription) as unknown as PollGroup
    const parked = group.state.longpoll.parked
    const poller: Poller = {
      res,
      group,
      index: parked.length,
      deadlineMs: Date.now() + request.timeoutMs,
      cors: request.cors,
      done: false,
      lease,
    }
    lease.nameClient(request.clientId, () => {
      if (poller.done) return
      unpark(poller)
      res.close()
    })
    parked.push(poller)
    allParked.add(poller)
    res.onAborted(() => {
      if (!poller.done) unpark(poller)
    })
  }

  const mount: Transport['mount'] = (app) => {
    flow.getAndHead(app, '/v1/poll', (res, req) => {
      const query = req.getQuery() ?? ''
      const start = flow.start(req)
      const { cors } = start
      flow.guard(res, cors, () => {
        flow.checkOrigin(cors)
        if (flow.draining) throw shuttingDown()
        const params = parseQuery(query, POLL_QUERY)
        const names = askedSymbols(params.get('symbols'), 'query', ERROR_CODES.BAD_QUERY)
        const timeoutMs = parseIntParam(
          'timeoutMs',
          params.get('timeoutMs'),
          options.pollTimeoutMs,
          options.maxPollTimeoutMs,
        )
        const request = {
          cursor: params.get('cursor'),
          timeoutMs,
          clientId: clientIdParam(params),
          cors,
        }
        flow.withGrant(res, cors, flow.tokenOf(start, params.get(TOKEN_QUERY)), (grant) => {
          if (flow.draining) throw shuttingDown()
          const subscription = flow.subscriptionOf(names, grant)
          // A HEAD parks nothing: the JSON headers a poll's answer has, without its (unknown) length.
          if (isHead(res)) return sendJson(res, 200, null, cors)
          flow.afterCatchUp(res, cors, request.cursor, () => handle(res, subscription, request))
        })
      })
    })
  }

  return {
    name: 'longpoll',
    routes: [
      {
        pattern: '/v1/poll',
        methods: ['GET', 'HEAD'],
        endpoints: [
          ['GET /v1/poll?symbols=…&cursor=…', 'long polling: the events after cursor, as JSON'],
        ],
      },
    ],
    createSlot: () => ({ parked: [] }),
    mount,

    deliver(group, lastSeq) {
      const parked = group.state.longpoll.parked
      if (parked.length === 0) return
      const events = group.events
      const body = encoder.encode(encodePollBody(events, lastSeq))
      // Every parked request of the group is answered: take them from the end, where unpark's
      // swap-remove has nothing to move (no copy of the array per frame).
      while (parked.length > 0) {
        const poller = parked[parked.length - 1]!
        unpark(poller)
        answer(poller.res, poller.cors, body, events.length)
      }
    },

    tick(nowMs) {
      let body: Uint8Array | undefined
      for (const poller of allParked) {
        if (poller.deadlineMs > nowMs) continue
        body ??= emptyAnswer()
        unpark(poller)
        timedOut++
        answer(poller.res, poller.cors, body, 0)
      }
    },

    drain() {
      const body = emptyAnswer()
      for (const poller of [...allParked]) {
        unpark(poller)
        answer(poller.res, poller.cors, body, 0)
      }
    },

    drop: (count) =>
      dropSome(allParked, count, (poller) => {
        unpark(poller)
        poller.res.close()
      }),

    stats: () => ({
      connections: allParked.size,
      answered,
      timedOut,
      deliveries,
      bytesWritten,
      replayHits,
      replayMisses,
      shed,
      cacheHits,
    }),
  }
}
