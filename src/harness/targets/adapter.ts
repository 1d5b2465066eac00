/**
 * One small interface per kind of push server: what it offers, how its subscribers connect and
 * read (a `WireSpec`, which the engines follow), where its symbols and its per-symbol heads come
 * from, and how the harness publishes into it. tickstorm is one adapter among four: the harness
 * has no other path to it.
 */

import type { TransportName } from '../../report/measurements.js'
import type { WireSpec } from './wire-spec.js'

export const TARGET_KINDS = ['tickstorm', 'nchan', 'pushpin', 'generic'] as const
export type TargetKind = (typeof TARGET_KINDS)[number]

/** Where a run's events come from. */
export const EVENT_SOURCES = ['server', 'harness'] as const
export type EventSource = (typeof EVENT_SOURCES)[number]

/**
 * What each kind offers, known before any connect, so a scenario asking for more is refused when
 * it is read. A generic target offers what its scenario describes (see genericOffer).
 */
export const TARGET_OFFERS: Readonly<
  Record<
    Exclude<TargetKind, 'generic'>,
    {
      readonly transports: readonly TransportName[]
      readonly sources: readonly EventSource[]
      /** Channels (symbols) one connection may subscribe to; null: no cap known. */
      readonly channelsPerConnection: number | null
    }
  >
> = {
  tickstorm: {
    transports: ['sse', 'eventsource', 'longpoll', 'ws', 'http'],
    sources: ['server'],
    channelsPerConnection: null,
  },
  // nchan multiplexes at most 255 channels on one subscriber (NCHAN_MULTITAG_MAX).
  nchan: {
    transports: ['sse', 'eventsource', 'longpoll', 'ws'],
    sources: ['harness'],
    channelsPerConnection: 255,
  },
  // Pushpin subscribes one connection to at most `connection_subscription_max` channels (20 as packaged).
  pushpin: {
    transports: ['sse', 'eventsource', 'ws'],
    sources: ['harness'],
    channelsPerConnection: 20,
  },
}

/** One tick the harness publishes: its symbol, per-symbol sequence and the payload subscribers read. */
export interface PublishedTick {
  readonly symbol: string
  /** The per-symbol sequence `q` (also in the payload). */
  readonly q: number
  /** A stream-wide increasing id, for servers that take the publisher's ids. */
  readonly id: number
  /** The event type (`quote`, `trade`, `status`). */
  readonly type: string
  /** The payload: tickstorm's tick JSON, stamped with the scheduled time. */
  readonly data: string
}

/** One HTTP request of the publisher (relative to the publish base URL). */
export interface PublishRequest {
  readonly method: 'POST' | 'PUT'
  readonly path: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
}

export interface TargetAdapter {
  readonly kind: TargetKind
  /** Transports the target offers; a scenario asking for another is refused before any connect. */
  readonly transports: readonly TransportName[]
  /** Events' source when the scenario does not say. */
  readonly defaultSource: EventSource
  /** The sources this target can take (nchan makes no events of its own: harness only). */
  readonly sources: readonly EventSource[]
  /** How subscribers connect and read. */
  readonly wire: WireSpec
  /** A cap on channels (symbols) per connection, said in the result; null: none known. */
  readonly channelsPerConnection: number | null
  /**
   * The symbols the server carries (tickstorm lists its own); null when the harness's market
   * decides them (a target fed by the harness's publisher).
   */
  universe(baseUrl: string, signal: AbortSignal | undefined): Promise<string[] | null>
  /**
   * The server's last per-symbol sequence now, to count the tail a subscriber never got
   * (source: server); null when the server cannot tell.
   */
  heads(
    baseUrl: string,
    symbols: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<ReadonlyMap<string, number> | null>
  /** The requests that publish one frame of ticks; null when the target takes no publishes. */
  readonly publish: ((ticks: readonly PublishedTick[]) => PublishRequest[]) | null
  /** The base URL publishes go to (Pushpin's control API is on another port). */
  readonly publishUrl: string | null
  /**
   * Starts what the harness brings for this target (Pushpin's GRIP origin), before any
   * subscriber; its `close` runs after the transport's run.
   */
  attach(): Promise<{ close(): Promise<void> } | null>
}
