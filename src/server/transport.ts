import type { EventLog } from '../feed/event-log.js'
import type { FeedEvent } from '../feed/feed-event.js'
import type { ClientRegistry } from './client-registry.js'
import type { Fanout, Group } from './fanout.js'
import type { ConnectionLimiter } from './limits.js'
import type { TemplatedApp } from './native-uws.js'
import { parseResumeId, replayAfter, type SnapshotEvent, snapshotEvent } from './replay.js'
import type { RequestFlow } from './request-flow.js'
import type { ServerOptions } from './server-options.js'
import type { Subscription } from './subscription.js'

/**
 * What every transport counts, under the same names, so /healthz, /metrics and a cluster's sums
 * read them without knowing which transport they are. The optional ones are counted by the
 * transports that have the thing at all (long polling holds no connection behind).
 */
export interface TransportStats {
  /** Open connections (long polling: parked requests). */
  readonly connections: number
  /** Events handed to subscribers (one per event per subscriber). */
  readonly deliveries: number
  /** Payload bytes handed to uWS for subscribers. */
  readonly bytesWritten: number
  /** Resumes served from the ring, and resumes that got a reset snapshot instead. */
  readonly replayHits: number
  readonly replayMisses: number
  /** Connections catching up from the ring instead of receiving live frames. */
  readonly behind?: number
  /** Connections closed for staying behind past the slow-consumer deadline. */
  readonly slowDisconnects?: number
  /** Requests shed: told to come back later instead of being served. */
  readonly shed?: number
}

/** A route a transport mounts, for the 404/405 answers (`Allow`) and the index document. */
export interface TransportRoute {
  readonly pattern: string
  readonly methods: readonly string[]
  /** `"GET /v1/stream?symbols=AAPL"` → what it is, for the index document at `/`. */
  readonly endpoints: readonly (readonly [string, string])[]
  /**
   * Set when a GET needs a connection upgrade (uWS hands such a route only upgrade requests):
   * a plain GET is answered 426 with `Upgrade: <protocol>` and this hint.
   */
  readonly upgrade?: { readonly protocol: string; readonly hint: string }
}

/**
 * One way of delivering the event log to subscribers (centrifuge's `Transport`, uWS's examples).
 * The server holds a list of them and never names one: it mounts their routes, calls `deliver`
 * for every subscription group of every frame, `tick` on one timer, and `drain` on shutdown.
 *
 * `deliver` is the hot path: it writes the group's bytes, built once, to every member, with no
 * allocation per member (no closure, no copy; module-level cork slots where a cork is needed).
 */
export interface Transport<Name extends string = string, Slot = unknown, Stats = TransportStats> {
  readonly name: Name
  readonly routes: readonly TransportRoute[]
  /** Its part of a new subscription group's state (`group.state[name]`). */
  createSlot(groupId: number): Slot
  /** Mounts its routes on the app (called once, before the catch-all routes). */
  mount(app: TemplatedApp): void
  /** Writes a group's events of this frame to its members; `lastSeq` ends the frame. */
  deliver(group: Group<Readonly<Record<Name, Slot>>>, lastSeq: number): void
  /** The server's one periodic timer: heartbeats, deadlines, sweeps (`nowMs`: Date.now()). */
  tick(nowMs: number): void
  /** Shutdown: ends every connection with the transport's "come back later" signal. */
  drain(): void
  /**
   * Cuts up to `count` connections as a network fault would (no goodbye): clients reconnect on
   * their own and resume by id. Returns how many were cut.
   */
  drop(count: number): number
  stats(): Stats & TransportStats
}

/** What a transport is built from: the server's shared parts. */
export interface TransportContext {
  readonly app: TemplatedApp
  readonly feed: EventLog
  readonly fanout: Fanout<Readonly<Record<string, unknown>>>
  readonly clients: ClientRegistry
  readonly limiter: ConnectionLimiter
  readonly flow: RequestFlow
  readonly options: ServerOptions
}

/**
 * A resume request, decided once for every transport: a fresh start (no id), a replay from the
 * ring after `afterSeq` (no gap, no duplicate at the seam), or a reset (the id is older than the
 * ring, from the future, or not an id at all: the client gets a snapshot flagged `reset`).
 */
export type Resume =
  | { readonly kind: 'fresh' }
  | { readonly kind: 'replay'; readonly afterSeq: number }
  | { readonly kind: 'reset' }

const FRESH: Resume = Object.freeze({ kind: 'fresh' })
const RESET: Resume = Object.freeze({ kind: 'reset' })

/** `id` is an SSE `Last-Event-ID`, a long-poll `cursor` or a WebSocket `lastEventId`; '' is none. */
export function resumeFrom(feed: EventLog, id: string | null): Resume {
  if (id === null || id === '') return FRESH
  const seq = parseResumeId(id)
  return seq !== null && feed.history.covers(seq) ? { kind: 'replay', afterSeq: seq } : RESET
}

/** What a connection behind should be sent next (see `catchUpStep`). */
export type CatchUpStep =
  /** Nothing left: join the live group (the cursor is at the head). */
  | { readonly kind: 'live' }
  /** A snapshot stands in for what the ring cannot give (`conflated`: a slow consumer's). */
  | { readonly kind: 'snapshot'; readonly snapshot: SnapshotEvent; readonly conflated: boolean }
  /** The next events from the ring; `cursor` is where to continue (may be below the head). */
  | {
      readonly kind: 'events'
      readonly events: FeedEvent[]
      readonly cursor: number
      readonly bytes: number
    }

/**
 * The one catch-up rule, for a reconnect's replay and for a slow consumer alike: from `cursor`,
 * the next bounded chunk of the ring, or a snapshot when the ring no longer holds the cursor (a
 * reset) or the connection fell behind while live (`conflate`: market data's answer to a slow
 * reader, the latest value per symbol instead of every tick it missed). After a snapshot the
 * cursor is its id, the head. Each transport writes the step in its own bytes and says when to
 * take the next (SSE: one chunk per turn; WebSocket: until uWS pushes back).
 */
export function catchUpStep(
  feed: EventLog,
  subscription: Subscription,
  cursor: number,
  maxBytes: number,
  conflate: boolean,
): CatchUpStep {
  if (cursor >= feed.history.headSeq) return LIVE
  if (conflate) {
    return {
      kind: 'snapshot',
      snapshot: snapshotEvent(feed, subscription, true, cursor + 1),
      conflated: true,
    }
  }
  if (!feed.history.covers(cursor)) {
    return { kind: 'snapshot', snapshot: snapshotEvent(feed, subscription, true), conflated: false }
  }
  const chunk = replayAfter(feed, subscription, cursor, maxBytes)
  return { kind: 'events', events: chunk.events, cursor: chunk.cursor, bytes: chunk.bytes }
}
const LIVE: CatchUpStep = Object.freeze({ kind: 'live' })

/**
 * A connection's hold on the server's shared bounds, taken when it opens and given back exactly
 * once when it ends, however it ends (closed by the client, cut, drained, timed out): a slot under
 * the connection limits, and its place in the client registry (`client=`), whose cut closes it.
 */
export interface ConnectionLease {
  /** Registers the client id, so `POST /v1/drop?client=` can cut this connection with `cut`. */
  nameClient(clientId: string | null, cut: () => void): void
  /** Gives everything back; later calls do nothing. */
  end(): void
}

/** Takes a slot for `address`, or returns null when a connection limit is reached (counted). */
export function openLease(
  limiter: ConnectionLimiter,
  clients: ClientRegistry,
  address: string,
): ConnectionLease | null {
  return limiter.admit(address) ? new Lease(limiter, clients, address) : null
}

/**
 * A class, not a closure factory: every connection has one (every long poll, too), and a closure
 * pair costs each a context and two function objects (STYLE rule 7; see the harness's trackers).
 */
class Lease implements ConnectionLease {
  #ended = false
  #forgetClient: (() => void) | null = null
  readonly #limiter: ConnectionLimiter
  readonly #clients: ClientRegistry
  readonly #address: string

  constructor(limiter: ConnectionLimiter, clients: ClientRegistry, address: string) {
    this.#limiter = limiter
    this.#clients = clients
    this.#address = address
  }

  nameClient(clientId: string | null, cut: () => void): void {
    if (clientId !== null && !this.#ended) this.#forgetClient = this.#clients.add(clientId, cut)
  }

  end(): void {
    if (this.#ended) return
    this.#ended = true
    this.#forgetClient?.()
    this.#limiter.release(this.#address)
  }
}

/** Calls `cut` on up to `count` of `connections` (a copy is walked: cuts remove). */
export function dropSome<C>(connections: Iterable<C>, count: number, cut: (c: C) => void): number {
  let dropped = 0
  for (const connection of [...connections]) {
    if (dropped >= count) break
    cut(connection)
    dropped++
  }
  return dropped
}
