/**
 * Pushpin (a GRIP proxy) as a target. Pushpin holds the subscribers' connections and fans out
 * what is published to its control API; what each new connection is subscribed to it asks its
 * origin, which the harness brings (`grip-origin.ts`, started by `attach()`): the user's Pushpin
 * routes to it, and the harness publishes every tick of its own market into the control API.
 *
 * What Pushpin does not do, and what that costs a run:
 * - It keeps no history: a reconnecting subscriber cannot ask for what it missed (SSE resume is
 *   `none`), and what was published while it was away counts as a gap.
 * - It subscribes a connection to at most `connection_subscription_max` channels (20 in the
 *   package's pushpin.conf) and silently drops the rest: a wider watch-list gets only its first
 *   20 symbols. Said as `channelsPerConnection`; a Pushpin configured higher can say so here.
 * - It paces delivery at `message_rate` messages a second over all connections together (2,500
 *   in the package's pushpin.conf) and queues up to `message_hwm` beyond it: a run above that
 *   measures the limiter, as latency growing with the queue (bench/peers/pushpin.conf raises it).
 * - A stream that cannot take writes as fast as they come queues at most 100 messages (the
 *   handler's PUBLISH_QUEUE_MAX) and drops the rest without a word: they count as gaps.
 * - No long poll: a held response (`Grip-Hold: response`) would answer one event per request and
 *   lose what is published between two polls.
 */

import { ERROR_CODES, Problems, TickstormError } from '../../errors.js'
import type { PublishedTick, PublishRequest, TargetAdapter } from './adapter.js'
import { createGripOrigin } from './grip-origin.js'
import { TICKSTORM_EVENT_FIELDS, type WireSpec } from './wire-spec.js'

export interface PushpinTargetConfig {
  /** Pushpin's HTTP port, where subscribers connect: `http://127.0.0.1:7999`. */
  readonly url: string
  /** Pushpin's control API (`push_in_http_port`), without `/publish/`: `http://127.0.0.1:5561`. */
  readonly publishUrl: string
  /** `host:port` the harness's GRIP origin listens on, where Pushpin's routes point (127.0.0.1:7998). */
  readonly origin?: string
  /** Request headers every subscriber sends. */
  readonly headers?: Readonly<Record<string, string>>
  /** Query parameters every subscriber's requests carry. */
  readonly query?: Readonly<Record<string, string>>
  /** The Pushpin's `connection_subscription_max`, when it is not the package's 20. */
  readonly channelsPerConnection?: number
}

/** Beside Pushpin's own default port (7999), so a routes line can be written once. */
const DEFAULT_ORIGIN = '127.0.0.1:7998'
/** `connection_subscription_max` in the package's pushpin.conf. */
const PUSHPIN_SUBSCRIPTIONS_PER_CONNECTION = 20
/** The control API's publish endpoint, relative to `publishUrl`. */
const PUBLISH_PATH = '/publish/'
/** Pushpin's `push_in_http_max_body_size` in the package's config. */
const MAX_PUBLISH_BODY_BYTES = 1_000_000
/** `{"items":[]}` around the items. */
const PUBLISH_BODY_OVERHEAD_BYTES = 12
const PUBLISH_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'application/json',
})

export function createPushpinAdapter(target: PushpinTargetConfig): TargetAdapter {
  const problems = new Problems()
  for (const key of ['url', 'publishUrl'] as const) {
    if (!isHttpUrl(target[key]))
      problems.add(`target.${key}`, 'must be an http(s) URL', target[key])
  }
  const originText = target.origin ?? DEFAULT_ORIGIN
  const origin = parseHostPort(originText)
  if (origin === null)
    problems.add('target.origin', 'must be `host:port` (port 1..65535)', originText)
  const channelsPerConnection = target.channelsPerConnection ?? PUSHPIN_SUBSCRIPTIONS_PER_CONNECTION
  if (!Number.isInteger(channelsPerConnection) || channelsPerConnection < 1) {
    problems.add('target.channelsPerConnection', 'must be an integer ≥ 1', channelsPerConnection)
  }
  problems.throwIfAny('Pushpin target')

  const wire: WireSpec = Object.freeze({
    headers: Object.freeze({ ...target.headers }),
    query: Object.freeze({ ...target.query }),
    symbolSeparator: ',',
    everySymbol: null,
    // Pushpin sends each event as published and remembers none: nothing to resume from.
    sse: Object.freeze({ path: '/sub/{symbols}', resume: 'none' as const }),
    longpoll: null,
    // The same path as the stream: the route's `over_http` brings the socket to the origin as
    // HTTP requests, and its path subscribes it.
    ws: Object.freeze({
      path: '/sub/{symbols}',
      subscribe: null,
      resumeField: null,
      resumeHeader: null,
      frames: 'message' as const,
      protocols: Object.freeze([]),
    }),
    http: null,
    event: TICKSTORM_EVENT_FIELDS,
    snapshots: false,
    // Credentials for a Pushpin in front of an auth proxy go in `headers` or `query`.
    token: null,
  })

  return Object.freeze({
    kind: 'pushpin' as const,
    transports: Object.freeze(['sse', 'eventsource', 'ws'] as const),
    defaultSource: 'harness' as const,
    sources: Object.freeze(['harness'] as const),
    wire,
    channelsPerConnection,
    universe: async () => null,
    heads: async () => null,
    publish: publishFrame,
    publishUrl: target.publishUrl.replace(/\/+$/, ''),
    attach: async () => {
      const { host, port } = origin!
      try {
        const server = await createGripOrigin({ host, port })
        return { close: () => server.close() }
      } catch (error) {
        throw new TickstormError(
          ERROR_CODES.LISTEN_FAILED,
          `the GRIP origin for Pushpin could not listen on ${originText}: ${String(error)}`,
          { details: { origin: originText }, cause: error },
        )
      }
    },
  })
}

/**
 * The control API's publish requests for one frame: one request, each tick an item on its
 * symbol's channel in both formats (`http-stream` is the SSE event as the subscriber reads it, its
 * `id:` the stream-wide tick id; `ws-message` the payload as one text message). A frame whose body
 * would pass Pushpin's `push_in_http_max_body_size` (1,000,000 bytes in the package's config;
 * Pushpin answers 400 and publishes nothing) goes as several, in order (the publisher sends a
 * batching adapter's requests one after another on one connection).
 *
 * The items carry no Pushpin `id`: Pushpin drops an item whose id it has seen on the channel within
 * `id_cache_ttl` (60 s), and the tick ids start again at every run, so a run started within a
 * minute of the last would lose its first ticks without a word.
 */
function publishFrame(ticks: readonly PublishedTick[]): PublishRequest[] {
  const requests: PublishRequest[] = []
  let items: string[] = []
  let bodyBytes = PUBLISH_BODY_OVERHEAD_BYTES
  for (const tick of ticks) {
    const item = JSON.stringify({
      channel: tick.symbol,
      formats: {
        'http-stream': { content: `id: ${tick.id}\nevent: ${tick.type}\ndata: ${tick.data}\n\n` },
        'ws-message': { content: tick.data },
      },
    })
    // The comma before it included; an item alone over the limit still goes (and is refused).
    const itemBytes = Buffer.byteLength(item) + 1
    if (items.length > 0 && bodyBytes + itemBytes > MAX_PUBLISH_BODY_BYTES) {
      requests.push(publishRequest(items))
      items = []
      bodyBytes = PUBLISH_BODY_OVERHEAD_BYTES
    }
    items.push(item)
    bodyBytes += itemBytes
  }
  if (items.length > 0) requests.push(publishRequest(items))
  return requests
}

function publishRequest(items: readonly string[]): PublishRequest {
  return {
    method: 'POST',
    path: PUBLISH_PATH,
    headers: PUBLISH_HEADERS,
    body: `{"items":[${items.join(',')}]}`,
  }
}

function isHttpUrl(text: unknown): boolean {
  if (typeof text !== 'string') return false
  try {
    const url = new URL(text)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/** `127.0.0.1:7998`, `[::1]:7998` → host and port; null when it is not that. */
function parseHostPort(text: string): { host: string; port: number } | null {
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]/\s]+):(\d{1,5})$/.exec(text)
  if (match === null) return null
  const port = Number(match[2])
  if (port < 1 || port > 65_535) return null
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}
