import { ERROR_CODES, TickstormError } from '../errors.js'
import type { EventLog } from '../feed/event-log.js'
import { encodeEventArray } from '../wire/event-json.js'
import type { Grant } from './auth.js'
import { CLIENT_ID, type ClientRegistry } from './client-registry.js'
import type { Fanout, Group } from './fanout.js'
import { type ConnectionLimiter, remoteAddress } from './limits.js'
import type { HttpRequest, HttpResponse, TemplatedApp, WebSocket } from './native-uws.js'
import { canReplay, catchUpFor, replayAfter, snapshotEvent } from './replay.js'
import { parseSubscribeRequest, type SubscribeRequest } from './subscribe-request.js'
import type { Subscription } from './subscription.js'

export interface WsHubOptions {
  /** Bytes uWS may buffer for one socket before it is closed (the slow-consumer bound). */
  readonly wsMaxBackpressureBytes: number
  /** Seconds without traffic before uWS closes a socket; pings are sent automatically before. */
  readonly wsIdleTimeoutSec: number
  readonly catchUpBytes: number
}

/** The WebSocket part of a subscription group: how many live members its topic has. */
export interface WsSlot {
  members: number
  readonly topic: string
}

/** A subscription group as this hub sees it: only its own slot (group-state.ts holds them all). */
type HubGroup = Group<{ readonly ws: WsSlot }>
type HubFanout = Fanout<{ readonly ws: WsSlot }>

/** Per-socket state (uWS user data). */
interface Connection {
  group: HubGroup | null
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
  forgetClient: (() => void) | null
  /** The peer address holding a connection slot. */
  readonly address: string
}

/**
 * Admission of an upgrade (origin, token), owned by the server. It reads what it needs from `req`
 * at once, then either calls `accept` (possibly after an await: corked, never after an abort) or
 * answers `res` itself with an error, so the socket is never upgraded.
 */
export type WsAdmit = (res: HttpResponse, req: HttpRequest, accept: (grant: Grant) => void) => void

export interface WsHubStats {
  readonly connections: number
  readonly behind: number
  readonly opened: number
  readonly closed: number
  readonly messagesPublished: number
  readonly deliveries: number
  readonly bytesPublished: number
  readonly replayHits: number
  readonly replayMisses: number
  readonly badMessages: number
  /** Upgrades refused because a connection limit was reached. */
  readonly rejected: number
}

export interface WsHub {
  deliver(group: HubGroup, lastSeq: number): void
  /** One application-level heartbeat to every socket (a single publish). */
  heartbeat(): void
  /** Closes every socket with 1001 "going away". */
  drain(): void
  /** Cuts up to `count` sockets without a close frame, as a network fault would. */
  dropSockets(count: number): number
  stats(): WsHubStats
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
 * Close codes the server uses (RFC 6455 §7.4): 1001 on shutdown, 1008 for a message that breaks
 * the protocol repeatedly, 1013 "try again later" when a socket cannot keep up.
 */
export const WS_CLOSE = Object.freeze({ GOING_AWAY: 1001, POLICY: 1008, TRY_AGAIN_LATER: 1013 })

/**
 * The same event stream over WebSocket. A client sends
 * `{"op":"subscribe","symbols":["AAPL"],"lastEventId":"123"}` and receives
 * `{"op":"subscribed",…}`, then JSON arrays of events (`[{"id","event","data"}, …]`, one per
 * frame). Live frames go out through uWS topics, one per subscription group, so each message is
 * built once and C++ does the per-socket loop. A resume is served from the ring in bounded
 * chunks, continued on `drain`, before the socket joins its topic: no gap, no duplicate.
 */
export function createWsHub(
  app: TemplatedApp,
  feed: EventLog,
  fanout: HubFanout,
  resolve: (symbols: readonly string[] | null, grant: Grant) => Subscription,
  clients: ClientRegistry,
  limiter: ConnectionLimiter,
  options: WsHubOptions,
  admit: WsAdmit,
): WsHub {
  const sockets = new Set<WebSocket<Connection>>()
  let behindCount = 0
  let opened = 0
  let closedCount = 0
  let messagesPublished = 0
  let deliveries = 0
  let bytesPublished = 0
  let replayHits = 0
  let replayMisses = 0
  let badMessages = 0
  let rejected = 0

  const leave = (ws: WebSocket<Connection>, data: Connection): void => {
    if (data.behind) {
      data.behind = false
      behindCount--
    }
    const group = data.group
    if (group === null) return
    data.group = null
    group.state.ws.members--
    if (!data.closed) ws.unsubscribe(group.state.ws.topic)
    fanout.release(group)
  }

  const join = (ws: WebSocket<Connection>, data: Connection): void => {
    if (data.behind) {
      data.behind = false
      behindCount--
    }
    const group = fanout.acquire(data.subscription!)
    data.group = group
    group.state.ws.members++
    ws.subscribe(group.state.ws.topic)
  }

  /** Sends replay after `data.cursor` until caught up (then joins live) or uWS pushes back. */
  const catchUp = (ws: WebSocket<Connection>, data: Connection): void => {
    const subscription = data.subscription!
    for (;;) {
      const head = feed.headSeq
      if (data.cursor >= head) {
        join(ws, data)
        return
      }
      if (!feed.history.covers(data.cursor)) {
        replayMisses++
        const snapshot = snapshotEvent(feed, subscription, true)
        if (ws.send(encodeEventArray([snapshot])) === DROPPED) {
          closeSlow(ws)
          return
        }
        data.cursor = snapshot.seq
        continue
      }
      const chunk = replayAfter(feed, subscription, data.cursor, options.catchUpBytes)
      let result = SENT
      if (chunk.events.length > 0) {
        const message = encodeEventArray(chunk.events)
        result = ws.send(message)
        if (result === DROPPED) {
          closeSlow(ws)
          return
        }
        deliveries += chunk.events.length
        bytesPublished += message.length
      }
      data.cursor = chunk.cursor
      if (result !== SENT) return // buffered: `drain` continues
    }
  }

  const closeSlow = (ws: WebSocket<Connection>): void => {
    ws.end(WS_CLOSE.TRY_AGAIN_LATER, 'cannot keep up; reconnect and resume with lastEventId')
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
    const id = message.lastEventId
    if (id !== null && id !== '') {
      data.behind = true
      behindCount++
      if (canReplay(feed, id)) {
        replayHits++
        data.cursor = Number(id)
      } else data.cursor = -1 // too old, from the future, malformed: a reset snapshot
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
      data.waiting = waiting.then(() => {
        data.waiting = null
        if (!data.closed) ws.cork(() => answering(ws, () => subscribe(ws, data, message)))
      })
    })

  app.ws<Connection>('/v1/ws', {
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
      admit(res, req, (grant) => {
        if (!limiter.admit(address)) {
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
          forgetClient: null,
          address,
        }
        res.upgrade(connection, key, protocol, extensions, context)
      })
    },
    open: (ws) => {
      sockets.add(ws)
      opened++
      ws.subscribe(HEARTBEAT_TOPIC)
      const data = ws.getUserData()
      if (data.clientId !== null) data.forgetClient = clients.add(data.clientId, () => ws.close())
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
      data.forgetClient?.()
      limiter.release(data.address)
      leave(ws, data)
      sockets.delete(ws)
      closedCount++
    },
  })

  return {
    deliver(group) {
      const slot = group.state.ws
      if (slot.members === 0) return
      const message = encodeEventArray(group.events)
      app.publish(slot.topic, message, false)
      messagesPublished++
      deliveries += group.events.length * slot.members
      bytesPublished += message.length * slot.members
    },
    heartbeat() {
      app.publish(HEARTBEAT_TOPIC, HEARTBEAT_MESSAGE, false)
    },
    drain() {
      for (const ws of [...sockets]) ws.end(WS_CLOSE.GOING_AWAY, 'server shutting down')
    },
    dropSockets(count) {
      let dropped = 0
      for (const ws of [...sockets]) {
        if (dropped >= count) break
        ws.close()
        dropped++
      }
      return dropped
    },
    stats() {
      return {
        connections: sockets.size,
        behind: behindCount,
        opened,
        closed: closedCount,
        messagesPublished,
        deliveries,
        bytesPublished,
        replayHits,
        replayMisses,
        badMessages,
        rejected,
      }
    },
  }
}

function clientIdOf(value: string | undefined): string | null {
  return value !== undefined && CLIENT_ID.test(value) ? value : null
}

type ClientMessage = ({ op: 'subscribe' } & SubscribeRequest) | { op: 'unsubscribe' }

/** Parses one client message strictly; every failure is a coded `TS_ERR_BAD_MESSAGE`. */
export function parseClientMessage(text: string): ClientMessage {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new TickstormError(
      ERROR_CODES.BAD_MESSAGE,
      'message is not valid JSON; send {"op":"subscribe","symbols":["AAPL"]}',
    )
  }
  const op =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as { op?: unknown }).op
      : undefined
  if (op === undefined) {
    // `[1,2]`, `"text"`, `{}`: valid JSON that is no operation at all.
    throw new TickstormError(
      ERROR_CODES.BAD_MESSAGE,
      'a message must be a JSON object with an "op" field: {"op":"subscribe","symbols":["AAPL"]} ' +
        '(or "symbols":"*"), or {"op":"unsubscribe"}',
    )
  }
  if (op === 'unsubscribe') {
    if (Object.keys(value as object).length !== 1) {
      throw new TickstormError(ERROR_CODES.BAD_MESSAGE, 'unsubscribe takes no other keys')
    }
    return { op: 'unsubscribe' }
  }
  if (op !== 'subscribe') {
    throw new TickstormError(
      ERROR_CODES.BAD_MESSAGE,
      `unknown op ${JSON.stringify(op)}; use "subscribe" or "unsubscribe"`,
    )
  }
  return { op: 'subscribe', ...parseSubscribeRequest(value, ERROR_CODES.BAD_MESSAGE, ['op']) }
}
