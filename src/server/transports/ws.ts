import { ERROR_CODES, TickstormError } from '../../errors.js'
import { encodeEventArray } from '../../wire/event-json.js'
import type { Grant } from '../auth.js'
import { TOKEN_QUERY } from '../auth.js'
import { CLIENT_ID } from '../client-registry.js'
import type { Group } from '../fanout.js'
import { remoteAddress } from '../limits.js'
import type { WebSocket } from '../native-uws.js'
import { catchUpFor, snapshotEvent } from '../replay.js'
import { shuttingDown } from '../request-flow.js'
import type { SubscribeRequest } from '../subscribe-request.js'
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
import { parseClientMessage, WS_CLOSE } from './ws-messages.js'

export interface WsStats {
  readonly connections: number
  readonly behind: number
  readonly opened: number
  readonly closed: number
  readonly messagesPublished: number
  readonly deliveries: number
  readonly bytesWritten: number
  readonly replayHits: number
  readonly replayMisses: number
  readonly badMessages: number
  /** Upgrades refused because a connection limit was reached. */
  readonly rejected: number
}

/** The WebSocket part of a subscription group: how many live members its topic has. */
export interface WsSlot {
  members: number
  readonly topic: string
}

type WsGroup = Group<{ readonly ws: WsSlot }>

/** Per-socket state (uWS user data). */
interface Connection {
  group: WsGroup | null
  subscription: Subscription | null
  /** While catching up from the ring: the last sequence sent. */
  cursor: number
  behind: boolean
  closed: boolean
  /**
   * Set while a subscribe waits for this server's log to reach its lastEventId (a following
   * copy, EventLog.awaitSeq): the socket's later messages queue behind it, in order.
   */
  waiting: Promise<void> | null
  /** The client's own id from the upgrade URL (`?client=`), or null. */
  readonly clientId: string | null
  /** What the upgrade's token allows; every subscribe is checked against it. */
  readonly grant: Grant
  readonly lease: ConnectionLease
}

/** Topic every socket joins for heartbeats. */
const HEARTBEAT_TOPIC = 'hb'
const HEARTBEAT_MESSAGE = '{"op":"hb"}'
const OVERLOADED_BODY = JSON.stringify({
  error: { code: ERROR_CODES.OVERLOADED, message: 'too many connections; retry later' },
})

/**
 * The subprotocols this server speaks, by `Sec-WebSocket-Protocol` name: none. Its messages are
 * its own JSON ops, which the page and the harness send without naming a subprotocol.
 */
const SUBPROTOCOLS: readonly string[] = []

/**
 * The offered subprotocol to agree to, or '' for none. RFC 6455 §4.2.2: a server that does not
 * agree to any offered subprotocol "MUST NOT send back a |Sec-WebSocket-Protocol| header field";
 * the handshake still succeeds and the client decides whether to go on without one (a browser or
 * `ws` that required one fails the connection itself, §4.1). Refusing the upgrade would be a rule
 * of our own, and would cut off clients that offer a subprotocol only as a preference. uWS's
 * `upgrade` answers with the first name of whatever header it is given, so it gets only this.
 */
export function chooseSubprotocol(offered: string): string {
  for (const token of offered.split(',')) {
    const name = token.trim()
    if (SUBPROTOCOLS.includes(name)) return name
  }
  return ''
}

/** uWS `send` results. */
const SENT = 1
const DROPPED = 2

/**
 * The same event stream over WebSocket. A client sends
 * `{"op":"subscribe","symbols":["AAPL"],"lastEventId":"123"}` and receives
 * `{"op":"subscribed",…}`, then JSON arrays of events (`[{"id","event","data"}, …]`, one per
 * frame). Live frames go out through uWS topics, one per subscription group, so each message is
 * built once and C++ does the per-socket loop. A resume is served from the ring in bounded
 * chunks (catchUpStep), continued on `drain`, before the socket joins its topic.
 */
export function createWsTransport(ctx: TransportContext): Transport<'ws', WsSlot, WsStats> {
  const { app, feed, fanout, flow, options } = ctx
  const sockets = new Set<WebSocket<Connection>>()
  let lastHeartbeatMs = Date.now()
  let behindCount = 0
  let opened = 0
  let closedCount = 0
  let messagesPublished = 0
  let deliveries = 0
  let bytesWritten = 0
  let replayHits = 0
  let replayMisses = 0
  let badMessages = 0
  let rejected = 0

  const resolve = (names: readonly string[] | null, grant: Grant): Subscription =>
    flow.subscriptionOf(names, grant, ERROR_CODES.BAD_MESSAGE)

  const setBehind = (data: Connection, value: boolean): void => {
    if (data.behind === value) return
    data.behind = value
    behindCount += value ? 1 : -1
  }

  const leave = (ws: WebSocket<Connection>, data: Connection): void => {
    setBehind(data, false)
    const group = data.group
    if (group === null) return
    data.group = null
    group.state.ws.members--
    if (!data.closed) ws.unsubscribe(group.state.ws.topic)
    fanout.release(group)
  }

  const join = (ws: WebSocket<Connection>, data: Connection): void => {
    setBehind(data, false)
    const group = fanout.acquire(data.subscription!) as unknown as WsGroup
    data.group = group
    group.state.ws.members++
    ws.subscribe(group.state.ws.topic)
  }

  const closeSlow = (ws: WebSocket<Connection>): void => {
    ws.end(WS_CLOSE.TRY_AGAIN_LATER, 'cannot keep up; reconnect and resume with lastEventId')
  }

  /** Sends catch-up steps until caught up (then joins live) or uWS pushes back. */
  const catchUp = (ws: WebSocket<Connection>, data: Connection): void => {
    const subscription = data.subscription!
    for (;;) {
      const step = catchUpStep(feed, subscription, data.cursor, options.catchUpBytes, false)
      if (step.kind === 'live') {
        join(ws, data)
        return
      }
      let result = SENT
      if (step.kind === 'snapshot') {
        replayMisses++
        if (ws.send(encodeEventArray([step.snapshot])) === DROPPED) {
          closeSlow(ws)
          return
        }
        data.cursor = step.snapshot.seq
        continue
      }
      if (step.events.length > 0) {
        const message = encodeEventArray(step.events)
        result = ws.send(message)
        if (result === DROPPED) {
          closeSlow(ws)
          return
        }
        deliveries += step.events.length
        bytesWritten += message.length
      }
      data.cursor = step.cursor
      if (result !== SENT) return // buffered: `drain` continues
    }
  }

  const sendError = (ws: WebSocket<Connection>, error: TickstormError): void => {
    badMessages++
    ws.send(JSON.stringify({ op: 'error', code: error.code, message: error.message }))
  }

  const subscribe = (ws: WebSocket<Connection>, data: Connection, message: SubscribeRequest) => {
    const subscription = resolve(message.symbols, data.grant)
    leave(ws, data)
    data.subscription = subscription
    const head = feed.headSeq
    ws.send(
      JSON.stringify({
        op: 'subscribed',
        symbols:
          subscription.symbols === null ? '*' : subscription.symbols.map((s) => feed.symbols[s]),
        head: String(head),
      }),
    )
    const resume = resumeFrom(feed, message.lastEventId)
    if (resume.kind !== 'fresh') {
      setBehind(data, true)
      if (resume.kind === 'replay') replayHits++
      // Too old, from the future, malformed: a reset snapshot.
      data.cursor = resume.kind === 'replay' ? resume.afterSeq : -1
      catchUp(ws, data)
      return
    }
    if (message.snapshot) ws.send(encodeEventArray([snapshotEvent(feed, subscription, false)]))
    data.cursor = head
    join(ws, data)
  }

  /** Runs `act`; a TickstormError it throws is answered on the socket, as an error message. */
  const answering = (ws: WebSocket<Connection>, act: () => void): void => {
    try {
      act()
    } catch (error) {
      if (!(error instanceof TickstormError)) throw error
      sendError(ws, error)
    }
  }

  const handle = (ws: WebSocket<Connection>, data: Connection, text: string): void =>
    answering(ws, () => {
      const message = parseClientMessage(text)
      if (message.op === 'unsubscribe') {
        leave(ws, data)
        data.subscription = null
        ws.send('{"op":"unsubscribed"}')
        return
      }
      const waiting = catchUpFor(feed, message.lastEventId)
      if (waiting === null) {
        subscribe(ws, data, message)
        return
      }
      // Resolve the symbols now, so a bad subscribe is answered at once.
      resolve(message.symbols, data.grant)
      // A socket's rule for a late answer: skip it once closed, cork the write.
      data.waiting = waiting.then(() => {
        data.waiting = null
        if (!data.closed) ws.cork(() => answering(ws, () => subscribe(ws, data, message)))
      })
    })

  const mount: Transport['mount'] = (uws) => {
    uws.ws<Connection>('/v1/ws', {
      maxPayloadLength: 16 * 1024,
      idleTimeout: options.wsIdleTimeoutSec,
      sendPingsAutomatically: true,
      maxBackpressure: options.wsMaxBackpressureBytes,
      // A socket over its backpressure bound is closed rather than silently skipped by publish,
      // which would lose events; the client resumes by id.
      closeOnBackpressureLimit: 1,
      upgrade: (res, req, context) => {
        // Read now: admission may finish after an await, when `req` is no longer valid.
        const key = req.getHeader('sec-websocket-key')
        const protocol = chooseSubprotocol(req.getHeader('sec-websocket-protocol'))
        const extensions = req.getHeader('sec-websocket-extensions')
        const clientId = clientIdOf(req.getQuery('client'))
        const address = remoteAddress(res)
        const start = flow.start(req)
        const queryToken = req.getQuery(TOKEN_QUERY)
        // Admission before the upgrade: origin, then token; a refusal is a JSON 4xx (or 503).
        flow.guard(res, start.cors, () => {
          flow.checkOrigin(start.cors)
          if (flow.draining) throw shuttingDown()
          flow.withGrant(
            res,
            start.cors,
            flow.tokenOf(start, queryToken),
            (grant) => {
              // With a key, the grant comes a turn of the loop later (jose), and the server may have
              // begun draining since: a socket opened now would miss drain()'s going-away frame and
              // be cut by the close of every socket, without one (the client sees 1006 right after
              // its open). Refused instead, as a poll is.
              if (flow.draining) throw shuttingDown()
              const lease = openLease(ctx.limiter, ctx.clients, address)
              if (lease === null) {
                // Refused at the upgrade, with the HTTP signal a client can act on.
                rejected++
                res.cork(() => {
                  res.writeStatus('503 Service Unavailable')
                  res.writeHeader('Retry-After', '1')
                  res.writeHeader('Content-Type', 'application/json; charset=utf-8')
                  res.end(OVERLOADED_BODY)
                })
                return
              }
              const connection: Connection = {
                group: null,
                subscription: null,
                cursor: 0,
                behind: false,
                closed: false,
                waiting: null,
                clientId,
                grant,
                lease,
              }
              // After jose's check this runs outside `res.cork`, which an upgrade must not be
              // inside (request-flow.ts, LateAnswer).
              res.upgrade(connection, key, protocol, extensions, context)
            },
            'upgrade',
          )
        })
      },
      open: (ws) => {
        sockets.add(ws)
        opened++
        ws.subscribe(HEARTBEAT_TOPIC)
        const data = ws.getUserData()
        data.lease.nameClient(data.clientId, () => ws.close())
      },
      message: (ws, raw) => {
        const data = ws.getUserData()
        const text = Buffer.from(raw).toString('utf8')
        if (data.waiting !== null) {
          data.waiting = data.waiting.then(() => {
            if (!data.closed) ws.cork(() => handle(ws, data, text))
          })
          return
        }
        handle(ws, data, text)
      },
      drain: (ws) => {
        const data = ws.getUserData()
        if (data.behind && data.subscription !== null) catchUp(ws, data)
      },
      close: (ws) => {
        const data = ws.getUserData()
        data.closed = true
        data.lease.end()
        leave(ws, data)
        sockets.delete(ws)
        closedCount++
      },
    })
  }

  return {
    name: 'ws',
    routes: [
      {
        pattern: '/v1/ws',
        methods: ['GET', 'HEAD'],
        endpoints: [
          ['GET /v1/ws', 'WebSocket: send {"op":"subscribe","symbols":[...],"lastEventId"?}'],
        ],
        upgrade: {
          protocol: 'websocket',
          hint: 'is a WebSocket endpoint: connect with a WebSocket client (Upgrade: websocket)',
        },
      },
    ],
    createSlot: (groupId) => ({ members: 0, topic: `g${groupId}` }),
    mount,

    deliver(group) {
      const slot = group.state.ws
      if (slot.members === 0) return
      const message = encodeEventArray(group.events)
      app.publish(slot.topic, message, false)
      messagesPublished++
      deliveries += group.events.length * slot.members
      bytesWritten += message.length * slot.members
    },

    tick(nowMs) {
      // One application-level heartbeat to every socket: a single publish.
      if (nowMs - lastHeartbeatMs < options.heartbeatMs) return
      lastHeartbeatMs = nowMs
      app.publish(HEARTBEAT_TOPIC, HEARTBEAT_MESSAGE, false)
    },

    drain() {
      for (const ws of [...sockets]) ws.end(WS_CLOSE.GOING_AWAY, 'server shutting down')
    },

    // No close frame: the client sees the connection fail, as on a network fault.
    drop: (count) => dropSome(sockets, count, (ws) => ws.close()),

    stats: () => ({
      connections: sockets.size,
      behind: behindCount,
      opened,
      closed: closedCount,
      messagesPublished,
      deliveries,
      bytesWritten,
      replayHits,
      replayMisses,
      badMessages,
      rejected,
    }),
  }
}

function clientIdOf(value: string | undefined): string | null {
  return value !== undefined && CLIENT_ID.test(value) ? value : null
}
