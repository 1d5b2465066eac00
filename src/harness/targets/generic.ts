/**
 * Any push server, described in the scenario: where its SSE stream, WebSocket and long-poll
 * endpoints are (path templates with `{symbols}`, `{cursor}`), how a reconnect resumes, where an
 * event keeps its time, sequence and key, and (for source harness) where each tick is published.
 * It offers exactly the transports described.
 */

import type { TransportName } from '../../report/measurements.js'
import type { EventSource, TargetAdapter } from './adapter.js'
import type { EventFieldSpec, LongPollSpec, SseSpec, WireSpec, WsSpec } from './wire-spec.js'
import { fillTemplate, TICKSTORM_EVENT_FIELDS } from './wire-spec.js'

export interface GenericTargetConfig {
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly query: Readonly<Record<string, string>>
  readonly sse?: SseSpec | undefined
  readonly ws?:
    | {
        readonly path: string
        readonly subscribe?: string | undefined
        readonly resumeField?: string | undefined
        readonly frames: WsSpec['frames']
        readonly protocols: readonly string[]
      }
    | undefined
  readonly longpoll?: { readonly path: string; readonly answer: LongPollSpec['answer'] } | undefined
  readonly publish?:
    | { readonly method: 'POST' | 'PUT'; readonly path: string; readonly body: 'raw' }
    | undefined
  readonly event?: EventFieldSpec | undefined
}

/** What a generic target's description offers: its transports, and its sources. */
export function genericOffer(
  config: Pick<GenericTargetConfig, 'sse' | 'ws' | 'longpoll' | 'publish'>,
): {
  transports: TransportName[]
  sources: EventSource[]
} {
  const transports: TransportName[] = []
  if (config.sse) transports.push('sse', 'eventsource')
  if (config.longpoll) transports.push('longpoll')
  if (config.ws) transports.push('ws')
  return { transports, sources: config.publish ? ['harness', 'server'] : ['server'] }
}

export function createGenericAdapter(config: GenericTargetConfig): TargetAdapter {
  const ws = config.ws
  const wire: WireSpec = {
    headers: config.headers,
    query: config.query,
    symbolSeparator: ',',
    everySymbol: null,
    sse: config.sse ?? null,
    longpoll: config.longpoll ? { ...config.longpoll, cursorQuery: null } : null,
    ws: ws
      ? {
          path: ws.path,
          subscribe: ws.subscribe ?? null,
          resumeField: ws.resumeField ?? null,
          resumeHeader: null,
          frames: ws.frames,
          protocols: ws.protocols,
        }
      : null,
    http: null,
    event: config.event ?? TICKSTORM_EVENT_FIELDS,
    snapshots: false,
    token: null,
  }
  const publish = config.publish
  const offer = genericOffer(config)
  return {
    kind: 'generic',
    ...offer,
    defaultSource: publish ? 'harness' : 'server',
    channelsPerConnection: null,
    wire,
    universe: async () => null,
    heads: async () => null,
    publish: publish
      ? (ticks) =>
          ticks.map((tick) => ({
            method: publish.method,
            path: fillTemplate(publish.path, { symbol: encodeURIComponent(tick.symbol) }),
            headers: { 'content-type': 'application/json', ...config.headers },
            body: tick.data,
          }))
      : null,
    publishUrl: publish ? config.url : null,
    attach: async () => null,
  }
}
