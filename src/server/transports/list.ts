import type { Transport, TransportContext } from '../transport.js'
import { createLongpollTransport } from './longpoll.js'
import { createSseTransport } from './sse.js'
import { createWsTransport } from './ws.js'

/**
 * The transports a server runs, in the order /healthz, /metrics and the index document list them.
 * The only place that names them: a new transport is one file in this folder and one line here.
 */
export const TRANSPORTS = [createSseTransport, createLongpollTransport, createWsTransport] as const

type Made = ReturnType<(typeof TRANSPORTS)[number]>

/** A transport's name: `sse`, `longpoll`, `ws`. */
export type TransportName = Made['name']

/** Every transport's stats under its name (ServerStats, /healthz). */
export type TransportStatsByName = {
  readonly [T in Made as T['name']]: ReturnType<T['stats']>
}

/** Every transport's part of a subscription group, under its name (`group.state`). */
export type GroupState = {
  readonly [T in Made as T['name']]: ReturnType<T['createSlot']>
}

export const TRANSPORT_NAMES: readonly TransportName[] = ['sse', 'longpoll', 'ws']

/** Builds the list for one server. */
export function createTransports(ctx: TransportContext): readonly Transport[] {
  return TRANSPORTS.map((create) => create(ctx) as unknown as Transport)
}
