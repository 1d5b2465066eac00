import type { StreamEvent } from './stream-event.js'

export type TransportName = 'sse' | 'longpoll' | 'ws'

export const TRANSPORT_LABELS: Readonly<Record<TransportName, string>> = {
  sse: 'SSE',
  longpoll: 'Long polling',
  ws: 'WebSocket',
}

/**
 * The connection as the page shows it. For SSE these are EventSource's own states: `connecting`
 * and `reconnecting` are both readyState CONNECTING (before and after a first open), `open` is
 * OPEN and `closed` is CLOSED (EventSource gave up: a non-200 answer or a wrong content type).
 * Long polling and WebSocket map their own lifecycle onto the same four.
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface StateChange {
  readonly state: ConnectionState
  /** On `open` after a reconnect or a switch: the id the stream resumed after. */
  readonly resumedFrom?: string
  /** What happened, in words, for the connection log. */
  readonly detail: string
}

export interface TransportHandlers {
  onEvent(event: StreamEvent): void
  onState(change: StateChange): void
  /** Something worth a line in the connection log that is not a state change. */
  onNotice(text: string): void
}

export interface TransportOptions {
  /** `http://host:port` of the server (the page's own origin). */
  readonly baseUrl: string
  /** One stream for the whole watch-list: every symbol rides the same connection. */
  readonly symbols: readonly string[]
  /** This tab's id, so that `POST /v1/drop?client=` cuts exactly its connections. */
  readonly clientId: string
  /** Resume after this id (a transport switch); null starts fresh with a snapshot. */
  readonly lastEventId: string | null
  /** Wait before a reconnect, for the transports that reconnect by themselves in page code. */
  readonly reconnectDelayMs: number
  readonly handlers: TransportHandlers
}

/** One live subscription over one transport. Closing it stops every callback. */
export interface Transport {
  readonly name: TransportName
  close(): void
}

export type OpenTransport = (options: TransportOptions) => Transport

export function symbolsParam(symbols: readonly string[]): string {
  return symbols.map(encodeURIComponent).join(',')
}
